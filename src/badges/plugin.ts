import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { Cell, CodeCell, ICellModel } from '@jupyterlab/cells';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { PanelLayout, Widget } from '@lumino/widgets';

import { CellBadge, Figure, IBadgeOptions } from './badge';
import { EnergyUnit, formatCarbon, formatCost, formatEnergy } from '../format';
import { clearSummary, ICarbonSummary, readSummary, relativeLevel, writeSummary } from './summary';
import { CarbonEvent, ICarbonClient, IIntensitySettings, IRun } from '../tokens';

/** Command that shows or hides the badges. */
export const TOGGLE_BADGES_COMMAND = 'carbon:toggle-badges';

/** The "Carbon: badges" settings (schema/badges.json). */
export interface IBadgeSettings extends IIntensitySettings {
  show: boolean;
  figures: Figure[];
  energyUnit: EnergyUnit;
}

/** Settings before the registry answers (the schema's defaults). */
const DEFAULT_SETTINGS: IBadgeSettings = {
  show: true,
  figures: ['energy', 'carbon', 'cost', 'duration'],
  energyUnit: 'Wh',
  intensity: null,
  zone: '',
  cloudProvider: '',
  cloudRegion: '',
  pue: null,
  price: null,
  currency: '',
  liveProvider: ''
};

/** Runs of this page session, per notebook path (the "this session" total). */
const sessionTotals = new Map<string, { energy_j: number; gco2e: number; runs: number }>();

/** The notebook's total in its toolbar: this session and all time. */
class NotebookTotal extends Widget {
  constructor(
    private readonly _client: ICarbonClient,
    private readonly _panel: NotebookPanel,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-carbon-NotebookTotal');
    this.node.setAttribute('role', 'status');
    this.node.tabIndex = 0;
  }

  async refresh(unit: EnergyUnit): Promise<void> {
    const trans = this._trans;
    const path = this._panel.context.path;
    const session = sessionTotals.get(path) ?? { energy_j: 0, gco2e: 0, runs: 0 };
    let allTime = '';
    try {
      const totals = await this._client.totals({ notebook_path: path });
      const costs = Object.entries(totals.costs)
        .map(([currency, amount]) => formatCost(amount, currency))
        .join(' + ');
      allTime = trans.__(
        'All time: %1 · %2%3 in %4 runs',
        formatEnergy(totals.attributed_j, unit),
        formatCarbon(totals.gco2e),
        costs ? ` · ${costs}` : '',
        String(totals.runs)
      );
    } catch (error) {
      allTime = trans.__('All time: unavailable (%1)', (error as Error).message);
    }
    this.node.textContent = `Σ ${formatEnergy(session.energy_j, unit)} · ${formatCarbon(session.gco2e)}`;
    const text = trans.__(
      'This notebook, this session: %1 · %2 in %3 runs. %4',
      formatEnergy(session.energy_j, unit),
      formatCarbon(session.gco2e),
      String(session.runs),
      allTime
    );
    this.node.title = text;
    this.node.setAttribute('aria-label', text);
  }
}

/** Badges of one notebook panel: maps its own execute requests to cells, shows runs under them. */
class NotebookCarbon {
  constructor(
    private readonly _panel: NotebookPanel,
    private readonly _client: ICarbonClient,
    private readonly _trans: TranslationBundle,
    private _settings: IBadgeSettings
  ) {
    this.total = new NotebookTotal(_client, _panel, _trans);
    _panel.toolbar.insertItem(10, 'carbon-total', this.total);
    _panel.sessionContext.kernelChanged.connect(this._onKernelChanged, this);
    this._watchKernel(_panel.sessionContext.session?.kernel ?? null);
    _client.events.connect(this._onEvent, this);
    NotebookActions.outputCleared.connect(this._onOutputCleared, this);
    void _panel.context.ready.then(() => {
      const cells = _panel.content.model?.cells;
      cells?.changed.connect(() => this._attachAll(), this);
      this._attachAll();
      void this.total.refresh(this._settings.energyUnit);
    });
    _panel.disposed.connect(() => this.dispose());
  }

  readonly total: NotebookTotal;

  set settings(settings: IBadgeSettings) {
    this._settings = settings;
    this._renderAll();
    void this.total.refresh(settings.energyUnit);
  }

