import { requestAPI } from '../client/client';

/** A grid zone of the bundled intensity table (GET carbon/intensity/zones). */
export interface IGridZone {
  zone: string;
  name: string;
  kind: 'world' | 'country' | 'subnational';
  gco2e_per_kwh: number;
  year: number;
  source: string;
  reference: string;
  license: string;
}

/** A cloud region of the bundled table (GET carbon/intensity/cloud-regions). */
export interface ICloudRegion {
  provider: string;
  region: string;
  location: string;
  zone: string | null;
  gco2e_per_kwh: number;
  pue: number;
  pue_source: string;
  year: number | null;
  source: string;
  reference: string;
  license: string;
}

/** Every grid zone the server bundles, sorted by code. */
export async function gridZones(): Promise<IGridZone[]> {
  return (await requestAPI<{ zones: IGridZone[] }>('intensity/zones')).zones;
}

/** Every cloud region the server bundles, sorted by provider and region. */
export async function cloudRegions(): Promise<ICloudRegion[]> {
  return (await requestAPI<{ regions: ICloudRegion[] }>('intensity/cloud-regions')).regions;
}
