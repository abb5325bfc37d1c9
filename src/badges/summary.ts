import { ICellModel } from '@jupyterlab/cells';

import { IPredictionCheck, predictionCheck } from '../predict/check';
import { IRun, Method } from '../tokens';

/** The cell-metadata key of the last run's summary (namespaced, valid nbformat). */
export const METADATA_KEY = 'jupyterlab-carbon';

/** How many earlier runs of a cell the summary keeps, for comparison. */
export const HISTORY_LENGTH = 5;

/** One earlier run of the cell, kept for comparison. */
export interface IHistoryEntry {
  started_at: number;
  duration_s: number;
  energy_j: number;
  gco2e: number | null;
}

/** A channel's part of the summary. */
export interface ISummaryChannel {
  label: string;
  domain: string;
  method: Method;
  node_j: number;
  attributed_j: number;
}

/** An everyday equivalent of the run's emissions. */
export interface ISummaryEquivalent {
  label: string;
  value: number;
  unit: string;
  source: string;
}

/** The carbon intensity a run's emissions were computed with, and where it came from. */
export interface ISummaryIntensity {
  gco2e_per_kwh: number;
  method: string;
  zone: string | null;
  source: string;
  year: number | null;
  is_assumption: boolean;
  message: string;
}

/** What a badge shows, stored in the cell's metadata so it survives reloads and travels. */
export interface ICarbonSummary {
  version: 1;
  run_id: string;
  msg_id: string;
  host: string;
  started_at: number;
  duration_s: number;
  status: IRun['status'];
  energy_j: number;
  node_j: number;
  idle_j: number;
  active_j: number;
  methods: Method[];
  flags: string[];
  channels: ISummaryChannel[];
  gco2e: number | null;
  cost: number | null;
  currency: string | null;
  intensity: ISummaryIntensity | null;
  pue: number | null;
  equivalents: ISummaryEquivalent[];
  history: IHistoryEntry[];
  /** What the run was predicted to use (the prediction gate's lookup); absent in older summaries. */
  prediction?: IPredictionCheck | null;
}

interface IImpactJSON {
  gco2e: number;
  cost: number | null;
  currency: string | null;
  pue: number;
  intensity: ISummaryIntensity;
  equivalents: Array<{ label: string; value: number; unit: string; source: string }>;
}

/** Build the summary of a run, carrying the previous summary's run into the history. */
export function summaryFromRun(run: IRun, previous: ICarbonSummary | null): ICarbonSummary {
  const impact = (run as IRun & { impact?: IImpactJSON | null }).impact ?? null;
  const history = previous
    ? [
        {
          started_at: previous.started_at,
          duration_s: previous.duration_s,
          energy_j: previous.energy_j,
          gco2e: previous.gco2e
        },
        ...previous.history
      ].slice(0, HISTORY_LENGTH)
    : [];
  return {
    version: 1,
    run_id: run.run_id,
    msg_id: run.msg_id,
    host: run.host,
    started_at: run.started_at,
    duration_s: run.duration_s,
    status: run.status,
    energy_j: run.attributed_j,
    node_j: run.node_j,
    idle_j: run.idle_j,
    active_j: run.active_j,
    methods: run.methods,
    flags: run.flags,
    channels: run.channels.map(c => ({
      label: c.label,
      domain: c.domain,
      method: c.method,
      node_j: c.node_j,
      attributed_j: c.attributed_j
    })),
    gco2e: impact ? impact.gco2e : null,
    cost: impact ? impact.cost : null,
    currency: impact ? impact.currency : null,
    intensity: impact
      ? {
          gco2e_per_kwh: impact.intensity.gco2e_per_kwh,
          method: impact.intensity.method,
          zone: impact.intensity.zone,
          source: impact.intensity.source,
          year: impact.intensity.year,
          is_assumption: impact.intensity.is_assumption,
          message: impact.intensity.message
        }
      : null,
    pue: impact ? impact.pue : null,
    equivalents: impact
      ? impact.equivalents.map(e => ({ label: e.label, value: e.value, unit: e.unit, source: e.source }))
      : [],
    history,
    prediction: predictionCheck(run.extra)
  };
}

/** Is this a summary this version can show? (Metadata may come from anywhere.) */
export function isSummary(value: unknown): value is ICarbonSummary {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const candidate = value as Partial<ICarbonSummary>;
  return (
    candidate.version === 1 &&
    typeof candidate.run_id === 'string' &&
    Number.isFinite(candidate.energy_j) &&
    typeof candidate.duration_s === 'number' &&
    Array.isArray(candidate.methods) &&
    Array.isArray(candidate.flags) &&
    Array.isArray(candidate.channels) &&
    Array.isArray(candidate.history)
  );
}

/** The summary stored on a cell, or null when none (or an unreadable one) is there. */
export function readSummary(model: ICellModel): ICarbonSummary | null {
  const value = model.getMetadata(METADATA_KEY);
  return isSummary(value) ? value : null;
}

/** Store a run's summary on its cell (once: a second view of the notebook sees it stored). */
export function writeSummary(model: ICellModel, run: IRun): ICarbonSummary {
  const previous = readSummary(model);
  if (previous?.run_id === run.run_id) {
    return previous;
  }
  const summary = summaryFromRun(run, previous);
  model.setMetadata(METADATA_KEY, summary as unknown as Record<string, unknown>);
  return summary;
}

/** Remove the summary (outputs cleared: the badge goes with them). */
export function clearSummary(model: ICellModel): void {
  if (model.getMetadata(METADATA_KEY) !== undefined) {
    model.deleteMetadata(METADATA_KEY);
  }
}
