/**
 * Vega-lite specs of the compare view, as pure functions: figures in, an {@link IChart} out.
 *
 * Each builder drops non-finite figures (a value an old server stored as infinite arrives as null)
 * and answers null when nothing is left to draw, so the view can say "no data" in words instead
 * of showing an empty frame. Energies arrive in joules and are drawn in Wh.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import type { TopLevelSpec } from 'vega-lite';

import { formatCarbon, formatDuration, formatEnergy, formatPower } from '../format';
import { IChart, ITableCell } from './chart';
import { paretoFront } from './pareto';

export const JOULES_PER_WH = 3600;
const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const HEIGHT = 220;
const CONCAT_WIDTH = 520;
/** Bars are horizontal, one band per run, so that long run names stay readable. */
export const BAR_STEP = 28;

/** The energy a run drew from one kind of device. */
export interface IDeviceEnergy {
  run: string;
  domain: string;
  joules: number;
}

/** A run's emissions. */
export interface IRunCarbon {
  run: string;
  gco2e: number;
}

/** A run's power over time (t: seconds since the run started, w: watts). */
export interface IPowerSeries {
  run: string;
  t: readonly number[];
  w: readonly number[];
}

/** A run's energy and the value it reached on a metric. */
export interface IEnergyMetric {
  run: string;
  joules: number;
  metric: number;
}

/** A run placed in time, for an experiment's history. */
export interface ITimelinePoint {
  run: string;
  experiment: string;
  /** Epoch seconds. */
  startedAt: number;
  joules: number;
  metric: number | null;
}

export const finite = (value: number | null | undefined): value is number =>
  typeof value === 'number' && Number.isFinite(value);

export const cell = (text: string, value: number | string = text): ITableCell => ({ text, value });

export function base(
  title: string,
  description: string
): Pick<TopLevelSpec, '$schema' | 'title' | 'description'> & {
  width: 'container';
  height: number;
  autosize: { type: 'fit-x'; contains: 'padding' };
} {
  return {
    $schema: SCHEMA,
    title,
    description,
    width: 'container',
    height: HEIGHT,
    autosize: { type: 'fit-x', contains: 'padding' }
  };
}

/** Energy per run, stacked by device kind (CPU, DRAM, GPU...). */
export function energyByDeviceChart(rows: readonly IDeviceEnergy[], trans: TranslationBundle): IChart | null {
  const data = rows.filter(row => finite(row.joules) && row.joules >= 0);
  if (data.length === 0) {
    return null;
  }
  const title = trans.__('Energy per run, by device');
  const description = trans.__(
    'Stacked bars: the energy attributed to each of %1 runs, split by the kind of device that used it.',
    new Set(data.map(row => row.run)).size
  );
  const values = data.map(row => ({ run: row.run, device: row.domain, wh: row.joules / JOULES_PER_WH }));
  return {
    title,
    description,
    spec: {
      ...base(title, description),
      data: { values },
      mark: { type: 'bar', tooltip: true },
      height: { step: BAR_STEP },
      encoding: {
        y: { field: 'run', type: 'nominal', sort: null, title: trans.__('Run'), axis: { labelLimit: 200 } },
        x: { field: 'wh', type: 'quantitative', stack: 'zero', title: trans.__('Energy (Wh)'), axis: { format: '~g' } },
        color: { field: 'device', type: 'nominal', title: trans.__('Device') }
      }
    } as TopLevelSpec,
    table: {
      columns: [trans.__('Run'), trans.__('Device'), trans.__('Energy')],
      rows: data.map(row => [cell(row.run), cell(row.domain), cell(formatEnergy(row.joules), row.joules)])
    }
  };
}

