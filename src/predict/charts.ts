/**
 * Vega-lite specs of the Predictions sidebar, as pure functions (figures in, an {@link IChart} out;
 * null when nothing finite is left to draw).
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import type { TopLevelSpec } from 'vega-lite';

import { IChart, IChartTable } from '../charts/chart';
import { base, BAR_STEP, cell, finite, JOULES_PER_WH } from '../charts/specs';
import { formatCarbon, formatEnergy } from '../format';
import { IAccuracyPoint, ICalibration, IRegionEstimate } from './api';

/** What fits a sidebar: short axis labels, the legend under the plot, the title from the left. */
const SIDEBAR_CONFIG = {
  axis: { labelLimit: 110 },
  legend: { orient: 'bottom', direction: 'vertical' },
  title: { anchor: 'start', fontSize: 12 }
};

/** A chart of the sidebar: the common spec, this chart's data, marks and encodings, and its table. */
function sidebarChart(title: string, description: string, body: object, table: IChartTable): IChart {
  return {
    title,
    description,
    spec: { ...base(title, description), config: SIDEBAR_CONFIG, ...body } as TopLevelSpec,
    table
  };
}

/** Regions drawn in the calculator's chart (the table under it has them all). */
export const REGIONS_DRAWN = 15;

/** The unit a set of masses of CO2e reads best in, by its largest. */
function carbonScale(maxGrams: number, trans: TranslationBundle): { divisor: number; title: string } {
  if (maxGrams >= 1e6) {
    return { divisor: 1e6, title: trans.__('Emissions (t CO2e)') };
  }
  if (maxGrams >= 1e3) {
    return { divisor: 1e3, title: trans.__('Emissions (kg CO2e)') };
  }
  return { divisor: 1, title: trans.__('Emissions (g CO2e)') };
}

/** The same training run in the greenest cloud regions (the regions arrive greenest first). */
export function regionsChart(regions: readonly IRegionEstimate[], trans: TranslationBundle): IChart | null {
  const data = regions.filter(row => finite(row.gco2e) && row.gco2e >= 0);
  if (data.length === 0) {
    return null;
  }
  const drawn = data.slice(0, REGIONS_DRAWN);
  const scale = carbonScale(Math.max(...drawn.map(row => row.gco2e)), trans);
  const title = trans.__('Greenest cloud regions');
  const description = trans.__(
    'Bars: the emissions of this training run in the %1 greenest of %2 bundled cloud regions, each at its grid intensity and PUE.',
    drawn.length,
    data.length
  );
  return sidebarChart(
    title,
    description,
    {
      data: {
        values: drawn.map(row => ({
          region: `${row.provider}:${row.region}`,
          location: row.location,
          emissions: row.gco2e / scale.divisor,
          intensity: row.gco2e_per_kwh,
          pue: row.pue
        }))
      },
      mark: { type: 'bar', tooltip: true },
      height: { step: BAR_STEP },
      encoding: {
        y: { field: 'region', type: 'nominal', sort: null, title: null },
        x: { field: 'emissions', type: 'quantitative', title: scale.title, axis: { format: '~g' } },
        tooltip: [
          { field: 'region', title: trans.__('Region') },
          { field: 'location', title: trans.__('Location') },
          { field: 'emissions', title: scale.title, format: '.3~g' },
          { field: 'intensity', title: trans.__('gCO2e/kWh'), format: '.3~g' },
          { field: 'pue', title: trans.__('PUE') }
        ]
      }
    },
    {
      columns: [
        trans.__('Region'),
        trans.__('Location'),
        trans.__('Intensity (gCO2e/kWh)'),
        trans.__('PUE'),
        trans.__('Emissions')
      ],
      rows: data.map(row => [
        cell(`${row.provider}:${row.region}`),
        cell(row.location),
        cell(String(row.gco2e_per_kwh), row.gco2e_per_kwh),
        cell(String(row.pue), row.pue),
        cell(formatCarbon(row.gco2e), row.gco2e)
      ])
    }
  );
}

