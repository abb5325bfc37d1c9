import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import {
  EnergyUnit,
  formatCarbon,
  formatCost,
  formatDuration,
  formatEnergy,
  formatPower,
  significant
} from '../format';
import { predictionSection } from '../predict/check';
import { RelativeLevel } from './scale';
import { ICarbonSummary } from './summary';

/** Figures the chip can show (the "figures" setting). */
export type Figure = 'energy' | 'carbon' | 'cost' | 'duration';

/** How a badge shows its figures. */
export interface IBadgeOptions {
  figures: Figure[];
  energyUnit: EnergyUnit;
}

/** A live execution: elapsed time, and the node's energy since it began (from pushed power). */
export interface ILiveState {
  startedAt: number;
  nodeJoules: number;
  nodeWatts: number | null;
}

/** The chip under a code cell: the last run's figures, or a live counter while it runs. */
export class CellBadge extends Widget {
  constructor(private readonly _trans: TranslationBundle) {
    super();
    this.addClass('jp-carbon-Badge');
    this._chip = document.createElement('button');
    this._chip.type = 'button';
    this._chip.className = 'jp-carbon-Badge-chip';
    this._chip.setAttribute('aria-haspopup', 'dialog');
    this._chip.addEventListener('click', () => this.togglePopover());
    this.node.append(this._chip);
    this.hide();
  }

  /** Show a stored summary with the notebook-relative level (null: no judgement). */
  showSummary(summary: ICarbonSummary | null, level: RelativeLevel, options: IBadgeOptions): void {
    if (summary === this._summary && level === this._level && options === this._options) {
      return; // nothing to redraw: every badge is asked again whenever the scale moves
    }
    this._summary = summary;
    this._level = level;
    this._options = options;
    if (this._live === null) {
      this._render();
    }
  }

  /** Switch to the live counter (the final figure replaces it when the run arrives). */
  startLive(state: ILiveState): void {
    this._live = state;
    window.clearInterval(this._timer);
    this._timer = window.setInterval(() => this._render(), 1000);
    this._render();
  }

  /** New node power while live: the energy so far grows by the power times the time elapsed. */
  updateLive(nodeWatts: number, at: number): void {
    if (this._live === null) {
      return;
    }
    const since = Math.max(this._live.startedAt, this._lastPowerAt ?? this._live.startedAt);
    if (this._live.nodeWatts !== null && at > since) {
      this._live.nodeJoules += this._live.nodeWatts * (at - since);
    }
    this._lastPowerAt = at;
    this._live.nodeWatts = nodeWatts;
    this._render();
  }

  /** Leave live mode. */
  stopLive(): void {
    this._live = null;
    this._lastPowerAt = null;
    window.clearInterval(this._timer);
    this._render();
  }

  get isLive(): boolean {
    return this._live !== null;
  }

  dispose(): void {
    window.clearInterval(this._timer);
    this._closePopover();
    super.dispose();
  }

  /** Open (or close) the detail popover; keyboard users reach it with Enter or Space. */
  togglePopover(): void {
    if (this._popover) {
      this._closePopover();
      return;
    }
    if (!this._summary) {
      return;
    }
    const popover = Private.popover(this._trans, this._summary, this._options.energyUnit);
    popover.addEventListener('keydown', event => {
      if (event.key === 'Escape') {
        event.preventDefault();
        this._closePopover();
        this._chip.focus();
      }
    });
    // Tabbing out of it closes it too, as a click outside does (Escape could not reach it then).
    popover.addEventListener('focusout', event => {
      const next = event.relatedTarget as Node | null;
      if (next && !popover.contains(next) && !this._chip.contains(next)) {
        this._closePopover();
      }
    });
    this._outsideClick = (event: MouseEvent) => {
      if (!popover.contains(event.target as Node) && !this._chip.contains(event.target as Node)) {
        this._closePopover();
      }
    };
    document.addEventListener('mousedown', this._outsideClick, true);
    this.node.append(popover);
    this._popover = popover;
    this._chip.setAttribute('aria-expanded', 'true');
    popover.focus();
  }

  private _closePopover(): void {
    if (this._outsideClick) {
      document.removeEventListener('mousedown', this._outsideClick, true);
      this._outsideClick = null;
    }
    this._popover?.remove();
    this._popover = null;
    this._chip.setAttribute('aria-expanded', 'false');
  }

