import { IPrediction } from '../types';

/** A prediction as the server answers it (issue 10 contract), with overridable parts. */
export function prediction(overrides: Partial<IPrediction> = {}): IPrediction {
  return {
    energy_j: { p50: 648000, low: 540000, high: 756000 },
    duration_s: { p50: 2400, low: 2000, high: 2900 },
    gco2e: { p50: 85, low: 70, high: 99 },
    cost: { p50: 0.05, low: 0.04, high: 0.06 },
    currency: 'EUR',
    basis: { kind: 'history', text: "median of this cell's 5 earlier runs (same code)", runs: 5 },
    intensity: { gco2e_per_kwh: 56, zone: 'FR', source: 'Ember', year: 2023 },
    greener: {
      zones: [{ zone: 'SE', label: 'Sweden', gco2e: 3.1 }],
      cloud: [{ provider: 'gcp', region: 'europe-north1', gco2e: 2.2 }],
      forecast: null
    },
    ...overrides
  };
}
