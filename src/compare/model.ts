/**
 * What the compare view shows, computed from the runs as pure functions: the rows of the table,
 * the code comparison and the inputs of the charts.
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import type { IDeviceEnergy, IEnergyMetric, IPowerSeries, IRunCarbon, ITimelinePoint } from '../charts/specs';
import { formatCarbon, formatCost, formatDuration, formatEnergy, significant } from '../format';
import { IRun } from '../tokens';

/** A run's emissions, cost and the factors behind them, read defensively from its `impact`. */
export interface IImpactFigures {
  gco2e: number | null;
  cost: number | null;
  currency: string | null;
  pue: number | null;
  gco2ePerKwh: number | null;
  intensitySource: string | null;
  intensityYear: number | null;
  zone: string | null;
}

/** One line of the comparison table: a label and one text per run. */
export interface IComparisonRow {
  key: string;
  section: string;
  label: string;
  values: string[];
  /** False when every run shows the same text (hidden by "differences only"). */
  differs: boolean;
}

/** One line of a code diff. */
export interface IDiffLine {
  kind: 'same' | 'removed' | 'added';
  text: string;
}

/** How two runs' code compares, from what the ledger keeps (the first line and a hash). */
export interface ICodeComparison {
  /** identical: same hash; different: hashes differ; unknown: a hash is missing. */
  verdict: 'identical' | 'different' | 'unknown';
  /** The diff of the stored first lines (empty when a run kept none). */
  lines: IDiffLine[];
  /** Whether either run kept any code text at all (previews can be turned off on the server). */
  hasPreview: boolean;
}

const number = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

/** The figures of a run's `impact`, each null where missing or not a finite number. */
export function impactFigures(run: IRun): IImpactFigures {
  const impact = run.impact ?? {};
  const intensity = (
    typeof impact.intensity === 'object' && impact.intensity !== null ? impact.intensity : {}
  ) as Record<string, unknown>;
  return {
    gco2e: number(impact.gco2e),
    cost: number(impact.cost),
    currency: text(impact.currency),
    pue: number(impact.pue),
    gco2ePerKwh: number(impact.gco2e_per_kwh),
    intensitySource: text(intensity.source),
    intensityYear: number(intensity.year),
    zone: text(intensity.zone)
  };
}

/** A short, unique name for each run: its position, notebook file and execution count. */
export function runLabels(runs: readonly IRun[]): string[] {
  return runs.map((run, index) => {
    const where = run.notebook_path?.split('/').pop() || run.kernel_name || run.kernel_id.slice(0, 8);
    const count = run.execution_count !== null ? ` [${run.execution_count}]` : '';
    return `${index + 1}. ${where}${count}`;
  });
}

/** Energy attributed to a run per device kind (a run's channels of one domain summed). */
export function energyByDomain(run: IRun): Map<string, number> {
  const sums = new Map<string, number>();
  for (const channel of run.channels) {
    if (Number.isFinite(channel.attributed_j)) {
      sums.set(channel.domain, (sums.get(channel.domain) ?? 0) + channel.attributed_j);
    }
  }
  return sums;
}

/** The metric names any of the runs carries, sorted. */
export function metricNames(runs: readonly IRun[]): string[] {
  return [...new Set(runs.flatMap(run => Object.keys(run.metrics ?? {})))].sort();
}

