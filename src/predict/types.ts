/** A predicted figure: the median and an interval around it. */
export interface IPredictedRange {
  p50: number;
  low: number;
  high: number;
}

/** What a prediction rests on, the most specific first. */
export type PredictionBasisKind = 'history' | 'flops-scaled' | 'flops-declared' | 'calibration' | 'prior';

/** A bundled grid zone and what the cell would emit there. */
export interface IGreenerZone {
  zone: string;
  label: string;
  gco2e: number;
}

/** A cloud region and what the cell would emit there. */
export interface IGreenerRegion {
  provider: string;
  region: string;
  gco2e: number;
}

/** The lowest-intensity time of the next 24 hours, when a live provider has a forecast. */
export interface IGreenerForecast {
  at: number;
  gco2e_per_kwh: number;
  gco2e: number;
}

/** The server's prediction of a cell (POST carbon/predict; issue 10 contract). */
export interface IPrediction {
  energy_j: IPredictedRange;
  duration_s: IPredictedRange;
  gco2e: IPredictedRange;
  cost: IPredictedRange | null;
  currency: string | null;
  basis: { kind: PredictionBasisKind; text: string; runs?: number | null };
  intensity: { gco2e_per_kwh: number; zone: string | null; source: string; year: number | null } | null;
  greener: { zones: IGreenerZone[]; cloud: IGreenerRegion[]; forecast: IGreenerForecast | null } | null;
}

/** The body of POST carbon/predict. */
export interface IPredictRequest {
  kernel_id: string;
  notebook_path: string | null;
  cell_id: string | null;
  code: string;
  execution_count: number | null;
  /** What `%%carbon --predict` declares, counted in the kernel before the cell runs (declare.ts). */
  flops_declared?: { count: number; device?: string; dtype?: string; device_name?: string };
}

/** The "Carbon: prediction gate" settings (schema/predict.json); null thresholds are off. */
export interface IPredictSettings {
  enabled: boolean;
  /** How long a cell waits for its prediction before it runs unasked. */
  lookup_timeout_ms: number;
  energy_wh: number | null;
  gco2e_g: number | null;
  cost: number | null;
  duration_s: number | null;
}

/** The schema's defaults, used until the registry answers. */
export const DEFAULT_PREDICT_SETTINGS: IPredictSettings = {
  enabled: true,
  lookup_timeout_ms: 250,
  energy_wh: 10,
  gco2e_g: null,
  cost: null,
  duration_s: 300
};
