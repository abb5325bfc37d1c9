import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { formatPower } from '../format';
import { OPEN_LEDGER_COMMAND } from '../ledger/plugin';
import { ICarbonClient, IPower, IStatus } from '../tokens';

/** Command that shows the meters and their diagnosis. */
export const SHOW_METERS_COMMAND = 'carbon:show-meters';

/** Status-bar settings (schema/status-bar.json). */
interface IStatusBarSettings {
  enabled: boolean;
  refreshSeconds: number;
}

/** The status-bar item: node power, "modeled" marked, a tooltip with the meters. */
export class PowerStatusItem extends Widget {
  constructor(
    private readonly _client: ICarbonClient,
    private readonly _trans: TranslationBundle,
    private readonly _onActivate: () => void
  ) {
    super();
    this.addClass('jp-carbon-StatusItem');
    this.node.tabIndex = 0;
    this.node.setAttribute('role', 'button');
    this._text = document.createElement('span');
    this._text.className = 'jp-carbon-StatusItem-text';
    this._modeled = document.createElement('span');
    this._modeled.className = 'jp-carbon-StatusItem-modeled';
    this.node.append(this._text, this._modeled);
    this.node.addEventListener('click', this._onActivate);
    this.node.addEventListener('keydown', event => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        this._onActivate();
      }
    });
    this._poll = new Poll({
      factory: () => this._refresh(),
      frequency: { interval: 2000, backoff: true, max: 60000 },
      name: 'jupyterlab-carbon:power',
      standby: 'when-hidden'
    });
    this._render();
  }

  /** Seconds between two power readings. */
  set refreshSeconds(seconds: number) {
    this._poll.frequency = { ...this._poll.frequency, interval: Math.max(seconds, 0.5) * 1000 };
  }

  /** The last status answer (meters and diagnoses). */
  get meterStatus(): IStatus | null {
    return this._status;
  }

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  private async _refresh(): Promise<void> {
    try {
      if (this._status === null) {
        this._status = await this._client.status();
      }
      this._power = await this._client.power();
      this._error = null;
    } catch (error) {
      this._error = (error as Error).message;
      this._render();
      throw error; // lets the poll back off
    }
    this._render();
  }

  private _render(): void {
    const trans = this._trans;
    const power = this._power;
    this._text.textContent = `⚡ ${this._error ? '–' : formatPower(power?.total_w)}`;
    const modeled = power?.modeled ?? this._status?.modeled ?? false;
    this._modeled.textContent = modeled ? trans.__('modeled') : '';
    this.node.classList.toggle('jp-mod-modeled', modeled);
    this.node.classList.toggle('jp-mod-error', this._error !== null);
    const tooltip = Private.tooltip(trans, this._status, power, this._error);
    this.node.title = tooltip;
    this.node.setAttribute('aria-label', tooltip);
  }

  private _text: HTMLSpanElement;
  private _modeled: HTMLSpanElement;
  private _poll: Poll;
  private _status: IStatus | null = null;
  private _power: IPower | null = null;
  private _error: string | null = null;
}

/** The body of the "meters" dialog: channels, then each diagnosis with its fix. */
export function metersBody(trans: TranslationBundle, status: IStatus | null): HTMLElement {
  const body = document.createElement('div');
  body.className = 'jp-carbon-MetersDialog';
  if (status === null) {
    body.textContent = trans.__('The meters have not been read yet.');
    return body;
  }
  const heading = document.createElement('h3');
  heading.textContent = trans.__('Meters on %1', status.hostname);
  const list = document.createElement('ul');
  for (const channel of status.channels) {
    const item = document.createElement('li');
    const basis = channel.device.basis ? `: ${channel.device.basis}` : '';
    item.textContent = `${channel.label} — ${channel.method} (${channel.source})${basis}`;
    list.append(item);
  }
  body.append(heading, list);
  const problems = status.diagnoses.filter(d => d.status !== 'ok' || d.source === 'model');
  if (problems.length > 0) {
    const diagHeading = document.createElement('h3');
    diagHeading.textContent = trans.__('Diagnosis');
    const diagList = document.createElement('ul');
    for (const diagnosis of problems) {
      const item = document.createElement('li');
      item.textContent = `${diagnosis.source} (${diagnosis.status}): ${diagnosis.message}`;
      if (diagnosis.fix) {
        const fix = document.createElement('pre');
        fix.className = 'jp-carbon-MetersDialog-fix';
        fix.textContent = diagnosis.fix;
        item.append(fix);
      }
      diagList.append(item);
    }
    body.append(diagHeading, diagList);
  }
  return body;
}

/** Shows the node's power in the status bar. */
export const statusBarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-carbon:status-bar',
  description: "Shows the node's live power in the status bar, with the meters in its tooltip.",
  autoStart: true,
  requires: [ICarbonClient, IStatusBar],
  optional: [ISettingRegistry, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    client: ICarbonClient,
    statusBar: IStatusBar,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load('jupyterlab_carbon');
    const item = new PowerStatusItem(client, trans, () => {
      void app.commands.execute(SHOW_METERS_COMMAND);
    });
    let enabled = true;
    app.commands.addCommand(SHOW_METERS_COMMAND, {
      label: trans.__('Show Power Meters'),
      caption: trans.__('The power meters this node offers, and why others are missing'),
      execute: async () => {
        // The ledger's button only where the ledger plugin is loaded.
        const ledgerButton = app.commands.hasCommand(OPEN_LEDGER_COMMAND)
          ? [Dialog.createButton({ label: trans.__('Open Run Ledger'), className: 'jp-carbon-MetersDialog-ledger' })]
          : [];
        const result = await showDialog({
          title: trans.__('Power meters'),
          body: new Widget({ node: metersBody(trans, item.meterStatus) }),
          buttons: [...ledgerButton, Dialog.okButton({ label: trans.__('Close') })]
        });
        if (result.button === ledgerButton[0]) {
          await app.commands.execute(OPEN_LEDGER_COMMAND);
        }
      }
    });
    statusBar.registerStatusItem(statusBarPlugin.id, {
      item,
      align: 'left',
      rank: 100,
      isActive: () => enabled
    });
    if (settingRegistry) {
      void settingRegistry.load(statusBarPlugin.id).then(settings => {
        const apply = (): void => {
          const values = settings.composite as unknown as IStatusBarSettings;
          enabled = values.enabled;
          item.refreshSeconds = values.refreshSeconds;
          item.setHidden(!enabled);
        };
        settings.changed.connect(apply);
        apply();
      });
    }
  }
};

namespace Private {
  /** The tooltip text: power per channel, then the diagnosis of missing meters. */
  export function tooltip(
    trans: TranslationBundle,
    status: IStatus | null,
    power: IPower | null,
    error: string | null
  ): string {
    if (error) {
      return trans.__('Node power unavailable: %1', error);
    }
    const lines = [trans.__('Node power (click for details)')];
    for (const channel of power?.channels ?? []) {
      lines.push(`• ${channel.label}: ${formatPower(channel.watts)} (${channel.method})`);
    }
    const problems = (status?.diagnoses ?? []).filter(d => d.status !== 'ok' || d.source === 'model');
    if (problems.length > 0) {
      lines.push(trans.__('Diagnosis:'));
      for (const diagnosis of problems) {
        lines.push(`• ${diagnosis.source}: ${diagnosis.message}`);
      }
    }
    return lines.join('\n');
  }
}
