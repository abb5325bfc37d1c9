/**
 * The what-if figures, as pure functions: the CO2e a run's energy would have cost on each
 * country's grid and in each cloud region, and the world map that shows them.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import type { TopLevelSpec } from 'vega-lite';

import { IChart, ITableCell } from '../charts/chart';
import { formatCarbon, significant } from '../format';
import { ICloudRegion, IGridZone } from './api';
import { ISO_NUMERIC_TO_ALPHA2 } from './iso';

const JOULES_PER_KWH = 3.6e6;
const MAP_HEIGHT = 340;
/** Outline of the user's own country: a colour apart from the sequential scheme, in both themes. */
const USER_ZONE_STROKE = '#1f78ff';
/** Countries without a figure: a mid grey, readable on light and dark backgrounds. */
const NO_DATA_FILL = '#9e9e9e';

/** What a run would have emitted in one country or region. */
export interface IWhatIf {
  /** The country's alpha-2 code, or `provider/region` for a cloud region. */
  key: string;
  name: string;
  kind: 'country' | 'cloud';
  gco2ePerKwh: number;
  pue: number;
  gco2e: number;
  source: string;
  year: number | null;
}

/** A cloud region with the run's what-if figure. */
export interface IRegionWhatIf extends IWhatIf {
  provider: string;
  region: string;
}

const finite = (value: number): boolean => Number.isFinite(value) && value >= 0;

/**
 * Each country's what-if: `joules` (the energy the run drew) x `pue` x the country's intensity.
 * Countries with a non-finite intensity are left out; an invalid energy or PUE gives nothing.
 */
export function countryWhatIfs(zones: readonly IGridZone[], joules: number, pue: number): IWhatIf[] {
  if (!finite(joules) || !Number.isFinite(pue) || pue < 1) {
    return [];
  }
  const kwh = joules / JOULES_PER_KWH;
  return zones
    .filter(zone => zone.kind === 'country' && finite(zone.gco2e_per_kwh))
    .map(zone => ({
      key: zone.zone,
      name: zone.name,
      kind: 'country',
      gco2ePerKwh: zone.gco2e_per_kwh,
      pue,
      gco2e: kwh * pue * zone.gco2e_per_kwh,
      source: zone.source,
      year: zone.year
    }));
}

/**
 * The `perProvider` cloud regions of each provider where the run would have emitted least
 * (energy x the region's PUE x its intensity), greenest first; providers sorted by name.
 */
export function greenestRegions(regions: readonly ICloudRegion[], joules: number, perProvider = 3): IRegionWhatIf[] {
  if (!finite(joules)) {
    return [];
  }
  const kwh = joules / JOULES_PER_KWH;
  const byProvider = new Map<string, IRegionWhatIf[]>();
  for (const region of regions) {
    if (!finite(region.gco2e_per_kwh) || !Number.isFinite(region.pue) || region.pue < 1) {
      continue;
    }
    const list = byProvider.get(region.provider) ?? [];
    list.push({
      key: `${region.provider}/${region.region}`,
      name: region.location ? `${region.region} (${region.location})` : region.region,
      kind: 'cloud',
      provider: region.provider,
      region: region.region,
      gco2ePerKwh: region.gco2e_per_kwh,
      pue: region.pue,
      gco2e: kwh * region.pue * region.gco2e_per_kwh,
      source: region.source,
      year: region.year
    });
    byProvider.set(region.provider, list);
  }
  return [...byProvider.keys()].sort().flatMap(provider =>
    byProvider
      .get(provider)!
      .sort((a, b) => a.gco2e - b.gco2e || a.region.localeCompare(b.region))
      .slice(0, perProvider)
  );
}

/** The country of a zone code: `US-CA` -> `US`, `FR` -> `FR`; null for WORLD or no zone. */
export function countryOfZone(zone: string | null | undefined): string | null {
  if (!zone || zone === 'WORLD') {
    return null;
  }
  return zone.split('-')[0].toUpperCase();
}

/**
 * A world choropleth of grid intensity, each country's tooltip giving what the run would have
 * emitted there, the user's country outlined. `topology` is world-atlas's countries TopoJSON,
 * whose shapes carry ISO 3166-1 numeric ids.
 */
