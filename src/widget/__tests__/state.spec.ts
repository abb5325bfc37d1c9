import { nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { budgetWarningText, clearBudget, markBudget } from '../../badges/budget';
import { IRun } from '../../tokens';
import {
  addPower,
  budgetOfRun,
  budgetProgress,
  elapsedSeconds,
  historyOf,
  methodsText,
  sparklinePoints,
  SPARKLINE_POINTS,
  startMeter,
  summaryOfRun
} from '../state';
import { historyChart, sparkline } from '../svg';

const trans = nullTranslator.load('jupyterlab_carbon');

function run(overrides: Partial<IRun>): IRun {
  return {
    run_id: 'r',
    kernel_id: 'k',
    kernel_name: 'python3',
    session_id: null,
    notebook_path: 'a.ipynb',
    msg_id: 'm',
    execution_count: 1,
    code_hash: null,
    code_preview: null,
    started_at: 100,
    ended_at: 103,
    duration_s: 3,
    status: 'ok',
    node_j: 90,
    attributed_j: 30,
    idle_j: 10,
    active_j: 20,
    channels: [],
    methods: ['measured-counter'],
    flags: [],
    host: 'h',
    extra: {},
    impact: { gco2e: 0.5, cost: 0.01, currency: 'EUR' },
    version: 3,
    ...overrides
  };
}

describe('the live meter', () => {
  it('integrates node power from the start, reading by reading', () => {
    let meter = startMeter(100);
    meter = addPower(meter, 50, 101); // no earlier power: nothing to integrate yet
    expect(meter.nodeJoules).toBe(0);
    meter = addPower(meter, 70, 103);
    expect(meter.nodeJoules).toBe(100); // 50 W over 2 s
    expect(meter.lastWatts).toBe(70);
    expect(meter.samples).toEqual([50, 70]);
  });

  it('ignores stale or non-finite readings and keeps the last SPARKLINE_POINTS', () => {
    let meter = addPower(startMeter(0), 10, 5);
    expect(addPower(meter, 20, 4)).toBe(meter);
    expect(addPower(meter, NaN, 6)).toBe(meter);
    for (let t = 6; t < 6 + SPARKLINE_POINTS + 5; t++) {
      meter = addPower(meter, t, t);
    }
    expect(meter.samples).toHaveLength(SPARKLINE_POINTS);
    expect(meter.samples[SPARKLINE_POINTS - 1]).toBe(5 + SPARKLINE_POINTS + 5);
  });

  it('never shows a negative elapsed time when the clocks differ', () => {
    expect(elapsedSeconds(startMeter(100), 99)).toBe(0);
    expect(elapsedSeconds(startMeter(100), 102.5)).toBe(2.5);
  });
});

describe('budget progress', () => {
  it('estimates an energy budget from node energy, then shows what the server says it crossed', () => {
    const meter = addPower(addPower(startMeter(0), 10, 1), 10, 2); // 10 J
    const budget = { kind: 'energy' as const, limit: 40, text: '40J' };
    expect(budgetProgress(budget, meter)).toEqual({
      max: 40,
      value: 10,
      fraction: 0.25,
      exceeded: false,
      estimated: true
    });
    const crossed = budgetProgress({ ...budget, spent: 41, exceeded_at: 3 }, meter);
    expect(crossed).toEqual({ max: 40, value: 41, fraction: 1, exceeded: true, estimated: false });
  });

  it('shows the final figure in the budget unit once the run ends, and the flag as a warning', () => {
    const carbon = { kind: 'carbon' as const, limit: 2, text: '2g' };
    expect(budgetProgress(carbon, null, { gco2e: 1 })).toEqual({
      max: 2,
      value: 1,
      fraction: 0.5,
      exceeded: false,
      estimated: false
    });
    expect(budgetProgress(carbon, null, { gco2e: 1, flags: ['budget-exceeded'] })?.exceeded).toBe(true);
    expect(budgetProgress({ kind: 'cost', limit: 0.1, text: '0.10EUR' }, null, { cost: 0.2 })?.exceeded).toBe(true);
  });

  it('reads a crossed budget from the run record only', () => {
    const crossed = { kind: 'energy', limit: 1, spent: 2, exceeded_at: 5, text: '1J' };
    expect(budgetOfRun(run({ extra: { budget: crossed } }))).toEqual(crossed);
    expect(budgetOfRun(run({ extra: { budget: { kind: 'energy', limit: 1, text: '1J' } } }))).toBeNull();
    expect(budgetOfRun(run({}))).toBeNull();
  });

  it('leaves carbon and cost budgets to the server and skips missing ones', () => {
    expect(budgetProgress({ kind: 'carbon', limit: 2, text: '2g' }, startMeter(0))?.value).toBeNull();
    expect(budgetProgress({}, null)).toBeNull();
  });
});

describe('summaries and charts', () => {
  it('summarises the run record with its methods and metrics', () => {
    const summary = summaryOfRun(run({ metrics: { acc: 0.9 }, experiment: 'demo', flags: ['budget-exceeded'] }));
    expect(summary).toEqual({
      energy_j: 30,
      gco2e: 0.5,
      cost: 0.01,
      currency: 'EUR',
      duration_s: 3,
      methods: ['measured-counter'],
      flags: ['budget-exceeded'],
      metrics: { acc: 0.9 },
      experiment: 'demo',
      run_id: 'r',
      source: 'server'
    });
    expect(methodsText(summary.methods)).toBe('measured (energy counter)');
    expect(summaryOfRun(run({ impact: null })).gco2e).toBeNull();
  });

  it('draws a sparkline from the lowest value at the bottom to the highest at the top', () => {
    expect(sparklinePoints([], 100, 20)).toBe('');
    expect(sparklinePoints([1, 3], 102, 22)).toBe('1,21 101,1');
    const svg = sparkline([1, 2], 'Node power');
    expect(svg.getAttribute('aria-label')).toBe('Node power');
    expect(svg.querySelector('polyline')?.getAttribute('points')).toContain(',');
  });

  it('orders earlier runs oldest first, marks the current one, follows the newest metric', () => {
    const history = historyOf(
      [
        run({ run_id: 'new', started_at: 300, attributed_j: 20, metrics: { acc: 0.8 } }),
        run({ run_id: 'old', started_at: 100, attributed_j: 40, metrics: { acc: 0.6, loss: 1 } }),
        run({ run_id: 'mid', started_at: 200, attributed_j: 10 })
      ],
      'new'
    );
    expect(history.marks.map(mark => [mark.runId, mark.metric, mark.current])).toEqual([
      ['old', 0.6, false],
      ['mid', null, false],
      ['new', 0.8, true]
    ]);
    expect([history.metricName, history.maxEnergyJ, history.metricRange]).toEqual(['acc', 40, [0.6, 0.8]]);
    const chart = historyChart(history, 'Earlier runs', index => `run ${index}`);
    expect(chart.querySelectorAll('rect')).toHaveLength(3);
    expect(chart.querySelectorAll('circle')).toHaveLength(2);
    expect(chart.querySelector('rect.jp-mod-current title')?.textContent).toBe('run 2');
  });
});

describe('the badge budget mark', () => {
  const crossing = {
    kind: 'energy' as const,
    limit: 3600,
    spent: 7200,
    exceeded_at: 1,
    text: '1Wh',
    on_budget: 'warn' as const
  };

  it('says what was spent against which budget', () => {
    expect(budgetWarningText(trans, crossing)).toBe('Over budget: 2 Wh spent of 1Wh');
    expect(budgetWarningText(trans, { ...crossing, on_budget: 'stop' })).toContain('interrupted');
  });

  it('marks the badge once and clears it', () => {
    const badge = new Widget();
    markBudget(badge, trans, crossing);
    markBudget(badge, trans, crossing);
    expect(badge.node.querySelectorAll('.jp-carbon-Badge-budget')).toHaveLength(1);
    expect(badge.hasClass('jp-mod-overBudget')).toBe(true);
    clearBudget(badge);
    expect(badge.node.querySelector('.jp-carbon-Badge-budget')).toBeNull();
    expect(badge.hasClass('jp-mod-overBudget')).toBe(false);
  });
});
