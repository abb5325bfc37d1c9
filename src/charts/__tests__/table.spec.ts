import { nullTranslator } from '@jupyterlab/translation';

import { sortableTable } from '../table';

const trans = nullTranslator.load('jupyterlab_carbon');

describe('sortableTable', () => {
  const table = () =>
    sortableTable(
      {
        columns: ['Where', 'Emitted'],
        rows: [
          [
            { text: 'France', value: 'France' },
            { text: '5 g', value: 5 }
          ],
          [
            { text: '<b>Poland</b>', value: 'Poland' },
            { text: '40 g', value: 40 }
          ],
          [
            { text: 'Brazil', value: 'Brazil' },
            { text: '–', value: -Infinity }
          ]
        ]
      },
      'What if',
      trans
    );
  const column = (element: HTMLTableElement, index: number) =>
    [...element.tBodies[0].rows].map(row => row.cells[index].textContent);

  it('keeps the given order until a header is pressed, and sets cells as text', () => {
    const element = table();
    expect(element.caption?.textContent).toBe('What if');
    expect(column(element, 0)).toEqual(['France', '<b>Poland</b>', 'Brazil']);
    expect(element.querySelector('b')).toBeNull();
    expect([...element.querySelectorAll('th')].map(th => th.getAttribute('aria-sort'))).toEqual(['none', 'none']);
  });

  it('sorts by value, ascending then descending, and says so with aria-sort', () => {
    const element = table();
    const [, emitted] = [...element.querySelectorAll('button')];
    emitted.click();
    expect(column(element, 1)).toEqual(['–', '5 g', '40 g']);
    expect(element.querySelectorAll('th')[1].getAttribute('aria-sort')).toBe('ascending');
    emitted.click();
    expect(column(element, 1)).toEqual(['40 g', '5 g', '–']);
    expect(element.querySelectorAll('th')[1].getAttribute('aria-sort')).toBe('descending');
  });

  it('sorts text by its value, in the reader locale', () => {
    const element = table();
    element.querySelectorAll('button')[0].click();
    expect(column(element, 0)).toEqual(['Brazil', 'France', '<b>Poland</b>']);
  });
});
