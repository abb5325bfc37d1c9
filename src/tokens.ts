import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

/** How a channel's figures are obtained, from most to least trustworthy. */
export type Method = 'measured-counter' | 'measured-power' | 'modeled';

/** One meter channel of the node (a RAPL zone, a GPU, a modeled CPU...). */
export interface IChannel {
  id: string;
  domain: 'psys' | 'cpu' | 'dram' | 'gpu' | 'other';
  label: string;
  kind: 'energy' | 'power';
  method: Method;
  source: string;
  resolution_j: number;
  device: Record<string, string>;
}

/** Why a meter is, or is not, used; with the fix when there is one. */
export interface IDiagnosis {
  source: string;
  status: 'ok' | 'not-present' | 'permission-denied' | 'unavailable' | 'error' | 'dropped' | 'skipped';
  message: string;
  path: string | null;
  fix: string | null;
}

/** GET /carbon/status */
export interface IStatus {
  version: string;
  hostname: string;
  sample_period_s: number;
  history_samples: number;
  channels: IChannel[];
  diagnoses: IDiagnosis[];
  modeled: boolean;
}

/** One channel's power in GET /carbon/power. */
export interface IChannelPower {
  id: string;
  label: string;
  domain: IChannel['domain'];
  method: Method;
  watts: number;
}

/** GET /carbon/power: node power averaged over the last seconds. */
export interface IPower {
  time: number;
  window_s?: number;
  total_w: number | null;
  modeled?: boolean;
  channels: IChannelPower[];
}

/** One channel's energy over a run's window. */
export interface IChannelEnergy {
  channel_id: string;
  label: string;
  domain: IChannel['domain'];
  method: Method;
  node_j: number;
  share: number;
  attributed_j: number;
  idle_j: number;
  active_j: number;
}

/** One recorded cell execution (GET /carbon/runs). */
export interface IRun {
  run_id: string;
  kernel_id: string;
  kernel_name: string | null;
  session_id: string | null;
  notebook_path: string | null;
  msg_id: string;
  execution_count: number | null;
  code_hash: string | null;
  code_preview: string | null;
  started_at: number;
  ended_at: number;
  duration_s: number;
  status: 'ok' | 'error' | 'interrupted';
  node_j: number;
  attributed_j: number;
  idle_j: number;
  active_j: number;
  channels: IChannelEnergy[];
  methods: Method[];
  flags: string[];
  host: string;
  extra: Record<string, unknown>;
  impact: Record<string, unknown> | null;
  version: number;
}

/** Filters of GET /carbon/runs. */
export interface IRunsQuery {
  kernel_id?: string;
  msg_id?: string;
  notebook_path?: string;
  code_hash?: string;
  since?: number;
  until?: number;
  limit?: number;
  offset?: number;
}

/** A page of runs. */
export interface IRunsPage {
  total: number;
  runs: IRun[];
}

/** An execution in flight. */
export interface IExecutionStarted {
  kernel_id: string;
  msg_id: string;
  started_at: number;
}

/** Messages of the events WebSocket. */
export type CarbonEvent =
  ({ type: 'power' } & IPower) | ({ type: 'execution-started' } & IExecutionStarted) | { type: 'run'; run: IRun };

/** The user's intensity settings, as sent to PUT /carbon/intensity. */
export interface IIntensitySettings {
  intensity: number | null;
  zone: string;
  cloudProvider: string;
  cloudRegion: string;
  pue: number | null;
  price: number | null;
  currency: string;
  liveProvider: string;
}

/** GET/PUT /carbon/intensity: settings and the intensity they resolve to. */
export interface IIntensityState {
  settings: IIntensitySettings;
  live_providers: string[];
  resolved: {
    gco2e_per_kwh: number;
    method: string;
    zone: string | null;
    zone_name: string | null;
    source: string;
    year: number | null;
    pue: number;
    pue_source: string;
    is_assumption: boolean;
    message: string;
  };
}

/** GET /carbon/totals */
export interface ITotals {
  runs: number;
  // null where a sum does not fit a float (rows an earlier version stored as infinite are left out)
  attributed_j: number | null;
  node_j: number | null;
  idle_j: number | null;
  active_j: number | null;
  duration_s: number | null;
  gco2e: number | null;
  costs: Record<string, number | null>;
}

/** Typed access to the server extension's REST API and its live events. */
export interface ICarbonClient {
  /** Meters found on the node and the diagnosis of missing ones. */
  status(): Promise<IStatus>;
  /** The node's current power. */
  power(): Promise<IPower>;
  /** Recorded runs, newest first. */
  runs(query?: IRunsQuery): Promise<IRunsPage>;
  /** Executions in flight now. */
  executions(): Promise<IExecutionStarted[]>;
  /** Sums over runs of a notebook or kernel. */
  totals(query: { notebook_path?: string; kernel_id?: string; since?: number }): Promise<ITotals>;
  /** The intensity in force and the settings behind it. */
  intensity(): Promise<IIntensityState>;
  /** Replace the user's intensity settings; rejects with the server's reason when invalid. */
  setIntensity(settings: IIntensitySettings): Promise<IIntensityState>;
  /** Live events from the server (one shared WebSocket, reconnected with backoff). */
  readonly events: ISignal<ICarbonClient, CarbonEvent>;
}

/** The client token: every plugin talks to the server through it. */
export const ICarbonClient = new Token<ICarbonClient>(
  'jupyterlab-carbon:ICarbonClient',
  'Typed REST access to the jupyterlab-carbon server extension.'
);
