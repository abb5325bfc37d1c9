import { TranslationBundle } from '@jupyterlab/translation';

import { LedgerClient } from '../client/ledger';
import { formatCarbon, formatCost, formatDuration, formatEnergy, formatPower } from '../format';
import { ICarbonClient, IRun } from '../tokens';
import {
  budgetProgress,
  elapsedSeconds,
  historyOf,
  ILiveMeter,
  IWidgetBudget,
  IWidgetSummary,
  methodsText,
  WidgetStatus
} from './state';
import { historyChart, sparkline } from './svg';

/** How many earlier runs of the experiment the chart shows. */
const HISTORY_LIMIT = 20;

/** What a %%carbon output is drawn from: a live widget's model, or a finished cell's output. */
export interface ICarbonSource {
  /** Unique on the page (element ids). */
  readonly id: string;
  readonly msgId: string;
  readonly experiment: string;
  readonly status: WidgetStatus;
  readonly summary: IWidgetSummary;
  readonly budget: IWidgetBudget;
  /** Node power integrated since the start while the body runs; null once it ended. */
  readonly meter: ILiveMeter | null;
  /** The server's record of this execution was found: its figures replace the kernel's. */
  setRun(run: IRun): void;
}

/** The services and translations the drawing uses. */
export interface IDrawingContext {
  client: ICarbonClient;
  ledger: LedgerClient;
  trans: TranslationBundle;
}

/**
 * Draws one %%carbon output into `node`: the live figures while the body runs, then the final
 * figures with their method and the experiment's earlier runs. The widget's view and the
 * finished cell's MIME renderer share it; the owner calls `draw()` when its source changes.
 */
export class CarbonDrawing {
  constructor(
    readonly node: HTMLElement,
    private readonly _source: ICarbonSource,
    private readonly _context: IDrawingContext
  ) {
    node.classList.add('jp-carbon-Widget');
  }

  /** The first drawing; the elapsed time redrawn every second while the body runs. */
  start(): void {
    this._timer = window.setInterval(() => {
      if (this._source.meter !== null) {
        this.draw();
      }
    }, 1000);
    this.draw();
    if (this._source.status !== 'running' && this._source.summary.source !== 'server') {
      void this._findRun();
    }
    void this.loadHistory();
  }

  dispose(): void {
    window.clearInterval(this._timer);
  }

  /** The experiment's earlier runs, read again when the figures change. */
  async loadHistory(): Promise<void> {
    const experiment = this._source.experiment || this._source.summary.experiment;
    if (this._source.status === 'running' || !experiment) {
      return;
    }
    try {
      const page = await this._context.ledger.runs({ experiment, limit: HISTORY_LIMIT });
      this._history = page.runs;
      this._historyError = null;
    } catch (error) {
      this._historyError = (error as Error).message;
    }
    this.draw();
  }

  draw(): void {
    const { trans } = this._context;
    const source = this._source;
    const status = source.status;
    const experiment = source.experiment || source.summary.experiment || '';
    this.node.dataset.status = status;
    const header = document.createElement('div');
    header.className = 'jp-carbon-Widget-header';
    const title = document.createElement('strong');
    title.textContent = experiment ? trans.__('%%carbon · %1', experiment) : trans.__('%%carbon');
    const state = document.createElement('span');
    state.className = 'jp-carbon-Widget-status';
    state.textContent = Private.statusText(trans, status);
    header.append(title, state);
    const parts: HTMLElement[] = [header];
    const meter = source.meter;
    if (meter !== null && status === 'running') {
      parts.push(this._liveFigures(meter));
    }
    const budget = this._budget(meter);
    if (budget) {
      parts.push(budget);
    }
    parts.push(this._final(status));
    if (status !== 'running') {
      parts.push(this._historyPart(experiment));
    }
    this.node.replaceChildren(...parts);
  }

