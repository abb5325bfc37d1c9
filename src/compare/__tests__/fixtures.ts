import { run } from '../../badges/__tests__/fixtures';
import { IRun } from '../../tokens';

/** A run as POST runs/compare sends it, with a GPU channel beside the CPU one. */
export function compareRun(id: string, joules: number, extra: Partial<IRun> = {}): IRun {
  const base = run(id, joules, {
    gco2e: (joules / 3.6e6) * 1.2 * 50,
    cost: 0.01,
    currency: 'EUR',
    pue: 1.2,
    gco2e_per_kwh: 50,
    intensity: { source: 'Ember', year: 2023, zone: 'FR' }
  });
  return {
    ...base,
    channels: [
      ...base.channels,
      { ...base.channels[0], channel_id: 'gpu/0', label: 'GPU 0', domain: 'gpu', attributed_j: joules / 2 }
    ],
    experiment: 'exp',
    tags: [],
    metrics: {},
    trace: null,
    ...extra
  };
}
