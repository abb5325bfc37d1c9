import { IMeasuredRun, IPredictionKey, measuredAbove, PredictionCache } from './cache';
import { exceededThresholds, IExceeded } from './threshold';
import { IPrediction, IPredictSettings } from './types';

/** What the user chose in the gate's dialog. */
export type GateChoice = 'run' | 'cancel' | 'dont-ask';

/** A cell above a threshold, shown in the dialog. */
export interface IFlaggedCell<C> {
  cell: C;
  prediction: IPrediction;
  exceeded: IExceeded[];
}

/** What the gate needs from the notebook and the server (fakes in the tests). */
export interface IGateHost<C> {
  settings(): IPredictSettings;
  /** Whether the cell goes to a kernel at all (markdown cells do not, and are never looked up). */
  isLookedUp(cell: C): boolean;
  /** The user said "Don't ask again" for this cell. */
  isDontAsk(cell: C): boolean;
  /** `background`: a refresh of a cell already started, which nobody waits for (a longer timeout). */
  lookup(cell: C, background?: boolean): Promise<IPrediction | null>;
  /** Ask once for all the flagged cells of one batch. */
  confirm(flagged: IFlaggedCell<C>[]): Promise<GateChoice>;
  rememberDontAsk(cell: C): void;
  /** What the cache knows the cell by; null: never start it from the cache (`%%carbon --predict`...). */
  cacheKey?(cell: C): IPredictionKey | null;
  /** The cell's last measured run (its badge), if any: above a threshold, the cell waits. */
  lastMeasured?(cell: C): IMeasuredRun | null;
  /** True when the server cannot have a basis for the cell's code (never run, see known.ts): it need not wait. */
  hasNoBasis?(cell: C): Promise<boolean>;
}

interface IPending<C> {
  cell: C;
  resolve: (run: boolean) => void;
}

/**
 * Decides whether cells may run. Cells asked for in the same tick of one notebook (Run All, Run
 * Selected) form one batch: their lookups go out together and one dialog lists every cell above a
 * threshold. Batches of a notebook are decided in order, and the cells of a batch are answered in
 * order, so the kernel receives them in the order the user asked.
 *
 * With a cache, a cell whose last answer (same cell, code and settings) was cheap does not wait for
 * its lookup, which still goes out to refresh the cache; a batch of only such cells, with no earlier
 * batch of its notebook pending, is admitted at once. A cell whose code the server cannot have a
 * basis for (`hasNoBasis`) waits only for that local check, and its lookup goes out after it starts
 * (the server learns its code's template that way). Every other cell waits for its lookup.
 */
export class CellGate<C> {
  constructor(
    private readonly _host: IGateHost<C>,
    private readonly _cache: PredictionCache | null = null
  ) {}

  /** The cell's cache entry no longer holds (its run went on past the duration threshold). */
  forget(cell: C): void {
    const key = this._cache ? this._host.cacheKey?.(cell) : null;
    if (key) {
      this._cache!.forget(key);
    }
  }

  /** Resolves true when the cell may run, false when the user cancelled. */
  admit(notebook: object, cell: C): Promise<boolean> {
    return new Promise<boolean>(resolve => {
      let batch = this._open.get(notebook);
      if (!batch) {
        batch = [];
        this._open.set(notebook, batch);
        queueMicrotask(() => {
          const closed = this._open.get(notebook) ?? [];
          this._open.delete(notebook);
          this._decide(notebook, closed);
        });
      }
      batch.push({ cell, resolve });
    });
  }

  private _decide(notebook: object, batch: IPending<C>[]): void {
    const host = this._host;
    const settings = host.settings();
    const cache = this._cache;
    let waits = false;
    // Lookups start at once, before any earlier batch's dialog is answered. A cell known to be cheap
    // does not wait for its own (null here: never flagged); it refreshes the cache for next time.
    const lookups = batch.map(({ cell }): Promise<IPrediction | null> => {
      if (!host.isLookedUp(cell)) {
        return Promise.resolve(null);
      }
      const key = cache ? (host.cacheKey?.(cell) ?? null) : null;
      const measured = key ? (host.lastMeasured?.(cell) ?? null) : null;
      const cheap = !!key && cache!.knownCheap(key, settings) && !(measured && measuredAbove(measured, settings));
      const lookUp = (background: boolean): Promise<IPrediction | null> =>
        host.lookup(cell, background).then(
          prediction => {
            if (key) {
              cache!.remember(key, settings, prediction);
            }
            return prediction;
          },
          () => {
            if (key) {
              cache!.forget(key);
            }
            return null;
          }
        );
      if (cheap) {
        // The refresh goes out after the cell has started (a request's own set-up costs ms).
        setTimeout(() => void lookUp(true), 0);
        return Promise.resolve(null);
      }
      waits = true;
      if (!key || !host.hasNoBasis) {
        return lookUp(false);
      }
      return host.hasNoBasis(cell).then(
        noBasis => {
          if (!noBasis) {
            return lookUp(false);
          }
          setTimeout(() => void lookUp(true), 0);
          return null;
        },
        () => lookUp(false)
      );
    });
    const previous = this._tail.get(notebook);
    if (!waits && !previous) {
      // Every cell of the batch is known cheap (or not looked up) and nothing of this notebook is
      // pending: no dialog can come of it, the cells start now.
      for (const { resolve } of batch) {
        resolve(true);
      }
      return;
    }
    const decided = (previous ?? Promise.resolve()).then(async () => {
      const predictions = await Promise.all(lookups);
      const flagged: IFlaggedCell<C>[] = [];
      batch.forEach(({ cell }, index) => {
        const prediction = predictions[index];
        const exceeded = exceededThresholds(prediction, settings);
        if (prediction && exceeded.length > 0 && !host.isDontAsk(cell)) {
          flagged.push({ cell, prediction, exceeded });
        }
      });
      let choice: GateChoice = 'run';
      if (flagged.length > 0) {
        choice = await host.confirm(flagged).catch((): GateChoice => 'cancel');
      }
      if (choice === 'dont-ask') {
        flagged.forEach(({ cell }) => host.rememberDontAsk(cell));
      }
      for (const { resolve } of batch) {
        resolve(choice !== 'cancel');
      }
    });
    this._tail.set(notebook, decided);
    void decided.then(() => {
      if (this._tail.get(notebook) === decided) {
        this._tail.delete(notebook);
      }
    });
  }

  private _open = new Map<object, IPending<C>[]>();
  private _tail = new Map<object, Promise<void>>();
}
