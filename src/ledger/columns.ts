/** The ledger's columns: header, server sort key, width and the text of each cell (no DOM). */

import { TranslationBundle } from '@jupyterlab/translation';

import { EnergyUnit, formatCarbon, formatCost, formatDuration, formatEnergy } from '../format';
import { IGroupTotals, IRun, IRunGroup, LedgerGroupKey, LedgerSortKey } from '../tokens';
import { experimentOf } from './filters';

/** The figures of `impact` the list shows. */
interface IImpactFigures {
  gco2e?: number | null;
  cost?: number | null;
  currency?: string | null;
}

/** What a cell shows and its tooltip. */
export interface ICellText {
  text: string;
  title?: string;
}

/** How the columns format numbers. */
export interface IColumnContext {
  trans: TranslationBundle;
  energyUnit: EnergyUnit;
}

/** One column of the list. */
export interface IColumn {
  id: string;
  label: (trans: TranslationBundle) => string;
  /** The server's sort key, when the column sorts. */
  sortKey?: LedgerSortKey;
  /** Width in pixels. */
  width: number;
  /** Figures: right-aligned. */
  numeric?: boolean;
  run: (run: IRun, context: IColumnContext) => ICellText;
}

function impactOf(run: IRun): IImpactFigures {
  return (run.impact ?? {}) as IImpactFigures;
}

/** The last part of a path. */
export function basename(path: string): string {
  const parts = path.split('/');
  return parts[parts.length - 1] || path;
}

