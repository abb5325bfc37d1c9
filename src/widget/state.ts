import { IRun, Method } from '../tokens';

/** Where the %%carbon execution stands (the kernel sets it). */
export type WidgetStatus = 'running' | 'ok' | 'error' | 'interrupted';

/** The budget the kernel passed (--budget), with what was spent once it was crossed. */
export interface IWidgetBudget {
  kind?: 'energy' | 'carbon' | 'cost';
  /** Joules, grams CO2e, or currency units. */
  limit?: number;
  currency?: string | null;
  /** As the user wrote it, e.g. "1J". */
  text?: string;
  on_budget?: 'warn' | 'stop';
  spent?: number;
  /** Epoch seconds when it was crossed; absent while within budget. */
  exceeded_at?: number | null;
}

/** Where the final figures come from: the server's record, or the kernel's own measurement. */
export type SummarySource = 'server' | 'in-kernel' | 'kernel';

/** The final figures kept in the widget's state (small: no traces). */
export interface IWidgetSummary {
  energy_j?: number;
  gco2e?: number | null;
  cost?: number | null;
  currency?: string | null;
  duration_s?: number;
  methods?: string[];
  flags?: string[];
  metrics?: Record<string, number>;
  experiment?: string;
  run_id?: string;
  source?: SummarySource;
}

/** Live figures while the cell runs, from the server's pushed node power. */
export interface ILiveMeter {
  /** Epoch seconds when the body began. */
  startedAt: number;
  /** Node power integrated since the start (an estimate: the kernel's share comes with the record). */
  nodeJoules: number;
  lastWatts: number | null;
  lastAt: number | null;
  /** The latest node power readings, oldest first, for the sparkline. */
  samples: number[];
}

/** How many power readings the sparkline keeps. */
export const SPARKLINE_POINTS = 60;

/** A meter at the start of a run. */
export function startMeter(startedAt: number): ILiveMeter {
  return { startedAt, nodeJoules: 0, lastWatts: null, lastAt: null, samples: [] };
}

/**
 * A new node power reading at `at` (epoch s): the energy grows by the previous power over the time
 * since the previous reading (or the start). Readings older than the last are ignored.
 */
export function addPower(meter: ILiveMeter, watts: number, at: number): ILiveMeter {
  if (!Number.isFinite(watts) || (meter.lastAt !== null && at <= meter.lastAt)) {
    return meter;
  }
  const since = Math.max(meter.startedAt, meter.lastAt ?? meter.startedAt);
  const added = meter.lastWatts !== null && at > since ? meter.lastWatts * (at - since) : 0;
  const samples = [...meter.samples, watts].slice(-SPARKLINE_POINTS);
  return { ...meter, nodeJoules: meter.nodeJoules + added, lastWatts: watts, lastAt: at, samples };
}

/** Seconds since the start, never negative (the kernel's and the browser's clocks may differ). */
export function elapsedSeconds(meter: ILiveMeter, now: number): number {
  return Math.max(0, now - meter.startedAt);
}

/** The budget bar: its value in the budget's unit (null: not known here) and whether it is crossed. */
export interface IBudgetProgress {
  max: number;
  value: number | null;
  /** 0..1 of the bar's width; null when the value is not known live. */
  fraction: number | null;
  exceeded: boolean;
  /** The value is the node's energy so far, an upper bound of the cell's share. */
  estimated: boolean;
}

/**
 * The budget's progress: what the server reported once it was crossed, else the final figure in the
 * budget's unit, else while running (energy budgets) the node energy so far as an estimate; carbon
 * and cost budgets are only known to the server while the cell runs.
 */
export function budgetProgress(
  budget: IWidgetBudget,
  meter: ILiveMeter | null,
  summary: IWidgetSummary = {}
): IBudgetProgress | null {
  const max = budget.limit;
  if (max === undefined || !(max > 0)) {
    return null;
  }
  const crossed = budget.exceeded_at !== undefined && budget.exceeded_at !== null;
  const final = finalAmount(budget, summary);
  let value: number | null = null;
  let estimated = false;
  if (crossed && budget.spent !== undefined) {
    value = budget.spent;
  } else if (final !== null) {
    value = final;
  } else if (budget.kind === 'energy' && meter !== null) {
    value = meter.nodeJoules;
    estimated = true;
  }
  const fraction = value === null ? null : Math.min(1, Math.max(0, value / max));
  const exceeded = crossed || (summary.flags ?? []).includes(BUDGET_FLAG) || (final !== null && final >= max);
  return { max, value, fraction, exceeded, estimated };
}

