import { nullTranslator } from '@jupyterlab/translation';

import { ICloudRegion, IGridZone } from '../api';
import { countryOfZone, countryWhatIfs, greenestRegions, whatIfMap } from '../model';

const trans = nullTranslator.load('jupyterlab_carbon');

const zone = (code: string, intensity: number, kind: IGridZone['kind'] = 'country'): IGridZone => ({
  zone: code,
  name: `Zone ${code}`,
  kind,
  gco2e_per_kwh: intensity,
  year: 2023,
  source: 'Ember',
  reference: '',
  license: 'CC-BY-4.0'
});

const region = (provider: string, name: string, intensity: number, pue: number): ICloudRegion => ({
  provider,
  region: name,
  location: '',
  zone: null,
  gco2e_per_kwh: intensity,
  pue,
  pue_source: '',
  year: null,
  source: 'CCF',
  reference: '',
  license: 'Apache-2.0'
});

describe('countryWhatIfs', () => {
  it('is energy x PUE x intensity for each country, sub-national zones and the world left out', () => {
    const figures = countryWhatIfs(
      [zone('FR', 50), zone('US-CA', 200, 'subnational'), zone('WORLD', 475, 'world')],
      3.6e6,
      1.5
    );
    expect(figures).toHaveLength(1);
    expect(figures[0]).toMatchObject({ key: 'FR', gco2e: 75, pue: 1.5 });
  });

  it('gives nothing for a non-finite energy or an impossible PUE, and skips bad rows', () => {
    expect(countryWhatIfs([zone('FR', 50)], NaN, 1)).toEqual([]);
    expect(countryWhatIfs([zone('FR', 50)], 1, 0.5)).toEqual([]);
    expect(countryWhatIfs([zone('FR', Infinity)], 1, 1)).toEqual([]);
  });
});

describe('greenestRegions', () => {
  it('keeps the lowest emitters of each provider, counting each region own PUE', () => {
    const regions = [
      region('gcp', 'b', 100, 1.1),
      region('aws', 'x', 10, 2),
      region('aws', 'y', 15, 1),
      region('aws', 'z', 500, 1),
      region('gcp', 'a', 100, 1.0),
      region('gcp', 'bad', NaN, 1)
    ];
    const best = greenestRegions(regions, 3.6e6, 2);
    expect(best.map(r => r.key)).toEqual(['aws/y', 'aws/x', 'gcp/a', 'gcp/b']);
    expect(best[0].gco2e).toBe(15);
    expect(greenestRegions(regions, Infinity)).toEqual([]);
    expect(greenestRegions([], 1)).toEqual([]);
  });
});

describe('countryOfZone', () => {
  it('maps a zone to its country', () => {
    expect(countryOfZone('US-CA')).toBe('US');
    expect(countryOfZone('FR')).toBe('FR');
    expect(countryOfZone('WORLD')).toBeNull();
    expect(countryOfZone(null)).toBeNull();
  });
});

describe('whatIfMap', () => {
  const topology = { type: 'Topology', objects: { countries: { type: 'GeometryCollection', geometries: [] } } };

  it('joins figures to the atlas by ISO numeric id and outlines the user country', () => {
    const figures = countryWhatIfs([zone('FR', 50), zone('DE', 350)], 3.6e6, 1);
    const chart = whatIfMap(topology, figures, 'FR', 'Run 1', trans)!;
    const spec = chart.spec as unknown as {
      transform: Array<{ from: { data: { values: Array<Record<string, unknown>> } } }>;
      layer: unknown[];
    };
    const joined = spec.transform[0].from.data.values;
    expect(joined).toContainEqual(expect.objectContaining({ id: '250', zone: 'FR', intensity: 50 }));
    expect(joined).toContainEqual(expect.objectContaining({ id: '276', zone: 'DE', emitted: '350 g CO₂e' }));
    expect(spec.layer).toHaveLength(3);
    expect(chart.description).toContain('Zone FR');
    expect(chart.table.rows).toHaveLength(2);
  });

  it('draws no outline without a user zone, and nothing without figures', () => {
    const chart = whatIfMap(topology, countryWhatIfs([zone('FR', 50)], 1, 1), null, 'Run 1', trans)!;
    expect((chart.spec as unknown as { layer: unknown[] }).layer).toHaveLength(2);
    expect(whatIfMap(topology, [], 'FR', 'Run 1', trans)).toBeNull();
  });
});
