/** The Predictions sidebar's endpoints: the calculator, this node's calibration and its prediction error. */

import { requestAPI } from '../client/client';
import { IPredictedRange } from './types';

/** A bundled GPU (GET carbon/estimate/gpus). */
export interface IGpuSpec {
  key: string;
  model: string;
  peak_tflops: Record<string, number>;
  tdp_watts: number;
  memory_gb: number;
  source: string;
  reference: string;
  license: string;
}

/** The body of POST carbon/estimate (`flops` instead of `params` and `tokens`). */
export interface IEstimateRequest {
  gpu: string;
  count: number;
  params?: number;
  tokens?: number;
  flops?: number;
  mfu?: number;
  pue?: number;
  dtype?: string;
  zone?: string;
  region?: string;
  price?: number;
  currency?: string;
}

/** The same run's emissions in one bundled cloud region. */
export interface IRegionEstimate {
  provider: string;
  region: string;
  location: string;
  gco2e_per_kwh: number;
  pue: number;
  gco2e: number;
}

/** The calculator's answer. */
export interface ITrainingEstimate {
  flops: number;
  gpu: IGpuSpec;
  dtype: string;
  mfu: number;
  pue: number;
  count: number;
  gpu_hours: IPredictedRange;
  wall_time_s: IPredictedRange;
  energy_j: IPredictedRange;
  facility_energy_j: IPredictedRange;
  gco2e: IPredictedRange;
  cost: IPredictedRange | null;
  currency: string | null;
  intensity: { gco2e_per_kwh: number; zone: string | null; source: string; message?: string };
  assumptions: string[];
  regions: IRegionEstimate[];
}

/** One measured run of a calibration. */
export interface ICalibrationPoint {
  run_id: string;
  started_at: number;
  flops: number;
  energy_j: number;
  duration_s: number;
  flops_per_s: number;
  joules_per_flop: number;
}

/** This node's fit for one device and dtype (GET carbon/predict/calibration). */
export interface ICalibration {
  device: string;
  dtype: string;
  runs: number;
  flops_per_s: number;
  joules_per_flop: number;
  fixed_energy_j: number;
  fixed_duration_s: number;
  spread: number;
  points: ICalibrationPoint[];
}

/** A run's prediction against its measurement (GET carbon/predict/accuracy). */
export interface IAccuracyPoint {
  run_id: string;
  started_at: number;
  notebook_path: string | null;
  code_preview: string | null;
  basis: string | null;
  predicted_j: IPredictedRange;
  measured_j: number;
  error: number;
  within_interval: boolean;
}

export interface IAccuracy {
  runs: IAccuracyPoint[];
  scanned: number;
  median_abs_error: number | null;
  within_interval: number | null;
}

export async function fetchGpus(): Promise<IGpuSpec[]> {
  return (await requestAPI<{ gpus: IGpuSpec[] }>('estimate/gpus')).gpus;
}

export async function estimateTraining(request: IEstimateRequest): Promise<ITrainingEstimate> {
  return requestAPI<ITrainingEstimate>('estimate', { method: 'POST', body: JSON.stringify(request) });
}

export async function fetchCalibrations(): Promise<ICalibration[]> {
  return (await requestAPI<{ calibrations: ICalibration[] }>('predict/calibration')).calibrations;
}

export async function fetchAccuracy(): Promise<IAccuracy> {
  return requestAPI<IAccuracy>('predict/accuracy');
}
