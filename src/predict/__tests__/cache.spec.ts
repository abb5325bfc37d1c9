import { alwaysLooksUp, IPredictionKey, isKnownCheap, measuredAbove, PredictionCache } from '../cache';
import { CellGate, IFlaggedCell, IGateHost } from '../gate';
import { DEFAULT_PREDICT_SETTINGS, IPrediction, IPredictSettings } from '../types';
import { prediction } from './fixtures';

const SETTINGS: IPredictSettings = DEFAULT_PREDICT_SETTINGS;

const KEY: IPredictionKey = { notebookPath: 'a.ipynb', kernelId: 'k', cellId: 'c1', code: 'x = 1' };

/** A prediction of `wh` Wh (interval `wh` / 2 to `highWh`) lasting 1 s. */
function cheapOr(wh: number, highWh: number = wh * 1.5): IPrediction {
  return prediction({
    energy_j: { p50: wh * 3600, low: (wh * 3600) / 2, high: highWh * 3600 },
    duration_s: { p50: 1, low: 0.5, high: 2 }
  });
}

describe('the prediction cache', () => {
  it('hits for the same cell, code and settings after a cheap answer', () => {
    const cache = new PredictionCache();
    expect(cache.knownCheap(KEY, SETTINGS)).toBe(false); // never seen
    cache.remember(KEY, SETTINGS, cheapOr(0.01));
    expect(cache.knownCheap(KEY, SETTINGS)).toBe(true);
    expect(cache.knownCheap({ ...KEY }, { ...SETTINGS, lookup_timeout_ms: 900 })).toBe(true); // the timeout does not matter
  });

  it('misses when the code changed, even by one character, or another cell, kernel or notebook asks', () => {
    const cache = new PredictionCache();
    cache.remember(KEY, SETTINGS, cheapOr(0.01));
    expect(cache.knownCheap({ ...KEY, code: 'x = 1 ' }, SETTINGS)).toBe(false);
    expect(cache.knownCheap({ ...KEY, code: 'epochs = 200' }, SETTINGS)).toBe(false);
    expect(cache.knownCheap({ ...KEY, cellId: 'c2' }, SETTINGS)).toBe(false);
    expect(cache.knownCheap({ ...KEY, kernelId: 'k2' }, SETTINGS)).toBe(false);
    expect(cache.knownCheap({ ...KEY, notebookPath: 'b.ipynb' }, SETTINGS)).toBe(false);
    expect(cache.knownCheap(KEY, SETTINGS)).toBe(true);
  });

  it('misses when a threshold changed, even one that would still pass', () => {
    const cache = new PredictionCache();
    cache.remember(KEY, SETTINGS, cheapOr(0.01));
    expect(cache.knownCheap(KEY, { ...SETTINGS, energy_wh: 0.001 })).toBe(false);
    expect(cache.knownCheap(KEY, { ...SETTINGS, energy_wh: 20 })).toBe(false);
    expect(cache.knownCheap(KEY, { ...SETTINGS, gco2e_g: 1 })).toBe(false);
    expect(cache.knownCheap(KEY, { ...SETTINGS, enabled: false })).toBe(false);
  });

  it('never keeps an expensive, borderline, unknown or basis-less answer as cheap', () => {
    const cache = new PredictionCache();
    cache.remember(KEY, SETTINGS, cheapOr(50)); // above
    expect(cache.knownCheap(KEY, SETTINGS)).toBe(false);
    cache.remember(KEY, SETTINGS, cheapOr(9, 12)); // median below, interval reaching above
    expect(cache.knownCheap(KEY, SETTINGS)).toBe(false);
    cache.remember(KEY, SETTINGS, null); // nothing known, or the lookup failed
    expect(cache.knownCheap(KEY, SETTINGS)).toBe(false);
    const long = prediction({ ...cheapOr(0.01), duration_s: { p50: 100, low: 50, high: 400 } });
    cache.remember(KEY, SETTINGS, long);
    expect(cache.knownCheap(KEY, SETTINGS)).toBe(false);
    const noBasis = { ...cheapOr(0.01), basis: undefined } as unknown as IPrediction;
    cache.remember(KEY, SETTINGS, noBasis);
    expect(cache.knownCheap(KEY, SETTINGS)).toBe(false);
    expect(cache.size).toBe(0);
  });

  it('a later expensive or empty answer replaces a cheap one', () => {
    const cache = new PredictionCache();
    cache.remember(KEY, SETTINGS, cheapOr(0.01));
    cache.remember(KEY, SETTINGS, cheapOr(50));
    expect(cache.knownCheap(KEY, SETTINGS)).toBe(false);
    cache.remember(KEY, SETTINGS, cheapOr(0.01));
    cache.remember(KEY, SETTINGS, null);
    expect(cache.knownCheap(KEY, SETTINGS)).toBe(false);
    cache.remember(KEY, SETTINGS, cheapOr(0.01));
    cache.forget(KEY);
    expect(cache.knownCheap(KEY, SETTINGS)).toBe(false);
  });

  it('a figure under a set threshold that the prediction does not know is not cheap', () => {
    expect(isKnownCheap(prediction({ ...cheapOr(0.01), cost: null }), { ...SETTINGS, cost: 1 })).toBe(false);
    expect(isKnownCheap(prediction({ ...cheapOr(0.01), cost: null }), SETTINGS)).toBe(true);
    const infinite = cheapOr(0.01, Number.POSITIVE_INFINITY);
    expect(isKnownCheap(infinite, SETTINGS)).toBe(false);
  });

  it('never keeps a cell that declares its work (%%carbon --predict)', () => {
    const cache = new PredictionCache();
    const declared = { ...KEY, code: '%%carbon --predict "model=net, steps=10"\ntrain(net)' };
    cache.remember(declared, SETTINGS, cheapOr(0.01));
    expect(cache.knownCheap(declared, SETTINGS)).toBe(false);
    expect(alwaysLooksUp(declared.code)).toBe(true);
    expect(alwaysLooksUp('x = 1')).toBe(false);
  });

  it('evicts the least recently used cell beyond its bound', () => {
    const cache = new PredictionCache(3);
    const key = (id: string) => ({ ...KEY, cellId: id });
    for (const id of ['a', 'b', 'c']) {
      cache.remember(key(id), SETTINGS, cheapOr(0.01));
    }
    expect(cache.knownCheap(key('a'), SETTINGS)).toBe(true); // 'a' used: 'b' is now the oldest
    cache.remember(key('d'), SETTINGS, cheapOr(0.01));
    expect(cache.size).toBe(3);
    expect(cache.knownCheap(key('b'), SETTINGS)).toBe(false);
    for (const id of ['a', 'c', 'd']) {
      expect(cache.knownCheap(key(id), SETTINGS)).toBe(true);
    }
  });

  it('a measured run above a threshold, or without the figure, counts as above', () => {
    const run = { energy_j: 3600, duration_s: 2, gco2e: 0.1, cost: null };
    expect(measuredAbove(run, SETTINGS)).toBe(false);
    expect(measuredAbove({ ...run, energy_j: 3600 * 11 }, SETTINGS)).toBe(true);
    expect(measuredAbove({ ...run, duration_s: 301 }, SETTINGS)).toBe(true);
    expect(measuredAbove(run, { ...SETTINGS, cost: 1 })).toBe(true); // cost not known
  });
});

