/** The Run Ledger sidebar: search and filters, actions on the selection, the list, a total line. */

import { JupyterFrontEnd } from '@jupyterlab/application';
import { TranslationBundle } from '@jupyterlab/translation';
import { PanelLayout, Widget } from '@lumino/widgets';

import { LedgerClient } from '../client/ledger';
import { EnergyUnit } from '../format';
import { AnyCarbonEvent, ICarbonClient } from '../tokens';
import * as actions from './actions';
import { totalsLine } from './columns';
import { FilterBar } from './filterbar';
import { formToFilters } from './filters';
import { IRowActivation, LedgerGrid } from './grid';
import { LedgerListModel } from './model';
import { openRun } from './open';

/** Milliseconds to gather `runs-changed` events into one refresh. */
const REFRESH_DEBOUNCE_MS = 250;

/** What the panel is built from. */
export interface ILedgerPanelOptions {
  app: JupyterFrontEnd;
  carbon: ICarbonClient;
  client: LedgerClient;
  model: LedgerListModel;
  trans: TranslationBundle;
  /** The path of the notebook in focus, for "this notebook only". */
  currentNotebook: () => string | null;
}

/** One button of the actions toolbar, enabled when its condition holds. */
interface IActionButton {
  button: HTMLButtonElement;
  enabled: () => boolean;
  visible: () => boolean;
}

/** The sidebar panel. */
export class LedgerPanel extends Widget {
  constructor(private readonly _options: ILedgerPanelOptions) {
    super();
    const { model, trans } = _options;
    this.addClass('jp-carbon-Ledger');
    this.title.caption = trans.__('Run Ledger');
    const layout = new PanelLayout();
    this.layout = layout;

    const heading = new Widget({ node: document.createElement('h2') });
    heading.addClass('jp-carbon-SidebarTitle');
    heading.node.textContent = trans.__('Run Ledger');

    this._filterBar = new FilterBar(trans);
    this._filterBar.changed.connect(this.applyFilters, this);
    this._filterBar.groupingChanged.connect((_, by) => model.setGrouping(by));
    this._filterBar.formToggled.connect((_, shown) => {
      if (shown) {
        void this._loadExperimentSuggestions();
      }
    });

    this._toolbar = new Widget();
    this._toolbar.addClass('jp-carbon-Ledger-actions');
    this._toolbar.node.setAttribute('role', 'toolbar');
    this._toolbar.node.setAttribute('aria-label', trans.__('Actions on the selected runs'));
    this._buildActions();

    this._grid = new LedgerGrid(model, trans);
    this._grid.activated.connect(this._onActivated, this);

    this._footer = new Widget();
    this._footer.addClass('jp-carbon-Ledger-footer');
    this._footer.node.setAttribute('role', 'status');
    this._footer.node.setAttribute('aria-live', 'polite');

    for (const widget of [heading, this._filterBar, this._toolbar, this._grid, this._footer]) {
      layout.addWidget(widget);
    }

    model.changed.connect(this._update, this);
    model.selectionChanged.connect(this._update, this);
    _options.carbon.events.connect(this._onEvent, this);
    this._update();
  }

  set energyUnit(unit: EnergyUnit) {
    this._energyUnit = unit;
    this._grid.energyUnit = unit;
    this._update();
  }

  /** Send the form's filters to the model (also when the notebook in focus changes). */
  applyFilters(): void {
    if (!this._started) {
      return; // read when the panel is first shown
    }
    const { model, currentNotebook } = this._options;
    model.setFilters(formToFilters(this._filterBar.form, currentNotebook()));
    this._update();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    window.clearTimeout(this._refreshTimer);
    this._options.carbon.events.disconnect(this._onEvent, this);
    super.dispose();
  }

  /** The first page is fetched when the sidebar is first shown, not at page load. */
  protected onAfterShow(): void {
    if (!this._started) {
      this._started = true;
      const { model, currentNotebook } = this._options;
      if (!model.setFilters(formToFilters(this._filterBar.form, currentNotebook()))) {
        model.reload();
      }
    }
  }

  /** Focus the search box when the sidebar opens. */
  protected onActivateRequest(): void {
    this._filterBar.searchInput.focus();
  }

  private get _context(): actions.IActionContext {
    return { client: this._options.client, trans: this._options.trans };
  }

  private _onEvent(_: ICarbonClient, event: AnyCarbonEvent): void {
    if (event.type === 'run') {
      if (this._options.model.insertLive(event.run) === 'stale') {
        this._scheduleRefresh();
      }
    } else if (event.type === 'runs-changed') {
      this._scheduleRefresh();
    }
  }

  private _scheduleRefresh(): void {
    window.clearTimeout(this._refreshTimer);
    this._refreshTimer = window.setTimeout(() => this._options.model.refresh(), REFRESH_DEBOUNCE_MS);
  }

  /** After an action: the server's `runs-changed` event refreshes too, this covers a closed socket. */
  private async _thenRefresh(action: Promise<void>): Promise<void> {
    await action;
    this._scheduleRefresh();
  }

  /** Runs moved to or out of the trash left the list: not selected any more; the keyboard
   * goes back to the list (a dialog's close leaves it nowhere). */
  private _left(runIds: string[]): void {
    this._options.model.deselect(runIds);
    this._grid.node.focus();
  }

  private _onActivated(_: LedgerGrid, { index }: IRowActivation): void {
    const { app, model, trans } = this._options;
    if (model.showsGroups) {
      model.openGroupAt(index);
      return;
    }
    const run = model.run(index);
    if (run) {
      void openRun(app, run, trans);
    }
  }

