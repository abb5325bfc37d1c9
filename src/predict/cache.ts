import { IPrediction, IPredictSettings } from './types';

/** How many cells the page remembers a lookup's answer for (the least recently used go first). */
export const CACHE_ENTRIES = 500;

/** Cells longer than this are never remembered (the cache keeps each cell's exact code). */
export const CACHE_MAX_CODE_CHARS = 100_000;

const JOULES_PER_WH = 3600;

/** What identifies a lookup's answer: the cell, where it runs, and its exact code. */
export interface IPredictionKey {
  notebookPath: string | null;
  kernelId: string;
  cellId: string;
  code: string;
}

/** The figures of a cell's last measured run (its badge summary), when the page has them. */
export interface IMeasuredRun {
  energy_j: number | null;
  duration_s: number | null;
  gco2e: number | null;
  cost: number | null;
}

interface IEntry {
  code: string;
  settings: string;
  prediction: IPrediction;
}

/** The settings that decide whether a cell asks (the lookup's timeout does not), as a string. */
export function settingsFingerprint(settings: IPredictSettings): string {
  const { enabled, energy_wh, gco2e_g, cost, duration_s } = settings;
  return JSON.stringify([enabled, energy_wh, gco2e_g, cost, duration_s]);
}

function isSet(threshold: number | null | undefined): threshold is number {
  return typeof threshold === 'number' && Number.isFinite(threshold) && threshold >= 0;
}

/**
 * Is this answer one a cell may start on without waiting next time? Only a prediction with a basis
 * whose whole interval (its `high`, not only its median) is below every threshold that is set. A
 * figure that is not known (no cost, a non-finite bound) under a set threshold is not cheap.
 */
export function isKnownCheap(prediction: IPrediction | null, settings: IPredictSettings): boolean {
  if (!prediction || !settings.enabled || typeof prediction.basis?.kind !== 'string') {
    return false;
  }
  const below = (high: number | undefined, threshold: number | null, scale = 1): boolean =>
    !isSet(threshold) || (typeof high === 'number' && Number.isFinite(high) && high / scale <= threshold);
  return (
    below(prediction.energy_j?.high, settings.energy_wh, JOULES_PER_WH) &&
    below(prediction.gco2e?.high, settings.gco2e_g) &&
    below(prediction.cost?.high, settings.cost) &&
    below(prediction.duration_s?.high, settings.duration_s)
  );
}

/** Did the cell's last measured run itself go above a threshold (or is a figure under one unknown)? */
export function measuredAbove(run: IMeasuredRun, settings: IPredictSettings): boolean {
  const above = (value: number | null, threshold: number | null, scale = 1): boolean =>
    isSet(threshold) && (typeof value !== 'number' || !Number.isFinite(value) || value / scale > threshold);
  return (
    above(run.energy_j, settings.energy_wh, JOULES_PER_WH) ||
    above(run.gco2e, settings.gco2e_g) ||
    above(run.cost, settings.cost) ||
    above(run.duration_s, settings.duration_s)
  );
}

/** Cells that always wait for their lookup: `%%carbon --predict` declares work the kernel evaluates now. */
export function alwaysLooksUp(code: string): boolean {
  return /--predict\b/.test(code) || code.length > CACHE_MAX_CODE_CHARS;
}

/**
 * The last lookup's answer per cell, so that a cell known to be cheap starts without waiting.
 *
 * One entry per cell (notebook, kernel, cell id), holding the exact code and the settings it was
 * answered for. `knownCheap` is true only on a full match whose answer was cheap (`isKnownCheap`);
 * everything else (never seen, other code, other settings, above a threshold, unknown, failed) is
 * "not known cheap", and the cell waits for its lookup as it would without the cache.
 */
export class PredictionCache {
  constructor(private readonly _maxEntries: number = CACHE_ENTRIES) {}

  get size(): number {
    return this._entries.size;
  }

  /** True when the last answer for this cell, code and settings said it is cheap. */
  knownCheap(key: IPredictionKey, settings: IPredictSettings): boolean {
    const id = Private.cellKey(key);
    const entry = this._entries.get(id);
    if (!entry || entry.code !== key.code || entry.settings !== settingsFingerprint(settings)) {
      return false;
    }
    // Used: now the most recent.
    this._entries.delete(id);
    this._entries.set(id, entry);
    return isKnownCheap(entry.prediction, settings);
  }

  /** Keep a lookup's answer; anything but a cheap answer removes what was kept for the cell. */
  remember(key: IPredictionKey, settings: IPredictSettings, prediction: IPrediction | null): void {
    const id = Private.cellKey(key);
    this._entries.delete(id);
    if (alwaysLooksUp(key.code) || !isKnownCheap(prediction, settings)) {
      return;
    }
    this._entries.set(id, { code: key.code, settings: settingsFingerprint(settings), prediction: prediction! });
    while (this._entries.size > this._maxEntries) {
      const oldest = this._entries.keys().next().value as string;
      this._entries.delete(oldest);
    }
  }

  /** Forget the cell (its run went on longer than a threshold, say). */
  forget(key: IPredictionKey): void {
    this._entries.delete(Private.cellKey(key));
  }

  private _entries = new Map<string, IEntry>();
}

namespace Private {
  export function cellKey(key: IPredictionKey): string {
    return JSON.stringify([key.notebookPath, key.kernelId, key.cellId]);
  }
}
