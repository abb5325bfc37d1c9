/**
 * The Predictions sidebar: the training-run calculator, this node's calibration and how good its
 * predictions have been. Every string from the server goes in as text.
 */

import type { IThemeManager } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { IChart } from '../charts/chart';
import { ChartView } from '../charts/view';
import { formatCarbon, formatCost, formatDuration, formatEnergy } from '../format';
import { IRun } from '../tokens';
import {
  estimateTraining,
  fetchAccuracy,
  fetchCalibrations,
  fetchGpus,
  IAccuracy,
  ICalibration,
  ITrainingEstimate
} from './api';
import { accuracyChart, calibrationChart, regionsChart } from './charts';
import { range } from './content';
import { EMPTY_ESTIMATE_FORM, IEstimateForm, readEstimateForm } from './estimateform';

/** What the panel's server calls are (the tests pass fakes). */
export interface IPredictionsApi {
  fetchGpus: typeof fetchGpus;
  estimateTraining: typeof estimateTraining;
  fetchCalibrations: typeof fetchCalibrations;
  fetchAccuracy: typeof fetchAccuracy;
}

/** Runs recorded within this long of each other refresh the panel once. */
export const REFRESH_DELAY_MS = 1000;

const SERVER_API: IPredictionsApi = { fetchGpus, estimateTraining, fetchCalibrations, fetchAccuracy };

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

let uniqueIds = 0;

/** A labelled input (or select) of the form, with its hint. */
function field(label: string, control: HTMLInputElement | HTMLSelectElement, hint?: string): HTMLElement {
  const id = `jp-carbon-estimate-${++uniqueIds}`;
  control.id = id;
  control.classList.add('jp-mod-styled');
  const wrapper = element('div', 'jp-carbon-Predictions-field');
  const labelNode = element('label', undefined, label);
  labelNode.htmlFor = id;
  wrapper.append(labelNode, control);
  if (hint) {
    const hintNode = element('span', 'jp-carbon-Predictions-hint', hint);
    hintNode.id = `${id}-hint`;
    control.setAttribute('aria-describedby', hintNode.id);
    wrapper.append(hintNode);
  }
  return wrapper;
}

export class PredictionsPanel extends Widget {
  constructor(
    private readonly _trans: TranslationBundle,
    private readonly _themes: IThemeManager | null,
    private readonly _api: IPredictionsApi = SERVER_API
  ) {
    super();
    const trans = _trans;
    this.addClass('jp-carbon-Predictions');
    this.title.caption = trans.__('Predictions');
    const heading = element('h2', 'jp-carbon-SidebarTitle', trans.__('Predictions'));
    this.node.append(heading);
    this.node.append(this._calculatorSection(), this._calibrationSection(), this._accuracySection());
  }

  /** The GPUs, the calibration and the prediction error are fetched when the panel is first shown. */
  protected onAfterShow(): void {
    if (!this._started) {
      this._started = true;
      void this._loadGpus();
      void this.refresh();
    }
  }

  /**
   * A run was recorded: when it counted FLOPs or was shown a prediction, the calibration and the
   * prediction error are read again (gathered over `REFRESH_DELAY_MS`; only once the panel was shown).
   */
  runRecorded(run: IRun): void {
    if (!this._started || !('flops' in run.extra || 'prediction' in run.extra)) {
      return;
    }
    window.clearTimeout(this._refreshTimer);
    this._refreshTimer = window.setTimeout(() => void this.refresh(), REFRESH_DELAY_MS);
  }

  /** Read the calibration and the prediction error again. */
  async refresh(): Promise<void> {
    await Promise.all([this._loadCalibration(), this._loadAccuracy()]);
  }

  dispose(): void {
    window.clearTimeout(this._refreshTimer);
    for (const chart of this._charts.values()) {
      chart.dispose();
    }
    this._charts.clear();
    super.dispose();
  }

  // -- the calculator ------------------------------------------------------------------

