import { TranslationBundle } from '@jupyterlab/translation';

import { EnergyUnit, formatCarbon, formatCost, formatDuration, formatEnergy } from '../format';
import { IFlaggedCell } from './gate';
import { IExceeded } from './threshold';
import { IPredictedRange, IPrediction, PredictionBasisKind } from './types';

/** A cell of the dialog: where it is and how it starts. */
export interface IGateCellLabel {
  /** 1-based position in the notebook, null when unknown. */
  position: number | null;
  /** The first line of its code. */
  firstLine: string;
}

/** One cell's part of the dialog, as plain strings (rendered with textContent only). */
export interface ICellContent {
  heading: string;
  figures: Array<{ label: string; value: string }>;
  exceeded: string;
  basis: string;
  greener: string[];
}

/** The dialog's content. */
export interface IGateContent {
  title: string;
  intro: string;
  /** The accessible name of each cell's list of greener options. */
  greenerTitle: string;
  cells: ICellContent[];
}

/** How long a cell's first line may be in the dialog. */
const FIRST_LINE_LENGTH = 60;

/** The basis of a prediction, in words. */
export function basisWords(trans: TranslationBundle, basis: IPrediction['basis']): string {
  const runs = basis.runs ?? 0;
  const words: Record<PredictionBasisKind, string> = {
    history: trans._n(
      "this cell's %1 earlier run (same code)",
      "the median of this cell's %1 earlier runs (same code)",
      runs
    ),
    'flops-scaled': trans.__("an earlier run's counted FLOPs, scaled by the sizes in the new code"),
    'flops-declared': trans.__('the FLOPs the cell declares (%%carbon --predict)'),
    calibration: trans.__("this node's calibration (achieved FLOP/s and power)"),
    prior: trans.__('hardware priors (no calibration yet: a wider interval)')
  };
  const known = words[basis.kind] ?? trans.__('an unknown basis');
  return basis.text ? trans.__('Based on %1 (%2).', known, basis.text) : trans.__('Based on %1.', known);
}

/** A predicted figure as its median and interval, each in `format`. */
export function range(range: IPredictedRange, format: (value: number) => string, trans: TranslationBundle): string {
  return trans.__('%1 (%2 – %3)', format(range.p50), format(range.low), format(range.high));
}

function exceededWords(trans: TranslationBundle, exceeded: IExceeded[], unit: EnergyUnit): string {
  const parts = exceeded.map(({ figure, threshold }) => {
    switch (figure) {
      case 'energy':
        return trans.__('energy above %1', formatEnergy(threshold * 3600, unit));
      case 'carbon':
        return trans.__('CO₂e above %1', formatCarbon(threshold));
      case 'cost':
        return trans.__('cost above %1', String(threshold));
      case 'duration':
        return trans.__('duration above %1', formatDuration(threshold));
    }
  });
  return trans.__('Over your threshold: %1.', parts.join(', '));
}

/** The greener options: the greenest zones and cloud regions, and the best time of the forecast. */
export function greenerWords(trans: TranslationBundle, prediction: IPrediction): string[] {
  const greener = prediction.greener;
  if (!greener) {
    return [];
  }
  const lines: string[] = [];
  if (greener.zones.length > 0) {
    lines.push(
      trans.__(
        'Greenest grid zones: %1',
        greener.zones.map(z => `${z.label} (${z.zone}) ${formatCarbon(z.gco2e)}`).join(', ')
      )
    );
  }
  if (greener.cloud.length > 0) {
    lines.push(
      trans.__(
        'Greenest cloud regions: %1',
        greener.cloud.map(c => `${c.provider} ${c.region} ${formatCarbon(c.gco2e)}`).join(', ')
      )
    );
  }
  if (greener.forecast) {
    lines.push(
      trans.__(
        'Here at %1 (forecast %2 gCO₂e/kWh): %3',
        new Date(greener.forecast.at * 1000).toLocaleString(),
        String(Math.round(greener.forecast.gco2e_per_kwh)),
        formatCarbon(greener.forecast.gco2e)
      )
    );
  }
  return lines;
}

/** One cell's figures, basis and greener options. */
export function cellContent(
  trans: TranslationBundle,
  label: IGateCellLabel,
  prediction: IPrediction,
  exceeded: IExceeded[],
  unit: EnergyUnit
): ICellContent {
  const line =
    label.firstLine.length > FIRST_LINE_LENGTH ? `${label.firstLine.slice(0, FIRST_LINE_LENGTH)}…` : label.firstLine;
  const heading = label.position !== null ? trans.__('Cell %1: %2', label.position, line) : trans.__('Cell: %1', line);
  const figures = [
    { label: trans.__('Energy'), value: range(prediction.energy_j, v => formatEnergy(v, unit), trans) },
    { label: trans.__('CO₂e'), value: range(prediction.gco2e, formatCarbon, trans) },
    {
      label: trans.__('Cost'),
      value: prediction.cost
        ? range(prediction.cost, v => formatCost(v, prediction.currency), trans)
        : trans.__('no price set')
    },
    { label: trans.__('Duration'), value: range(prediction.duration_s, formatDuration, trans) }
  ];
  return {
    heading,
    figures,
    exceeded: exceededWords(trans, exceeded, unit),
    basis: basisWords(trans, prediction.basis),
    greener: greenerWords(trans, prediction)
  };
}

/** The whole dialog's content for the flagged cells of one run (one cell, or all of a Run All). */
export function gateContent<C>(
  trans: TranslationBundle,
  flagged: IFlaggedCell<C>[],
  labelOf: (cell: C) => IGateCellLabel,
  unit: EnergyUnit
): IGateContent {
  const count = flagged.length;
  return {
    title: trans._n('Run an expensive cell?', 'Run %1 expensive cells?', count),
    intro: trans._n(
      'This cell is predicted to use:',
      'These %1 cells are predicted to use (Run and Cancel apply to all the cells of this run):',
      count
    ),
    greenerTitle: trans.__('Greener options'),
    cells: flagged.map(({ cell, prediction, exceeded }) =>
      cellContent(trans, labelOf(cell), prediction, exceeded, unit)
    )
  };
}

/** The dialog's body: every string goes in as text, never as HTML. */
export function renderGateContent(content: IGateContent): HTMLElement {
  const node = document.createElement('div');
  node.className = 'jp-carbon-PredictDialog';
  const intro = document.createElement('p');
  intro.textContent = content.intro;
  node.append(intro);
  for (const cell of content.cells) {
    const section = document.createElement('section');
    section.className = 'jp-carbon-PredictDialog-cell';
    const heading = document.createElement('h3');
    heading.textContent = cell.heading;
    const figures = document.createElement('dl');
    for (const figure of cell.figures) {
      const term = document.createElement('dt');
      term.textContent = figure.label;
      const value = document.createElement('dd');
      value.textContent = figure.value;
      figures.append(term, value);
    }
    const exceeded = document.createElement('p');
    exceeded.className = 'jp-carbon-PredictDialog-exceeded';
    exceeded.textContent = cell.exceeded;
    const basis = document.createElement('p');
    basis.className = 'jp-carbon-PredictDialog-basis';
    basis.textContent = cell.basis;
    section.append(heading, figures, exceeded, basis);
    if (cell.greener.length > 0) {
      const list = document.createElement('ul');
      list.className = 'jp-carbon-PredictDialog-greener';
      list.setAttribute('aria-label', content.greenerTitle);
      for (const line of cell.greener) {
        const item = document.createElement('li');
        item.textContent = line;
        list.append(item);
      }
      section.append(list);
    }
    node.append(section);
  }
  return node;
}
