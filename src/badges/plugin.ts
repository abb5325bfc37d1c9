import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { Cell, CodeCell, ICellModel } from '@jupyterlab/cells';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { PanelLayout, Widget } from '@lumino/widgets';

import { CellBadge, Figure, IBadgeOptions } from './badge';
import { clearBudget, markBudget } from './budget';
import { EnergyUnit, formatCarbon, formatCost, formatEnergy } from '../format';
import { NotebookSummaries } from './scale';
import { clearSummary, writeSummary } from './summary';
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
    let allTime: string;
    try {
      const totals = await this._client.totals({ notebook_path: path });
      const costs = Object.entries(totals.costs)
        .map(([currency, amount]) => formatCost(amount, currency))
        .join(' + ');
      allTime = trans.__(
        'All time: %1 · %2%3 in %4',
        formatEnergy(totals.attributed_j, unit),
        formatCarbon(totals.gco2e),
        costs ? ` · ${costs}` : '',
        trans._n('%1 run', '%1 runs', totals.runs)
      );
    } catch (error) {
      allTime = trans.__('All time: unavailable (%1)', (error as Error).message);
    }
    this.node.textContent = `Σ ${formatEnergy(session.energy_j, unit)} · ${formatCarbon(session.gco2e)}`;
    const text = trans.__(
      'This notebook, this session: %1 · %2 in %3. %4',
      formatEnergy(session.energy_j, unit),
      formatCarbon(session.gco2e),
      trans._n('%1 run', '%1 runs', session.runs),
      allTime
    );
    this.node.title = text;
    this.node.setAttribute('aria-label', text);
  }
}

/**
 * Badges of one notebook panel: maps its own execute requests to cells, shows runs under them.
 *
 * The work per badge does not grow with the notebook: summaries and the colour scale are read
 * once when the notebook opens and then follow each change (`NotebookSummaries`), and a cell gets
 * its badge only once JupyterLab renders it (windowed notebooks render cells as they are needed).
 */
class NotebookCarbon {
  constructor(
    private readonly _panel: NotebookPanel,
    private readonly _client: ICarbonClient,
    private readonly _trans: TranslationBundle,
    private _settings: IBadgeSettings
  ) {
    this._options = Private.badgeOptions(_settings);
    this.total = new NotebookTotal(_client, _panel, _trans);
    _panel.toolbar.insertItem(10, 'carbon-total', this.total);
    _panel.sessionContext.kernelChanged.connect(this._onKernelChanged, this);
    this._watchKernel(_panel.sessionContext.session?.kernel ?? null);
    _client.events.connect(this._onEvent, this);
    NotebookActions.outputCleared.connect(this._onOutputCleared, this);
    void _panel.context.ready.then(() => {
      const model = _panel.content.model;
      if (!model || this._isDisposed) {
        return;
      }
      this._summaries = new NotebookSummaries(model);
      this._summaries.changed.connect(this._renderAll, this);
      // Connected after the notebook's own handler, which creates the new cells' widgets first.
      model.cells.changed.connect(this._onCellsChanged, this);
      for (const cell of _panel.content.widgets) {
        this._attachWhenRendered(cell);
      }
      void this.total.refresh(this._settings.energyUnit);
    });
    _panel.disposed.connect(() => this.dispose());
  }

  readonly total: NotebookTotal;

  set settings(settings: IBadgeSettings) {
    this._settings = settings;
    this._options = Private.badgeOptions(settings);
    this._renderAll();
    void this.total.refresh(settings.energyUnit);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._client.events.disconnect(this._onEvent, this);
    NotebookActions.outputCleared.disconnect(this._onOutputCleared, this);
    this._watchKernel(null);
    this._summaries?.dispose();
    for (const badge of this._badges.values()) {
      badge.dispose();
    }
    this._badges.clear();
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
    if (args.direction === 'recv' && msg.header.msg_type === 'execute_reply') {
      this._onReply(msg as KernelMessage.IExecuteReplyMsg);
      return;
    }
    if (args.direction !== 'send' || msg.header.msg_type !== 'execute_request') {
      return;
    }
    const cellId = (msg.metadata as { cellId?: string }).cellId;
    if (cellId) {
      this._cellOfMessage.set(msg.header.msg_id, cellId);
    }
  }