/** This node's calibration: each measured `--flops` run's energy against its FLOPs, with the fitted line. */
export function calibrationChart(fits: readonly ICalibration[], trans: TranslationBundle): IChart | null {
  const points = fits.flatMap(fit =>
    fit.points
      .filter(point => finite(point.flops) && point.flops > 0 && finite(point.energy_j))
      .map(point => ({ fit: `${fit.device} ${fit.dtype}`, flops: point.flops, wh: point.energy_j / JOULES_PER_WH }))
  );
  if (points.length === 0) {
    return null;
  }
  const lines = fits.flatMap(fit => {
    const xs = fit.points.map(point => point.flops).filter(x => finite(x) && x > 0);
    if (xs.length === 0 || !finite(fit.joules_per_flop) || !finite(fit.fixed_energy_j)) {
      return [];
    }
    return [Math.min(...xs), Math.max(...xs)].map(flops => ({
      fit: `${fit.device} ${fit.dtype}`,
      flops,
      wh: (fit.fixed_energy_j + fit.joules_per_flop * flops) / JOULES_PER_WH
    }));
  });
  const title = trans.__('Energy against FLOPs');
  const description = trans.__(
    'Points: the energy of each of %1 measured runs with counted FLOPs, against their FLOPs, per device and data type; lines: the fit the predictions use.',
    points.length
  );
  const x = { field: 'flops', type: 'quantitative', title: trans.__('FLOPs'), axis: { format: '.2~s' } };
  const y = { field: 'wh', type: 'quantitative', title: trans.__('Energy (Wh)'), axis: { format: '~g' } };
  const color = { field: 'fit', type: 'nominal', title: trans.__('Device and data type') };
  return sidebarChart(
    title,
    description,
    {
      layer: [
        { data: { values: points }, mark: { type: 'point', filled: true, tooltip: true }, encoding: { x, y, color } },
        { data: { values: lines }, mark: { type: 'line' }, encoding: { x, y, color } }
      ]
    },
    {
      columns: [trans.__('Device and data type'), trans.__('FLOPs'), trans.__('Energy')],
      rows: points.map(point => [
        cell(point.fit),
        cell(point.flops.toPrecision(3), point.flops),
        cell(formatEnergy(point.wh * JOULES_PER_WH), point.wh)
      ])
    }
  );
}

/** How far off each prediction was (measured / predicted - 1), over time, by basis. */
export function accuracyChart(runs: readonly IAccuracyPoint[], trans: TranslationBundle): IChart | null {
  const data = runs.filter(run => finite(run.error) && finite(run.started_at));
  if (data.length === 0) {
    return null;
  }
  const title = trans.__('Prediction error');
  const description = trans._n(
    'A point: for the one run shown a prediction, how far its measured energy was from the predicted median, in percent, by when it ran and the basis of its prediction.',
    'Points: for each of %1 runs shown a prediction, how far its measured energy was from the predicted median, in percent, by when it ran and the basis of its prediction.',
    data.length
  );
  const none = trans.__('unknown');
  return sidebarChart(
    title,
    description,
    {
      layer: [
        {
          data: {
            values: data.map(run => ({
              when: run.started_at * 1000,
              error: run.error * 100,
              basis: run.basis ?? none,
              inside: run.within_interval ? trans.__('yes') : trans.__('no')
            }))
          },
          mark: { type: 'point', filled: true },
          encoding: {
            x: {
              field: 'when',
              type: 'temporal',
              title: trans.__('When'),
              axis: { format: '%d %b %H:%M', tickCount: 3, labelOverlap: true }
            },
            y: { field: 'error', type: 'quantitative', title: trans.__('Error (%)'), axis: { format: '~r' } },
            color: { field: 'basis', type: 'nominal', title: trans.__('Basis') },
            tooltip: [
              { field: 'when', type: 'temporal', title: trans.__('When'), format: '%Y-%m-%d %H:%M:%S' },
              { field: 'basis', title: trans.__('Basis') },
              { field: 'error', title: trans.__('Error (%)'), format: '.1f' },
              { field: 'inside', title: trans.__('Within the interval') }
            ]
          }
        },
        {
          data: { values: [{ zero: 0 }] },
          mark: { type: 'rule', strokeDash: [4, 4] },
          encoding: { y: { field: 'zero', type: 'quantitative' } }
        }
      ]
    },
    {
      columns: [trans.__('When'), trans.__('Basis'), trans.__('Predicted'), trans.__('Measured'), trans.__('Error')],
      rows: data.map(run => [
        cell(new Date(run.started_at * 1000).toLocaleString(), run.started_at),
        cell(run.basis ?? none),
        cell(formatEnergy(run.predicted_j.p50), run.predicted_j.p50),
        cell(formatEnergy(run.measured_j), run.measured_j),
        cell(`${(run.error * 100).toFixed(1)} %`, run.error)
      ])
    }
  );
}
