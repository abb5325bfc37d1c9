import { IPredictionKey, PredictionCache } from '../cache';
import { Prefetcher } from '../prefetch';
import { DEFAULT_PREDICT_SETTINGS, IPrediction, IPredictSettings } from '../types';
import { prediction } from './fixtures';

const SETTINGS: IPredictSettings = { ...DEFAULT_PREDICT_SETTINGS, duration_s: null };

const key = (cellId: string, code: string): IPredictionKey => ({
  notebookPath: 'a.ipynb',
  kernelId: 'k1',
  cellId,
  code
});

/** Answers per code: a cheap prediction (Wh), null (nothing known) or never asked (no basis). */
function host(answers: Record<string, number | null>, noBasis: string[] = [], delayMs = 0) {
  const asked: string[] = [];
  let settings = SETTINGS;
  return {
    asked,
    setSettings: (next: IPredictSettings) => (settings = next),
    host: {
      settings: () => settings,
      hasNoBasis: async (code: string) => noBasis.includes(code),
      lookup: (k: IPredictionKey): Promise<IPrediction | null> => {
        asked.push(k.cellId);
        const wh = answers[k.code];
        return new Promise(resolve =>
          setTimeout(
            () =>
              resolve(
                wh === null || wh === undefined
                  ? null
                  : prediction({ energy_j: { p50: wh * 3600, low: 0, high: wh * 3600 * 1.5 } })
              ),
            delayMs
          )
        );
      }
    }
  };
}

describe('looking a notebook up ahead', () => {
  it('asks about the cells that may have a basis, one at a time, and keeps the cheap answers', async () => {
    const { host: fake, asked } = host({ 'fit()': 0.01, 'big()': 50, 'odd()': null }, ['new()']);
    const cache = new PredictionCache();
    const prefetcher = new Prefetcher(fake, cache);
    const keys = [
      key('a', 'fit()'),
      key('b', 'big()'),
      key('c', 'new()'),
      key('d', '%%carbon --predict "model=m, batch=b"\nx'),
      key('e', 'odd()')
    ];
    expect(await prefetcher.prefetch({}, keys)).toBe(3);
    expect(asked).toEqual(['a', 'b', 'e']); // not the new code, not a cell declaring its work
    expect(cache.knownCheap(keys[0], SETTINGS)).toBe(true); // starts without waiting now
    expect(cache.knownCheap(keys[1], SETTINGS)).toBe(false); // above the threshold: waits and asks
    expect(cache.knownCheap(keys[4], SETTINGS)).toBe(false);
  });

  it('skips what the cache already knows cheap, and stops when the gate is off', async () => {
    const { host: fake, asked, setSettings } = host({ 'fit()': 0.01 });
    const cache = new PredictionCache();
    const prefetcher = new Prefetcher(fake, cache);
    await prefetcher.prefetch({}, [key('a', 'fit()')]);
    await prefetcher.prefetch({}, [key('a', 'fit()')]);
    expect(asked).toEqual(['a']);
    setSettings({ ...SETTINGS, enabled: false });
    expect(await prefetcher.prefetch({}, [key('b', 'fit()')])).toBe(0);
  });

  it('a newer round for the same notebook ends the older one', async () => {
    const { host: fake, asked } = host({ 'a()': 0.01, 'b()': 0.01, 'c()': 0.01 }, [], 5);
    const prefetcher = new Prefetcher(fake, new PredictionCache());
    const notebook = {};
    const first = prefetcher.prefetch(notebook, [key('a', 'a()'), key('b', 'b()')]);
    await new Promise(resolve => setTimeout(resolve, 1));
    const second = prefetcher.prefetch(notebook, [key('c', 'c()')]);
    expect(await first).toBe(1); // 'a' was under way; 'b' is not asked
    expect(await second).toBe(1);
    expect(asked).toEqual(['a', 'c']);
  });
});
