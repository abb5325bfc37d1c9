import { DOMUtils, type IThemeManager } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import type { Result } from 'vega-embed';

import { IChart } from './chart';
import { sortableTable } from './table';

/** Whether JupyterLab shows a dark theme now (the body carries the theme's lightness). */
export function isDarkTheme(): boolean {
  return document.body.dataset.jpThemeLight === 'false';
}

/**
 * One vega-lite chart: a heading, the chart drawn by vega-embed in the JupyterLab theme's light or
 * dark variant (redrawn when the theme changes), its description for screen readers, vega-embed's
 * menu to save it as PNG or SVG, and the same figures as a sortable table under a disclosure.
 *
 * vega-embed is loaded on first use, so JupyterLab's start does not pay for vega.
 */
export class ChartView extends Widget {
  constructor(
    private readonly _chart: IChart,
    private readonly _trans: TranslationBundle,
    private readonly _themes: IThemeManager | null
  ) {
    super();
    this.addClass('jp-carbon-chart');
    this.id = DOMUtils.createDomID();
    const figure = document.createElement('figure');
    const heading = document.createElement('figcaption');
    heading.className = 'jp-carbon-chart-title';
    heading.textContent = _chart.title;
    const description = document.createElement('p');
    description.className = 'jp-carbon-chart-description';
    description.id = `${this.id}-description`;
    description.textContent = _chart.description;
    this._plot.className = 'jp-carbon-chart-plot';
    this._plot.setAttribute('role', 'img');
    this._plot.setAttribute('aria-label', _chart.title);
    this._plot.setAttribute('aria-describedby', description.id);
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = _trans.__('Show the figures as a table');
    details.append(summary, sortableTable(_chart.table, _chart.title, _trans));
    figure.append(heading, description, this._plot, details);
    this.node.appendChild(figure);
    _themes?.themeChanged.connect(this._redraw, this);
    this._drawn = this._draw();
  }

  /** Settles when the chart is drawn (or its failure shown); for tests and callers that wait. */
  get ready(): Promise<void> {
    return this._drawn;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._themes?.themeChanged.disconnect(this._redraw, this);
    this._result?.finalize();
    super.dispose();
  }

  private _redraw(): void {
    this._drawn = this._draw();
  }

  private async _draw(): Promise<void> {
    const dark = isDarkTheme();
    try {
      const { default: embed } = await import('vega-embed');
      if (this.isDisposed) {
        return;
      }
      this._result?.finalize();
      this._result = await embed(this._plot, this._chart.spec, {
        renderer: 'svg',
        theme: dark ? 'dark' : undefined,
        config: { background: 'transparent' },
        tooltip: { theme: dark ? 'dark' : 'light' },
        actions: { export: true, source: false, compiled: false, editor: false },
        downloadFileName: this._chart.title.replace(/[^\w-]+/g, '-').toLowerCase(),
        i18n: {
          PNG_ACTION: this._trans.__('Save as PNG'),
          SVG_ACTION: this._trans.__('Save as SVG'),
          CLICK_TO_VIEW_ACTIONS: this._trans.__('Click to view actions'),
          COMPILED_ACTION: this._trans.__('View compiled Vega'),
          EDITOR_ACTION: this._trans.__('Open in Vega Editor'),
          SOURCE_ACTION: this._trans.__('View source')
        }
      });
      this.node.classList.toggle('jp-carbon-chart-dark', dark);
    } catch (error) {
      this._plot.textContent = this._trans.__('The chart could not be drawn: %1', (error as Error).message);
      console.error('jupyterlab-carbon: a chart could not be drawn', error);
    }
  }

  private readonly _plot = document.createElement('div');
  private _result: Result | null = null;
  private _drawn: Promise<void> = Promise.resolve();
}