  private _render(): void {
    const trans = this._trans;
    const chip = this._chip;
    chip.classList.remove('jp-mod-low', 'jp-mod-mid', 'jp-mod-high', 'jp-mod-live', 'jp-mod-modeled', 'jp-mod-cut');
    if (this._live !== null) {
      const elapsed = Math.max(Date.now() / 1000 - this._live.startedAt, 0);
      const text = trans.__(
        '⚡ running %1 · node %2 so far',
        formatDuration(elapsed),
        formatEnergy(this._live.nodeJoules, this._options.energyUnit)
      );
      chip.textContent = text;
      chip.classList.add('jp-mod-live');
      chip.setAttribute('aria-label', text);
      chip.title = trans.__('Live: the whole node since the cell started; the cell’s own share follows when it ends.');
      this.show();
      return;
    }
    const summary = this._summary;
    if (!summary) {
      this._closePopover();
      chip.replaceChildren();
      chip.removeAttribute('aria-label');
      this.hide();
      return;
    }
    const parts: string[] = [];
    const modeled = summary.methods.includes('modeled');
    const approx = modeled || summary.flags.includes('below-resolution') ? '≈ ' : '';
    for (const figure of this._options.figures) {
      if (figure === 'energy') {
        parts.push(approx + formatEnergy(summary.energy_j, this._options.energyUnit));
      } else if (figure === 'carbon' && summary.gco2e !== null) {
        parts.push(formatCarbon(summary.gco2e));
      } else if (figure === 'cost' && summary.cost !== null) {
        parts.push(formatCost(summary.cost, summary.currency));
      } else if (figure === 'duration') {
        parts.push(formatDuration(summary.duration_s));
      }
    }
    const marks: string[] = [];
    const outcome = Private.outcome(trans, summary);
    if (outcome) {
      marks.push(outcome);
    }
    if (modeled) {
      marks.push(trans.__('modeled'));
    }
    if (summary.flags.includes('below-resolution')) {
      marks.push(trans.__('below resolution'));
    }
    if (summary.intensity?.is_assumption) {
      marks.push(trans.__('region unknown'));
    }
    chip.replaceChildren();
    const main = document.createElement('span');
    main.textContent = `⚡ ${parts.join(' · ')}`;
    chip.append(main);
    if (marks.length > 0) {
      const quiet = document.createElement('span');
      quiet.className = 'jp-carbon-Badge-marks';
      quiet.textContent = marks.join(', ');
      chip.append(quiet);
    }
    if (modeled) {
      chip.classList.add('jp-mod-modeled');
    }
    if (outcome) {
      chip.classList.add('jp-mod-cut');
    }
    if (this._level) {
      chip.classList.add(`jp-mod-${this._level}`);
    }
    const levelText = this._level
      ? trans.__('%1 compared with the other cells of this notebook', Private.levelWord(trans, this._level))
      : '';
    const label = trans.__(
      'Energy of the last run: %1. %2 Press Enter for details.',
      parts.join(', '),
      marks.join(', ')
    );
    chip.setAttribute('aria-label', `${label} ${levelText}`.trim());
    chip.title = levelText || trans.__('Click for details');
    this.show();
  }

  private _chip: HTMLButtonElement;
  private _summary: ICarbonSummary | null = null;
  private _level: RelativeLevel = null;
  private _options: IBadgeOptions = { figures: ['energy', 'carbon', 'cost', 'duration'], energyUnit: 'Wh' };
  private _live: ILiveState | null = null;
  private _lastPowerAt: number | null = null;
  private _timer = 0;
  private _popover: HTMLElement | null = null;
  private _outsideClick: ((event: MouseEvent) => void) | null = null;
}

namespace Private {
  /** How a run that did not end well ended, first on its badge; null when it ended well. */
  export function outcome(trans: TranslationBundle, summary: ICarbonSummary): string | null {
    if (summary.status === 'error') {
      return trans.__('failed');
    }
    if (summary.status !== 'interrupted') {
      return null;
    }
    const flags = summary.flags;
    if (flags.includes('kernel-crash') || flags.includes('kernel-died')) {
      return trans.__('kernel died');
    }
    if (flags.includes('kernel-restart')) {
      return trans.__('cut short by a restart');
    }
    if (flags.includes('kernel-shutdown')) {
      return trans.__('cut short by a shutdown');
    }
    if (flags.includes('server-shutdown') || flags.includes('server-crash')) {
      return trans.__('cut short: the server stopped');
    }
    return trans.__('interrupted');
  }

  export function levelWord(trans: TranslationBundle, level: NonNullable<RelativeLevel>): string {
    return level === 'low' ? trans.__('Low') : level === 'mid' ? trans.__('Medium') : trans.__('High');
  }

  function row(table: HTMLTableSectionElement, cells: string[], header = false): void {
    const tr = table.insertRow();
    for (const text of cells) {
      const cell = document.createElement(header ? 'th' : 'td');
      cell.textContent = text;
      tr.append(cell);
    }
  }