  dispose(): void {
    this._client.events.disconnect(this._onEvent, this);
    NotebookActions.outputCleared.disconnect(this._onOutputCleared, this);
    this._watchKernel(null);
    for (const badge of this._badges.values()) {
      badge.dispose();
    }
    this._badges.clear();
  }

  private get _options(): IBadgeOptions {
    return { figures: this._settings.figures, energyUnit: this._settings.energyUnit };
  }

  private _onKernelChanged(): void {
    this._watchKernel(this._panel.sessionContext.session?.kernel ?? null);
  }

  private _watchKernel(kernel: Kernel.IKernelConnection | null): void {
    this._kernel?.anyMessage.disconnect(this._onAnyMessage, this);
    this._kernel = kernel;
    kernel?.anyMessage.connect(this._onAnyMessage, this);
  }

  /** JupyterLab tags each execute_request with its cell's id: remember msg_id -> cell. */
  private _onAnyMessage(_: Kernel.IKernelConnection, args: Kernel.IAnyMessageArgs): void {
    const msg = args.msg as KernelMessage.IMessage;
    if (args.direction !== 'send' || msg.header.msg_type !== 'execute_request') {
      return;
    }
    const cellId = (msg.metadata as { cellId?: string }).cellId;
    if (cellId) {
      this._cellOfMessage.set(msg.header.msg_id, cellId);
    }
  }

  /** Outputs cleared by the user: the badge goes with them, as the execution count does. */
  private _onOutputCleared(_: unknown, args: { notebook: unknown; cell: Cell }): void {
    if (args.notebook === this._panel.content) {
      clearSummary(args.cell.model);
    }
  }

  private _onEvent(_: ICarbonClient, event: CarbonEvent): void {
    if (event.type === 'power') {
      for (const badge of this._badges.values()) {
        if (badge.isLive && event.total_w !== null) {
          badge.updateLive(event.total_w, event.time);
        }
      }
      return;
    }
    const msgId = event.type === 'run' ? event.run.msg_id : event.msg_id;
    const cellId = this._cellOfMessage.get(msgId);
    if (!cellId || !this._settings.show) {
      return;
    }
    if (event.type === 'execution-started') {
      this._badges.get(cellId)?.startLive({ startedAt: event.started_at, nodeJoules: 0, nodeWatts: null });
      return;
    }
    this._onRun(cellId, event.run);
  }

  private _onRun(cellId: string, run: IRun): void {
    this._cellOfMessage.delete(run.msg_id);
    const model = this._cellModel(cellId);
    if (!model) {
      return; // the cell was deleted while it ran: the ledger still has the run
    }
    const summary = writeSummary(model, run);
    const path = this._panel.context.path;
    const totals = sessionTotals.get(path) ?? { energy_j: 0, gco2e: 0, runs: 0 };
    sessionTotals.set(path, {
      energy_j: totals.energy_j + summary.energy_j,
      gco2e: totals.gco2e + (summary.gco2e ?? 0),
      runs: totals.runs + 1
    });
    this._badges.get(cellId)?.stopLive();
    this._renderAll();
    void this.total.refresh(this._settings.energyUnit);
  }

  private _cellModel(cellId: string): ICellModel | null {
    const cells = this._panel.content.model?.cells;
    if (!cells) {
      return null;
    }
    for (let i = 0; i < cells.length; i++) {
      if (cells.get(i).id === cellId) {
        return cells.get(i);
      }
    }
    return null;
  }

  /** Give every code cell a badge once its DOM exists (windowed notebooks render lazily). */
  private _attachAll(): void {
    const present = new Set<string>();
    for (const cell of this._panel.content.widgets) {
      if (!(cell instanceof CodeCell)) {
        continue;
      }
      present.add(cell.model.id);
      if (this._badges.has(cell.model.id)) {
        continue;
      }
      const badge = new CellBadge(this._trans);
      this._badges.set(cell.model.id, badge);
      const model = cell.model;
      model.metadataChanged.connect(() => this._renderAll(), this);
      void cell.ready.then(() => {
        if (cell.isDisposed || badge.isDisposed) {
          return;
        }
        const layout = cell.layout as PanelLayout;
        const outputWrapper = cell.outputArea.parent;
        const index = outputWrapper ? layout.widgets.indexOf(outputWrapper) : -1;
        layout.insertWidget(index >= 0 ? index : layout.widgets.length, badge);
        this._render(cell.model.id);
      });
      cell.disposed.connect(() => {
        badge.dispose();
        this._badges.delete(model.id);
      });
    }
    for (const [cellId, badge] of this._badges) {
      if (!present.has(cellId)) {
        badge.dispose();
        this._badges.delete(cellId);
      }
    }
    this._renderAll();
  }

