import type { IThemeManager } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Panel, Widget } from '@lumino/widgets';

import { ChartView } from '../charts/view';
import { sortableTable } from '../charts/table';
import { impactFigures } from '../compare/model';
import { formatCarbon, formatEnergy, significant } from '../format';
import { IRun } from '../tokens';
import { ICloudRegion, IGridZone } from './api';
import { countryOfZone, countryWhatIfs, greenestRegions, whatIfMap, whatIfTable } from './model';

/** What the what-if panel draws from. */
export interface IWhatIfData {
  zones: IGridZone[];
  regions: ICloudRegion[];
  /** world-atlas countries-110m TopoJSON. */
  topology: unknown;
  /** The zone of the user's intensity settings, when one is in force. */
  userZone: string | null;
}

/**
 * The what-if map: pick one of the compared runs; the map shows what it would have emitted on
 * each country's grid (at its own PUE), and beside it the greenest cloud regions per provider
 * (at each region's PUE).
 */
export class WhatIfPanel extends Panel {
  constructor(
    private readonly _runs: readonly IRun[],
    private readonly _labels: readonly string[],
    private readonly _data: IWhatIfData,
    private readonly _trans: TranslationBundle,
    private readonly _themes: IThemeManager | null
  ) {
    super();
    this.addClass('jp-carbon-whatif');
    const controls = document.createElement('label');
    controls.className = 'jp-carbon-whatif-controls';
    controls.append(_trans.__('Run to move: '), this._select);
    this._select.className = 'jp-mod-styled';
    _labels.forEach((label, index) => this._select.add(new Option(label, String(index))));
    this._select.addEventListener('change', () => this._show(Number(this._select.value)));
    this.addWidget(new Widget({ node: controls }));
    this._show(0);
  }

  private _show(index: number): void {
    for (const widget of [...this._content]) {
      widget.dispose();
    }
    this._content = [];
    const run = this._runs[index];
    const label = this._labels[index];
    const pue = impactFigures(run).pue ?? 1;
    const trans = this._trans;
    const note = document.createElement('p');
    note.className = 'jp-carbon-whatif-note';
    note.textContent = trans.__(
      "%1 drew %2. Countries: that energy x its PUE (%3) x the country's grid intensity. Cloud regions: x the region's own PUE and intensity.",
      label,
      formatEnergy(run.attributed_j),
      significant(pue)
    );
    const userCountry = countryOfZone(this._data.userZone);
    const countries = countryWhatIfs(this._data.zones, run.attributed_j, pue);
    const map = whatIfMap(this._data.topology, countries, userCountry, label, trans);
    const parts: Widget[] = [new Widget({ node: note })];
    if (map) {
      parts.push(new ChartView(map, trans, this._themes));
    } else {
      parts.push(this._message(trans.__('No figure: this run has no finite energy or PUE.')));
    }
    const regions = greenestRegions(this._data.regions, run.attributed_j);
    if (regions.length > 0) {
      const best = document.createElement('div');
      best.className = 'jp-carbon-whatif-regions';
      const heading = document.createElement('h3');
      heading.textContent = trans.__('Greenest cloud regions per provider');
      best.append(heading, sortableTable(whatIfTable(regions, trans), trans.__('Greenest cloud regions'), trans));
      parts.push(new Widget({ node: best }));
    }
    const userFigure = countries.find(country => country.key === userCountry);
    if (userFigure) {
      parts.push(
        this._message(
          trans.__(
            'On the grid of your country, %1, it would emit about %2.',
            userFigure.name,
            formatCarbon(userFigure.gco2e)
          )
        )
      );
    }
    for (const part of parts) {
      this.addWidget(part);
    }
    this._content = parts;
  }

  private _message(text: string): Widget {
    const node = document.createElement('p');
    node.className = 'jp-carbon-whatif-note';
    node.textContent = text;
    return new Widget({ node });
  }

  private readonly _select = document.createElement('select');
  private _content: Widget[] = [];
}