interface ICell {
  id: string;
  code: string;
  wh: number | null;
  measuredWh?: number;
  /** What the page's known codes say of the cell (undefined: the host has no known codes). */
  noBasis?: boolean;
}

/** A gate with a cache, whose lookups answer each cell's `wh` after `delayMs`. */
function cachedGate(delayMs = 0) {
  const lookedUp: string[] = [];
  const dialogs: string[][] = [];
  let settings = SETTINGS;
  const pending: Array<Promise<unknown>> = [];
  const host: IGateHost<ICell> = {
    settings: () => settings,
    isLookedUp: () => true,
    isDontAsk: () => false,
    lookup: (cell, background) => {
      lookedUp.push(background ? `${cell.id} (refresh)` : cell.id);
      const wh = cell.wh;
      const answer = new Promise<IPrediction | null>(resolve =>
        setTimeout(() => resolve(wh === null ? null : cheapOr(wh)), delayMs)
      );
      pending.push(answer);
      return answer;
    },
    confirm: async (flagged: IFlaggedCell<ICell>[]) => {
      dialogs.push(flagged.map(f => f.cell.id));
      return 'run';
    },
    rememberDontAsk: () => undefined,
    cacheKey: cell => ({ notebookPath: 'a.ipynb', kernelId: 'k', cellId: cell.id, code: cell.code }),
    lastMeasured: cell =>
      cell.measuredWh === undefined ? null : { energy_j: cell.measuredWh * 3600, duration_s: 1, gco2e: 0, cost: null },
    hasNoBasis: async cell => cell.noBasis === true
  };
  const gate = new CellGate(host, new PredictionCache());
  /** Wait for every lookup so far, background refreshes included. */
  const settle = async () => {
    await new Promise(resolve => setTimeout(resolve, 0)); // a refresh starts after its cell
    await Promise.all(pending);
    await new Promise(resolve => setTimeout(resolve, 0));
  };
  const setSettings = (next: IPredictSettings) => (settings = next);
  return { gate, lookedUp, dialogs, settle, setSettings };
}