  private async _loadExperimentSuggestions(): Promise<void> {
    try {
      const experiments = await this._options.client.experiments();
      this._filterBar.setExperimentSuggestions(experiments.map(e => e.name));
    } catch {
      // Suggestions only: the field takes any name without them.
    }
  }

  private _addAction(
    label: string,
    run: () => Promise<void> | void,
    enabled: () => boolean,
    visible = () => true
  ): void {
    const button = document.createElement('button');
    button.className = 'jp-carbon-Ledger-button';
    button.textContent = label;
    button.addEventListener('click', () => void run());
    this._toolbar.node.append(button);
    this._actions.push({ button, enabled, visible });
  }

  private _buildActions(): void {
    const { model, trans, app } = this._options;
    const context = (): actions.IActionContext => this._context;
    const runs = () => model.selectedRuns();
    const runIds = () => runs().map(run => run.run_id);
    const inTrash = () => model.effectiveFilters.deleted === 'only';
    const groupedByExperiment = () => model.showsGroups && model.grouping === 'experiment';
    const groups = () => model.selectedGroups();

    this._addAction(
      trans.__('← All groups'),
      () => model.closeGroup(),
      () => true,
      () => model.openGroup !== null
    );
    this._addAction(
      trans.__('Compare'),
      () =>
        groupedByExperiment()
          ? actions.compare(app.commands, trans, { experiments: groups().map(g => g.key) })
          : actions.compare(app.commands, trans, { runIds: runIds() }),
      () => (groupedByExperiment() ? groups().length >= 1 : runs().length >= 2),
      () => !inTrash() && (!model.showsGroups || groupedByExperiment())
    );
    this._addAction(
      trans.__('Rename experiment…'),
      () => this._thenRefresh(actions.renameExperiment(context(), groups()[0].key)),
      () => groups().length === 1,
      groupedByExperiment
    );
    this._addAction(
      trans.__('Experiment…'),
      () => this._thenRefresh(actions.setExperiment(context(), runs(), runs()[0]?.experiment ?? '')),
      () => runs().length >= 1,
      () => !model.showsGroups && !inTrash()
    );
    this._addAction(
      trans.__('Tags…'),
      () => this._thenRefresh(actions.editTags(context(), runs())),
      () => runs().length >= 1,
      () => !model.showsGroups && !inTrash()
    );
    this._addAction(
      trans.__('Note…'),
      () => this._thenRefresh(actions.editNote(context(), runs())),
      () => runs().length >= 1,
      () => !model.showsGroups && !inTrash()
    );
    this._addAction(
      trans.__('Delete…'),
      () => this._thenRefresh(actions.deleteRuns(context(), runIds()).then(gone => this._left(gone))),
      () => runs().length >= 1,
      () => !model.showsGroups && !inTrash()
    );
    this._addAction(
      trans.__('Restore'),
      () => this._thenRefresh(actions.restoreRuns(context(), runIds()).then(gone => this._left(gone))),
      () => runs().length >= 1,
      inTrash
    );
    this._addAction(
      trans.__('Empty trash…'),
      () => this._thenRefresh(actions.emptyTrash(context())),
      () => model.rowCount > 0,
      inTrash
    );
    this._addAction(
      trans.__('Export CSV'),
      () => actions.exportRuns(context(), 'csv', runIds(), model.effectiveFilters),
      () => model.rowCount > 0,
      () => !model.showsGroups
    );
    this._addAction(
      trans.__('Export JSON'),
      () => actions.exportRuns(context(), 'json', runIds(), model.effectiveFilters),
      () => model.rowCount > 0,
      () => !model.showsGroups
    );
    this._addAction(
      trans.__('Import CSV…'),
      () => this._thenRefresh(actions.importCsv(context())),
      () => true,
      () => !inTrash()
    );
  }

  private _update(): void {
    const { model, trans } = this._options;
    for (const action of this._actions) {
      action.button.hidden = !action.visible();
      action.button.disabled = !action.enabled();
    }
    const parts: string[] = [];
    const group = model.openGroup;
    if (group) {
      parts.push(trans.__('In %1', group.key));
    }
    const totals = model.totals;
    if (totals) {
      parts.push(totalsLine(totals, { trans, energyUnit: this._energyUnit }));
    } else if (model.countAtLeast !== null) {
      parts.push(trans.__('%1+ runs', model.countAtLeast.toLocaleString()));
    } else if (!model.showsGroups) {
      parts.push(trans._n('%2 run', '%2 runs', model.rowCount, model.rowCount.toLocaleString()));
    }
    const selected = model.selection.size;
    if (model.selectionIsLoadedRunsOnly) {
      parts.push(trans.__('%1 selected: the loaded runs only (scroll to load more)', selected.toLocaleString()));
    } else if (selected > 0) {
      parts.push(trans._n('%2 selected', '%2 selected', selected, selected.toLocaleString()));
    }
    if (model.loading) {
      parts.push(trans.__('loading…'));
    }
    if (model.error) {
      parts.push(trans.__('error: %1', model.error));
    }
    this._footer.node.textContent = parts.join(' · ');
    this._footer.node.classList.toggle('jp-mod-error', model.error !== null);
    this._filterBar.setGrouping(model.grouping);
  }

  private _filterBar: FilterBar;
  private _toolbar: Widget;
  private _grid: LedgerGrid;
  private _footer: Widget;
  private _actions: IActionButton[] = [];
  private _energyUnit: EnergyUnit = 'Wh';
  private _refreshTimer = 0;
  private _started = false;
}
