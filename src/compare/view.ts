import type { IThemeManager } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Panel, Widget } from '@lumino/widgets';

import { higherIsBetter } from '../charts/pareto';
import { carbonChart, energyByDeviceChart, paretoChart, powerChart, timelineChart } from '../charts/specs';
import { IChart } from '../charts/chart';
import { ChartView } from '../charts/view';
import { IWhatIfData, WhatIfPanel } from '../whatif/view';
import { IRun } from '../tokens';
import { chartInputs, compareCode, comparisonRows, metricNames, runLabels } from './model';

/** What the compare view is opened with. */
export interface ICompareViewOptions {
  runs: IRun[];
  trans: TranslationBundle;
  themes: IThemeManager | null;
  /** The what-if map's data; its failure is shown in that section only. */
  whatIf: Promise<IWhatIfData>;
  /** Said above the table, e.g. that an experiment had more runs than are compared. */
  notice?: string;
}

/**
 * Runs side by side: a table with runs as columns (and a "differences only" switch), the code of
 * two runs compared, charts of energy, emissions, power and metrics, and the what-if map.
 */
export class CompareView extends Panel {
  constructor(private readonly _options: ICompareViewOptions) {
    super();
    this.addClass('jp-carbon-compare');
    const { runs } = _options;
    this._labels = runLabels(runs);
    if (_options.notice) {
      this.addWidget(Private.paragraph(_options.notice, 'jp-carbon-compare-notice'));
    }
    this.addWidget(this._tableSection());
    if (runs.length >= 2) {
      this.addWidget(this._codeSection());
    }
    this.addWidget(this._chartsSection());
    this.addWidget(this._whatIfSection());
  }

  /** How many runs are compared. */
  get runCount(): number {
    return this._options.runs.length;
  }