  private _renderAll(): void {
    for (const cellId of this._badges.keys()) {
      this._render(cellId);
    }
  }

  private _render(cellId: string): void {
    const badge = this._badges.get(cellId);
    const model = this._cellModel(cellId);
    if (!badge || !model) {
      return;
    }
    const summary = this._settings.show ? readSummary(model) : null;
    badge.showSummary(summary, summary ? relativeLevel(summary.energy_j, this._energies()) : null, this._options);
  }

  private _energies(): number[] {
    const values: number[] = [];
    const cells = this._panel.content.model?.cells;
    for (let i = 0; cells && i < cells.length; i++) {
      const summary: ICarbonSummary | null = readSummary(cells.get(i));
      if (summary) {
        values.push(summary.energy_j);
      }
    }
    return values;
  }

  private _kernel: Kernel.IKernelConnection | null = null;
  private _cellOfMessage = new Map<string, string>();
  private _badges = new Map<string, CellBadge>();
}

/** Per-cell emissions badges, the notebook total, and the intensity settings sent to the server. */
export const badgesPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-carbon:badges',
  description: 'Shows the energy, carbon and cost of each executed cell under it, live while it runs.',
  autoStart: true,
  requires: [ICarbonClient, INotebookTracker],
  optional: [ISettingRegistry, ITranslator, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    client: ICarbonClient,
    notebooks: INotebookTracker,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null,
    palette: ICommandPalette | null
  ) => {
    const trans = (translator ?? nullTranslator).load('jupyterlab_carbon');
    let current: IBadgeSettings = { ...DEFAULT_SETTINGS };
    let registrySettings: ISettingRegistry.ISettings | null = null;
    const controllers = new Set<NotebookCarbon>();

    notebooks.widgetAdded.connect((_, panel) => {
      const controller = new NotebookCarbon(panel, client, trans, current);
      controllers.add(controller);
      panel.disposed.connect(() => controllers.delete(controller));
    });

    app.commands.addCommand(TOGGLE_BADGES_COMMAND, {
      label: trans.__('Show Carbon Badges Under Cells'),
      caption: trans.__('Show or hide the energy and carbon of each executed cell'),
      isToggled: () => current.show,
      execute: async () => {
        if (registrySettings) {
          await registrySettings.set('show', !current.show);
        } else {
          apply({ ...current, show: !current.show });
        }
      }
    });
    palette?.addItem({ command: TOGGLE_BADGES_COMMAND, category: trans.__('Carbon') });

    let lastSent = '';
    const apply = (settings: IBadgeSettings): void => {
      current = settings;
      for (const controller of controllers) {
        controller.settings = settings;
      }
      app.commands.notifyCommandChanged(TOGGLE_BADGES_COMMAND);
      const intensity: IIntensitySettings = {
        intensity: settings.intensity,
        zone: settings.zone,
        cloudProvider: settings.cloudProvider,
        cloudRegion: settings.cloudRegion,
        pue: settings.pue,
        price: settings.price,
        currency: settings.currency,
        liveProvider: settings.liveProvider
      };
      const body = JSON.stringify(intensity);
      if (body === lastSent) {
        return;
      }
      lastSent = body;
      client.setIntensity(intensity).then(
        state => {
          if (state.resolved.is_assumption) {
            Notification.info(state.resolved.message, { autoClose: 8000 });
          }
        },
        (error: Error) => {
          Notification.error(trans.__('Carbon settings not applied: %1', error.message), { autoClose: false });
        }
      );
    };

    if (settingRegistry) {
      void settingRegistry.load(badgesPlugin.id).then(settings => {
        registrySettings = settings;
        const read = (): void => apply({ ...DEFAULT_SETTINGS, ...(settings.composite as unknown as IBadgeSettings) });
        settings.changed.connect(read);
        read();
      });
    }
  }
};
