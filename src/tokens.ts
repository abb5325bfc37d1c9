import { Token } from '@lumino/coreutils';

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

/** Typed access to the server extension's REST API. */
export interface ICarbonClient {
  /** Meters found on the node and the diagnosis of missing ones. */
  status(): Promise<IStatus>;
  /** The node's current power. */
  power(): Promise<IPower>;
}

/** The client token: every plugin talks to the server through it. */
export const ICarbonClient = new Token<ICarbonClient>(
  'jupyterlab-carbon:ICarbonClient',
  'Typed REST access to the jupyterlab-carbon server extension.'
);