  function section(parent: HTMLElement, title: string): HTMLElement {
    const heading = document.createElement('h4');
    heading.textContent = title;
    parent.append(heading);
    return heading;
  }

  /** The detail popover: devices, node vs attributed, idle/active, intensity, cost, equivalents, history. */
  export function popover(trans: TranslationBundle, summary: ICarbonSummary, unit: EnergyUnit): HTMLElement {
    const node = document.createElement('div');
    node.className = 'jp-carbon-Popover';
    node.setAttribute('role', 'dialog');
    node.setAttribute('aria-label', trans.__('Energy and carbon of this run'));
    node.tabIndex = -1;

    section(node, trans.__('Energy by device'));
    const devices = document.createElement('table');
    const head = devices.createTHead();
    row(head, [trans.__('Device'), trans.__('This cell'), trans.__('Whole node'), trans.__('Method')], true);
    const body = devices.createTBody();
    for (const channel of summary.channels) {
      row(body, [
        channel.label,
        formatEnergy(channel.attributed_j, unit),
        formatEnergy(channel.node_j, unit),
        channel.method
      ]);
    }
    row(body, [trans.__('Total'), formatEnergy(summary.energy_j, unit), formatEnergy(summary.node_j, unit), '']);
    node.append(devices);

    const split = document.createElement('p');
    split.textContent = trans.__(
      'This cell: %1 above idle, %2 of the idle baseline, over %3.',
      formatEnergy(summary.active_j, unit),
      formatEnergy(summary.idle_j, unit),
      formatDuration(summary.duration_s)
    );
    node.append(split);
    if (summary.flags.length > 0) {
      const flags = document.createElement('p');
      flags.className = 'jp-carbon-Popover-flags';
      flags.textContent = trans.__('Flags: %1', summary.flags.join(', '));
      node.append(flags);
    }

    section(node, trans.__('Carbon and cost'));
    const impact = document.createElement('p');
    if (summary.intensity && summary.gco2e !== null) {
      const year = summary.intensity.year ? ` ${summary.intensity.year}` : '';
      impact.textContent = trans.__(
        '%1 at %2 gCO₂e/kWh (%3: %4%5), PUE %6.',
        formatCarbon(summary.gco2e),
        significant(summary.intensity.gco2e_per_kwh),
        summary.intensity.method,
        summary.intensity.source,
        year,
        String(summary.pue ?? 1)
      );
      if (summary.intensity.is_assumption) {
        const note = document.createElement('p');
        note.className = 'jp-carbon-Popover-assumption';
        note.textContent = summary.intensity.message;
        node.append(impact, note);
      } else {
        node.append(impact);
      }
    } else {
      impact.textContent = trans.__('No carbon intensity was known when this ran.');
      node.append(impact);
    }
    const cost = document.createElement('p');
    cost.textContent =
      summary.cost !== null
        ? trans.__('Cost: %1', formatCost(summary.cost, summary.currency))
        : trans.__('Cost: set a price per kWh in Settings > Carbon to see it.');
    node.append(cost);
    if (summary.prediction) {
      node.append(predictionSection(trans, summary.prediction, summary, unit));
    }

    if (summary.equivalents.length > 0) {
      section(node, trans.__('That is about'));
      const list = document.createElement('ul');
      for (const equivalent of summary.equivalents) {
        const item = document.createElement('li');
        item.textContent = `${significant(equivalent.value)} ${equivalent.unit} — ${equivalent.label}`;
        item.title = equivalent.source;
        list.append(item);
      }
      node.append(list);
    }

    if (summary.history.length > 0) {
      section(node, trans.__('Previous runs of this cell'));
      const history = document.createElement('table');
      row(
        history.createTHead(),
        [trans.__('When'), trans.__('Duration'), trans.__('Energy'), trans.__('Carbon')],
        true
      );
      const rows = history.createTBody();
      for (const entry of summary.history) {
        row(rows, [
          new Date(entry.started_at * 1000).toLocaleString(),
          formatDuration(entry.duration_s),
          formatEnergy(entry.energy_j, unit),
          formatCarbon(entry.gco2e)
        ]);
      }
      node.append(history);
    }
    const power = summary.duration_s > 0 ? summary.energy_j / summary.duration_s : null;
    const footer = document.createElement('p');
    footer.className = 'jp-carbon-Popover-footer';
    footer.textContent = trans.__(
      'Mean power %1 on %2 · methods: %3',
      formatPower(power),
      summary.host,
      summary.methods.join(', ')
    );
    node.append(footer);
    return node;
  }
}
