/**
 * The ledger list's state, without DOM: filters, sort, the pages fetched so far, selection and
 * grouping. The view asks for the rows in view (`ensureRange`); only those pages are fetched.
 */

import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  IGroupTotals,
  ILedgerFilters,
  ILedgerPageQuery,
  IRun,
  IRunGroup,
  IRunGroups,
  IRunsPage,
  LedgerGroupKey,
  LedgerSortKey,
  SortOrder
} from '../tokens';
import { combineFilters, groupFilter, runMatches } from './filters';

/** What the model needs from the server (a `LedgerClient` in the app, a fake in tests). */
export interface ILedgerSource {
  runs(query: ILedgerPageQuery): Promise<IRunsPage>;
  groups(by: LedgerGroupKey, filters: ILedgerFilters): Promise<IRunGroups>;
}

/** The current sort. */
export interface ISort {
  key: LedgerSortKey;
  order: SortOrder;
}

/** A group the list is narrowed to (the user opened it from the grouped view). */
export interface IOpenGroup {
  by: LedgerGroupKey;
  key: string;
}

/** How a click or key press changes the selection. */
export type SelectMode = 'replace' | 'toggle' | 'range';

/**
 * What became of a live run: added on top, the list is stale (the run sorts elsewhere, or into a
 * group: fetch again), or the filters exclude it.
 */
export type LiveResult = 'added' | 'stale' | 'excluded';

/** The list newest first. */
export const DEFAULT_SORT: ISort = { key: 'started_at', order: 'desc' };

/** Keys whose natural first order is ascending (text); figures and times start with the largest. */
const ASCENDING_FIRST: ReadonlySet<LedgerSortKey> = new Set(['notebook_path', 'experiment']);

/** The sort after a click on a column: the other order on the same column, else the column's natural order. */
export function nextSort(current: ISort, key: LedgerSortKey): ISort {
  if (current.key === key) {
    return { key, order: current.order === 'desc' ? 'asc' : 'desc' };
  }
  return { key, order: ASCENDING_FIRST.has(key) ? 'asc' : 'desc' };
}

/**
 * A request in flight for rows from `start`, made when `inserted` live runs had been added and the
 * list counted `knownTotal` rows (null before the first page: nothing known yet).
 */
interface IPendingPage {
  start: number;
  inserted: number;
  knownTotal: number | null;
}

/** The list model of the ledger sidebar. */
export class LedgerListModel implements IDisposable {
  constructor(
    private readonly _source: ILedgerSource,
    options: { pageSize?: number } = {}
  ) {
    this._pageSize = options.pageSize ?? 100;
  }

  /** Rows, total or loading state changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The selection changed. */
  get selectionChanged(): ISignal<this, void> {
    return this._selectionChanged;
  }

  /** The list starts again from its first row (new filters, sort or grouping). */
  get reset(): ISignal<this, void> {
    return this._reset;
  }

