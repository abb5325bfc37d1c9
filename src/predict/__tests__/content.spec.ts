import { nullTranslator } from '@jupyterlab/translation';

import { basisWords, gateContent, greenerWords, renderGateContent } from '../content';
import { IFlaggedCell } from '../gate';
import { prediction } from './fixtures';

const trans = nullTranslator.load('jupyterlab_carbon');

describe('the dialog content', () => {
  const flagged: IFlaggedCell<string>[] = [
    { cell: 'train', prediction: prediction(), exceeded: [{ figure: 'energy', predicted: 180, threshold: 10 }] }
  ];
  const labels = (cell: string) => ({ position: 3, firstLine: `${cell}(model, epochs=20)` });

  it('gives energy, CO2e, cost and duration with their interval, the threshold and the basis', () => {
    const content = gateContent(trans, flagged, labels, 'Wh');
    expect(content.title).toBe('Run an expensive cell?');
    const [cell] = content.cells;
    expect(cell.heading).toBe('Cell 3: train(model, epochs=20)');
    expect(cell.figures.map(f => f.label)).toEqual(['Energy', 'CO₂e', 'Cost', 'Duration']);
    expect(cell.figures[0].value).toMatch(/180.*Wh \(150.*Wh – 210.*Wh\)/);
    expect(cell.figures[1].value).toMatch(/85.*g.*70.*99/);
    expect(cell.figures[2].value).toMatch(/0\.05/);
    expect(cell.figures[3].value).toMatch(/40 ?min/);
    expect(cell.exceeded).toMatch(/Over your threshold: energy above 10.*Wh/);
    expect(cell.basis).toBe(
      "Based on the median of this cell's 5 earlier runs (same code) (median of this cell's 5 earlier runs (same code))."
    );
  });

  it('lists the greener zones, cloud regions and the forecast when there is one', () => {
    const lines = greenerWords(
      trans,
      prediction({
        greener: {
          zones: [{ zone: 'SE', label: 'Sweden', gco2e: 3.1 }],
          cloud: [{ provider: 'gcp', region: 'europe-north1', gco2e: 2.2 }],
          forecast: { at: 1795600000, gco2e_per_kwh: 40, gco2e: 20 }
        }
      })
    );
    expect(lines[0]).toMatch(/^Greenest grid zones: Sweden \(SE\) 3\.1/);
    expect(lines[1]).toMatch(/^Greenest cloud regions: gcp europe-north1 2\.2/);
    expect(lines[2]).toMatch(/forecast 40 gCO₂e\/kWh\): 20/);
    expect(greenerWords(trans, prediction({ greener: null }))).toEqual([]);
  });

  it('says which basis in words for each kind, and no price as such', () => {
    expect(basisWords(trans, { kind: 'prior', text: '' })).toMatch(/hardware priors/);
    expect(basisWords(trans, { kind: 'flops-declared', text: '' })).toMatch(/--predict/);
    const cell = gateContent(trans, [{ ...flagged[0], prediction: prediction({ cost: null }) }], labels, 'Wh').cells[0];
    expect(cell.figures[2].value).toBe('no price set');
  });

  it('one dialog for a Run All: every flagged cell, one title', () => {
    const content = gateContent(trans, [flagged[0], { ...flagged[0], cell: 'eval' }], labels, 'J');
    expect(content.title).toBe('Run 2 expensive cells?');
    expect(content.cells.map(c => c.heading)).toEqual([
      'Cell 3: train(model, epochs=20)',
      'Cell 3: eval(model, epochs=20)'
    ]);
    expect(content.cells[0].figures[0].value).toMatch(/MJ|kJ/);
  });

  it('renders server strings as text, never as HTML', () => {
    const hostile = '<img src=x onerror="window.pwned=1">';
    const content = gateContent(
      trans,
      [
        {
          ...flagged[0],
          prediction: prediction({
            basis: { kind: 'history', text: hostile, runs: 2 },
            greener: { zones: [{ zone: 'SE', label: hostile, gco2e: 1 }], cloud: [], forecast: null }
          })
        }
      ],
      () => ({ position: 1, firstLine: hostile }),
      'Wh'
    );
    const node = renderGateContent(content);
    expect(node.querySelector('img')).toBeNull();
    expect(node.textContent).toContain(hostile);
    expect(node.querySelectorAll('dt')).toHaveLength(4);
    expect(node.querySelector('ul')?.getAttribute('aria-label')).toBe('Greener options');
  });
});