/** The flag of a run that crossed its budget. */
export const BUDGET_FLAG = 'budget-exceeded';

/** The final figure in the budget's unit, when the summary has it. */
function finalAmount(budget: IWidgetBudget, summary: IWidgetSummary): number | null {
  const amount = budget.kind === 'energy' ? summary.energy_j : budget.kind === 'carbon' ? summary.gco2e : summary.cost;
  return amount === undefined || amount === null ? null : amount;
}

/** The budget as the server's record keeps it (`extra.budget`), when it was crossed. */
export function budgetOfRun(run: IRun): IWidgetBudget | null {
  const budget = run.extra?.budget as IWidgetBudget | undefined;
  return budget && typeof budget === 'object' && typeof budget.exceeded_at === 'number' ? budget : null;
}

/** The widget's summary of the server's run record. */
export function summaryOfRun(run: IRun): IWidgetSummary {
  const impact = run.impact ?? {};
  const number = (key: string): number | null => (typeof impact[key] === 'number' ? (impact[key] as number) : null);
  return {
    energy_j: run.attributed_j,
    gco2e: number('gco2e'),
    cost: number('cost'),
    currency: typeof impact.currency === 'string' ? impact.currency : null,
    duration_s: run.duration_s,
    methods: [...run.methods],
    flags: [...run.flags],
    metrics: { ...(run.metrics ?? {}) },
    experiment: run.experiment,
    run_id: run.run_id,
    source: 'server'
  };
}

/** The methods as people read them. */
export function methodsText(methods: readonly string[] | undefined): string {
  const known: Record<Method, string> = {
    'measured-counter': 'measured (energy counter)',
    'measured-power': 'measured (power)',
    modeled: 'modeled'
  };
  return (methods ?? []).map(method => known[method as Method] ?? method).join(', ');
}

/** SVG polyline points of values in a width x height box (the lowest at the bottom, 1 px inset). */
export function sparklinePoints(values: readonly number[], width: number, height: number): string {
  if (values.length === 0) {
    return '';
  }
  const low = Math.min(...values);
  const high = Math.max(...values);
  const span = high - low || 1;
  const step = values.length > 1 ? (width - 2) / (values.length - 1) : 0;
  return values
    .map((value, index) => {
      const x = 1 + index * step;
      const y = height - 1 - ((value - low) / span) * (height - 2);
      return `${round(x)},${round(y)}`;
    })
    .join(' ');
}

/** One bar (energy) and optional point (metric) of the earlier runs' chart. */
export interface IHistoryMark {
  runId: string;
  startedAt: number;
  energyJ: number;
  metric: number | null;
  current: boolean;
}

/** The earlier runs' chart: oldest first, the metric the newest runs share (null: none). */
export interface IHistory {
  marks: IHistoryMark[];
  metricName: string | null;
  maxEnergyJ: number;
  metricRange: [number, number] | null;
}

/** The chart's data from a page of runs (newest first, as GET runs answers). */
export function historyOf(runs: readonly IRun[], currentRunId: string | null): IHistory {
  const ordered = [...runs].sort((a, b) => a.started_at - b.started_at);
  const metricName = ordered
    .map(run => Object.keys(run.metrics ?? {}).sort()[0])
    .reverse()
    .find(name => name !== undefined);
  const marks = ordered.map(run => ({
    runId: run.run_id,
    startedAt: run.started_at,
    energyJ: Math.max(0, run.attributed_j),
    metric: metricName !== undefined ? (run.metrics?.[metricName] ?? null) : null,
    current: run.run_id === currentRunId
  }));
  const metrics = marks.map(mark => mark.metric).filter((value): value is number => value !== null);
  return {
    marks,
    metricName: metricName ?? null,
    maxEnergyJ: Math.max(0, ...marks.map(mark => mark.energyJ)),
    metricRange: metrics.length ? [Math.min(...metrics), Math.max(...metrics)] : null
  };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