  private _calculatorSection(): HTMLElement {
    const trans = this._trans;
    const section = this._section(trans.__('Training-run calculator'));
    const intro = element(
      'p',
      'jp-carbon-Predictions-note',
      trans.__('For runs too big for this node: time, energy, CO2e and cost from the model size and the GPUs.')
    );
    const form = element('form', 'jp-carbon-Predictions-form');
    form.setAttribute('aria-label', trans.__('Training-run calculator'));
    const input = (name: keyof IEstimateForm, placeholder = ''): HTMLInputElement => {
      const node = element('input');
      node.name = name;
      node.type = 'text';
      node.placeholder = placeholder;
      node.value = EMPTY_ESTIMATE_FORM[name];
      node.spellcheck = false;
      this._inputs.set(name, node);
      return node;
    };
    this._gpuSelect.name = 'gpu';
    form.append(
      field(trans.__('GPU'), this._gpuSelect),
      field(trans.__('Number of GPUs'), input('count', '8')),
      field(
        trans.__('Parameters'),
        input('params', '7B'),
        trans.__('A dense transformer: FLOPs = 6 x parameters x tokens.')
      ),
      field(trans.__('Training tokens'), input('tokens', '2T')),
      field(trans.__('Or the FLOPs'), input('flops', '8.4e22')),
      field(trans.__('Utilisation (MFU)'), input('mfu', '0.4'), trans.__("Empty: the GPU family's prior.")),
      field(trans.__('PUE'), input('pue', '1.1'), trans.__("Empty: the region's, else 1.1.")),
      field(
        trans.__('Where'),
        input('where', 'FR, US-CA or aws:us-east-1'),
        trans.__('A grid zone, or provider:region. Empty: your intensity settings.')
      ),
      field(trans.__('Price per kWh'), input('price', '0.15')),
      field(trans.__('Currency'), input('currency', 'EUR'))
    );
    this._gpuSelect.append(new Option(EMPTY_ESTIMATE_FORM.gpu, EMPTY_ESTIMATE_FORM.gpu));
    const submit = element('button', 'jp-mod-styled jp-mod-accept', trans.__('Estimate'));
    submit.type = 'submit';
    this._estimateButton = submit;
    form.append(submit);
    this._estimateError.setAttribute('role', 'alert');
    this._estimateResult.setAttribute('role', 'status');
    this._estimateResult.setAttribute('aria-live', 'polite');
    form.addEventListener('submit', event => {
      event.preventDefault();
      void this._estimate();
    });
    section.append(intro, form, this._estimateError, this._estimateResult);
    return section;
  }

  private async _loadGpus(): Promise<void> {
    try {
      const gpus = await this._api.fetchGpus();
      const chosen = this._gpuSelect.value;
      this._gpuSelect.replaceChildren(
        ...gpus.map(gpu => new Option(`${gpu.key}: ${gpu.model}, ${gpu.tdp_watts} W`, gpu.key))
      );
      this._gpuSelect.value = gpus.some(gpu => gpu.key === chosen) ? chosen : (gpus[0]?.key ?? '');
    } catch (error) {
      this._estimateError.textContent = this._trans.__(
        'The list of GPUs could not be loaded: %1',
        (error as Error).message
      );
    }
  }

  /** Read the form, ask the server, show the estimate (or what is wrong, next to its field). */
  private async _estimate(): Promise<void> {
    const trans = this._trans;
    const values = { ...EMPTY_ESTIMATE_FORM, gpu: this._gpuSelect.value };
    for (const [name, node] of this._inputs) {
      values[name] = node.value;
      node.removeAttribute('aria-invalid');
    }
    const read = readEstimateForm(values, trans);
    if ('error' in read) {
      this._estimateError.textContent = read.error;
      const node = read.field === 'gpu' ? this._gpuSelect : this._inputs.get(read.field);
      node?.setAttribute('aria-invalid', 'true');
      node?.focus();
      return;
    }
    this._estimateError.textContent = '';
    this._estimateButton!.disabled = true;
    this._replace('regions', this._estimateResult, element('p', 'jp-carbon-Predictions-note', trans.__('Estimating…')));
    try {
      this._showEstimate(await this._api.estimateTraining(read.request));
    } catch (error) {
      this._replace('regions', this._estimateResult);
      this._estimateError.textContent = trans.__('No estimate: %1', (error as Error).message);
    } finally {
      this._estimateButton!.disabled = false;
    }
  }