  private _tableSection(): Widget {
    const { runs, trans } = this._options;
    const section = Private.section(trans.__('Runs side by side'));
    const toggle = document.createElement('label');
    toggle.className = 'jp-carbon-compare-switch';
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.setAttribute('role', 'switch');
    toggle.append(input, trans.__('Differences only'));
    const table = document.createElement('table');
    table.className = 'jp-carbon-table jp-carbon-compare-table';
    table.createCaption().textContent = trans.__('%1 runs compared, one per column', runs.length);
    const head = table.createTHead().insertRow();
    const corner = document.createElement('td');
    head.appendChild(corner);
    for (const label of this._labels) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = label;
      head.appendChild(th);
    }
    const body = table.createTBody();
    let currentSection = '';
    for (const row of comparisonRows(runs, trans)) {
      if (row.section !== currentSection) {
        currentSection = row.section;
        const groupRow = body.insertRow();
        groupRow.className = 'jp-carbon-compare-group';
        const th = document.createElement('th');
        th.scope = 'colgroup';
        th.colSpan = runs.length + 1;
        th.textContent = row.section;
        groupRow.appendChild(th);
      }
      const tr = body.insertRow();
      tr.dataset.key = row.key;
      tr.classList.toggle('jp-carbon-compare-same', !row.differs);
      tr.classList.toggle('jp-carbon-compare-differs', row.differs);
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = row.label;
      tr.appendChild(th);
      for (const value of row.values) {
        tr.insertCell().textContent = value;
      }
    }
    input.addEventListener('change', () => table.classList.toggle('jp-mod-differences-only', input.checked));
    const scroller = document.createElement('div');
    scroller.className = 'jp-carbon-compare-scroll';
    scroller.appendChild(table);
    section.node.append(toggle, scroller);
    return section;
  }

  private _codeSection(): Widget {
    const { runs, trans } = this._options;
    const section = Private.section(trans.__('Code'));
    const pick = (initial: number, name: string) => {
      const select = document.createElement('select');
      select.className = 'jp-mod-styled';
      select.setAttribute('aria-label', name);
      this._labels.forEach((label, index) => select.add(new Option(label, String(index))));
      select.value = String(initial);
      return select;
    };
    const before = pick(0, trans.__('First run'));
    const after = pick(1, trans.__('Second run'));
    const controls = document.createElement('div');
    controls.className = 'jp-carbon-compare-controls';
    controls.append(before, document.createTextNode(' ↔ '), after);
    const verdict = document.createElement('p');
    verdict.setAttribute('aria-live', 'polite');
    const diff = document.createElement('pre');
    diff.className = 'jp-carbon-compare-diff';
    const show = () => {
      const comparison = compareCode(runs[Number(before.value)], runs[Number(after.value)]);
      const verdicts = {
        identical: trans.__('Identical code: the two runs have the same code hash.'),
        different: trans.__(
          'Different code. The ledger keeps only the first line of each cell and a hash of the whole cell, so only the first lines are compared below.'
        ),
        unknown: trans.__('A run has no code hash: whether the code is the same is unknown.')
      };
      verdict.textContent = verdicts[comparison.verdict];
      const lines = comparison.lines.map(line => {
        const span = document.createElement('span');
        span.className = `jp-carbon-diff-${line.kind}`;
        span.textContent = `${line.kind === 'added' ? '+' : line.kind === 'removed' ? '-' : ' '} ${line.text}\n`;
        return span;
      });
      diff.replaceChildren(...lines);
      diff.hidden = !comparison.hasPreview;
      if (!comparison.hasPreview) {
        verdict.textContent += ' ' + trans.__('No code text was kept for these runs (the server stores no previews).');
      }
    };
    before.addEventListener('change', show);
    after.addEventListener('change', show);
    show();
    section.node.append(controls, verdict, diff);
    return section;
  }

  private _chartsSection(): Widget {
    const { runs, trans, themes } = this._options;
    const section = new Panel();
    section.addClass('jp-carbon-compare-section');
    section.addWidget(Private.heading(trans.__('Charts')));
    const metrics = metricNames(runs);
    const metricSelect = document.createElement('select');
    const direction = document.createElement('input');
    if (metrics.length > 0) {
      const controls = document.createElement('div');
      controls.className = 'jp-carbon-compare-controls';
      metricSelect.className = 'jp-mod-styled';
      metrics.forEach(name => metricSelect.add(new Option(name, name)));
      direction.type = 'checkbox';
      direction.checked = higherIsBetter(metrics[0]);
      const metricLabel = document.createElement('label');
      metricLabel.append(trans.__('Metric: '), metricSelect);
      const directionLabel = document.createElement('label');
      directionLabel.append(direction, trans.__('Higher is better'));
      controls.append(metricLabel, directionLabel);
      section.addWidget(new Widget({ node: controls }));
      metricSelect.addEventListener('change', () => {
        direction.checked = higherIsBetter(metricSelect.value);
        draw();
      });
      direction.addEventListener('change', () => draw());
    }
    const grid = new Panel();
    grid.addClass('jp-carbon-chart-grid');
    section.addWidget(grid);
    const draw = () => {
      for (const widget of [...grid.widgets]) {
        widget.dispose();
      }
      const metric = metrics.length > 0 ? metricSelect.value : null;
      const inputs = chartInputs(runs, this._labels, metric);
      const charts: Array<[IChart | null, string]> = [
        [energyByDeviceChart(inputs.devices, trans), trans.__('No energy per device was recorded for these runs.')],
        [carbonChart(inputs.carbon, trans), trans.__('These runs carry no emissions figure.')],
        [
          powerChart(inputs.power, trans),
          trans.__('These runs carry no power trace (the server records one for runs it measured itself).')
        ],
        [
          metric === null ? null : paretoChart(inputs.energyMetric, metric, direction.checked, trans),
          trans.__('Energy against a metric: these runs log no metric (%carbon can log one).')
        ],
        [
          timelineChart(inputs.timeline, metric, trans),
          trans.__('No run has a start time and energy to place in time.')
        ]
      ];
      for (const [chart, missing] of charts) {
        grid.addWidget(
          chart ? new ChartView(chart, trans, themes) : Private.paragraph(missing, 'jp-carbon-chart-missing')
        );
      }
    };
    draw();
    return section;
  }

  private _whatIfSection(): Widget {
    const { runs, trans, themes, whatIf } = this._options;
    const section = new Panel();
    section.addClass('jp-carbon-compare-section');
    section.addWidget(Private.heading(trans.__('What if it ran elsewhere?')));
    const status = Private.paragraph(trans.__('Loading the intensity tables…'), 'jp-carbon-whatif-note');
    section.addWidget(status);
    whatIf.then(
      data => {
        status.dispose();
        if (!this.isDisposed) {
          section.addWidget(new WhatIfPanel(runs, this._labels, data, trans, themes));
        }
      },
      (error: Error) => {
        status.node.textContent = trans.__('The what-if map could not be loaded: %1', error.message);
      }
    );
    return section;
  }

  private readonly _labels: string[];
}

namespace Private {
  /** A heading for a section. */
  export function heading(text: string): Widget {
    const node = document.createElement('h2');
    node.className = 'jp-carbon-compare-heading';
    node.textContent = text;
    return new Widget({ node });
  }

  /** A section with its heading, content appended to its node. */
  export function section(title: string): Widget {
    const widget = new Widget({ node: document.createElement('section') });
    widget.addClass('jp-carbon-compare-section');
    const h2 = document.createElement('h2');
    h2.className = 'jp-carbon-compare-heading';
    h2.textContent = title;
    widget.node.appendChild(h2);
    return widget;
  }

  /** A paragraph of text. */
  export function paragraph(text: string, className: string): Widget {
    const node = document.createElement('p');
    node.className = className;
    node.textContent = text;
    return new Widget({ node });
  }
}
