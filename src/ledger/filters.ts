/** The sidebar's filter form as data, its translation to the server's query, and a local match for live runs. */

import { ILedgerFilters, IRun, LedgerGroupKey, MethodFilter } from '../tokens';

/** What the user set in the search box and the filter form. */
export interface ILedgerFilterForm {
  /** The search box (substring over notebook, code, experiment and tags). */
  search: string;
  /** Only the runs of the notebook in focus. */
  thisNotebook: boolean;
  experiment: string;
  /** Comma-separated; runs having all. */
  tags: string;
  kernelId: string;
  /** `YYYY-MM-DD` of the first day shown (local time), or empty. */
  from: string;
  /** `YYYY-MM-DD` of the last day shown (local time, inclusive), or empty. */
  to: string;
  method: MethodFilter | '';
  /** Comma-separated; runs having all. */
  flags: string;
  /** The trash (soft-deleted runs) instead of the ledger. */
  trash: boolean;
}

/** The form with nothing set. */
export const EMPTY_FORM: ILedgerFilterForm = {
  search: '',
  thisNotebook: false,
  experiment: '',
  tags: '',
  kernelId: '',
  from: '',
  to: '',
  method: '',
  flags: '',
  trash: false
};

/** The trimmed, non-empty, unique items of a comma-separated list. */
export function splitList(text: string): string[] {
  const items = text
    .split(',')
    .map(item => item.trim())
    .filter(item => item.length > 0);
  return [...new Set(items)];
}

/** Epoch seconds of local midnight starting `YYYY-MM-DD`, or undefined when the text is not such a date. */
export function localDayStart(day: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) {
    return undefined;
  }
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return Number.isNaN(date.getTime()) ? undefined : date.getTime() / 1000;
}

/** Epoch seconds of the UTC day `YYYY-MM-DD` (the server's day groups) and of the next one. */
export function utcDayRange(day: string): { since: number; until: number } | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) {
    return undefined;
  }
  const start = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / 1000;
  return Number.isNaN(start) ? undefined : { since: start, until: start + 86400 };
}

/**
 * The server's filters for a form.
 *
 * @param form what the user set
 * @param currentNotebook the path of the notebook in focus, for "this notebook only"
 */
export function formToFilters(form: ILedgerFilterForm, currentNotebook: string | null): ILedgerFilters {
  const filters: ILedgerFilters = {};
  const search = form.search.trim();
  if (search) {
    filters.q = search;
  }
  if (form.thisNotebook && currentNotebook) {
    filters.notebook_path = currentNotebook;
  }
  if (form.experiment.trim()) {
    filters.experiment = form.experiment.trim();
  }
  const tags = splitList(form.tags);
  if (tags.length > 0) {
    filters.tags = tags;
  }
  if (form.kernelId.trim()) {
    filters.kernel_id = form.kernelId.trim();
  }
  const since = localDayStart(form.from);
  if (since !== undefined) {
    filters.since = since;
  }
  const lastDay = localDayStart(form.to);
  if (lastDay !== undefined) {
    // The whole last day: up to the next local midnight (a DST day is 23 or 25 hours long).
    const next = new Date(lastDay * 1000);
    next.setDate(next.getDate() + 1);
    filters.until = next.getTime() / 1000;
  }
  if (form.method) {
    filters.method = form.method;
  }
  const flags = splitList(form.flags);
  if (flags.length > 0) {
    filters.flags = flags;
  }
  if (form.trash) {
    filters.deleted = 'only';
  }
  return filters;
}

/** The filter that narrows the ledger to one group of GET runs/groups. */
export function groupFilter(by: LedgerGroupKey, key: string): ILedgerFilters {
  switch (by) {
    case 'experiment':
      return { experiment: key };
    case 'notebook':
      return { notebook_path: key };
    case 'user':
      return { user: key };
    case 'kernel':
      return { kernel_id: key };
    case 'day':
      return utcDayRange(key) ?? {};
  }
}

/** Both filters at once: the narrower bound wins, lists are joined. */
export function combineFilters(base: ILedgerFilters, extra: ILedgerFilters): ILedgerFilters {
  const combined: ILedgerFilters = { ...base, ...extra };
  if (base.since !== undefined && extra.since !== undefined) {
    combined.since = Math.max(base.since, extra.since);
  }
  if (base.until !== undefined && extra.until !== undefined) {
    combined.until = Math.min(base.until, extra.until);
  }
  if (base.tags || extra.tags) {
    combined.tags = [...new Set([...(base.tags ?? []), ...(extra.tags ?? [])])];
  }
  if (base.flags || extra.flags) {
    combined.flags = [...new Set([...(base.flags ?? []), ...(extra.flags ?? [])])];
  }
  return combined;
}

/** A run's experiment as the server defaults it (notebook path, else the kernel) for old servers' rows. */
export function experimentOf(run: IRun): string {
  return run.experiment || run.notebook_path || `kernel ${run.kernel_name ?? run.kernel_id}`;
}

/**
 * Whether a live run belongs in the list the filters describe, decided as the server would.
 * Live runs are never in the trash and are always finished.
 */
export function runMatches(run: IRun, filters: ILedgerFilters): boolean {
  if (filters.deleted === 'only' || (run.deleted_at ?? null) !== null) {
    return false;
  }
  const tags = run.tags ?? [];
  if (filters.q) {
    const needle = filters.q.toLowerCase();
    const haystack = [run.notebook_path ?? '', run.code_preview ?? '', experimentOf(run), ...tags];
    if (!haystack.some(text => text.toLowerCase().includes(needle))) {
      return false;
    }
  }
  const equal: Array<[string | undefined, string | null | undefined]> = [
    [filters.notebook_path, run.notebook_path],
    [filters.experiment, experimentOf(run)],
    [filters.kernel_id, run.kernel_id],
    [filters.user, run.user],
    [filters.status, run.status],
    [filters.source, run.source ?? 'server']
  ];
  if (equal.some(([wanted, actual]) => wanted !== undefined && wanted !== actual)) {
    return false;
  }
  if (filters.since !== undefined && run.started_at < filters.since) {
    return false;
  }
  if (filters.until !== undefined && run.started_at >= filters.until) {
    return false;
  }
  if (filters.method) {
    const modeled = run.methods.includes('modeled');
    if ((filters.method === 'modeled') !== modeled) {
      return false;
    }
  }
  if (!(filters.tags ?? []).every(tag => tags.includes(tag))) {
    return false;
  }
  return (filters.flags ?? []).every(flag => run.flags.includes(flag));
}