/** Resolves 'admitted' or 'waiting' after `ms`, whichever is first. */
async function within(admission: Promise<boolean>, ms: number): Promise<string> {
  return Promise.race([
    admission.then(ok => (ok ? 'admitted' : 'cancelled')),
    new Promise<string>(resolve => setTimeout(() => resolve('waiting'), ms))
  ]);
}

describe('the gate with a cache', () => {
  it('a cheap cell waits for its first lookup, then starts at once and refreshes in the background', async () => {
    const { gate, lookedUp, settle } = cachedGate(50);
    const cell: ICell = { id: 'c', code: 'x = 1', wh: 0.01 };
    expect(await within(gate.admit({}, cell), 10)).toBe('waiting'); // never seen: waits
    await settle();
    expect(await within(gate.admit({}, cell), 10)).toBe('admitted'); // known cheap: at once
    await settle();
    // Looked up again all the same, once it started, as a refresh (no cell waits: a longer timeout).
    expect(lookedUp).toEqual(['c', 'c (refresh)']);
  });

  it('an edited cell waits again, and asks when its new code is expensive', async () => {
    const { gate, dialogs, settle } = cachedGate(20);
    const cell: ICell = { id: 'c', code: 'train(epochs=1)', wh: 0.01 };
    await gate.admit({}, cell);
    await settle();
    const edited = { ...cell, code: 'train(epochs=5000)', wh: 50 };
    expect(await within(gate.admit({}, edited), 5)).toBe('waiting');
    await settle();
    expect(dialogs).toEqual([['c']]);
  });

  it('the background refresh finding the cell expensive makes its next start wait and ask', async () => {
    const { gate, dialogs, settle } = cachedGate(20);
    const cell: ICell = { id: 'c', code: 'fit()', wh: 0.01 };
    await gate.admit({}, cell);
    await settle();
    cell.wh = 50; // its history grew: the server now predicts more
    expect(await within(gate.admit({}, cell), 5)).toBe('admitted'); // what was known
    await settle();
    expect(dialogs).toEqual([]);
    expect(await within(gate.admit({}, cell), 5)).toBe('waiting');
    await settle();
    expect(dialogs).toEqual([['c']]);
  });

  it('a changed threshold makes the cell wait, and ask when it is now above', async () => {
    const { gate, dialogs, settle, setSettings } = cachedGate(20);
    const cell: ICell = { id: 'c', code: 'x = sum(range(10))', wh: 0.01 };
    await gate.admit({}, cell);
    await settle();
    setSettings({ ...SETTINGS, energy_wh: 0.001 });
    expect(await within(gate.admit({}, cell), 5)).toBe('waiting');
    await settle();
    expect(dialogs).toEqual([['c']]);
  });

  it('a cell whose last measured run was above a threshold waits, whatever the cache says', async () => {
    const { gate, settle } = cachedGate(20);
    const cell: ICell = { id: 'c', code: 'x = 1', wh: 0.01 };
    await gate.admit({}, cell);
    await settle();
    cell.measuredWh = 12;
    expect(await within(gate.admit({}, cell), 5)).toBe('waiting');
    await settle();
  });

  it('forget (a run past the duration threshold) makes the next start wait', async () => {
    const { gate, settle } = cachedGate(20);
    const cell: ICell = { id: 'c', code: 'x = 1', wh: 0.01 };
    await gate.admit({}, cell);
    await settle();
    gate.forget(cell);
    expect(await within(gate.admit({}, cell), 5)).toBe('waiting');
    await settle();
  });

  it('Run All with cached cheap cells and an expensive one asks once, for the expensive one, in order', async () => {
    const { gate, dialogs, settle } = cachedGate(20);
    const cells: ICell[] = [
      { id: 'a', code: 'a = 1', wh: 0.01 },
      { id: 'b', code: 'b = 2', wh: 50 },
      { id: 'c', code: 'c = 3', wh: 0.01 }
    ];
    const notebook = {};
    await Promise.all(cells.map(cell => gate.admit(notebook, cell)));
    await settle();
    expect(dialogs).toEqual([['b']]);
    const order: string[] = [];
    await Promise.all(cells.map(cell => gate.admit(notebook, cell).then(() => order.push(cell.id))));
    expect(dialogs).toEqual([['b'], ['b']]); // the expensive cell was never cached: asked again
    expect(order).toEqual(['a', 'b', 'c']);
    await settle();
  });

  it('a cheap cached cell run while a dialog of its notebook is open waits its turn', async () => {
    const { gate, settle } = cachedGate(20);
    const cheap: ICell = { id: 'a', code: 'a = 1', wh: 0.01 };
    await gate.admit({}, cheap);
    await settle();
    const notebook = {};
    const order: string[] = [];
    const first = gate.admit(notebook, { id: 'b', code: 'big()', wh: 50 }).then(() => order.push('b'));
    await Promise.resolve();
    const second = gate.admit(notebook, cheap).then(() => order.push('a'));
    await Promise.all([first, second]);
    expect(order).toEqual(['b', 'a']);
    await settle();
  });

  it('a cell the server has no basis for starts at once; its lookup still goes out, after it', async () => {
    const { gate, lookedUp, dialogs, settle } = cachedGate(50);
    const cell: ICell = { id: 'n', code: 'x = 1001', wh: null, noBasis: true };
    expect(await within(gate.admit({}, cell), 10)).toBe('admitted');
    expect(lookedUp).toEqual([]); // not before the cell has started
    await settle();
    expect(lookedUp).toEqual(['n (refresh)']);
    // Known code (its history is there, above the threshold) waits and asks, as before.
    const known: ICell = { id: 'k', code: 'train()', wh: 50, noBasis: false };
    expect(await within(gate.admit({}, known), 10)).toBe('waiting');
    await settle();
    expect(dialogs).toEqual([['k']]);
  });

  it('a batch mixing new and known cells keeps its order and its one dialog', async () => {
    const { gate, dialogs, settle } = cachedGate(20);
    const cells: ICell[] = [
      { id: 'new', code: 'y = 2', wh: null, noBasis: true },
      { id: 'big', code: 'big()', wh: 50, noBasis: false },
      { id: 'new2', code: 'z = 3', wh: null, noBasis: true }
    ];
    const notebook = {};
    const order: string[] = [];
    await Promise.all(cells.map(cell => gate.admit(notebook, cell).then(() => order.push(cell.id))));
    expect(order).toEqual(['new', 'big', 'new2']);
    expect(dialogs).toEqual([['big']]);
    await settle();
  });
});
