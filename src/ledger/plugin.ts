import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';

import { LedgerClient } from '../client/ledger';
import { EnergyUnit } from '../format';
import { ICarbonClient } from '../tokens';
import { LedgerListModel } from './model';
import { LedgerPanel } from './panel';

/** Command that opens the ledger sidebar. */
export const OPEN_LEDGER_COMMAND = 'carbon:open-ledger';

/** The ledger's settings (schema/ledger.json). */
interface ILedgerSettings {
  pageSize: number;
}

/** The badges' settings, whose energy unit the ledger follows. */
const BADGES_PLUGIN_ID = 'jupyterlab-carbon:badges';

/** A ledger book with a leaf: the sidebar tab's icon (themed through jp-icon3). */
export const ledgerIcon = new LabIcon({
  name: 'jupyterlab-carbon:ledger',
  svgstr: `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M5 2h12a2 2 0 0 1 2 2v16a2 2 0 0 1-2 2H5a1 1 0 0 1-1-1V3a1 1 0 0 1 1-1zm1 2v16h11V4H6z"/>
    <path d="M8 7h7v1.5H8zM8 10.5h7V12H8z"/>
    <path d="M15.5 13.5c-3.5 0-5.5 1.8-5.5 4.6 0 .3 0 .6.1.9h1.3c.6-1.9 1.8-3 3.6-3.6-1.4.8-2.4 1.9-2.9 3.6h.4c3.1 0 4.5-2.4 4.5-5.5h-1.5z"/>
  </g>
</svg>`
});

/** The Run Ledger in the left sidebar: every recorded run, searchable, with actions and export. */
export const ledgerPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-carbon:ledger',
  description: 'The Run Ledger sidebar: browse, search, filter, group, annotate, export and import recorded runs.',
  autoStart: true,
  requires: [ICarbonClient],
  optional: [INotebookTracker, ICommandPalette, ISettingRegistry, ITranslator, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    carbon: ICarbonClient,
    notebooks: INotebookTracker | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('jupyterlab_carbon');
    const client = new LedgerClient();
    const model = new LedgerListModel(client);
    const panel = new LedgerPanel({
      app,
      carbon,
      client,
      model,
      trans,
      currentNotebook: () => notebooks?.currentWidget?.context.path ?? null
    });
    panel.id = 'jp-carbon-ledger';
    panel.title.icon = ledgerIcon;
    app.shell.add(panel, 'left', { rank: 850, type: 'Run Ledger' });
    restorer?.add(panel, panel.id);
    notebooks?.currentChanged.connect(() => panel.applyFilters());

    app.commands.addCommand(OPEN_LEDGER_COMMAND, {
      label: trans.__('Open Run Ledger'),
      caption: trans.__('Every recorded run: search, compare, annotate and export them'),
      icon: ledgerIcon,
      execute: () => {
        app.shell.activateById(panel.id);
      }
    });
    palette?.addItem({ command: OPEN_LEDGER_COMMAND, category: trans.__('Carbon') });

    if (settingRegistry) {
      void settingRegistry.load(ledgerPlugin.id).then(settings => {
        const apply = (): void => {
          model.pageSize = (settings.composite as unknown as ILedgerSettings).pageSize;
        };
        settings.changed.connect(apply);
        apply();
      });
      // The energy unit is the badges' setting: one unit across the extension.
      void settingRegistry.load(BADGES_PLUGIN_ID).then(settings => {
        const apply = (): void => {
          panel.energyUnit = (settings.composite.energyUnit as EnergyUnit | undefined) ?? 'Wh';
        };
        settings.changed.connect(apply);
        apply();
      });
    }
  }
};
