import { DOMWidgetModel, DOMWidgetView, ISerializers } from '@jupyter-widgets/base';
import { TranslationBundle } from '@jupyterlab/translation';

import { LedgerClient } from '../client/ledger';
import { formatCarbon, formatCost, formatDuration, formatEnergy, formatPower } from '../format';
import { CarbonEvent, IBudgetCrossing, ICarbonClient, IRun } from '../tokens';
import {
  addPower,
  budgetOfRun,
  budgetProgress,
  elapsedSeconds,
  historyOf,
  ILiveMeter,
  IWidgetBudget,
  IWidgetSummary,
  methodsText,
  startMeter,
  summaryOfRun,
  WidgetStatus
} from './state';
import { historyChart, sparkline } from './svg';

/** The module name the kernel's widget names (`_model_module`). */
export const MODULE_NAME = 'jupyterlab-carbon';

/** How many budget crossings are remembered for widgets not drawn yet. */
const MAX_CROSSINGS = 100;

/** How many earlier runs of the experiment the chart shows. */
const HISTORY_LIMIT = 20;

/** The model and view classes, bound to the client and the translations of this page. */
export interface IWidgetClasses {
  CarbonModel: typeof DOMWidgetModel;
  CarbonView: typeof DOMWidgetView;
}

/**
 * The %%carbon widget's classes. The model follows the server's events for its msg_id (live power,
 * budget crossed, the run record); the views only draw it, so a view re-created when the kernel
 * updates the output keeps the live figures.
 */
