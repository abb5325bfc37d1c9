import { ICellModel } from '@jupyterlab/cells';
import { INotebookModel } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { ICarbonSummary, METADATA_KEY, readSummary } from './summary';

/** Where a cell's energy stands among the notebook's own cells (null: too few to judge). */
export type RelativeLevel = 'low' | 'mid' | 'high' | null;

/** Fewer figures than this and a badge makes no judgement. */
const MINIMUM_FOR_A_LEVEL = 3;

/** Index of the first element of `sorted` that is not below `value` (binary search). */
function lowerBound(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] < value) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low;
}

/**
 * The energies of a notebook's cells, kept sorted so that a badge's level costs a binary search
 * rather than a look at every cell: the colour scale of the badges.
 */
export class EnergyScale {
  constructor(energies: Iterable<number> = []) {
    this._sorted = [...energies].sort((a, b) => a - b);
  }

  /** How many energies the scale holds. */
  get size(): number {
    return this._sorted.length;
  }

  add(energy: number): void {
    this._sorted.splice(lowerBound(this._sorted, energy), 0, energy);
  }

  /** Remove one occurrence of `energy` (a value not held is ignored). */
  remove(energy: number): void {
    const index = lowerBound(this._sorted, energy);
    if (this._sorted[index] === energy) {
      this._sorted.splice(index, 1);
    }
  }

  /** The share of the other figures below `energy`, in thirds: low, mid or high. */
  level(energy: number): RelativeLevel {
    const count = this._sorted.length;
    if (count < MINIMUM_FOR_A_LEVEL) {
      return null;
    }
    const rank = lowerBound(this._sorted, energy) / (count - 1);
    return rank < 1 / 3 ? 'low' : rank < 2 / 3 ? 'mid' : 'high';
  }

  private _sorted: number[];
}

/**
 * The badge summaries of one notebook model, read once when it opens and then kept up to date
 * from the cell list's and each cell's metadata changes: the cells by id, their summaries and
 * the colour scale. A notebook view owns one and disposes it with itself.
 */
export class NotebookSummaries implements IDisposable {
  constructor(private readonly _model: INotebookModel) {
    const energies: number[] = [];
    for (let index = 0; index < _model.cells.length; index++) {
      const summary = this._track(_model.cells.get(index));
      if (summary) {
        energies.push(summary.energy_j);
      }
    }
    this._scale = new EnergyScale(energies);
    _model.cells.changed.connect(this._onCellsChanged, this);
  }

  /** A summary was added, changed or removed (the scale, and so every badge's level, may move). */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** The cell model with this id, if the notebook has it. */
  cell(cellId: string): ICellModel | null {
    return this._cells.get(cellId) ?? null;
  }

  /** The cell's current summary, if it has a valid one. */
  summary(cellId: string): ICarbonSummary | null {
    return this._summaries.get(cellId) ?? null;
  }

  /** The level of an energy among the notebook's summaries. */
  level(energy: number): RelativeLevel {
    return this._scale.level(energy);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    // Every connection of this object, to the cell list and each cell, ends here: the notebook
    // model may be disposed first (a closed tab), its cell list then gone.
    Signal.clearData(this);
    this._cells.clear();
    this._summaries.clear();
  }

  /** Start following a cell; returns its summary (one metadata read). */
  private _track(cell: ICellModel): ICarbonSummary | null {
    this._cells.set(cell.id, cell);
    cell.metadataChanged.connect(this._onMetadataChanged, this);
    const summary = readSummary(cell);
    if (summary) {
      this._summaries.set(cell.id, summary);
    }
    return summary;
  }

  /** Stop following a cell; returns whether it had a summary. */
  private _untrack(cellId: string, cell: ICellModel): boolean {
    cell.metadataChanged.disconnect(this._onMetadataChanged, this);
    this._cells.delete(cellId);
    const previous = this._summaries.get(cellId);
    if (previous) {
      this._scale.remove(previous.energy_j);
      this._summaries.delete(cellId);
    }
    return previous !== undefined;
  }

  private _onCellsChanged(_: unknown, change: { type: string; newValues: readonly ICellModel[] }): void {
    if (change.type === 'remove') {
      // The list reports removed cells as undefined (their models are already disposed).
      const present = new Set<string>();
      for (let index = 0; index < this._model.cells.length; index++) {
        present.add(this._model.cells.get(index).id);
      }
      let removed = false;
      for (const [cellId, cell] of [...this._cells]) {
        if (!present.has(cellId)) {
          removed = this._untrack(cellId, cell) || removed;
        }
      }
      if (removed) {
        this._changed.emit();
      }
      return;
    }
    if (change.type !== 'add') {
      return;
    }
    let added = false;
    for (const cell of change.newValues) {
      const summary = this._track(cell);
      if (summary) {
        this._scale.add(summary.energy_j);
        added = true;
      }
    }
    if (added) {
      this._changed.emit(); // once for the batch: a pasted or reloaded notebook adds many cells
    }
  }

  private _onMetadataChanged(cell: ICellModel, change: { key: string }): void {
    if (change.key !== METADATA_KEY) {
      return;
    }
    const previous = this._summaries.get(cell.id);
    const summary = readSummary(cell);
    if (!previous && !summary) {
      return;
    }
    if (previous) {
      this._scale.remove(previous.energy_j);
      this._summaries.delete(cell.id);
    }
    if (summary) {
      this._scale.add(summary.energy_j);
      this._summaries.set(cell.id, summary);
    }
    this._changed.emit();
  }

  private _cells = new Map<string, ICellModel>();
  private _summaries = new Map<string, ICarbonSummary>();
  private _scale: EnergyScale;
  private _changed = new Signal<this, void>(this);
  private _isDisposed = false;
}
