import { CodeCellModel } from '@jupyterlab/cells';

import { clearSummary, HISTORY_LENGTH, isSummary, METADATA_KEY, readSummary, writeSummary } from '../summary';
import { run } from './fixtures';

const IMPACT = {
  gco2e: 0.05,
  cost: 0.0001,
  currency: 'EUR',
  pue: 1.2,
  intensity: {
    gco2e_per_kwh: 56,
    method: 'settings-zone',
    zone: 'FR',
    source: 'Ember',
    year: 2023,
    is_assumption: false,
    message: 'France'
  },
  equivalents: [{ label: 'km by car', value: 0.0003, unit: 'km', source: 'EEA' }]
};

describe('cell metadata summary', () => {
  it('writes a valid summary under the namespaced key and reads it back', () => {
    const model = new CodeCellModel();
    const summary = writeSummary(model, run('r1', 100, IMPACT));
    expect(model.getMetadata(METADATA_KEY)).toEqual(summary);
    expect(readSummary(model)).toEqual(summary);
    expect(summary.energy_j).toBe(100);
    expect(summary.gco2e).toBe(0.05);
    expect(summary.intensity?.zone).toBe('FR');
    expect(summary.history).toEqual([]);
    // The metadata is plain JSON (nbformat-valid).
    expect(JSON.parse(JSON.stringify(model.toJSON().metadata[METADATA_KEY]))).toEqual(summary);
  });

  it('keeps earlier runs as history, newest first, bounded', () => {
    const model = new CodeCellModel();
    for (let i = 1; i <= HISTORY_LENGTH + 3; i++) {
      writeSummary(model, run(`r${i}`, i));
    }
    const summary = readSummary(model)!;
    expect(summary.run_id).toBe(`r${HISTORY_LENGTH + 3}`);
    expect(summary.history.map(h => h.energy_j)).toEqual([7, 6, 5, 4, 3]);
  });

  it('writes a run once even when two views of the notebook receive it', () => {
    const model = new CodeCellModel();
    writeSummary(model, run('r1', 10));
    writeSummary(model, run('r1', 10));
    expect(readSummary(model)!.history).toEqual([]);
  });

  it('has no carbon figures when the run had no impact', () => {
    const model = new CodeCellModel();
    const summary = writeSummary(model, run('r1', 10, null));
    expect(summary.gco2e).toBeNull();
    expect(summary.cost).toBeNull();
    expect(summary.intensity).toBeNull();
  });

  it('ignores foreign or broken metadata and clears its own', () => {
    const model = new CodeCellModel();
    model.setMetadata(METADATA_KEY, { version: 99 });
    expect(readSummary(model)).toBeNull();
    expect(isSummary(null)).toBe(false);
    // A non-finite energy would break the colour scale's ordering: not a summary.
    for (const energy of [Number.NaN, Infinity]) {
      const broken = { ...writeSummary(new CodeCellModel(), run('r0', 1)), energy_j: energy };
      expect(isSummary(broken)).toBe(false);
    }
    writeSummary(model, run('r1', 10));
    clearSummary(model);
    expect(model.getMetadata(METADATA_KEY)).toBeUndefined();
  });
});