export function widgetClasses(client: ICarbonClient, trans: TranslationBundle, version: string): IWidgetClasses {
  const ledger = new LedgerClient();
  // Budgets crossed, by msg_id: the server may say so before the kernel's widget reaches the page.
  const crossings = new Map<string, IBudgetCrossing>();
  client.events.connect((_, event) => {
    if (event.type === 'budget') {
      crossings.set(event.msg_id, event.budget);
      if (crossings.size > MAX_CROSSINGS) {
        crossings.delete(crossings.keys().next().value as string);
      }
    }
  });

  class CarbonModel extends DOMWidgetModel {
    static serializers: ISerializers = { ...DOMWidgetModel.serializers };

    defaults(): Backbone.ObjectHash {
      return {
        ...super.defaults(),
        _model_name: 'CarbonModel',
        _view_name: 'CarbonView',
        _model_module: MODULE_NAME,
        _view_module: MODULE_NAME,
        _model_module_version: version,
        _view_module_version: version,
        msg_id: '',
        experiment: '',
        run_name: '',
        budget: {},
        status: 'running',
        started_at: 0,
        summary: {},
        details: []
      };
    }

    /**
     * Node power integrated since the start; null once the body ended. Declared, not initialised:
     * Backbone calls initialize() from its constructor, before class field initialisers would run.
     */
    declare meter: ILiveMeter | null;

    initialize(
      attributes: Backbone.ObjectHash,
      options: { model_id: string; comm?: unknown; widget_manager: any }
    ): void {
      super.initialize(attributes, options);
      this.meter = this.get('status') === 'running' ? startMeter(this.get('started_at') as number) : null;
      const crossing = crossings.get(this.get('msg_id') as string);
      if (crossing) {
        this._addBudget(crossing);
      }
      this.on('change:status', () => {
        if (this.get('status') !== 'running') {
          this.meter = null;
          this.trigger('carbon:changed');
        }
      });
      client.events.connect(this._onEvent, this);
      this.once('comm:close destroy', () => client.events.disconnect(this._onEvent, this));
    }

    /** The server's record of this execution arrived (or was found): its figures replace the kernel's. */
    setRun(run: IRun): void {
      this.meter = null;
      const budget = budgetOfRun(run);
      if (budget) {
        this.set('budget', { ...(this.get('budget') as IWidgetBudget), ...budget });
      }
      this.set('summary', summaryOfRun(run));
      this.save_changes();
    }

    private _addBudget(crossing: IBudgetCrossing): void {
      this.set('budget', { ...(this.get('budget') as IWidgetBudget), ...crossing });
      this.save_changes();
    }

    private _onEvent(_: ICarbonClient, event: CarbonEvent): void {
      const msgId = this.get('msg_id') as string;
      if (event.type === 'power') {
        if (this.meter !== null && event.total_w !== null) {
          this.meter = addPower(this.meter, event.total_w, event.time);
          this.trigger('carbon:changed');
        }
      } else if (event.type === 'budget' && event.msg_id === msgId) {
        this._addBudget(event.budget);
      } else if (event.type === 'run' && event.run.msg_id === msgId) {
        this.setRun(event.run);
      }
    }
  }

  class CarbonView extends DOMWidgetView {
    render(): void {
      this.el.classList.add('jp-carbon-Widget');
      this.listenTo(this.model, 'change carbon:changed', () => this._draw());
      this.listenTo(this.model, 'change:summary', () => void this._loadHistory());
      this._timer = window.setInterval(() => {
        if (this._carbon.meter !== null) {
          this._draw();
        }
      }, 1000);
      this._draw();
      if (this._status !== 'running' && this._summary.source !== 'server') {
        void this._findRun();
      }
      void this._loadHistory();
    }

    remove(): this {
      window.clearInterval(this._timer);
      return super.remove();
    }

    private get _carbon(): CarbonModel {
      return this.model as CarbonModel;
    }

    private get _status(): WidgetStatus {
      return this.model.get('status') as WidgetStatus;
    }

    private get _summary(): IWidgetSummary {
      return this.model.get('summary') as IWidgetSummary;
    }

    /** A view drawn after the run event went by (a reload, a re-opened notebook): ask the ledger. */
    private async _findRun(): Promise<void> {
      const msgId = this.model.get('msg_id') as string;
      if (!msgId) {
        return;
      }
      try {
        const page = await client.runs({ msg_id: msgId, limit: 1 });
        if (page.runs.length && this._summary.source !== 'server') {
          this._carbon.setRun(page.runs[0]);
        }
      } catch (error) {
        console.warn('jupyterlab-carbon: the run of a %%carbon widget could not be read', error);
      }
    }

    private async _loadHistory(): Promise<void> {
      const experiment = (this.model.get('experiment') as string) || this._summary.experiment;
      if (this._status === 'running' || !experiment) {
        return;
      }
      try {
        const page = await ledger.runs({ experiment, limit: HISTORY_LIMIT });
        this._history = page.runs;
        this._historyError = null;
      } catch (error) {
        this._historyError = (error as Error).message;
      }
      this._draw();
    }

    private _draw(): void {
      const status = this._status;
      const experiment = (this.model.get('experiment') as string) || this._summary.experiment || '';
      this.el.dataset.status = status;
      const header = document.createElement('div');
      header.className = 'jp-carbon-Widget-header';
      const title = document.createElement('strong');
      title.textContent = experiment ? trans.__('%%carbon · %1', experiment) : trans.__('%%carbon');
      const state = document.createElement('span');
      state.className = 'jp-carbon-Widget-status';
      state.textContent = Private.statusText(trans, status);
      header.append(title, state);
      const parts: HTMLElement[] = [header];
      const meter = this._carbon.meter;
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
      this.el.replaceChildren(...parts);
    }

    private _liveFigures(meter: ILiveMeter): HTMLElement {
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
      const budget = this.model.get('budget') as IWidgetBudget;
      const progress = budgetProgress(budget, meter, this._summary);
      if (!progress) {
        return null;
      }
      const box = document.createElement('div');
      box.className = 'jp-carbon-Widget-budget';
      box.classList.toggle('jp-mod-warning', progress.exceeded);
      const label = document.createElement('span');
      const labelId = `${this.model.model_id}-budget`;
      label.id = labelId;
      const spent = progress.value === null ? null : Private.amount(budget, progress.value);
      label.textContent = progress.exceeded
        ? trans.__('Budget %1 exceeded: %2 spent (%3)', budget.text ?? '', spent ?? '–', budget.on_budget ?? 'warn')
        : spent === null
          ? this._status === 'running'
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
      const region = document.createElement('div');
      region.className = 'jp-carbon-Widget-final';
      region.setAttribute('role', 'status');
      region.setAttribute('aria-live', 'polite');
      if (status === 'running') {
        return region;
      }
      const summary = this._summary;
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
      const history = historyOf(this._history, this._summary.run_id ?? null);
      const top = formatEnergy(history.maxEnergyJ);
      caption.textContent = history.metricName
        ? trans.__(
            'Last %1 runs of %2: energy (bars, up to %3) and %4 (line)',
            history.marks.length,
            experiment,
            top,
            history.metricName
          )
        : trans.__('Last %1 runs of %2: energy (bars, up to %3)', history.marks.length, experiment, top);
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

  return { CarbonModel, CarbonView };
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