export function whatIfMap(
  topology: unknown,
  figures: readonly IWhatIf[],
  userCountry: string | null,
  runLabel: string,
  trans: TranslationBundle
): IChart | null {
  if (figures.length === 0) {
    return null;
  }
  const byAlpha2 = new Map(figures.map(figure => [figure.key, figure]));
  const values = Object.entries(ISO_NUMERIC_TO_ALPHA2).flatMap(([id, alpha2]) => {
    const figure = byAlpha2.get(alpha2);
    return figure
      ? [
          {
            id,
            zone: alpha2,
            name: figure.name,
            intensity: figure.gco2ePerKwh,
            emitted: formatCarbon(figure.gco2e),
            year: figure.year
          }
        ]
      : [];
  });
  const userFigure = userCountry ? byAlpha2.get(userCountry) : undefined;
  const title = trans.__('What %1 would have emitted elsewhere', runLabel);
  const description = userFigure
    ? trans.__(
        'World map: each country coloured by the carbon intensity of its grid, in gCO2e per kWh; your zone, %1, is outlined. %2 countries have a figure.',
        userFigure.name,
        values.length
      )
    : trans.__(
        'World map: each country coloured by the carbon intensity of its grid, in gCO2e per kWh. %1 countries have a figure.',
        values.length
      );
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    description,
    width: 'container',
    height: MAP_HEIGHT,
    autosize: { type: 'fit-x', contains: 'padding' },
    projection: { type: 'equalEarth' },
    data: { values: topology, format: { type: 'topojson', feature: 'countries' } },
    transform: [
      {
        lookup: 'id',
        from: { data: { values }, key: 'id', fields: ['zone', 'name', 'intensity', 'emitted', 'year'] }
      }
    ],
    layer: [
      // Every shape in grey first: countries without a figure (and shapes without an ISO code) stay grey.
      {
        mark: { type: 'geoshape', fill: NO_DATA_FILL, strokeWidth: 0.4 },
        encoding: {
          tooltip: [{ field: 'properties.name', type: 'nominal', title: trans.__('No figure for') }]
        }
      },
      {
        transform: [{ filter: 'isValid(datum.intensity)' }],
        mark: { type: 'geoshape', strokeWidth: 0.4 },
        encoding: {
          color: {
            field: 'intensity',
            type: 'quantitative',
            title: trans.__('gCO2e/kWh'),
            scale: { scheme: 'yelloworangered' }
          },
          tooltip: [
            { field: 'name', type: 'nominal', title: trans.__('Country') },
            { field: 'intensity', type: 'quantitative', title: trans.__('gCO2e/kWh') },
            { field: 'emitted', type: 'nominal', title: trans.__('This run would have emitted') },
            { field: 'year', type: 'ordinal', title: trans.__('Data year') }
          ]
        }
      },
      ...(userFigure
        ? [
            {
              transform: [{ filter: { field: 'zone', equal: userFigure.key } }],
              mark: { type: 'geoshape', filled: false, stroke: USER_ZONE_STROKE, strokeWidth: 2.5 }
            }
          ]
        : [])
    ]
  };
  return { title, description, spec: spec as TopLevelSpec, table: whatIfTable(figures, trans) };
}

/** The what-if figures as a table (the map's and the cloud list's text alternative). */
export function whatIfTable(figures: readonly IWhatIf[], trans: TranslationBundle): IChart['table'] {
  const cell = (text: string, value: number | string = text): ITableCell => ({ text, value });
  return {
    columns: [
      trans.__('Where'),
      trans.__('Country or provider'),
      trans.__('gCO2e/kWh'),
      trans.__('PUE'),
      trans.__('Would have emitted'),
      trans.__('Source')
    ],
    rows: figures.map(figure => [
      cell(figure.kind === 'country' ? `${figure.name} (${figure.key})` : figure.name),
      cell(figure.kind === 'country' ? trans.__('country') : figure.key.split('/')[0]),
      cell(significant(figure.gco2ePerKwh), figure.gco2ePerKwh),
      cell(significant(figure.pue), figure.pue),
      cell(formatCarbon(figure.gco2e), figure.gco2e),
      cell(figure.year === null ? figure.source : `${figure.source}, ${figure.year}`)
    ])
  };
}