  /**
   * A cell the kernel aborted (queued behind an error) never ran: the server still records the
   * request (it cannot tell it from a silent one), but its cell shows no badge, as it shows no
   * execution count. Its start and run events, before or after this reply, find no cell.
   */
  private _onReply(reply: KernelMessage.IExecuteReplyMsg): void {
    const msgId = (reply.parent_header as Partial<KernelMessage.IHeader>).msg_id;
    const cellId = msgId ? this._cellOfMessage.get(msgId) : undefined;
    const status = reply.content.status;
    if (!msgId || !cellId || (status !== 'aborted' && status !== 'abort')) {
      return;
    }
    this._cellOfMessage.delete(msgId);
    this._badges.get(cellId)?.stopLive();
    const model = this._summaries?.cell(cellId);
    if (model) {
      clearSummary(model);
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
    const badge = this._badges.get(cellId);
    if (event.type === 'execution-started') {
      if (badge) {
        clearBudget(badge);
        badge.startLive({ startedAt: event.started_at, nodeJoules: 0, nodeWatts: null });
      }
      return;
    }
    if (event.type === 'budget') {
      if (badge) {
        markBudget(badge, this._trans, event.budget);
      }
      return;
    }
    this._onRun(cellId, event.run);
  }

  private _onRun(cellId: string, run: IRun): void {
    this._cellOfMessage.delete(run.msg_id);
    const model = this._summaries?.cell(cellId);
    if (!model) {
      return; // the cell was deleted while it ran: the ledger still has the run
    }
    // Writing the metadata updates the summaries and the scale, which re-render the badges.
    const summary = writeSummary(model, run);
    const path = this._panel.context.path;
    const totals = sessionTotals.get(path) ?? { energy_j: 0, gco2e: 0, runs: 0 };
    sessionTotals.set(path, {
      energy_j: totals.energy_j + summary.energy_j,
      gco2e: totals.gco2e + (summary.gco2e ?? 0),
      runs: totals.runs + 1
    });
    this._badges.get(cellId)?.stopLive();
    void this.total.refresh(this._settings.energyUnit);
  }

  /** New cells: their widgets exist already (the notebook handles the change first). */
  private _onCellsChanged(
    _: unknown,
    change: { type: string; newIndex: number; newValues: readonly ICellModel[] }
  ): void {
    if (change.type !== 'add') {
      return; // removed cells dispose their widgets, and the badges go with them
    }
    const widgets = this._panel.content.widgets;
    change.newValues.forEach((model, offset) => {
      const cell = widgets[change.newIndex + offset];
      if (cell?.model === model) {
        this._attachWhenRendered(cell);
      }
    });
  }

  /** Give a code cell its badge once JupyterLab renders it (not before: most cells may never be). */
  private _attachWhenRendered(cell: Cell): void {
    if (!(cell instanceof CodeCell)) {
      return;
    }
    void cell.ready.then(() => {
      const cellId = cell.model.id;
      if (cell.isDisposed || this._isDisposed || this._badges.has(cellId)) {
        return;
      }
      const badge = new CellBadge(this._trans);
      this._badges.set(cellId, badge);
      const layout = cell.layout as PanelLayout;
      const outputWrapper = cell.outputArea.parent;
      const index = outputWrapper ? layout.widgets.indexOf(outputWrapper) : -1;
      layout.insertWidget(index >= 0 ? index : layout.widgets.length, badge);
      cell.disposed.connect(() => {
        badge.dispose();
        if (this._badges.get(cellId) === badge) {
          this._badges.delete(cellId);
        }
      });
      this._render(cellId, badge);
    });
  }

  private _renderAll(): void {
    for (const [cellId, badge] of this._badges) {
      this._render(cellId, badge);
    }
  }

  private _render(cellId: string, badge: CellBadge): void {
    const summary = this._settings.show ? (this._summaries?.summary(cellId) ?? null) : null;
    const level = summary ? (this._summaries?.level(summary.energy_j) ?? null) : null;
    badge.showSummary(summary, level, this._options);
  }

  private _kernel: Kernel.IKernelConnection | null = null;
  private _cellOfMessage = new Map<string, string>();
  private _badges = new Map<string, CellBadge>();
  private _summaries: NotebookSummaries | null = null;
  private _options: IBadgeOptions;
  private _isDisposed = false;
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

namespace Private {
  /** The badge options of the settings (one object per settings change, so badges can compare). */
  export function badgeOptions(settings: IBadgeSettings): IBadgeOptions {
    return { figures: settings.figures, energyUnit: settings.energyUnit };
  }
}