/** A local date and time, as short as it can be: the time alone today, no year this year. */
export function formatWhen(epochSeconds: number | null | undefined, now: Date = new Date()): string {
  if (epochSeconds === null || epochSeconds === undefined || !Number.isFinite(epochSeconds)) {
    return '–';
  }
  const date = new Date(epochSeconds * 1000);
  const options: Intl.DateTimeFormatOptions =
    date.toDateString() === now.toDateString()
      ? { timeStyle: 'medium' }
      : date.getFullYear() === now.getFullYear()
        ? { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' }
        : { dateStyle: 'short' };
  return new Intl.DateTimeFormat(undefined, options).format(date);
}

/** The first non-empty line of the code. */
export function firstLine(code: string | null | undefined): string {
  return (code ?? '').split('\n').find(line => line.trim().length > 0) ?? '';
}

/** The metrics as `name value` pairs. */
export function formatMetrics(metrics: Record<string, number> | undefined): string {
  return Object.entries(metrics ?? {})
    .map(([name, value]) => `${name} ${Number(value.toPrecision(4))}`)
    .join(', ');
}

/** "measured" or "modeled", then the flags. */
export function methodText(run: IRun, trans: TranslationBundle): string {
  const method = run.methods.includes('modeled') ? trans.__('modeled') : trans.__('measured');
  return [method, ...run.flags].join(', ');
}

export const COLUMNS: readonly IColumn[] = [
  {
    id: 'when',
    label: trans => trans.__('When'),
    sortKey: 'started_at',
    width: 110,
    run: run => ({ text: formatWhen(run.started_at), title: new Date(run.started_at * 1000).toISOString() })
  },
  {
    id: 'notebook',
    label: trans => trans.__('Notebook'),
    sortKey: 'notebook_path',
    width: 110,
    run: (run, { trans }) =>
      run.notebook_path
        ? { text: basename(run.notebook_path), title: run.notebook_path }
        : { text: trans.__('(no notebook)'), title: trans.__('Kernel %1', run.kernel_name ?? run.kernel_id) }
  },
  {
    id: 'cell',
    label: trans => trans.__('Cell'),
    sortKey: 'execution_count',
    width: 180,
    run: run => {
      const count = run.execution_count === null ? '[ ]' : `[${run.execution_count}]`;
      return { text: `${count} ${firstLine(run.code_preview)}`.trim(), title: run.code_preview ?? undefined };
    }
  },
  {
    id: 'experiment',
    label: trans => trans.__('Experiment'),
    sortKey: 'experiment',
    width: 110,
    run: run => ({ text: experimentOf(run), title: experimentOf(run) })
  },
  {
    id: 'tags',
    label: trans => trans.__('Tags'),
    width: 80,
    run: run => ({ text: (run.tags ?? []).join(', '), title: run.note ?? undefined })
  },
  {
    id: 'duration',
    label: trans => trans.__('Duration'),
    sortKey: 'duration_s',
    width: 70,
    numeric: true,
    run: run => ({ text: formatDuration(run.duration_s) })
  },
  {
    id: 'energy',
    label: trans => trans.__('Energy'),
    sortKey: 'energy',
    width: 80,
    numeric: true,
    run: (run, { energyUnit }) => ({ text: formatEnergy(run.attributed_j, energyUnit) })
  },
  {
    id: 'co2e',
    label: trans => trans.__('CO₂e'),
    sortKey: 'co2e',
    width: 90,
    numeric: true,
    run: run => ({ text: formatCarbon(impactOf(run).gco2e) })
  },
  {
    id: 'cost',
    label: trans => trans.__('Cost'),
    sortKey: 'cost',
    width: 70,
    numeric: true,
    run: run => ({ text: formatCost(impactOf(run).cost, impactOf(run).currency) })
  },
  {
    id: 'method',
    label: trans => trans.__('Method and flags'),
    width: 140,
    run: (run, { trans }) => ({ text: methodText(run, trans), title: run.methods.join(', ') })
  },
  {
    id: 'metrics',
    label: trans => trans.__('Metrics'),
    width: 120,
    run: run => ({ text: formatMetrics(run.metrics) })
  }
];

/** The header of the grouped view's first column. */
export function groupLabel(by: LedgerGroupKey, trans: TranslationBundle): string {
  switch (by) {
    case 'experiment':
      return trans.__('Experiment');
    case 'notebook':
      return trans.__('Notebook');
    case 'day':
      return trans.__('Day (UTC)');
    case 'user':
      return trans.__('User');
    case 'kernel':
      return trans.__('Kernel');
  }
}

/** The figures of a group row or a total line, as cells of the grouped view. */
export function totalsCells(totals: IGroupTotals, context: IColumnContext): ICellText[] {
  const { trans, energyUnit } = context;
  return [
    { text: trans._n('%1 run', '%1 runs', totals.runs) },
    { text: formatWhen(totals.last_started_at), title: trans.__('Last run') },
    { text: formatDuration(totals.duration_s) },
    { text: formatEnergy(totals.attributed_j, energyUnit) },
    { text: formatCarbon(totals.gco2e) },
    { text: formatCost(totals.cost, totals.currency) }
  ];
}

/** The grouped view's columns after the key: runs, last run, duration, energy, CO2e, cost. */
export const GROUP_COLUMNS: ReadonlyArray<{ label: (trans: TranslationBundle) => string; width: number }> = [
  { label: trans => trans.__('Runs'), width: 80 },
  { label: trans => trans.__('Last run'), width: 120 },
  { label: trans => trans.__('Duration'), width: 90 },
  { label: trans => trans.__('Energy'), width: 90 },
  { label: trans => trans.__('CO₂e'), width: 100 },
  { label: trans => trans.__('Cost'), width: 80 }
];

/** The key of a group row as shown. */
export function groupKeyText(group: IRunGroup, by: LedgerGroupKey): ICellText {
  if (by === 'notebook') {
    return { text: basename(group.key), title: group.key };
  }
  return { text: group.key, title: group.key };
}

/** A line summing the runs the list shows, for the footer. */
export function totalsLine(totals: IGroupTotals, context: IColumnContext): string {
  const { trans, energyUnit } = context;
  const cost = totals.cost === null ? '' : ` · ${formatCost(totals.cost, totals.currency)}`;
  return trans.__(
    '%1 · %2 · %3%4',
    trans._n('%2 run', '%2 runs', totals.runs, totals.runs.toLocaleString()),
    formatEnergy(totals.attributed_j, energyUnit),
    formatCarbon(totals.gco2e),
    cost
  );
}