  /** Live runs were added above every loaded row (the view keeps its scroll position with it). */
  get inserted(): ISignal<this, number> {
    return this._inserted;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Rows fetched per request. */
  get pageSize(): number {
    return this._pageSize;
  }

  set pageSize(size: number) {
    this._pageSize = Math.max(1, Math.floor(size));
  }

  /** The filters from the form (without the open group's). */
  get filters(): ILedgerFilters {
    return this._filters;
  }

  /** The filters the server applies: the form's and the open group's. */
  get effectiveFilters(): ILedgerFilters {
    const group = this._openGroup;
    return group ? combineFilters(this._filters, groupFilter(group.by, group.key)) : this._filters;
  }

  get sort(): ISort {
    return this._sort;
  }

  /** The grouping key, or null for a flat list of runs. */
  get grouping(): LedgerGroupKey | null {
    return this._grouping;
  }

  /** The group the list is narrowed to, if any. */
  get openGroup(): IOpenGroup | null {
    return this._openGroup;
  }

  /** Whether the rows are groups (grouped and no group open) rather than runs. */
  get showsGroups(): boolean {
    return this._grouping !== null && this._openGroup === null;
  }

  /** How many rows the list has: matching runs, or groups. */
  get rowCount(): number {
    return this.showsGroups ? (this._groups?.groups.length ?? 0) : this._total;
  }

  /**
   * When the server counted the matching runs only up to its cap: how many match at least
   * (else null). The list then ends one row past the runs loaded, which asks for more.
   */
  /** Whether the selection is every loaded run while more runs are not loaded yet (what
   * select-all gives in a long list): an action on it reaches those runs only. */
  get selectionIsLoadedRunsOnly(): boolean {
    if (this.showsGroups || this._selection.size < 2) {
      return false;
    }
    const loaded = this._rows.filter(run => run !== undefined).length;
    return loaded < this._total && this._selection.size === loaded;
  }

  get countAtLeast(): number | null {
    return this.showsGroups ? null : this._countAtLeast;
  }

  /** The total of the runs the list shows (null until known, or when the server cannot say). */
  get totals(): IGroupTotals | null {
    return this._totals;
  }

  /** Whether a request is in flight. */
  get loading(): boolean {
    return this._pending.length > 0 || this._groupsLoading;
  }

  /** The last request's error, cleared by the next success. */
  get error(): string | null {
    return this._error;
  }

  /** The run at a row, when its page has arrived (the previous page's row while a refresh runs). */
  run(index: number): IRun | undefined {
    return this._rows[index] ?? this._staleRows?.[index];
  }

  /** The group at a row of the grouped view. */
  group(index: number): IRunGroup | undefined {
    return this._groups?.groups[index];
  }

  /** The id of the item at a row: a run id, or a group key. */
  itemId(index: number): string | undefined {
    return this.showsGroups ? this.group(index)?.key : this.run(index)?.run_id;
  }

  /** Replace the form's filters: back to the first page. Returns false when they are the same. */
  setFilters(filters: ILedgerFilters): boolean {
    if (JSON.stringify(filters) === JSON.stringify(this._filters)) {
      return false;
    }
    this._filters = filters;
    this.reload();
    return true;
  }

  /** Sort by a column (again: the other way). */
  toggleSort(key: LedgerSortKey): void {
    this._sort = nextSort(this._sort, key);
    this.reload();
  }

  /** Group the runs by a key, or list them flat (null). */
  setGrouping(by: LedgerGroupKey | null): void {
    if (by === this._grouping && this._openGroup === null) {
      return;
    }
    this._grouping = by;
    this._openGroup = null;
    this.reload();
  }

  /** Narrow the list to the runs of a group of the grouped view. */
  openGroupAt(index: number): void {
    const group = this.group(index);
    if (!this._grouping || !group) {
      return;
    }
    this._openGroup = { by: this._grouping, key: group.key };
    this.reload();
  }

  /** Back from an open group to the grouped view. */
  closeGroup(): void {
    if (this._openGroup) {
      this._openGroup = null;
      this.reload();
    }
  }

  /** Forget every row and selection, and fetch again from the top. */
  reload(): void {
    this._generation++;
    this._rows = [];
    this._staleRows = null;
    this._pending = [];
    this._total = 0;
    this._countAtLeast = null;
    this._totals = null;
    this._groups = null;
    this._error = null;
    this._insertedCount = 0;
    this._liveIds = [];
    this._clearSelection();
    this._fetchTop();
    this._reset.emit();
    this._changed.emit();
  }

  /**
   * Fetch the rows in view again (runs changed on the server), keeping selection, and showing the
   * previous rows until the new ones arrive.
   */
  refresh(): void {
    this._generation++;
    this._staleRows = this._rows;
    this._rows = [];
    this._pending = [];
    this._insertedCount = 0;
    this._liveIds = [];
    const [first, last] = this._visible;
    this._fetchTop(first);
    if (!this.showsGroups) {
      this.ensureRange(first, last);
    }
  }

  /** Make sure the rows first..last (inclusive) are fetched; the view calls this as it scrolls. */
  ensureRange(first: number, last: number): void {
    this._visible = [first, last];
    if (this.showsGroups || this._isDisposed) {
      return;
    }
    const end = Math.min(last, this._total - 1);
    for (let index = Math.max(0, first); index <= end; index++) {
      if (this._rows[index] === undefined && !this._isPending(index)) {
        this._fetchPage(index);
        index += this._pageSize - 1;
      }
    }
  }

  /**
   * A run recorded now: added on top when the list is newest first and it matches. Otherwise the
   * caller refreshes when told the list is stale (debounced: runs may arrive in bursts).
   */
  insertLive(run: IRun): LiveResult {
    if (!runMatches(run, this.effectiveFilters)) {
      return 'excluded';
    }
    if (this.showsGroups || this._sort.key !== 'started_at' || this._sort.order !== 'desc') {
      return 'stale';
    }
    if (this._rows.some(row => row?.run_id === run.run_id)) {
      return 'excluded'; // listed already
    }
    this._rows.unshift(run);
    this._staleRows?.unshift(run);
    this._insertedCount++;
    this._liveIds.push(run.run_id);
    this._total++;
    if (this._countAtLeast !== null) {
      this._countAtLeast++;
    }
    this._anchor = this._anchor >= 0 ? this._anchor + 1 : this._anchor;
    this._visible = [this._visible[0] + 1, this._visible[1] + 1];
    if (this._totals) {
      this._totals = addRun(this._totals, run);
    }
    this._inserted.emit(1);
    this._changed.emit();
    return 'added';
  }

  /** The ids of the selected runs or groups. */
  get selection(): ReadonlySet<string> {
    return this._selection;
  }

  /** Whether the item at a row is selected. */
  isSelected(index: number): boolean {
    const id = this.itemId(index);
    return id !== undefined && this._selection.has(id);
  }

  /** The selected runs among the loaded rows, in list order. */
  selectedRuns(): IRun[] {
    return this._rows.filter((run): run is IRun => run !== undefined && this._selection.has(run.run_id));
  }

  /** The selected groups, in list order. */
  selectedGroups(): IRunGroup[] {
    return (this._groups?.groups ?? []).filter(group => this._selection.has(group.key));
  }

  /**
   * Select at a row: replace the selection (a click), toggle the row (Ctrl/Cmd click, Space) or
   * extend from the anchor (Shift click or arrows).
   */
  select(index: number, mode: SelectMode = 'replace'): void {
    const id = this.itemId(index);
    if (id === undefined) {
      return;
    }
    if (mode === 'range' && this._anchor >= 0) {
      const [from, to] = this._anchor <= index ? [this._anchor, index] : [index, this._anchor];
      this._selection = new Set();
      for (let row = from; row <= to; row++) {
        const rowId = this.itemId(row);
        if (rowId !== undefined) {
          this._selection.add(rowId);
        }
      }
    } else if (mode === 'toggle') {
      this._selection = new Set(this._selection);
      if (!this._selection.delete(id)) {
        this._selection.add(id);
      }
      this._anchor = index;
    } else {
      this._selection = new Set([id]);
      this._anchor = index;
    }
    this._selectionChanged.emit();
  }

  /** Select every loaded row. */
  selectAllLoaded(): void {
    const ids = this.showsGroups
      ? (this._groups?.groups ?? []).map(group => group.key)
      : this._rows.filter((run): run is IRun => run !== undefined).map(run => run.run_id);
    this._selection = new Set(ids);
    this._selectionChanged.emit();
  }

  /** Deselect these items (runs that left the list). */
  deselect(ids: Iterable<string>): void {
    const kept = new Set(this._selection);
    for (const id of ids) {
      kept.delete(id);
    }
    if (kept.size !== this._selection.size) {
      this._selection = kept;
      this._selectionChanged.emit();
    }
  }

  clearSelection(): void {
    if (this._selection.size > 0) {
      this._clearSelection();
      this._selectionChanged.emit();
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._generation++;
    Signal.clearData(this);
  }

  private _clearSelection(): void {
    this._selection = new Set();
    this._anchor = -1;
  }

  /** The first page (from `first` when refreshing in place) and the totals, or the groups. */
  private _fetchTop(first = 0): void {
    const generation = this._generation;
    const filters = this.effectiveFilters;
    if (this.showsGroups) {
      this._groupsLoading = true;
      this._source.groups(this._grouping as LedgerGroupKey, filters).then(
        groups => {
          if (generation === this._generation) {
            this._groups = groups;
            this._totals = groups.total;
            this._groupsLoading = false;
            this._staleRows = null;
            this._dropMissingFromSelection(new Set(groups.groups.map(group => group.key)));
            this._succeeded();
          }
        },
        (error: Error) => {
          if (generation === this._generation) {
            this._groupsLoading = false;
            this._failed(error);
          }
        }
      );
      return;
    }
    this._fetchPage(Math.max(0, first), first > 0 ? this._total : null);
    // The totals of the flat list; any grouping gives them, experiments has the fewest groups.
    this._source.groups('experiment', filters).then(
      groups => {
        if (generation === this._generation) {
          this._totals = groups.total;
          this._changed.emit();
        }
      },
      () => {
        // The list works without its total line (a server before the ledger's groups endpoint).
      }
    );
  }

  private _fetchPage(start: number, knownTotal: number | null = this._total): void {
    const generation = this._generation;
    const pending: IPendingPage = { start, inserted: this._insertedCount, knownTotal };
    this._pending.push(pending);
    const query: ILedgerPageQuery = {
      ...this.effectiveFilters,
      sort: this._sort.key,
      order: this._sort.order,
      limit: this._pageSize,
      offset: start
    };
    this._source.runs(query).then(
      page => {
        if (generation !== this._generation) {
          return;
        }
        this._pending = this._pending.filter(p => p !== pending);
        // Live runs added on top since the request moved these rows down, unless the server
        // counted them already (it recorded them before it answered).
        const shift = this._insertedCount - pending.inserted - this._countedByServer(pending, page);
        this._total = page.total + shift;
        this._countAtLeast = page.total_is_lower_bound ? this._total : null;
        if (page.total_is_lower_bound && page.runs.length === this._pageSize) {
          // More runs than counted may match: one row past the page asks for the next one.
          this._total = Math.max(this._total, start + shift + page.runs.length + 1);
        }
        page.runs.forEach((run, offset) => {
          this._rows[start + shift + offset] = run;
        });
        if (this._pending.length === 0 && this._staleRows) {
          this._staleRows = null;
          this._rows.length = Math.min(this._rows.length, this._total);
          this._dropMissingFromSelection(null);
        }
        this._succeeded();
      },
      (error: Error) => {
        if (generation === this._generation) {
          this._pending = this._pending.filter(p => p !== pending);
          this._failed(error);
        }
      }
    );
    this._changed.emit();
  }

  /** How many of the live runs added since a request the server's answer includes. */
  private _countedByServer(pending: IPendingPage, page: IRunsPage): number {
    const since = this._liveIds.slice(pending.inserted);
    if (since.length === 0) {
      return 0;
    }
    if (pending.knownTotal === null) {
      // The first page: the newest runs are on it when the server has them.
      const ids = new Set(page.runs.map(run => run.run_id));
      return since.filter(id => ids.has(id)).length;
    }
    return Math.max(0, Math.min(since.length, page.total - pending.knownTotal));
  }

  /** Whether a request in flight covers a row. */
  private _isPending(index: number): boolean {
    return this._pending.some(p => {
      const start = p.start + (this._insertedCount - p.inserted);
      return index >= start && index < start + this._pageSize;
    });
  }

  /**
   * After a refresh, keep selected only the items still listed (known ids: the groups; null: runs
   * deleted elsewhere are dropped only when no loaded row has them and all rows are loaded).
   */
  private _dropMissingFromSelection(known: Set<string> | null): void {
    if (known === null) {
      if (this._rows.length < this._total || this._rows.includes(undefined)) {
        return; // unloaded rows may still hold selected runs
      }
      known = new Set(this._rows.map(run => (run as IRun).run_id));
    }
    const kept = new Set([...this._selection].filter(id => known!.has(id)));
    if (kept.size !== this._selection.size) {
      this._selection = kept;
      this._selectionChanged.emit();
    }
  }

  private _succeeded(): void {
    this._error = null;
    this._changed.emit();
  }

  private _failed(error: Error): void {
    this._error = error.message;
    this._changed.emit();
  }

  private _pageSize: number;
  private _filters: ILedgerFilters = {};
  private _sort: ISort = DEFAULT_SORT;
  private _grouping: LedgerGroupKey | null = null;
  private _openGroup: IOpenGroup | null = null;
  private _rows: Array<IRun | undefined> = [];
  private _staleRows: Array<IRun | undefined> | null = null;
  private _pending: IPendingPage[] = [];
  private _insertedCount = 0;
  private _liveIds: string[] = [];
  private _total = 0;
  private _countAtLeast: number | null = null;
  private _totals: IGroupTotals | null = null;
  private _groups: IRunGroups | null = null;
  private _groupsLoading = false;
  private _error: string | null = null;
  private _visible: [number, number] = [0, 0];
  private _selection: Set<string> = new Set();
  private _anchor = -1;
  private _generation = 0;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
  private _selectionChanged = new Signal<this, void>(this);
  private _inserted = new Signal<this, number>(this);
  private _reset = new Signal<this, void>(this);
}

/** Totals with one more run (a live one) counted. */
function addRun(totals: IGroupTotals, run: IRun): IGroupTotals {
  const impact = (run.impact ?? {}) as { gco2e?: number | null; cost?: number | null; currency?: string | null };
  const sum = (a: number | null, b: number | null | undefined): number | null =>
    a === null || b === null || b === undefined ? a : a + b;
  const sameCurrency = totals.currency === null || impact.currency === totals.currency;
  return {
    runs: totals.runs + 1,
    duration_s: sum(totals.duration_s, run.duration_s),
    attributed_j: sum(totals.attributed_j, run.attributed_j),
    active_j: sum(totals.active_j, run.active_j),
    idle_j: sum(totals.idle_j, run.idle_j),
    gco2e: sum(totals.gco2e, impact.gco2e),
    cost: sameCurrency ? sum(totals.cost, impact.cost) : totals.cost,
    currency: totals.currency ?? impact.currency ?? null,
    first_started_at: totals.first_started_at ?? run.started_at,
    last_started_at: Math.max(totals.last_started_at ?? run.started_at, run.started_at)
  };
}
