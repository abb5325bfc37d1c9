/**
 * The virtual list: a fixed row height, a body as tall as all rows, and only the rows in view in
 * the DOM. Asks the model for the rows it shows, so only their pages are fetched.
 */

import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { EnergyUnit } from '../format';
import { COLUMNS, GROUP_COLUMNS, groupKeyText, groupLabel, ICellText, IColumnContext, totalsCells } from './columns';
import { LedgerListModel, SelectMode } from './model';

/** Row height in pixels (fixed: the body's height and each row's place follow from it). */
export const ROW_HEIGHT = 26;

/** Rows rendered above and below the visible ones, so fast scrolling shows no blank edge. */
const OVERSCAN = 8;

/** What the user asked a row for. */
export interface IRowActivation {
  index: number;
}

let nextGridId = 0;

/** The ledger's rows as an ARIA grid. */
export class LedgerGrid extends Widget {
  constructor(
    private readonly _model: LedgerListModel,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this._idPrefix = `jp-carbon-Ledger-row-${nextGridId++}-`;
    this.addClass('jp-carbon-Ledger-grid');
    const node = this.node;
    node.tabIndex = 0;
    node.setAttribute('role', 'grid');
    node.setAttribute('aria-multiselectable', 'true');
    node.setAttribute('aria-label', _trans.__('Runs'));
    this._header = document.createElement('div');
    this._header.className = 'jp-carbon-Ledger-headerRow';
    this._header.setAttribute('role', 'row');
    this._header.setAttribute('aria-rowindex', '1');
    this._body = document.createElement('div');
    this._body.className = 'jp-carbon-Ledger-body';
    this._body.setAttribute('role', 'rowgroup');
    this._empty = document.createElement('div');
    this._empty.className = 'jp-carbon-Ledger-empty';
    node.append(this._header, this._body, this._empty);

    node.addEventListener('scroll', () => this._schedule());
    node.addEventListener('keydown', event => this._onKeyDown(event));
    this._body.addEventListener('click', event => this._onClick(event));
    _model.changed.connect(this._onModelChanged, this);
    _model.selectionChanged.connect(this._schedule, this);
    _model.inserted.connect(this._onInserted, this);
    _model.reset.connect(this._onReset, this);
  }

  /** Enter, or a click without modifier keys, on a row. */
  get activated(): ISignal<this, IRowActivation> {
    return this._activated;
  }

  /** The row with the keyboard focus. */
  get activeIndex(): number {
    return this._active;
  }

  set energyUnit(unit: EnergyUnit) {
    this._energyUnit = unit;
    this._schedule();
  }

  dispose(): void {
    window.cancelAnimationFrame(this._frame);
    super.dispose();
  }

  protected onAfterShow(): void {
    this._schedule();
  }

  protected onResize(): void {
    this._schedule();
  }

  private _onModelChanged(): void {
    if (this._active >= this._model.rowCount) {
      this._active = this._model.rowCount - 1;
    }
    this._schedule();
  }

  /** A new list: back to its top, no row active. */
  private _onReset(): void {
    this._active = -1;
    this.node.scrollTop = 0;
    this._schedule();
  }

  /** Live rows on top: keep the rows the user looks at in place, unless they are at the very top. */
  private _onInserted(_: LedgerListModel, count: number): void {
    if (this._active >= 0) {
      this._active += count;
    }
    if (this.node.scrollTop > 0) {
      this._body.style.height = `${this._model.rowCount * ROW_HEIGHT}px`;
      this.node.scrollTop += count * ROW_HEIGHT;
    }
    this._schedule();
  }

  private _schedule(): void {
    if (this._frame === 0 && !this.isDisposed) {
      this._frame = window.requestAnimationFrame(() => {
        this._frame = 0;
        this._render();
      });
    }
  }

  private get _context(): IColumnContext {
    return { trans: this._trans, energyUnit: this._energyUnit };
  }

