import type { TranslationBundle } from '@jupyterlab/translation';

import { IChartTable } from './chart';

/**
 * A table whose column headers are buttons that sort it (ascending, then descending), with
 * `aria-sort` on the sorted column. Cells are set as text, never HTML.
 */
export function sortableTable(table: IChartTable, caption: string, trans: TranslationBundle): HTMLTableElement {
  const element = document.createElement('table');
  element.className = 'jp-carbon-table';
  const captionElement = element.createCaption();
  captionElement.textContent = caption;
  const head = element.createTHead().insertRow();
  const body = element.createTBody();
  let sortedBy = -1;
  let ascending = true;

  const fill = () => {
    const rows = [...table.rows];
    if (sortedBy >= 0) {
      const sign = ascending ? 1 : -1;
      rows.sort((a, b) => sign * compare(a[sortedBy].value, b[sortedBy].value));
    }
    body.replaceChildren(
      ...rows.map(row => {
        const tr = document.createElement('tr');
        for (const value of row) {
          tr.insertCell().textContent = value.text;
        }
        return tr;
      })
    );
    head.querySelectorAll('th').forEach((th, index) => {
      th.setAttribute('aria-sort', index === sortedBy ? (ascending ? 'ascending' : 'descending') : 'none');
    });
  };

  table.columns.forEach((column, index) => {
    const th = document.createElement('th');
    th.scope = 'col';
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'jp-carbon-table-sort';
    button.textContent = column;
    button.title = trans.__('Sort by %1', column);
    button.addEventListener('click', () => {
      ascending = sortedBy === index ? !ascending : true;
      sortedBy = index;
      fill();
    });
    th.appendChild(button);
    head.appendChild(th);
  });
  fill();
  return element;
}

/** Numbers before text; numbers by value, text in the reader's locale. */
function compare(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') {
    return a - b;
  }
  if (typeof a === 'number') {
    return -1;
  }
  if (typeof b === 'number') {
    return 1;
  }
  return a.localeCompare(b);
}
