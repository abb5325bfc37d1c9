import { nullTranslator } from '@jupyterlab/translation';

import { chartInputs, compareCode, comparisonRows, impactFigures, lineDiff, metricNames, runLabels } from '../model';
import { compareRun } from './fixtures';

const trans = nullTranslator.load('jupyterlab_carbon');

describe('comparisonRows', () => {
  const a = compareRun('a', 3600, { tags: ['x'], metrics: { accuracy: 0.9 } });
  const b = compareRun('b', 7200, { tags: ['x'], metrics: { loss: 0.1 } });
  const rows = comparisonRows([a, b], trans);
  const row = (key: string) => rows.find(r => r.key === key)!;

  it('has one value per run and marks the rows that differ', () => {
    expect(row('energy').values).toEqual(['1 Wh', '2 Wh']);
    expect(row('energy').differs).toBe(true);
    expect(row('tags').values).toEqual(['x', 'x']);
    expect(row('tags').differs).toBe(false);
  });

  it('sums energy per device domain and lists every metric any run has', () => {
    expect(row('domain:gpu').values).toEqual(['500 mWh', '1 Wh']);
    expect(row('metric:accuracy').values).toEqual(['0.9', '–']);
    expect(row('metric:loss').values).toEqual(['–', '0.1']);
  });

  it('shows the intensity with its zone, source and year', () => {
    expect(row('intensity').values[0]).toBe('50 gCO2e/kWh');
    expect(row('intensity-source').values[0]).toBe('FR · Ember · 2023');
  });

  it('copes with an old server: no impact, no ledger fields', () => {
    const old = { ...compareRun('c', 10), impact: null, experiment: undefined, tags: undefined, metrics: undefined };
    const oldRows = comparisonRows([old], trans);
    expect(oldRows.find(r => r.key === 'gco2e')!.values).toEqual(['–']);
    expect(oldRows.find(r => r.key === 'tags')!.values).toEqual(['–']);
    expect(impactFigures(old).pue).toBeNull();
  });
});

describe('impactFigures', () => {
  it('ignores values that are not finite numbers', () => {
    const run = compareRun('a', 1, {});
    run.impact = { gco2e: null, pue: 'x', cost: Infinity, intensity: 'FR' };
    expect(impactFigures(run)).toMatchObject({ gco2e: null, pue: null, cost: null, zone: null });
  });
});

describe('runLabels', () => {
  it('are unique even for the same notebook and count', () => {
    const labels = runLabels([compareRun('a', 1), compareRun('b', 1)]);
    expect(labels).toEqual(['1. demo.ipynb [1]', '2. demo.ipynb [1]']);
  });
});

describe('lineDiff and compareCode', () => {
  it('diffs lines by their longest common subsequence', () => {
    expect(lineDiff(['a', 'b', 'c'], ['a', 'x', 'c'])).toEqual([
      { kind: 'same', text: 'a' },
      { kind: 'added', text: 'x' },
      { kind: 'removed', text: 'b' },
      { kind: 'same', text: 'c' }
    ]);
    expect(lineDiff([], [])).toEqual([]);
  });

  it('decides identity from the hash, and diffs the stored first lines', () => {
    const a = compareRun('a', 1, { code_hash: 'h1', code_preview: 'train(lr=0.1)' });
    const same = compareRun('b', 1, { code_hash: 'h1', code_preview: 'train(lr=0.1)' });
    const other = compareRun('c', 1, { code_hash: 'h2', code_preview: 'train(lr=0.01)' });
    expect(compareCode(a, same).verdict).toBe('identical');
    const diff = compareCode(a, other);
    expect(diff.verdict).toBe('different');
    expect(diff.lines.map(line => line.kind)).toEqual(['added', 'removed']);
    const hidden = compareCode({ ...a, code_preview: null, code_hash: null }, { ...other, code_preview: null });
    expect(hidden).toEqual({ verdict: 'unknown', lines: [], hasPreview: false });
  });
});

describe('chartInputs', () => {
  it('labels every figure with its run and leaves out what a run lacks', () => {
    const a = compareRun('a', 3600, { metrics: { accuracy: 0.9 }, trace: { t: [0, 1], w: [10, 20] } });
    const b = compareRun('b', 7200, { impact: null });
    const inputs = chartInputs([a, b], ['A', 'B'], 'accuracy');
    expect(inputs.devices).toEqual([
      { run: 'A', domain: 'cpu', joules: 3600 },
      { run: 'A', domain: 'gpu', joules: 1800 },
      { run: 'B', domain: 'cpu', joules: 7200 },
      { run: 'B', domain: 'gpu', joules: 3600 }
    ]);
    expect(inputs.carbon.map(c => c.run)).toEqual(['A']);
    expect(inputs.power).toEqual([{ run: 'A', t: [0, 1], w: [10, 20] }]);
    expect(inputs.energyMetric).toEqual([{ run: 'A', joules: 3600, metric: 0.9 }]);
    expect(inputs.timeline.map(point => point.metric)).toEqual([0.9, null]);
    expect(metricNames([a, b])).toEqual(['accuracy']);
  });
});
