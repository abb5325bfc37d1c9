import { TranslationBundle } from '@jupyterlab/translation';

import { EnergyUnit, formatDuration, formatEnergy } from '../format';
import { basisWords } from './content';
import { IPredictedRange, IPrediction } from './types';

/** What a run was predicted to use, kept in the badge's summary to set against what it used. */
export interface IPredictionCheck {
  energy_j: IPredictedRange;
  duration_s: IPredictedRange;
  basis: IPrediction['basis'];
  /** measured / predicted median - 1 (the server's `extra.prediction_error`). */
  error: number | null;
}

function isRange(value: unknown): value is IPredictedRange {
  const range = value as Partial<IPredictedRange> | null;
  return (
    typeof range === 'object' &&
    range !== null &&
    Number.isFinite(range.p50) &&
    Number.isFinite(range.low) &&
    Number.isFinite(range.high)
  );
}

/**
 * The prediction a run was checked against, from its `extra.prediction` and
 * `extra.prediction_error`; null when the run had none (or an unreadable one).
 */
export function predictionCheck(extra: Record<string, unknown> | null | undefined): IPredictionCheck | null {
  let stored = extra?.prediction as Record<string, unknown> | null | undefined;
  if (stored && typeof stored === 'object' && 'prediction' in stored) {
    stored = stored.prediction as Record<string, unknown> | null; // the whole answer was kept
  }
  if (!stored || typeof stored !== 'object' || !isRange(stored.energy_j) || !isRange(stored.duration_s)) {
    return null;
  }
  const basis = stored.basis as IPrediction['basis'] | undefined;
  const error = extra?.prediction_error;
  return {
    energy_j: stored.energy_j,
    duration_s: stored.duration_s,
    basis: basis && typeof basis.kind === 'string' ? basis : { kind: 'prior', text: '' },
    error: typeof error === 'number' && Number.isFinite(error) ? error : null
  };
}

/** The error as a signed percentage: "+12 %" (used more than predicted), "−8 %". */
export function formatError(error: number): string {
  const percent = Math.round(error * 100);
  return `${percent > 0 ? '+' : percent < 0 ? '−' : '±'}${Math.abs(percent)} %`;
}

/** The popover's "Predicted vs measured" part (text only). */
export function predictionSection(
  trans: TranslationBundle,
  check: IPredictionCheck,
  measured: { energy_j: number; duration_s: number },
  unit: EnergyUnit
): HTMLElement {
  const node = document.createElement('div');
  node.className = 'jp-carbon-Popover-prediction';
  const heading = document.createElement('h4');
  heading.textContent = trans.__('Predicted vs measured');
  const energy = document.createElement('p');
  energy.textContent = trans.__(
    'Energy: predicted %1 (%2 – %3), measured %4.',
    formatEnergy(check.energy_j.p50, unit),
    formatEnergy(check.energy_j.low, unit),
    formatEnergy(check.energy_j.high, unit),
    formatEnergy(measured.energy_j, unit)
  );
  const duration = document.createElement('p');
  duration.textContent = trans.__(
    'Duration: predicted %1, measured %2.',
    formatDuration(check.duration_s.p50),
    formatDuration(measured.duration_s)
  );
  const error = document.createElement('p');
  error.className = 'jp-carbon-Popover-predictionError';
  error.textContent =
    check.error !== null
      ? trans.__('Error: %1 of the predicted energy.', formatError(check.error))
      : trans.__('Error: not known for this run.');
  const basis = document.createElement('p');
  basis.className = 'jp-carbon-Popover-predictionBasis';
  basis.textContent = basisWords(trans, check.basis);
  node.append(heading, energy, duration, error, basis);
  return node;
}
