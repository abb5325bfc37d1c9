import { nullTranslator } from '@jupyterlab/translation';

import { carbonChart, energyByDeviceChart, paretoChart, powerChart, timelineChart } from '../specs';

const trans = nullTranslator.load('jupyterlab_carbon');

/** The inline data of a single-view spec. */
const values = (spec: unknown): Array<Record<string, unknown>> =>
  (spec as { data: { values: Array<Record<string, unknown>> } }).data.values;

describe('every chart', () => {
  it('is null when there is nothing finite to draw', () => {
    expect(energyByDeviceChart([], trans)).toBeNull();
    expect(energyByDeviceChart([{ run: 'A', domain: 'cpu', joules: NaN }], trans)).toBeNull();
    expect(carbonChart([{ run: 'A', gco2e: Infinity }], trans)).toBeNull();
    expect(powerChart([{ run: 'A', t: [0, NaN], w: [NaN, 1] }], trans)).toBeNull();
    expect(paretoChart([{ run: 'A', joules: 1, metric: NaN }], 'accuracy', true, trans)).toBeNull();
    expect(
      timelineChart([{ run: 'A', experiment: 'e', startedAt: NaN, joules: 1, metric: null }], null, trans)
    ).toBeNull();
  });

  it('carries its title and description in the spec, for screen readers', () => {
    const chart = carbonChart([{ run: 'A', gco2e: 2 }], trans)!;
    expect(chart.spec.title).toBe(chart.title);
    expect(chart.spec.description).toBe(chart.description);
    expect(chart.description).toContain('1 runs');
  });
});

describe('energyByDeviceChart', () => {
  it('stacks Wh per device and keeps the runs in the order given', () => {
    const chart = energyByDeviceChart(
      [
        { run: 'B', domain: 'cpu', joules: 3600 },
        { run: 'A', domain: 'gpu', joules: 7200 },
        { run: 'A', domain: 'cpu', joules: -1 }
      ],
      trans
    )!;
    expect(values(chart.spec)).toEqual([
      { run: 'B', device: 'cpu', wh: 1 },
      { run: 'A', device: 'gpu', wh: 2 }
    ]);
    const encoding = (chart.spec as unknown as { encoding: Record<string, Record<string, unknown>> }).encoding;
    expect(encoding.y.sort).toBeNull();
    expect(encoding.x.stack).toBe('zero');
    expect(chart.table.rows.map(row => row.map(cell => cell.text))).toEqual([
      ['B', 'cpu', '1 Wh'],
      ['A', 'gpu', '2 Wh']
    ]);
  });
});

describe('powerChart', () => {
  it('overlays one line per run and drops non-finite samples', () => {
    const chart = powerChart(
      [
        { run: 'A', t: [0, 1, 2], w: [10, Infinity, 30] },
        { run: 'B', t: [0, 1], w: [5, 5] }
      ],
      trans
    )!;
    expect(values(chart.spec)).toHaveLength(4);
    expect(chart.table.rows[0].map(cell => cell.text)).toEqual(['A', '20 W', '30 W', '2 s']);
  });

  it('draws a single run', () => {
    const chart = powerChart([{ run: 'A', t: [0], w: [12] }], trans)!;
    expect(chart.description).toContain('1 runs');
  });
});

describe('paretoChart', () => {
  const points = [
    { run: 'A', joules: 3600, metric: 0.9 },
    { run: 'B', joules: 1800, metric: 0.8 },
    { run: 'C', joules: 7200, metric: 0.85 }
  ];

  it('draws the front as a line through the non-dominated runs, by energy', () => {
    const chart = paretoChart(points, 'accuracy', true, trans)!;
    const [line, dots] = (chart.spec as { layer: Array<{ data: { values: Array<Record<string, unknown>> } }> }).layer;
    expect(line.data.values.map(value => value.run)).toEqual(['B', 'A']);
    expect(dots.data.values.find(value => value.run === 'C')!.front).toBe('dominated');
    expect(chart.description).toContain('higher is better');
  });

  it('counts its points in words that agree with their number', () => {
    expect(paretoChart(points.slice(0, 1), 'accuracy', true, trans)!.description).toMatch(/^Points: 1 run by/);
    expect(paretoChart(points, 'accuracy', true, trans)!.description).toMatch(/^Points: 3 runs by/);
  });

  it('follows the direction of the metric', () => {
    const chart = paretoChart(points, 'loss', false, trans)!;
    const [line] = (chart.spec as { layer: Array<{ data: { values: Array<Record<string, unknown>> } }> }).layer;
    expect(line.data.values.map(value => value.run)).toEqual(['B']);
  });
});

describe('timelineChart', () => {
  const points = [
    { run: 'A', experiment: 'e', startedAt: 1_800_000_000, joules: 3600, metric: 0.5 },
    { run: 'B', experiment: 'e', startedAt: 1_800_000_100, joules: 7200, metric: null }
  ];

  it('is one panel of energy without a metric', () => {
    const chart = timelineChart(points, null, trans)!;
    expect('vconcat' in chart.spec).toBe(false);
    expect(values(chart.spec)[0]).toMatchObject({ started: 1_800_000_000_000, wh: 1 });
    expect(chart.table.columns).toHaveLength(4);
  });

  it('adds a metric panel when a run has the metric', () => {
    const chart = timelineChart(points, 'accuracy', trans)!;
    expect((chart.spec as { vconcat: unknown[] }).vconcat).toHaveLength(2);
    expect(chart.table.rows[1][4].text).toBe('–');
  });

  it('stays one panel when no run has the metric', () => {
    const chart = timelineChart(
      points.map(point => ({ ...point, metric: null })),
      'accuracy',
      trans
    )!;
    expect('vconcat' in chart.spec).toBe(false);
  });
});
