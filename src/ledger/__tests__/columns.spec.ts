import { nullTranslator } from '@jupyterlab/translation';

import { run as baseRun } from '../../badges/__tests__/fixtures';
import { COLUMNS, firstLine, formatMetrics, formatWhen, methodText, totalsLine } from '../columns';

const trans = nullTranslator.load('jupyterlab_carbon');

describe('columns', () => {
  it('shows the time alone today, the day this year, the date otherwise', () => {
    const now = new Date(2026, 5, 15, 18, 0, 0);
    const today = new Date(2026, 5, 15, 9, 30, 5).getTime() / 1000;
    const thisYear = new Date(2026, 0, 2, 9, 30).getTime() / 1000;
    const lastYear = new Date(2025, 0, 2, 9, 30).getTime() / 1000;
    expect(formatWhen(today, now)).toMatch(/30:05/);
    expect(formatWhen(thisYear, now)).not.toMatch(/2026|26/);
    expect(formatWhen(lastYear, now)).toMatch(/25/);
    expect(formatWhen(null, now)).toBe('–');
  });

  it('gives each run the figures of its columns, never 0.000', () => {
    const run = {
      ...baseRun('a', 0.0036, { gco2e: 0.0000012, cost: 0.00001, currency: 'EUR' }),
      code_preview: '\nimport torch\nmodel.fit()',
      tags: ['gpu', 'v2'],
      metrics: { accuracy: 0.93456789 },
      flags: ['below-resolution']
    };
    const texts = Object.fromEntries(
      COLUMNS.map(column => [column.id, column.run(run, { trans, energyUnit: 'Wh' }).text])
    );
    expect(texts).toMatchObject({
      notebook: 'demo.ipynb',
      cell: '[1] import torch',
      experiment: 'demo.ipynb',
      tags: 'gpu, v2',
      duration: '2 s',
      energy: '1 µWh',
      co2e: '1.2 µg CO₂e',
      method: 'modeled, below-resolution',
      metrics: 'accuracy 0.9346'
    });
    expect(texts.cost).toMatch(/0\.00001/); // tiny figures keep their significant digits
    for (const text of Object.values(texts)) {
      expect(text).not.toMatch(/(^|\D)0\.0+(\D|$)/);
    }
  });

  it('reads the first code line, the metrics and the method', () => {
    expect(firstLine('\n  \nx = 1\ny')).toBe('x = 1');
    expect(formatMetrics(undefined)).toBe('');
    expect(methodText({ ...baseRun('a', 1), methods: ['measured-counter'] }, trans)).toBe('measured');
  });

  it('sums a set of runs in one line, leaving out an unknown cost', () => {
    const totals = {
      runs: 2,
      duration_s: 3,
      attributed_j: 7200,
      active_j: 0,
      idle_j: 0,
      gco2e: 1500,
      cost: null,
      currency: null,
      first_started_at: 1,
      last_started_at: 2
    };
    expect(totalsLine(totals, { trans, energyUnit: 'Wh' })).toBe('2 runs · 2 Wh · 1.5 kg CO₂e');
    expect(totalsLine({ ...totals, runs: 1 }, { trans, energyUnit: 'Wh' })).toMatch(/^1 run · /);
    const many = totalsLine({ ...totals, runs: 2329 }, { trans, energyUnit: 'Wh' });
    expect(many).toMatch(new RegExp(`^${(2329).toLocaleString()} runs · `));
    expect(many).not.toMatch(/^2329/);
  });
});