  private _showEstimate(result: ITrainingEstimate): void {
    const trans = this._trans;
    const figures = element('dl', 'jp-carbon-Predictions-figures');
    const add = (term: string, value: string): void => {
      figures.append(element('dt', undefined, term), element('dd', undefined, value));
    };
    const hours = (value: number): string => trans.__('%1 GPU-hours', Number(value.toPrecision(3)).toLocaleString());
    add(trans.__('FLOPs'), result.flops.toPrecision(3));
    add(trans.__('GPU'), `${result.count} x ${result.gpu.model} (${result.dtype}, MFU ${result.mfu})`);
    add(trans.__('GPU time'), range(result.gpu_hours, hours, trans));
    add(trans.__('Wall time'), range(result.wall_time_s, formatDuration, trans));
    add(
      trans.__('GPU energy'),
      range(result.energy_j, joules => formatEnergy(joules), trans)
    );
    add(
      trans.__('With the facility (PUE %1)', result.pue),
      range(result.facility_energy_j, joules => formatEnergy(joules), trans)
    );
    add(trans.__('Emissions'), range(result.gco2e, formatCarbon, trans));
    if (result.cost) {
      add(
        trans.__('Cost'),
        range(result.cost, amount => formatCost(amount, result.currency), trans)
      );
    }
    const assumptions = element('ul', 'jp-carbon-Predictions-assumptions');
    assumptions.setAttribute('aria-label', trans.__('Assumptions'));
    for (const assumption of result.assumptions) {
      assumptions.append(element('li', undefined, assumption));
    }
    this._replace(
      'regions',
      this._estimateResult,
      figures,
      element('h4', 'jp-carbon-Predictions-subtitle', trans.__('Assumptions')),
      assumptions
    );
    this._showChart('regions', this._estimateResult, regionsChart(result.regions, trans));
  }

  // -- calibration and accuracy -------------------------------------------------------------

  private _calibrationSection(): HTMLElement {
    const trans = this._trans;
    const section = this._section(trans.__("This node's calibration"));
    const refresh = element('button', 'jp-mod-styled jp-carbon-Predictions-refresh', trans.__('Refresh'));
    refresh.type = 'button';
    refresh.title = trans.__('Read the calibration and the prediction error again');
    refresh.addEventListener('click', () => void this.refresh());
    this._calibration.setAttribute('aria-live', 'polite');
    section.append(refresh, this._calibration);
    return section;
  }

  private async _loadCalibration(): Promise<void> {
    const trans = this._trans;
    this._replace('calibration', this._calibration, element('p', 'jp-carbon-Predictions-note', trans.__('Loading…')));
    let fits: ICalibration[];
    try {
      fits = await this._api.fetchCalibrations();
    } catch (error) {
      this._replace(
        'calibration',
        this._calibration,
        element(
          'p',
          'jp-carbon-Predictions-error',
          trans.__('The calibration could not be read: %1', (error as Error).message)
        )
      );
      return;
    }
    if (fits.length === 0) {
      this._replace(
        'calibration',
        this._calibration,
        element(
          'p',
          'jp-carbon-Predictions-note',
          trans.__(
            'No calibration yet. Run a training cell with %1 (PyTorch or JAX): each such run adds a point, and predictions from FLOPs use this node\u2019s own speed and energy per FLOP from then on.',
            '%%carbon --flops'
          )
        )
      );
      return;
    }
    // One block per device and data type, label above value: a sidebar is too narrow for a table.
    const blocks = fits.map(fit => {
      const block = element('div', 'jp-carbon-Predictions-fit');
      block.append(
        element(
          'h4',
          'jp-carbon-Predictions-subtitle',
          trans._n('%2 %3: %1 run', '%2 %3: %1 runs', fit.runs, fit.device, fit.dtype)
        )
      );
      const figures = element('dl', 'jp-carbon-Predictions-figures');
      for (const [term, value] of [
        [trans.__('Achieved speed'), trans.__('%1 FLOP/s', fit.flops_per_s.toPrecision(3))],
        [trans.__('Energy per FLOP'), trans.__('%1 J', fit.joules_per_flop.toPrecision(3))],
        [trans.__('Fixed energy per run'), formatEnergy(fit.fixed_energy_j)],
        [trans.__('Spread'), `±${(fit.spread * 100).toFixed(0)} %`]
      ]) {
        figures.append(element('dt', undefined, term), element('dd', undefined, value));
      }
      block.append(figures);
      return block;
    });
    this._replace('calibration', this._calibration, ...blocks);
    this._showChart('calibration', this._calibration, calibrationChart(fits, trans));
  }