/** The rows of the comparison table, runs as columns. */
export function comparisonRows(runs: readonly IRun[], trans: TranslationBundle): IComparisonRow[] {
  const rows: IComparisonRow[] = [];
  const impacts = runs.map(impactFigures);
  const domains = runs.map(energyByDomain);
  let section = '';
  const add = (key: string, label: string, cell: (run: IRun, index: number) => string) => {
    const values = runs.map(cell);
    rows.push({ key, section, label, values, differs: new Set(values).size > 1 });
  };
  const none = '–';
  const list = (items: readonly string[] | undefined) => (items && items.length > 0 ? items.join(', ') : none);

  section = trans.__('Run');
  add('experiment', trans.__('Experiment'), r => r.experiment ?? none);
  add('notebook', trans.__('Notebook'), r => r.notebook_path ?? none);
  add('started', trans.__('Started'), r => new Date(r.started_at * 1000).toLocaleString());
  add('status', trans.__('Status'), r => r.status);
  add('duration', trans.__('Duration'), r => formatDuration(r.duration_s));
  add('host', trans.__('Host'), r => r.host);

  section = trans.__('Energy');
  add('energy', trans.__('Attributed energy'), r => formatEnergy(r.attributed_j));
  add('active', trans.__('Active'), r => formatEnergy(r.active_j));
  add('idle', trans.__('Idle'), r => formatEnergy(r.idle_j));
  for (const domain of [...new Set(domains.flatMap(sums => [...sums.keys()]))].sort()) {
    add(`domain:${domain}`, trans.__('Energy: %1', domain), (_, i) => formatEnergy(domains[i].get(domain)));
  }

  section = trans.__('Impact');
  add('gco2e', trans.__('Emissions'), (_, i) => formatCarbon(impacts[i].gco2e));
  add('cost', trans.__('Cost'), (_, i) => formatCost(impacts[i].cost, impacts[i].currency));
  add('intensity', trans.__('Carbon intensity'), (_, i) => {
    const value = impacts[i].gco2ePerKwh;
    return value === null ? none : trans.__('%1 gCO2e/kWh', significant(value));
  });
  add('intensity-source', trans.__('Intensity source'), (_, i) => {
    const { zone, intensitySource, intensityYear } = impacts[i];
    const parts = [zone, intensitySource, intensityYear === null ? null : String(intensityYear)];
    return parts.filter(part => part !== null).join(' · ') || none;
  });
  add('pue', trans.__('PUE'), (_, i) => {
    const pue = impacts[i].pue;
    return pue === null ? none : significant(pue);
  });

  section = trans.__('Provenance');
  add('methods', trans.__('Methods'), r => list(r.methods));
  add('flags', trans.__('Flags'), r => list(r.flags));
  add('tags', trans.__('Tags'), r => list(r.tags));
  add('code-hash', trans.__('Code hash'), r => r.code_hash?.slice(0, 12) ?? none);

  section = trans.__('Metrics');
  for (const name of metricNames(runs)) {
    add(`metric:${name}`, name, r => {
      const value = number(r.metrics?.[name]);
      return value === null ? none : String(value);
    });
  }
  return rows;
}

/** The lines of `before` and `after` as a diff (longest common subsequence of lines). */
export function lineDiff(before: readonly string[], after: readonly string[]): IDiffLine[] {
  // common[i][j]: length of the longest common subsequence of before[i:] and after[j:].
  const common = Array.from({ length: before.length + 1 }, () => new Array<number>(after.length + 1).fill(0));
  for (let i = before.length - 1; i >= 0; i--) {
    for (let j = after.length - 1; j >= 0; j--) {
      common[i][j] = before[i] === after[j] ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
    }
  }
  const lines: IDiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    if (i < before.length && j < after.length && before[i] === after[j]) {
      lines.push({ kind: 'same', text: before[i++] });
      j++;
    } else if (j < after.length && (i === before.length || common[i][j + 1] >= common[i + 1][j])) {
      lines.push({ kind: 'added', text: after[j++] });
    } else {
      lines.push({ kind: 'removed', text: before[i++] });
    }
  }
  return lines;
}

/** Compare two runs' code from what the ledger keeps: the hash decides, the previews are diffed. */
export function compareCode(a: IRun, b: IRun): ICodeComparison {
  const verdict = !a.code_hash || !b.code_hash ? 'unknown' : a.code_hash === b.code_hash ? 'identical' : 'different';
  const before = a.code_preview ? a.code_preview.split('\n') : [];
  const after = b.code_preview ? b.code_preview.split('\n') : [];
  return { verdict, lines: lineDiff(before, after), hasPreview: before.length + after.length > 0 };
}

/** Inputs of the charts, from the runs and their labels. */
export function chartInputs(
  runs: readonly IRun[],
  labels: readonly string[],
  metric: string | null
): {
  devices: IDeviceEnergy[];
  carbon: IRunCarbon[];
  power: IPowerSeries[];
  energyMetric: IEnergyMetric[];
  timeline: ITimelinePoint[];
} {
  const devices: IDeviceEnergy[] = [];
  runs.forEach((run, i) => {
    for (const [domain, joules] of energyByDomain(run)) {
      devices.push({ run: labels[i], domain, joules });
    }
  });
  const metricOf = (run: IRun): number | null => (metric === null ? null : number(run.metrics?.[metric]));
  return {
    devices,
    carbon: runs.flatMap((run, i) => {
      const gco2e = impactFigures(run).gco2e;
      return gco2e === null ? [] : [{ run: labels[i], gco2e }];
    }),
    power: runs.flatMap((run, i) => (run.trace ? [{ run: labels[i], t: run.trace.t, w: run.trace.w }] : [])),
    energyMetric: runs.flatMap((run, i) => {
      const value = metricOf(run);
      return value === null ? [] : [{ run: labels[i], joules: run.attributed_j, metric: value }];
    }),
    timeline: runs.map((run, i) => ({
      run: labels[i],
      experiment: run.experiment ?? run.notebook_path ?? run.kernel_id,
      startedAt: run.started_at,
      joules: run.attributed_j,
      metric: metricOf(run)
    }))
  };
}