/** Emissions per run. */
export function carbonChart(rows: readonly IRunCarbon[], trans: TranslationBundle): IChart | null {
  const data = rows.filter(row => finite(row.gco2e) && row.gco2e >= 0);
  if (data.length === 0) {
    return null;
  }
  const title = trans.__('Emissions per run');
  const description = trans.__('Bars: the grams of CO2e of each of %1 runs.', data.length);
  return {
    title,
    description,
    spec: {
      ...base(title, description),
      data: { values: data.map(row => ({ run: row.run, gco2e: row.gco2e })) },
      mark: { type: 'bar', tooltip: true },
      height: { step: BAR_STEP },
      encoding: {
        y: { field: 'run', type: 'nominal', sort: null, title: trans.__('Run'), axis: { labelLimit: 200 } },
        x: { field: 'gco2e', type: 'quantitative', title: trans.__('Emissions (gCO2e)'), axis: { format: '~g' } }
      }
    } as TopLevelSpec,
    table: {
      columns: [trans.__('Run'), trans.__('Emissions')],
      rows: data.map(row => [cell(row.run), cell(formatCarbon(row.gco2e), row.gco2e)])
    }
  };
}

/** Each run's power over its own time, overlaid. */
export function powerChart(series: readonly IPowerSeries[], trans: TranslationBundle): IChart | null {
  const values: Array<{ run: string; t: number; w: number }> = [];
  for (const { run, t, w } of series) {
    const length = Math.min(t.length, w.length);
    for (let i = 0; i < length; i++) {
      if (finite(t[i]) && finite(w[i])) {
        values.push({ run, t: t[i], w: w[i] });
      }
    }
  }
  if (values.length === 0) {
    return null;
  }
  const runs = [...new Set(values.map(value => value.run))];
  const title = trans.__('Power over time');
  const description = trans.__(
    'Lines: the power attributed to each of %1 runs, in watts, against seconds since the run started.',
    runs.length
  );
  const rows = runs.map(run => {
    const points = values.filter(value => value.run === run);
    const peak = Math.max(...points.map(point => point.w));
    const mean = points.reduce((sum, point) => sum + point.w, 0) / points.length;
    const span = points[points.length - 1].t - points[0].t;
    return [cell(run), cell(formatPower(mean), mean), cell(formatPower(peak), peak), cell(formatDuration(span), span)];
  });
  return {
    title,
    description,
    spec: {
      ...base(title, description),
      data: { values },
      mark: { type: 'line', point: values.length <= 60, tooltip: true, interpolate: 'monotone' },
      encoding: {
        x: { field: 't', type: 'quantitative', title: trans.__('Seconds since the run started') },
        y: { field: 'w', type: 'quantitative', title: trans.__('Power (W)') },
        color: { field: 'run', type: 'nominal', sort: null, title: trans.__('Run') }
      }
    } as TopLevelSpec,
    table: {
      columns: [trans.__('Run'), trans.__('Mean power'), trans.__('Peak power'), trans.__('Traced for')],
      rows
    }
  };
}

/** Energy against a metric, with the Pareto front (the runs no other beats on both) drawn as a line. */
export function paretoChart(
  points: readonly IEnergyMetric[],
  metric: string,
  higherIsBetter: boolean,
  trans: TranslationBundle
): IChart | null {
  const data = points.filter(point => finite(point.joules) && finite(point.metric));
  if (data.length === 0) {
    return null;
  }
  const front = new Set(
    paretoFront(
      data.map(point => ({ id: point.run, energy: point.joules, metric: point.metric })),
      higherIsBetter
    ).map(point => point.id)
  );
  const values = data.map(point => ({
    run: point.run,
    wh: point.joules / JOULES_PER_WH,
    metric: point.metric,
    front: front.has(point.run) ? trans.__('on the front') : trans.__('dominated')
  }));
  const frontValues = values.filter(value => front.has(value.run)).sort((a, b) => a.wh - b.wh);
  const title = trans.__('Energy against %1', metric);
  const description = higherIsBetter
    ? trans._n(
        'Points: %1 run by energy and %2 (higher is better). The line joins the %3 runs that no other run beats with less energy and a higher %2.',
        'Points: %1 runs by energy and %2 (higher is better). The line joins the %3 runs that no other run beats with less energy and a higher %2.',
        data.length,
        metric,
        front.size
      )
    : trans._n(
        'Points: %1 run by energy and %2 (lower is better). The line joins the %3 runs that no other run beats with less energy and a lower %2.',
        'Points: %1 runs by energy and %2 (lower is better). The line joins the %3 runs that no other run beats with less energy and a lower %2.',
        data.length,
        metric,
        front.size
      );
  const x = {
    field: 'wh',
    type: 'quantitative',
    title: trans.__('Energy (Wh)'),
    scale: { zero: false },
    axis: { format: '~g' }
  };
  const y = { field: 'metric', type: 'quantitative', title: metric, scale: { zero: false } };
  return {
    title,
    description,
    spec: {
      ...base(title, description),
      layer: [
        {
          data: { values: frontValues },
          mark: { type: 'line', strokeDash: [4, 3] },
          encoding: { x, y }
        },
        {
          data: { values },
          mark: { type: 'point', filled: true, size: 70, tooltip: true },
          encoding: {
            x,
            y,
            shape: { field: 'front', type: 'nominal', title: trans.__('Pareto') },
            color: { field: 'front', type: 'nominal', title: trans.__('Pareto') }
          }
        }
      ]
    } as TopLevelSpec,
    table: {
      columns: [trans.__('Run'), trans.__('Energy'), metric, trans.__('Pareto')],
      rows: values.map((value, i) => [
        cell(value.run),
        cell(formatEnergy(data[i].joules), data[i].joules),
        cell(String(value.metric), value.metric),
        cell(value.front)
      ])
    }
  };
}

