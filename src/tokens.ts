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
  /** The ledger's backend and the team view (servers with the ledger's schema v3). */
  ledger?: ILedgerStatus;
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
  /** The run's experiment (never empty); absent from servers before the ledger's schema v3. */
  experiment?: string;
  /** Sorted, unique tags. */
  tags?: string[];
  note?: string | null;
  /** The Jupyter user who owns the kernel's server; null for old rows. */
  user?: string | null;
  source?: RunSource;
  /** Logged figures such as accuracy or loss (finite numbers). */
  metrics?: Record<string, number>;
  /** Epoch seconds of a soft delete, null when the run is not in the trash. */
  deleted_at?: number | null;
  /** Power over the run (only from GET runs/{id} and POST runs/compare). */
  trace?: IPowerTrace | null;
}

/** Where a run comes from. */
export type RunSource = 'server' | 'in-kernel' | 'headless' | 'imported';

/** Power over a run: t in seconds since started_at, w in watts attributed to the kernel. */
export interface IPowerTrace {
  t: number[];
  w: number[];
}

/** Sort keys of GET /carbon/runs. */
export type LedgerSortKey =
  'started_at' | 'duration_s' | 'energy' | 'co2e' | 'cost' | 'notebook_path' | 'experiment' | 'execution_count';

/** A sort direction. */
export type SortOrder = 'asc' | 'desc';

/** Grouping keys of GET /carbon/runs/groups. */
export type LedgerGroupKey = 'experiment' | 'notebook' | 'day' | 'user' | 'kernel';

/** Whether a run's figures are measured or (partly) modeled. */
export type MethodFilter = 'measured' | 'modeled';

/** Which runs to show with respect to the trash. */
export type DeletedFilter = 'exclude' | 'only' | 'include';

/** The shared filters of the ledger's list, groups and export endpoints. */
export interface ILedgerFilters {
  /** Case-insensitive substring over notebook path, code preview, experiment and tags. */
  q?: string;
  notebook_path?: string;
  experiment?: string;
  /** Runs having all of these tags. */
  tags?: string[];
  kernel_id?: string;
  user?: string;
  /** Epoch seconds: since <= started_at < until. */
  since?: number;
  until?: number;
  method?: MethodFilter;
  /** Runs having all of these flags. */
  flags?: string[];
  status?: IRun['status'];
  deleted?: DeletedFilter;
  source?: RunSource;
}

/** A page request of GET /carbon/runs: filters, sort and window. */
export interface ILedgerPageQuery extends ILedgerFilters {
  sort?: LedgerSortKey;
  order?: SortOrder;
  limit?: number;
  offset?: number;
}

/** Sums over a set of runs (a group or all of them). */
export interface IGroupTotals {
  runs: number;
  duration_s: number | null;
  attributed_j: number | null;
  active_j: number | null;
  idle_j: number | null;
  gco2e: number | null;
  cost: number | null;
  currency: string | null;
  first_started_at: number | null;
  last_started_at: number | null;
}

/** One group of GET /carbon/runs/groups. */
export interface IRunGroup extends IGroupTotals {
  key: string;
}

/** GET /carbon/runs/groups */
export interface IRunGroups {
  groups: IRunGroup[];
  total: IGroupTotals;
}

/** One experiment of GET /carbon/experiments. */
export interface IExperiment {
  name: string;
  runs: number;
  attributed_j: number | null;
  gco2e: number | null;
  last_started_at: number | null;
}

/** POST /carbon/runs/annotate: what to change on the given runs. */
export interface IAnnotation {
  experiment?: string;
  add_tags?: string[];
  remove_tags?: string[];
  note?: string | null;
}

/** POST /carbon/runs/import */
export interface IImportResult {
  imported: number;
  /** The experiment of every imported run; null when the file's rows name several. */
  experiment: string | null;
  run_ids: string[];
}

/** The ledger part of GET /carbon/status. */
export interface ILedgerStatus {
  team_view: boolean;
  user: string | null;
  backend: 'sqlite' | 'postgresql';
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
  /** How many runs match: at least this many when `total_is_lower_bound` (a capped count). */
  total: number;
  total_is_lower_bound?: boolean;
  runs: IRun[];
}

/** An execution in flight. */
export interface IExecutionStarted {
  kernel_id: string;
  msg_id: string;
  started_at: number;
}

/** A %%carbon budget that a running execution crossed (the server checks it live). */
export interface IBudgetCrossing {
  kind: 'energy' | 'carbon' | 'cost';
  /** Joules, grams CO2e, or currency units, as `spent`. */
  limit: number;
  spent: number;
  /** Epoch seconds when it was crossed. */
  exceeded_at: number;
  /** The budget as the user wrote it, e.g. "5Wh". */
  text: string;
  on_budget: 'warn' | 'stop';
}

/** A running execution crossed its budget. */
export interface IBudgetEvent {
  kernel_id: string;
  msg_id: string;
  budget: IBudgetCrossing;
}

/** Messages of the events WebSocket. */
export type CarbonEvent =
  | ({ type: 'power' } & IPower)
  | ({ type: 'execution-started' } & IExecutionStarted)
  | { type: 'run'; run: IRun }
  | ({ type: 'budget' } & IBudgetEvent);

/** Sent after runs were annotated, deleted, restored, renamed or imported. */
export interface IRunsChangedEvent {
  type: 'runs-changed';
  run_ids: string[];
}

/**
 * Every message of the events socket, the ledger's included. A separate union so that switches
 * over `CarbonEvent` written before the ledger's events stay exhaustive.
 */
export type AnyCarbonEvent = CarbonEvent | IRunsChangedEvent;

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
