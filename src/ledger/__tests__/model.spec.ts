import {
  IGroupTotals,
  ILedgerFilters,
  ILedgerPageQuery,
  IRun,
  IRunGroups,
  IRunsPage,
  LedgerGroupKey
} from '../../tokens';
import { run as baseRun } from '../../badges/__tests__/fixtures';
import { ILedgerSource, LedgerListModel, nextSort } from '../model';

/** A run started `age` seconds before the newest. */
function run(id: string, started: number, extra: Partial<IRun> = {}): IRun {
  return { ...baseRun(id, 10), started_at: started, experiment: 'demo.ipynb', tags: [], ...extra };
}

const TOTALS: IGroupTotals = {
  runs: 0,
  duration_s: 0,
  attributed_j: 0,
  active_j: 0,
  idle_j: 0,
  gco2e: 0,
  cost: null,
  currency: null,
  first_started_at: null,
  last_started_at: null
};

/** A server holding runs newest first; answers when `flush` is called, like the network. */
class FakeSource implements ILedgerSource {
  constructor(public rows: IRun[]) {}

  /** Count at most this many matches, as the server does for text searches (null: exact). */
  cap: number | null = null;
  queries: ILedgerPageQuery[] = [];
  groupQueries: Array<{ by: LedgerGroupKey; filters: ILedgerFilters }> = [];
  groupsAnswer: IRunGroups = { groups: [], total: { ...TOTALS } };
  private _waiting: Array<() => void> = [];

  runs(query: ILedgerPageQuery): Promise<IRunsPage> {
    this.queries.push(query);
    return new Promise(resolve => {
      this._waiting.push(() => {
        const offset = query.offset ?? 0;
        const limit = query.limit ?? 100;
        const runs = this.rows.slice(offset, offset + limit);
        if (this.cap !== null && this.rows.length > this.cap && runs.length === limit) {
          resolve({ total: Math.max(this.cap, offset + runs.length), total_is_lower_bound: true, runs });
        } else if (runs.length < limit && (runs.length > 0 || offset === 0)) {
          resolve({ total: offset + runs.length, runs });
        } else {
          resolve({ total: this.rows.length, runs });
        }
      });
    });
  }

  groups(by: LedgerGroupKey, filters: ILedgerFilters): Promise<IRunGroups> {
    this.groupQueries.push({ by, filters });
    return new Promise(resolve => this._waiting.push(() => resolve(this.groupsAnswer)));
  }

  /** Answer every request made so far. */
  async flush(): Promise<void> {
    const waiting = this._waiting;
    this._waiting = [];
    waiting.forEach(answer => answer());
    await new Promise(resolve => setTimeout(resolve, 0));
  }
}

function ledger(count: number): IRun[] {
  return Array.from({ length: count }, (_, i) => run(`r${i}`, 2000 - i));
}

describe('nextSort', () => {
  it('flips the order on the same column and starts figures descending, text ascending', () => {
    expect(nextSort({ key: 'started_at', order: 'desc' }, 'started_at')).toEqual({ key: 'started_at', order: 'asc' });
    expect(nextSort({ key: 'started_at', order: 'asc' }, 'started_at')).toEqual({ key: 'started_at', order: 'desc' });
    expect(nextSort({ key: 'started_at', order: 'desc' }, 'energy')).toEqual({ key: 'energy', order: 'desc' });
    expect(nextSort({ key: 'energy', order: 'desc' }, 'experiment')).toEqual({ key: 'experiment', order: 'asc' });
  });
});