/** Energy (and a metric, when given) of runs over the time they started, one colour per experiment. */
export function timelineChart(
  points: readonly ITimelinePoint[],
  metric: string | null,
  trans: TranslationBundle
): IChart | null {
  const data = points.filter(point => finite(point.startedAt) && finite(point.joules));
  if (data.length === 0) {
    return null;
  }
  const values = data.map(point => ({
    run: point.run,
    experiment: point.experiment,
    started: point.startedAt * 1000,
    wh: point.joules / JOULES_PER_WH,
    metric: finite(point.metric) ? point.metric : null
  }));
  const withMetric = metric !== null && values.some(value => value.metric !== null);
  const title = withMetric ? trans.__('Energy and %1 over time', metric) : trans.__('Energy over time');
  const description = withMetric
    ? trans.__(
        'Two charts sharing a time axis: the energy and the %1 of %2 runs by when they started.',
        metric,
        data.length
      )
    : trans.__('Points joined by experiment: the energy of %1 runs by when they started.', data.length);
  const x = { field: 'started', type: 'temporal', title: trans.__('Started') };
  const color = { field: 'experiment', type: 'nominal', title: trans.__('Experiment') };
  // Vega-lite sizes concatenated views only in pixels ('container' is for single views).
  const panel = (field: string, axisTitle: string) => ({
    width: withMetric ? CONCAT_WIDTH : 'container',
    height: HEIGHT / (withMetric ? 1.5 : 1),
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x,
      y: { field, type: 'quantitative', title: axisTitle, scale: { zero: false } },
      color,
      detail: { field: 'experiment' }
    }
  });
  const energyPanel = panel('wh', trans.__('Energy (Wh)'));
  const { $schema, description: specDescription } = base(title, description);
  const spec = withMetric
    ? {
        $schema,
        title,
        description: specDescription,
        data: { values },
        vconcat: [energyPanel, { ...panel('metric', metric), transform: [{ filter: 'datum.metric !== null' }] }],
        resolve: { scale: { x: 'shared' } }
      }
    : { ...base(title, description), data: { values }, mark: energyPanel.mark, encoding: energyPanel.encoding };
  const columns = [trans.__('Run'), trans.__('Experiment'), trans.__('Started'), trans.__('Energy')];
  return {
    title,
    description,
    spec: spec as TopLevelSpec,
    table: {
      columns: withMetric ? [...columns, metric] : columns,
      rows: data.map(point => {
        const row = [
          cell(point.run),
          cell(point.experiment),
          cell(new Date(point.startedAt * 1000).toLocaleString(), point.startedAt),
          cell(formatEnergy(point.joules), point.joules)
        ];
        if (withMetric) {
          row.push(finite(point.metric) ? cell(String(point.metric), point.metric) : cell('–', -Infinity));
        }
        return row;
      })
    }
  };
}
