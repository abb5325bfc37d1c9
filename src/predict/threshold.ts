import { IPrediction, IPredictSettings } from './types';

/** A figure whose predicted median is above the user's threshold. */
export interface IExceeded {
  figure: 'energy' | 'carbon' | 'cost' | 'duration';
  predicted: number;
  threshold: number;
}

const JOULES_PER_WH = 3600;

/** Is a threshold set (a finite number, zero or more)? */
function isSet(threshold: number | null | undefined): threshold is number {
  return typeof threshold === 'number' && Number.isFinite(threshold) && threshold >= 0;
}

/**
 * The figures of a prediction above the thresholds, compared on the median (p50).
 * Empty: the cell runs without asking.
 */
export function exceededThresholds(prediction: IPrediction | null, settings: IPredictSettings): IExceeded[] {
  if (!prediction || !settings.enabled) {
    return [];
  }
  const found: IExceeded[] = [];
  const check = (figure: IExceeded['figure'], predicted: number | undefined, threshold: number | null): void => {
    if (isSet(threshold) && typeof predicted === 'number' && predicted > threshold) {
      found.push({ figure, predicted, threshold });
    }
  };
  check('energy', prediction.energy_j.p50 / JOULES_PER_WH, settings.energy_wh);
  check('carbon', prediction.gco2e.p50, settings.gco2e_g);
  check('cost', prediction.cost?.p50, settings.cost);
  check('duration', prediction.duration_s.p50, settings.duration_s);
  return found;
}

/** The settings from the registry's composite, with the defaults for anything missing or malformed. */
export function readPredictSettings(composite: Record<string, unknown>, defaults: IPredictSettings): IPredictSettings {
  const threshold = (key: 'energy_wh' | 'gco2e_g' | 'cost' | 'duration_s'): number | null => {
    const value = composite[key];
    if (value === null) {
      return null;
    }
    return isSet(value as number) ? (value as number) : defaults[key];
  };
  return {
    enabled: typeof composite.enabled === 'boolean' ? composite.enabled : defaults.enabled,
    lookup_timeout_ms:
      typeof composite.lookup_timeout_ms === 'number' && composite.lookup_timeout_ms > 0
        ? composite.lookup_timeout_ms
        : defaults.lookup_timeout_ms,
    energy_wh: threshold('energy_wh'),
    gco2e_g: threshold('gco2e_g'),
    cost: threshold('cost'),
    duration_s: threshold('duration_s')
  };
}