  /** A drawing made after the run event went by (a reload, a re-opened notebook): ask the ledger. */
  private async _findRun(): Promise<void> {
    const msgId = this._source.msgId;
    if (!msgId) {
      return;
    }
    try {
      const page = await this._context.client.runs({ msg_id: msgId, limit: 1 });
      if (page.runs.length && this._source.summary.source !== 'server') {
        this._source.setRun(page.runs[0]);
      }
    } catch (error) {
      console.warn('jupyterlab-carbon: the run of a %%carbon output could not be read', error);
    }
  }

  private _liveFigures(meter: ILiveMeter): HTMLElement {
    const { trans } = this._context;
    const figures = document.createElement('dl');
    figures.className = 'jp-carbon-Widget-figures';
    Private.figure(figures, trans.__('Elapsed'), formatDuration(elapsedSeconds(meter, Date.now() / 1000)));
    Private.figure(
      figures,
      trans.__('Energy so far'),
      trans.__('%1 (node power integrated, estimate)', formatEnergy(meter.nodeJoules)),
      trans.__('The whole node’s power over the run; the cell’s own share arrives with the run record.')
    );
    Private.figure(figures, trans.__('Node power'), formatPower(meter.lastWatts));
    const wrapper = document.createElement('div');
    wrapper.className = 'jp-carbon-Widget-live';
    const samples = meter.samples;
    const line = sparkline(
      samples,
      samples.length
        ? trans.__(
            'Node power over the last %1 readings: from %2 to %3',
            samples.length,
            formatPower(Math.min(...samples)),
            formatPower(Math.max(...samples))
          )
        : trans.__('Node power: waiting for the first reading')
    );
    wrapper.append(figures, line);
    return wrapper;
  }

  private _budget(meter: ILiveMeter | null): HTMLElement | null {
    const { trans } = this._context;
    const budget = this._source.budget;
    const progress = budgetProgress(budget, meter, this._source.summary);
    if (!progress) {
      return null;
    }
    const box = document.createElement('div');
    box.className = 'jp-carbon-Widget-budget';
    box.classList.toggle('jp-mod-warning', progress.exceeded);
    const label = document.createElement('span');
    const labelId = `${this._source.id}-budget`;
    label.id = labelId;
    const spent = progress.value === null ? null : Private.amount(budget, progress.value);
    label.textContent = progress.exceeded
      ? trans.__('Budget %1 exceeded: %2 spent (%3)', budget.text ?? '', spent ?? '–', budget.on_budget ?? 'warn')
      : spent === null
        ? this._source.status === 'running'
          ? trans.__('Budget %1: checked by the server', budget.text ?? '')
          : trans.__('Budget %1: not exceeded', budget.text ?? '')
        : progress.estimated
          ? trans.__('Budget %1: at most %2 so far (node energy)', budget.text ?? '', spent)
          : trans.__('Budget %1: %2 spent', budget.text ?? '', spent);
    const bar = document.createElement('div');
    bar.className = 'jp-carbon-Widget-bar';
    bar.setAttribute('role', 'progressbar');
    bar.setAttribute('aria-labelledby', labelId);
    bar.setAttribute('aria-valuemin', '0');
    bar.setAttribute('aria-valuemax', String(progress.max));
    if (progress.value !== null) {
      bar.setAttribute('aria-valuenow', String(Math.min(progress.value, progress.max)));
      bar.setAttribute('aria-valuetext', label.textContent);
    }
    const fill = document.createElement('div');
    fill.className = 'jp-carbon-Widget-fill';
    fill.style.width = `${Math.round((progress.fraction ?? 0) * 100)}%`;
    bar.append(fill);
    box.append(label, bar);
    return box;
  }

