import { alwaysLooksUp, IPredictionKey, PredictionCache } from './cache';
import { IPrediction, IPredictSettings } from './types';

/** The most cells of one notebook looked up ahead (a larger notebook's first cells are, the rest wait as before). */
export const PREFETCH_MAX_CELLS = 200;

/** What the prefetcher needs (fakes in the tests). */
export interface IPrefetchHost {
  settings(): IPredictSettings;
  /** A background lookup (nobody waits for it). */
  lookup(key: IPredictionKey): Promise<IPrediction | null>;
  /** True when the server cannot have a basis for the code (those cells never wait anyway). */
  hasNoBasis(code: string): Promise<boolean>;
}

/**
 * Looks up, in the background and one at a time, the cells of a notebook the page has not seen
 * cheap yet, so that their first run after the notebook is opened (or its kernel changed) starts
 * without waiting for a lookup. Only cells whose code may have a basis are asked about: the others
 * start at once anyway. A new round for a notebook ends the one before it.
 */
export class Prefetcher {
  constructor(
    private readonly _host: IPrefetchHost,
    private readonly _cache: PredictionCache
  ) {}

  /** Look these cells up (the newest call per notebook wins); resolves when the round ends. */
  async prefetch(notebook: object, keys: IPredictionKey[]): Promise<number> {
    const round = (this._rounds.get(notebook) ?? 0) + 1;
    this._rounds.set(notebook, round);
    let looked = 0;
    for (const key of keys.slice(0, PREFETCH_MAX_CELLS)) {
      if (this._rounds.get(notebook) !== round) {
        break; // a newer round (another kernel, say) took over
      }
      const settings = this._host.settings();
      if (!settings.enabled || alwaysLooksUp(key.code) || this._cache.knownCheap(key, settings)) {
        continue;
      }
      if (await this._host.hasNoBasis(key.code).catch(() => false)) {
        continue;
      }
      const prediction = await this._host.lookup(key).catch(() => null);
      looked++;
      // Thresholds changed meanwhile: the answer is kept for the settings it was asked under.
      this._cache.remember(key, settings, prediction);
    }
    return looked;
  }

  private _rounds = new WeakMap<object, number>();
}