  private _accuracySection(): HTMLElement {
    const section = this._section(this._trans.__('How good the predictions were'));
    this._accuracy.setAttribute('aria-live', 'polite');
    section.append(this._accuracy);
    return section;
  }

  private async _loadAccuracy(): Promise<void> {
    const trans = this._trans;
    this._replace('accuracy', this._accuracy, element('p', 'jp-carbon-Predictions-note', trans.__('Loading…')));
    let accuracy: IAccuracy;
    try {
      accuracy = await this._api.fetchAccuracy();
    } catch (error) {
      this._replace(
        'accuracy',
        this._accuracy,
        element(
          'p',
          'jp-carbon-Predictions-error',
          trans.__('The prediction error could not be read: %1', (error as Error).message)
        )
      );
      return;
    }
    if (accuracy.runs.length === 0 || accuracy.median_abs_error === null) {
      this._replace(
        'accuracy',
        this._accuracy,
        element(
          'p',
          'jp-carbon-Predictions-note',
          trans.__(
            'No run has been shown a prediction yet (of the newest %1). A cell is predicted before it runs once it has a basis: an earlier run of its code, or counted FLOPs.',
            accuracy.scanned
          )
        )
      );
      return;
    }
    const summary = element(
      'p',
      'jp-carbon-Predictions-summary',
      trans._n(
        '%1 run with a prediction: error %2 %, %3 % inside the predicted interval.',
        '%1 runs with a prediction: median error %2 %, %3 % inside the predicted interval.',
        accuracy.runs.length,
        (accuracy.median_abs_error * 100).toFixed(1),
        ((accuracy.within_interval ?? 0) * 100).toFixed(0)
      )
    );
    this._replace('accuracy', this._accuracy, summary);
    this._showChart('accuracy', this._accuracy, accuracyChart(accuracy.runs, trans));
  }

  // -- shared ---------------------------------------------------------------------------

  private _section(title: string): HTMLElement {
    const section = element('section', 'jp-carbon-Predictions-section');
    const heading = element('h3', 'jp-carbon-Predictions-subtitle', title);
    heading.id = `jp-carbon-predictions-${++uniqueIds}`;
    section.setAttribute('aria-labelledby', heading.id);
    section.append(heading);
    return section;
  }

  /** Show `nodes` in `parent` instead of what it held, disposing its chart (while still attached) first. */
  private _replace(key: string, parent: HTMLElement, ...nodes: Node[]): void {
    this._charts.get(key)?.dispose();
    this._charts.delete(key);
    parent.replaceChildren(...nodes);
  }

  /** Add this chart (none: nothing finite to draw) under `key` to `parent`. */
  private _showChart(key: string, parent: HTMLElement, chart: IChart | null): void {
    if (!chart || !parent.isConnected) {
      return; // a panel closed meanwhile draws nothing
    }
    const view = new ChartView(chart, this._trans, this._themes);
    this._charts.set(key, view);
    Widget.attach(view, parent);
  }

  private _started = false;
  private _refreshTimer: number | undefined = undefined;
  private readonly _gpuSelect = element('select');
  private readonly _inputs = new Map<keyof IEstimateForm, HTMLInputElement>();
  private _estimateButton: HTMLButtonElement | null = null;
  private readonly _estimateError = element('p', 'jp-carbon-Predictions-error');
  private readonly _estimateResult = element('div', 'jp-carbon-Predictions-result');
  private readonly _calibration = element('div', 'jp-carbon-Predictions-calibration');
  private readonly _accuracy = element('div', 'jp-carbon-Predictions-accuracy');
  private readonly _charts = new Map<string, ChartView>();
}