  /** The final figures with their method, in a live region so screen readers hear them once. */
  private _final(status: WidgetStatus): HTMLElement {
    const { trans } = this._context;
    const region = document.createElement('div');
    region.className = 'jp-carbon-Widget-final';
    region.setAttribute('role', 'status');
    region.setAttribute('aria-live', 'polite');
    if (status === 'running') {
      return region;
    }
    const summary = this._source.summary;
    const figures = document.createElement('dl');
    figures.className = 'jp-carbon-Widget-figures';
    if (summary.energy_j !== undefined) {
      const source = summary.source === 'server' ? trans.__('server record') : trans.__('measured in the kernel');
      Private.figure(
        figures,
        trans.__('Energy'),
        trans.__('%1 · %2 · %3', formatEnergy(summary.energy_j), methodsText(summary.methods), source)
      );
    } else {
      Private.figure(figures, trans.__('Energy'), trans.__('waiting for the server’s record…'));
    }
    if (summary.gco2e !== undefined && summary.gco2e !== null) {
      Private.figure(figures, trans.__('CO₂e'), formatCarbon(summary.gco2e));
    }
    if (summary.cost !== undefined && summary.cost !== null) {
      Private.figure(figures, trans.__('Cost'), formatCost(summary.cost, summary.currency));
    }
    if (summary.duration_s !== undefined) {
      Private.figure(figures, trans.__('Duration'), formatDuration(summary.duration_s));
    }
    if (summary.flags?.length) {
      Private.figure(figures, trans.__('Flags'), summary.flags.join(', '));
    }
    for (const [name, value] of Object.entries(summary.metrics ?? {}).sort()) {
      Private.figure(figures, name, String(Number(value.toPrecision(4))));
    }
    region.append(figures);
    return region;
  }

  private _historyPart(experiment: string): HTMLElement {
    const { trans } = this._context;
    const box = document.createElement('figure');
    box.className = 'jp-carbon-Widget-historyBox';
    const caption = document.createElement('figcaption');
    box.append(caption);
    if (this._historyError !== null) {
      caption.textContent = trans.__('Earlier runs unavailable: %1', this._historyError);
      return box;
    }
    if (this._history === null) {
      caption.textContent = experiment ? trans.__('Loading earlier runs…') : '';
      return box;
    }
    const history = historyOf(this._history, this._source.summary.run_id ?? null);
    const top = formatEnergy(history.maxEnergyJ);
    caption.textContent = history.metricName
      ? trans._n(
          'Last %1 run of %2: energy (bar, up to %3) and %4 (line)',
          'Last %1 runs of %2: energy (bars, up to %3) and %4 (line)',
          history.marks.length,
          experiment,
          top,
          history.metricName
        )
      : trans._n(
          'Last %1 run of %2: energy (bar, up to %3)',
          'Last %1 runs of %2: energy (bars, up to %3)',
          history.marks.length,
          experiment,
          top
        );
    const chart = historyChart(history, caption.textContent, index => {
      const mark = history.marks[index];
      const when = new Date(mark.startedAt * 1000).toLocaleString();
      const metric =
        mark.metric !== null && history.metricName
          ? ` · ${history.metricName} ${Number(mark.metric.toPrecision(4))}`
          : '';
      return `${when}: ${formatEnergy(mark.energyJ)}${metric}${mark.current ? ` (${trans.__('this run')})` : ''}`;
    });
    box.append(chart);
    return box;
  }

  private _timer = 0;
  private _history: IRun[] | null = null;
  private _historyError: string | null = null;
}

namespace Private {
  /** A term and its value in a description list. */
  export function figure(list: HTMLDListElement, term: string, value: string, help?: string): void {
    const dt = document.createElement('dt');
    dt.textContent = term;
    if (help) {
      dt.title = help;
    }
    const dd = document.createElement('dd');
    dd.textContent = value;
    list.append(dt, dd);
  }

  /** A budget's amount in its own unit. */
  export function amount(budget: IWidgetBudget, value: number): string {
    if (budget.kind === 'carbon') {
      return formatCarbon(value);
    }
    if (budget.kind === 'cost') {
      return formatCost(value, budget.currency ?? null);
    }
    return formatEnergy(value);
  }

  export function statusText(trans: TranslationBundle, status: WidgetStatus): string {
    switch (status) {
      case 'running':
        return trans.__('running');
      case 'ok':
        return trans.__('finished');
      case 'error':
        return trans.__('failed');
      case 'interrupted':
        return trans.__('interrupted');
    }
  }
}