  private _render(): void {
    if (this.isDisposed || !this.isVisible) {
      return;
    }
    const model = this._model;
    const count = model.rowCount;
    const node = this.node;
    this._renderHeader();
    node.setAttribute('aria-rowcount', String(count + 1));
    node.setAttribute('aria-busy', String(model.loading));
    this._body.style.height = `${count * ROW_HEIGHT}px`;
    const headerHeight = this._header.offsetHeight;
    const viewHeight = Math.max(node.clientHeight - headerHeight, ROW_HEIGHT);
    const first = Math.max(0, Math.floor(node.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(count - 1, Math.ceil((node.scrollTop + viewHeight) / ROW_HEIGHT) + OVERSCAN);
    model.ensureRange(first, last);

    const rows: HTMLElement[] = [];
    for (let index = first; index <= last; index++) {
      rows.push(this._renderRow(index));
    }
    this._body.replaceChildren(...rows);
    const active = this._active >= first && this._active <= last ? `${this._idPrefix}${this._active}` : null;
    if (active) {
      node.setAttribute('aria-activedescendant', active);
    } else {
      node.removeAttribute('aria-activedescendant');
    }
    this._empty.textContent = count === 0 && !model.loading ? this._emptyText() : '';
    this._empty.hidden = this._empty.textContent === '';
  }

  private _emptyText(): string {
    const trans = this._trans;
    if (this._model.error) {
      return trans.__('The ledger could not be read: %1', this._model.error);
    }
    return this._model.effectiveFilters.deleted === 'only'
      ? trans.__('The trash is empty.')
      : trans.__('No runs match. Run a cell, or change the search and filters.');
  }

  private _renderHeader(): void {
    const model = this._model;
    const trans = this._trans;
    const key = JSON.stringify([model.showsGroups, model.grouping, model.sort]);
    if (key === this._headerKey) {
      return;
    }
    this._headerKey = key;
    const cells: HTMLElement[] = [];
    if (model.showsGroups && model.grouping) {
      cells.push(this._headerCell(groupLabel(model.grouping, trans), 200));
      for (const column of GROUP_COLUMNS) {
        cells.push(this._headerCell(column.label(trans), column.width));
      }
    } else {
      for (const column of COLUMNS) {
        const cell = this._headerCell(column.label(trans), column.width, column.numeric);
        const sortKey = column.sortKey;
        if (sortKey) {
          const sorted = model.sort.key === sortKey;
          cell.setAttribute('aria-sort', sorted ? (model.sort.order === 'asc' ? 'ascending' : 'descending') : 'none');
          const button = document.createElement('button');
          button.className = 'jp-carbon-Ledger-sortButton';
          button.textContent = column.label(trans);
          button.title = trans.__('Sort by %1', column.label(trans));
          if (sorted) {
            const arrow = document.createElement('span');
            arrow.className = 'jp-carbon-Ledger-sortArrow';
            arrow.setAttribute('aria-hidden', 'true');
            arrow.textContent = model.sort.order === 'asc' ? '▲' : '▼';
            button.append(arrow);
          }
          button.addEventListener('click', () => model.toggleSort(sortKey));
          cell.replaceChildren(button);
        }
        cells.push(cell);
      }
    }
    this._header.replaceChildren(...cells);
    this._header.style.width = this._body.style.width = `${this._rowWidth()}px`;
  }

  private _rowWidth(): number {
    const model = this._model;
    if (model.showsGroups) {
      return 200 + GROUP_COLUMNS.reduce((sum, column) => sum + column.width, 0);
    }
    return COLUMNS.reduce((sum, column) => sum + column.width, 0);
  }

  private _headerCell(label: string, width: number, numeric = false): HTMLElement {
    const cell = document.createElement('div');
    cell.className = 'jp-carbon-Ledger-cell jp-carbon-Ledger-headerCell';
    cell.classList.toggle('jp-mod-numeric', numeric);
    cell.setAttribute('role', 'columnheader');
    cell.style.width = `${width}px`;
    cell.textContent = label;
    return cell;
  }

  private _renderRow(index: number): HTMLElement {
    const model = this._model;
    const row = document.createElement('div');
    row.className = 'jp-carbon-Ledger-row';
    row.id = `${this._idPrefix}${index}`;
    row.dataset.index = String(index);
    row.setAttribute('role', 'row');
    row.setAttribute('aria-rowindex', String(index + 2));
    row.style.top = `${index * ROW_HEIGHT}px`;
    row.style.height = `${ROW_HEIGHT}px`;
    const selected = model.isSelected(index);
    row.setAttribute('aria-selected', String(selected));
    row.classList.toggle('jp-mod-selected', selected);
    row.classList.toggle('jp-mod-active', index === this._active);
    const context = this._context;
    if (model.showsGroups && model.grouping) {
      const group = model.group(index);
      if (group) {
        const texts = [groupKeyText(group, model.grouping), ...totalsCells(group, context)];
        const widths = [200, ...GROUP_COLUMNS.map(column => column.width)];
        texts.forEach((text, i) => row.append(this._cell(text, widths[i], i > 0)));
        row.classList.add('jp-mod-group');
      }
      return row;
    }
    const run = model.run(index);
    if (!run) {
      row.setAttribute('aria-busy', 'true');
      row.append(this._cell({ text: this._trans.__('Loading…') }, this._rowWidth()));
      return row;
    }
    if ((run.deleted_at ?? null) !== null) {
      row.classList.add('jp-mod-deleted');
    }
    for (const column of COLUMNS) {
      row.append(this._cell(column.run(run, context), column.width, column.numeric));
    }
    return row;
  }

  private _cell(content: ICellText, width: number, numeric = false): HTMLElement {
    const cell = document.createElement('div');
    cell.className = 'jp-carbon-Ledger-cell';
    cell.classList.toggle('jp-mod-numeric', numeric);
    cell.setAttribute('role', 'gridcell');
    cell.style.width = `${width}px`;
    // Run data (paths, code, tags, notes) is untrusted: text only, never HTML.
    cell.textContent = content.text;
    if (content.title) {
      cell.title = content.title;
    }
    return cell;
  }

  private _rowIndexOf(event: MouseEvent): number {
    const row = (event.target as HTMLElement).closest('.jp-carbon-Ledger-row') as HTMLElement | null;
    return row?.dataset.index === undefined ? -1 : Number(row.dataset.index);
  }

  private _onClick(event: MouseEvent): void {
    const index = this._rowIndexOf(event);
    if (index < 0) {
      return;
    }
    this.node.focus({ preventScroll: true });
    const mode: SelectMode = event.shiftKey ? 'range' : event.ctrlKey || event.metaKey ? 'toggle' : 'replace';
    this._active = index;
    this._model.select(index, mode);
    if (mode === 'replace') {
      this._activated.emit({ index });
    }
  }

  private _moveTo(index: number, event: KeyboardEvent): void {
    const count = this._model.rowCount;
    if (count === 0) {
      return;
    }
    this._active = Math.max(0, Math.min(count - 1, index));
    if (event.shiftKey) {
      this._model.select(this._active, 'range');
    } else if (!(event.ctrlKey || event.metaKey)) {
      this._model.select(this._active, 'replace');
    }
    this._scrollIntoView(this._active);
    this._schedule();
  }

  private _scrollIntoView(index: number): void {
    const node = this.node;
    const viewHeight = node.clientHeight - this._header.offsetHeight;
    const top = index * ROW_HEIGHT;
    if (top < node.scrollTop) {
      node.scrollTop = top;
    } else if (top + ROW_HEIGHT > node.scrollTop + viewHeight) {
      node.scrollTop = top + ROW_HEIGHT - viewHeight;
    }
  }

  private _onKeyDown(event: KeyboardEvent): void {
    if (event.target !== this.node) {
      return; // a header button handles its own keys
    }
    const page = Math.max(1, Math.floor((this.node.clientHeight - this._header.offsetHeight) / ROW_HEIGHT) - 1);
    const active = this._active;
    const handled = (): void => {
      event.preventDefault();
      event.stopPropagation();
    };
    switch (event.key) {
      case 'ArrowDown':
        handled();
        this._moveTo(active + 1, event);
        break;
      case 'ArrowUp':
        handled();
        this._moveTo(Math.max(active - 1, 0), event);
        break;
      case 'PageDown':
        handled();
        this._moveTo(active + page, event);
        break;
      case 'PageUp':
        handled();
        this._moveTo(active - page, event);
        break;
      case 'Home':
        handled();
        this._moveTo(0, event);
        break;
      case 'End':
        handled();
        this._moveTo(this._model.rowCount - 1, event);
        break;
      case ' ':
        handled();
        if (active >= 0) {
          this._model.select(active, event.shiftKey ? 'range' : 'toggle');
        }
        break;
      case 'Enter':
        handled();
        if (active >= 0) {
          this._activated.emit({ index: active });
        }
        break;
      case 'a':
        if (event.ctrlKey || event.metaKey) {
          handled();
          this._model.selectAllLoaded();
        }
        break;
      case 'Escape':
        if (this._model.selection.size > 0) {
          handled();
          this._model.clearSelection();
        }
        break;
    }
  }

  private _header: HTMLDivElement;
  private _body: HTMLDivElement;
  private _empty: HTMLDivElement;
  private _idPrefix: string;
  private _headerKey = '';
  private _active = -1;
  private _frame = 0;
  private _energyUnit: EnergyUnit = 'Wh';
  private _activated = new Signal<this, IRowActivation>(this);
}
