/** The search box and the filter form above the list. */

import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { LedgerGroupKey } from '../tokens';
import { EMPTY_FORM, ILedgerFilterForm } from './filters';

/** Milliseconds the search waits for the user to stop typing. */
export const SEARCH_DEBOUNCE_MS = 300;

let nextId = 0;

/** A unique id for label/control pairs. */
function uniqueId(name: string): string {
  return `jp-carbon-Ledger-${name}-${nextId++}`;
}

/** The search box, grouping, trash switch and the collapsible filter form. */
export class FilterBar extends Widget {
  constructor(private readonly _trans: TranslationBundle) {
    super();
    this.addClass('jp-carbon-Ledger-filterBar');
    const trans = _trans;

    const top = document.createElement('div');
    top.className = 'jp-carbon-Ledger-searchRow';
    this._search = document.createElement('input');
    this._search.type = 'search';
    this._search.className = 'jp-mod-styled jp-carbon-Ledger-search';
    this._search.placeholder = trans.__('Search notebook, code, experiment, tags');
    this._search.setAttribute('aria-label', trans.__('Search runs'));
    this._search.addEventListener('input', () => {
      window.clearTimeout(this._searchTimer);
      this._searchTimer = window.setTimeout(() => this._set({ search: this._search.value }), SEARCH_DEBOUNCE_MS);
    });
    this._search.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        window.clearTimeout(this._searchTimer);
        this._set({ search: this._search.value });
      }
    });

    const formId = uniqueId('filters');
    this._toggle = document.createElement('button');
    this._toggle.className = 'jp-carbon-Ledger-button jp-carbon-Ledger-filterToggle';
    this._toggle.textContent = trans.__('Filters');
    this._toggle.setAttribute('aria-expanded', 'false');
    this._toggle.setAttribute('aria-controls', formId);
    this._toggle.addEventListener('click', () => this.toggleForm());

    this._grouping = document.createElement('select');
    this._grouping.className = 'jp-mod-styled jp-carbon-Ledger-grouping';
    this._grouping.setAttribute('aria-label', trans.__('Group runs by'));
    const groupings: Array<[string, string]> = [
      ['', trans.__('No grouping')],
      ['experiment', trans.__('By experiment')],
      ['notebook', trans.__('By notebook')],
      ['day', trans.__('By day')]
    ];
    for (const [value, label] of groupings) {
      this._grouping.append(new Option(label, value));
    }
    this._grouping.addEventListener('change', () => {
      this._groupingChanged.emit((this._grouping.value || null) as LedgerGroupKey | null);
    });

    top.append(this._search, this._toggle, this._grouping);

    this._form = document.createElement('div');
    this._form.id = formId;
    this._form.className = 'jp-carbon-Ledger-filters';
    this._form.setAttribute('role', 'group');
    this._form.setAttribute('aria-label', trans.__('Filters'));
    this._form.hidden = true;
    this._experiments = document.createElement('datalist');
    this._experiments.id = uniqueId('experiments');

    this._form.append(
      this._checkbox('thisNotebook', trans.__('This notebook only')),
      this._checkbox('trash', trans.__('Trash (deleted runs)')),
      this._text('experiment', trans.__('Experiment'), this._experiments.id),
      this._text('tags', trans.__('Tags (all of, comma-separated)')),
      this._text('kernelId', trans.__('Kernel id')),
      this._date('from', trans.__('From')),
      this._date('to', trans.__('To (inclusive)')),
      this._methodSelect(),
      this._text('flags', trans.__('Flags (all of, comma-separated)')),
      this._experiments
    );
    const clear = document.createElement('button');
    clear.className = 'jp-carbon-Ledger-button';
    clear.textContent = trans.__('Clear filters');
    clear.addEventListener('click', () => this.reset());
    this._form.append(clear);

    this.node.append(top, this._form);
  }

  /** The form changed (the search after a pause in typing). */
  get changed(): ISignal<this, ILedgerFilterForm> {
    return this._changed;
  }

  /** The grouping select changed. */
  get groupingChanged(): ISignal<this, LedgerGroupKey | null> {
    return this._groupingChanged;
  }

  get form(): ILedgerFilterForm {
    return this._value;
  }

  /** The search box, for focusing. */
  get searchInput(): HTMLInputElement {
    return this._search;
  }

  toggleForm(): void {
    this._form.hidden = !this._form.hidden;
    this._toggle.setAttribute('aria-expanded', String(!this._form.hidden));
    this._formToggled.emit(!this._form.hidden);
  }

  /** The form was shown or hidden. */
  get formToggled(): ISignal<this, boolean> {
    return this._formToggled;
  }

  /** Offer these experiment names in the experiment field. */
  setExperimentSuggestions(names: string[]): void {
    this._experiments.replaceChildren(...names.map(name => new Option(name, name)));
  }

  /** Show the grouping (a group opened elsewhere keeps the select in step). */
  setGrouping(by: LedgerGroupKey | null): void {
    this._grouping.value = by ?? '';
  }

  reset(): void {
    this._search.value = '';
    for (const [key, element] of this._controls) {
      const value = EMPTY_FORM[key];
      if (element instanceof HTMLInputElement && element.type === 'checkbox') {
        element.checked = value as boolean;
      } else {
        element.value = value as string;
      }
    }
    this._value = { ...EMPTY_FORM };
    this._changed.emit(this._value);
  }

  dispose(): void {
    window.clearTimeout(this._searchTimer);
    super.dispose();
  }

  private _set(change: Partial<ILedgerFilterForm>): void {
    this._value = { ...this._value, ...change };
    this._changed.emit(this._value);
  }

  private _field(label: string, control: HTMLElement): HTMLElement {
    const field = document.createElement('div');
    field.className = 'jp-carbon-Ledger-field';
    const caption = document.createElement('label');
    caption.textContent = label;
    caption.htmlFor = control.id;
    field.append(caption, control);
    return field;
  }

  private _checkbox(key: 'thisNotebook' | 'trash', label: string): HTMLElement {
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.id = uniqueId(key);
    input.addEventListener('change', () => this._set({ [key]: input.checked }));
    this._controls.set(key, input);
    const field = this._field(label, input);
    field.classList.add('jp-carbon-Ledger-checkField');
    return field;
  }

  private _text(key: 'experiment' | 'tags' | 'kernelId' | 'flags', label: string, list?: string): HTMLElement {
    const input = document.createElement('input');
    input.type = 'text';
    input.className = 'jp-mod-styled';
    input.id = uniqueId(key);
    if (list) {
      input.setAttribute('list', list);
    }
    input.addEventListener('change', () => this._set({ [key]: input.value }));
    this._controls.set(key, input);
    return this._field(label, input);
  }

  private _date(key: 'from' | 'to', label: string): HTMLElement {
    const input = document.createElement('input');
    input.type = 'date';
    input.className = 'jp-mod-styled';
    input.id = uniqueId(key);
    input.addEventListener('change', () => this._set({ [key]: input.value }));
    this._controls.set(key, input);
    return this._field(label, input);
  }

  private _methodSelect(): HTMLElement {
    const trans = this._trans;
    const select = document.createElement('select');
    select.className = 'jp-mod-styled';
    select.id = uniqueId('method');
    select.append(
      new Option(trans.__('Any method'), ''),
      new Option(trans.__('Measured only'), 'measured'),
      new Option(trans.__('Modeled (any channel)'), 'modeled')
    );
    select.addEventListener('change', () => this._set({ method: select.value as ILedgerFilterForm['method'] }));
    this._controls.set('method', select);
    return this._field(trans.__('Method'), select);
  }

  private _search: HTMLInputElement;
  private _toggle: HTMLButtonElement;
  private _grouping: HTMLSelectElement;
  private _form: HTMLDivElement;
  private _experiments: HTMLDataListElement;
  private _controls = new Map<keyof ILedgerFilterForm, HTMLInputElement | HTMLSelectElement>();
  private _value: ILedgerFilterForm = { ...EMPTY_FORM };
  private _searchTimer = 0;
  private _changed = new Signal<this, ILedgerFilterForm>(this);
  private _groupingChanged = new Signal<this, LedgerGroupKey | null>(this);
  private _formToggled = new Signal<this, boolean>(this);
}