describe('LedgerListModel', () => {
  it('fetches only the pages of the rows in view, newest first', async () => {
    const source = new FakeSource(ledger(1000));
    const model = new LedgerListModel(source, { pageSize: 50 });
    model.reload();
    await source.flush();
    expect(source.queries).toEqual([{ sort: 'started_at', order: 'desc', limit: 50, offset: 0 }]);
    expect(model.rowCount).toBe(1000);
    expect(model.run(0)?.run_id).toBe('r0');
    expect(model.run(50)).toBeUndefined();

    model.ensureRange(0, 30);
    expect(source.queries).toHaveLength(1); // already loaded

    model.ensureRange(480, 520);
    model.ensureRange(480, 540); // rows in flight are not asked again
    await source.flush();
    expect(source.queries.slice(1).map(q => q.offset)).toEqual([480, 530]);
    expect(model.run(500)?.run_id).toBe('r500');
    expect(model.run(200)).toBeUndefined(); // never the whole ledger
  });

  it('lists a capped count as at least so many runs and grows as the pages past it come', async () => {
    const source = new FakeSource(ledger(260));
    source.cap = 150;
    const model = new LedgerListModel(source, { pageSize: 100 });
    model.reload();
    await source.flush();
    expect(model.countAtLeast).toBe(150);
    expect(model.rowCount).toBe(150);

    model.ensureRange(140, 149);
    await source.flush();
    expect(model.countAtLeast).toBe(240);
    expect(model.rowCount).toBe(241); // one row past the runs loaded asks for more
    expect(model.run(239)?.run_id).toBe('r239');

    model.ensureRange(240, 240);
    await source.flush();
    expect(model.countAtLeast).toBeNull(); // a short page ends it: the count is exact
    expect(model.rowCount).toBe(260);
    expect(model.run(259)?.run_id).toBe('r259');
  });

  it('sends the filters and sort with every page and starts again from the top when they change', async () => {
    const source = new FakeSource(ledger(10));
    const model = new LedgerListModel(source);
    model.reload();
    await source.flush();
    model.select(2);
    model.setFilters({ q: 'train', tags: ['gpu'] });
    expect(model.selection.size).toBe(0);
    model.toggleSort('energy');
    await source.flush();
    const last = source.queries[source.queries.length - 1];
    expect(last).toEqual({ q: 'train', tags: ['gpu'], sort: 'energy', order: 'desc', limit: 100, offset: 0 });
    expect(model.setFilters({ q: 'train', tags: ['gpu'] })).toBe(false); // same filters: no refetch
  });

  it('ignores the answer of a request made before the filters changed', async () => {
    const source = new FakeSource(ledger(10));
    const model = new LedgerListModel(source);
    model.reload();
    source.rows = [run('filtered', 5)];
    model.setFilters({ q: 'x' });
    await source.flush();
    expect(model.rowCount).toBe(1);
    expect(model.run(0)?.run_id).toBe('filtered');
  });

  it('puts a live run on top, keeping the selection and the rows of pages in flight in place', async () => {
    const source = new FakeSource(ledger(300));
    const model = new LedgerListModel(source, { pageSize: 100 });
    model.reload();
    await source.flush();
    model.select(3);
    model.select(5, 'toggle');
    model.ensureRange(150, 160); // in flight while the live run arrives, answered without it
    let inserted = 0;
    model.inserted.connect((_, count) => (inserted += count));

    const live = run('live', 3000);
    expect(model.insertLive(live)).toBe('added');
    await source.flush();

    expect(inserted).toBe(1);
    expect(model.rowCount).toBe(301);
    expect(model.run(0)?.run_id).toBe('live');
    expect(model.run(4)?.run_id).toBe('r3');
    // The page asked at offset 150 before the insert lands one row lower.
    expect(model.run(151)?.run_id).toBe('r150');
    expect([...model.selection]).toEqual(['r3', 'r5']);
    expect(model.isSelected(4)).toBe(true);
    expect(model.insertLive(live)).toBe('excluded'); // the same run twice is one row
  });

  it('does not shift a page the server answered with the live run already counted', async () => {
    const source = new FakeSource(ledger(300));
    const model = new LedgerListModel(source, { pageSize: 100 });
    model.reload();
    await source.flush();
    model.ensureRange(150, 160);
    const live = run('live', 3000);
    source.rows = [live, ...source.rows]; // recorded before the server answered
    model.insertLive(live);
    await source.flush();
    expect(model.rowCount).toBe(301);
    expect(model.run(151)?.run_id).toBe('r150');
  });

  it('counts a live run once when it arrives while the first page loads', async () => {
    const source = new FakeSource(ledger(3));
    const model = new LedgerListModel(source);
    model.reload();
    const live = run('live', 3000);
    source.rows = [live, ...source.rows];
    model.insertLive(live);
    await source.flush();
    expect(model.rowCount).toBe(4);
    expect([0, 1, 2, 3].map(i => model.run(i)?.run_id)).toEqual(['live', 'r0', 'r1', 'r2']);
  });

  it('does not put on top a live run the filters exclude, and says the list is stale when sorted otherwise', async () => {
    const source = new FakeSource(ledger(5));
    const model = new LedgerListModel(source);
    model.setFilters({ experiment: 'other' });
    await source.flush();
    expect(model.insertLive(run('live', 3000))).toBe('excluded');

    model.setFilters({});
    model.toggleSort('energy');
    await source.flush();
    expect(model.insertLive(run('live', 3000))).toBe('stale');
    model.setGrouping('day');
    expect(model.insertLive(run('live2', 3001))).toBe('stale');
    expect(model.rowCount).toBe(0); // nothing added
  });

  it('says when the list starts again from the top', async () => {
    const source = new FakeSource(ledger(5));
    const model = new LedgerListModel(source);
    let resets = 0;
    model.reset.connect(() => resets++);
    model.reload();
    model.toggleSort('cost');
    model.refresh(); // in place: not a reset
    expect(resets).toBe(2);
  });

  it('refreshes in place: previous rows stay until the new ones arrive, selection kept', async () => {
    const source = new FakeSource(ledger(5));
    const model = new LedgerListModel(source);
    model.reload();
    await source.flush();
    model.select(1);
    source.rows = source.rows.map(r => ({ ...r, tags: ['new'] }));
    model.refresh();
    expect(model.run(1)?.tags).toEqual([]); // the previous row while loading
    await source.flush();
    expect(model.run(1)?.tags).toEqual(['new']);
    expect([...model.selection]).toEqual(['r1']);

    source.rows = source.rows.filter(r => r.run_id !== 'r1'); // deleted elsewhere
    model.refresh();
    await source.flush();
    expect(model.rowCount).toBe(4);
    expect(model.selection.size).toBe(0);
  });

  it('tells when the selection is every loaded run of a longer list (select-all)', async () => {
    const source = new FakeSource(ledger(500));
    const model = new LedgerListModel(source);
    model.reload();
    await source.flush();
    model.selectAllLoaded();
    expect(model.selection.size).toBeLessThan(500);
    expect(model.selectionIsLoadedRunsOnly).toBe(true);
    model.select(0);
    expect(model.selectionIsLoadedRunsOnly).toBe(false);

    const fewSource = new FakeSource(ledger(5));
    const few = new LedgerListModel(fewSource);
    few.reload();
    await fewSource.flush();
    few.selectAllLoaded();
    expect(few.selection.size).toBe(5);
    expect(few.selectionIsLoadedRunsOnly).toBe(false); // every run is loaded: all are selected
  });

  it('forgets runs that left the list, even when not every row is loaded', async () => {
    const source = new FakeSource(ledger(500));
    const model = new LedgerListModel(source);
    model.reload();
    await source.flush();
    model.select(1);
    model.select(3, 'range');
    let changes = 0;
    model.selectionChanged.connect(() => changes++);
    model.deselect(['r1', 'r2']); // deleted: they move to the trash
    expect([...model.selection]).toEqual(['r3']);
    model.deselect(['nope']);
    expect(changes).toBe(1);
  });

  it('selects with replace, toggle and range (Shift) from the anchor', async () => {
    const source = new FakeSource(ledger(10));
    const model = new LedgerListModel(source);
    model.reload();
    await source.flush();
    model.select(2);
    model.select(5, 'range');
    expect([...model.selection]).toEqual(['r2', 'r3', 'r4', 'r5']);
    model.select(4, 'toggle');
    expect([...model.selection]).toEqual(['r2', 'r3', 'r5']);
    model.select(1, 'range'); // the anchor moved to the toggled row
    expect([...model.selection]).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(model.selectedRuns().map(r => r.run_id)).toEqual(['r1', 'r2', 'r3', 'r4']);
    model.clearSelection();
    expect(model.selection.size).toBe(0);
  });

  it('groups with subtotals and opens a group as a filter', async () => {
    const source = new FakeSource(ledger(4));
    source.groupsAnswer = {
      groups: [
        { ...TOTALS, key: 'exp-a', runs: 3 },
        { ...TOTALS, key: '2026-01-02', runs: 1 }
      ],
      total: { ...TOTALS, runs: 4 }
    };
    const model = new LedgerListModel(source);
    model.setFilters({ q: 'x' });
    model.setGrouping('experiment');
    await source.flush();
    expect(model.showsGroups).toBe(true);
    expect(model.rowCount).toBe(2);
    expect(model.totals?.runs).toBe(4);
    const groupQuery = source.groupQueries[source.groupQueries.length - 1];
    expect(groupQuery).toEqual({ by: 'experiment', filters: { q: 'x' } });
    model.select(0);
    expect(model.selectedGroups().map(g => g.key)).toEqual(['exp-a']);

    model.openGroupAt(0);
    await source.flush();
    expect(model.showsGroups).toBe(false);
    expect(source.queries[source.queries.length - 1]).toMatchObject({ q: 'x', experiment: 'exp-a' });
    model.closeGroup();
    await source.flush();
    expect(model.showsGroups).toBe(true);
  });

  it('opens a day group as its UTC day', async () => {
    const source = new FakeSource([]);
    source.groupsAnswer = { groups: [{ ...TOTALS, key: '2026-01-02', runs: 1 }], total: TOTALS };
    const model = new LedgerListModel(source);
    model.setGrouping('day');
    await source.flush();
    model.openGroupAt(0);
    const since = Date.UTC(2026, 0, 2) / 1000;
    expect(model.effectiveFilters).toEqual({ since, until: since + 86400 });
  });

  it('says why a request failed', async () => {
    const source = new FakeSource(ledger(3));
    source.runs = () => Promise.reject(new Error('Bad sort key'));
    const model = new LedgerListModel(source);
    model.reload();
    await source.flush();
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(model.error).toBe('Bad sort key');
  });
});
