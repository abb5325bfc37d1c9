import { readFinalOutput } from '../output';

describe('readFinalOutput', () => {
  it('reads the state the kernel publishes', () => {
    const read = readFinalOutput({
      msg_id: 'm-1',
      experiment: 'demo',
      run_name: 'first',
      budget: { kind: 'energy', limit: 1000, text: '1kJ', on_budget: 'warn', exceeded_at: null },
      status: 'ok',
      started_at: 1.5,
      summary: { energy_j: 2.5, duration_s: 0.1, methods: ['modeled'], metrics: { acc: 0.9 }, source: 'in-kernel' },
      details: ["experiment 'demo'"]
    });
    expect(read).toEqual({
      msgId: 'm-1',
      experiment: 'demo',
      status: 'ok',
      budget: { kind: 'energy', limit: 1000, text: '1kJ', on_budget: 'warn', exceeded_at: null },
      summary: { energy_j: 2.5, duration_s: 0.1, methods: ['modeled'], metrics: { acc: 0.9 }, source: 'in-kernel' }
    });
  });

  it('says why an output cannot be drawn', () => {
    expect(readFinalOutput(null)).toBe('not a JSON object');
    expect(readFinalOutput([1])).toBe('not a JSON object');
    expect(readFinalOutput({ status: 'running' })).toBe('unknown status "running"');
    expect(readFinalOutput({})).toBe('unknown status null');
  });

  it('leaves out fields of the wrong type instead of drawing them', () => {
    const read = readFinalOutput({
      msg_id: 7,
      experiment: { name: 'x' },
      status: 'error',
      budget: { kind: 'watts', limit: 'lots', spent: Infinity, text: 5, on_budget: 'explode', currency: 3 },
      summary: {
        energy_j: '12',
        gco2e: null,
        cost: Number.NaN,
        methods: ['modeled', 3],
        flags: 'errored',
        metrics: { acc: 0.5, loss: 'low', bad: null },
        source: 'elsewhere'
      }
    });
    expect(read).toEqual({
      msgId: '',
      experiment: '',
      status: 'error',
      budget: {},
      summary: { gco2e: null, methods: ['modeled'], metrics: { acc: 0.5 } }
    });
  });
});
