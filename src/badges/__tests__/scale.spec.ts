import { ICellModel } from '@jupyterlab/cells';
import { NotebookModel } from '@jupyterlab/notebook';
import { PartialJSONObject } from '@lumino/coreutils';

import { EnergyScale, NotebookSummaries, RelativeLevel } from '../scale';
import { METADATA_KEY, summaryFromRun } from '../summary';
import { run } from './fixtures';

/** The definition the scale must keep: the share of the figures strictly below, in thirds. */
function levelByCounting(value: number, values: number[]): RelativeLevel {
  if (values.length < 3) {
    return null;
  }
  const rank = values.filter(v => v < value).length / (values.length - 1);
  return rank < 1 / 3 ? 'low' : rank < 2 / 3 ? 'mid' : 'high';
}

/** A small deterministic generator, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('EnergyScale', () => {
  it('makes no judgement with fewer than three figures', () => {
    const scale = new EnergyScale([5, 1]);
    expect(scale.level(5)).toBeNull();
    scale.add(3);
    expect(scale.level(5)).toBe('high');
  });

  it('ranks a value within the notebook’s own range', () => {
    const scale = new EnergyScale([7, 1, 4, 2, 6, 3, 5]);
    expect(scale.level(1)).toBe('low');
    expect(scale.level(4)).toBe('mid');
    expect(scale.level(7)).toBe('high');
  });

  it('agrees with counting over every figure through random additions and removals', () => {
    const random = lcg(42);
    const scale = new EnergyScale();
    const held: number[] = [];
    for (let step = 0; step < 2000; step++) {
      if (held.length > 0 && random() < 0.4) {
        const [removed] = held.splice(Math.floor(random() * held.length), 1);
        scale.remove(removed);
      } else {
        // Few distinct values, so that ties (equal energies) are common.
        const energy = Math.round(random() * 20);
        held.push(energy);
        scale.add(energy);
      }
      const probe = Math.round(random() * 22) - 1;
      expect([step, scale.size, scale.level(probe)]).toEqual([step, held.length, levelByCounting(probe, held)]);
    }
  });

  it('ignores the removal of a value it does not hold', () => {
    const scale = new EnergyScale([1, 2, 3]);
    scale.remove(2.5);
    expect(scale.size).toBe(3);
  });
});

/** Cell metadata holding the summary of one run of `energy` joules. */
function summaryMetadata(runId: string, energy: number): PartialJSONObject {
  return { [METADATA_KEY]: summaryFromRun(run(runId, energy), null) as unknown as PartialJSONObject };
}

/** A notebook model whose code cells carry summaries of the given energies (null: no summary). */
function notebookWith(energies: Array<number | null>): NotebookModel {
  const model = new NotebookModel();
  model.sharedModel.insertCells(
    0,
    energies.map((energy, index) => ({
      cell_type: 'code',
      id: `cell-${index}`,
      source: `x = ${index}`,
      metadata: energy === null ? {} : summaryMetadata(`r${index}`, energy)
    }))
  );
  return model;
}

/** Count metadata reads on every cell of the model. */
function countReads(model: NotebookModel): { count: number } {
  const reads = { count: 0 };
  for (let index = 0; index < model.cells.length; index++) {
    const cell: ICellModel = model.cells.get(index);
    const original = cell.getMetadata.bind(cell);
    cell.getMetadata = (key: string) => {
      reads.count++;
      return original(key);
    };
  }
  return reads;
}

describe('NotebookSummaries', () => {
  it('reads each cell’s metadata once, whatever is asked afterwards', () => {
    for (const size of [30, 300]) {
      const model = notebookWith(Array.from({ length: size }, (_, i) => i + 1));
      const reads = countReads(model);
      const summaries = new NotebookSummaries(model);
      expect(reads.count).toBe(size);
      for (let index = 0; index < size; index++) {
        const summary = summaries.summary(`cell-${index}`);
        expect(summary?.energy_j).toBe(index + 1);
        summaries.level(summary!.energy_j);
      }
      expect(reads.count).toBe(size);
      summaries.dispose();
      model.dispose();
    }
  });

  it('knows cells by id and levels energies among the notebook’s summaries', () => {
    const model = notebookWith([10, null, 30, 20]);
    const summaries = new NotebookSummaries(model);
    expect(summaries.cell('cell-1')).toBe(model.cells.get(1));
    expect(summaries.cell('nope')).toBeNull();
    expect(summaries.summary('cell-1')).toBeNull();
    expect(summaries.level(10)).toBe('low');
    expect(summaries.level(20)).toBe('mid');
    expect(summaries.level(30)).toBe('high');
  });

  it('follows a cell’s summary as runs are written and outputs cleared', () => {
    const model = notebookWith([10, null, 30, 20]);
    const summaries = new NotebookSummaries(model);
    let changes = 0;
    summaries.changed.connect(() => changes++);
    const cell = model.cells.get(1);
    cell.setMetadata(METADATA_KEY, summaryMetadata('late', 25)[METADATA_KEY]);
    expect(changes).toBe(1);
    expect(summaries.summary('cell-1')?.energy_j).toBe(25);
    expect(summaries.level(25)).toBe('high'); // two of the three others are below it
    cell.setMetadata('tags', ['unrelated']);
    expect(changes).toBe(1);
    model.cells.get(2).deleteMetadata(METADATA_KEY);
    expect(changes).toBe(2);
    expect(summaries.summary('cell-2')).toBeNull();
    expect(summaries.level(10)).toBe('low');
    expect(summaries.level(25)).toBe('high');
  });

  it('follows cells added and removed, telling once per change', () => {
    const model = notebookWith([10, 20, 30]);
    const summaries = new NotebookSummaries(model);
    let changes = 0;
    summaries.changed.connect(() => changes++);
    model.sharedModel.insertCells(3, [
      { cell_type: 'code', id: 'new-1', source: '', metadata: summaryMetadata('a', 40) },
      { cell_type: 'code', id: 'new-2', source: '', metadata: summaryMetadata('b', 50) }
    ]);
    expect(changes).toBe(1);
    expect(summaries.summary('new-2')?.energy_j).toBe(50);
    expect(summaries.level(30)).toBe('mid');
    model.sharedModel.deleteCellRange(0, 2); // the 10 and the 20 go
    expect(changes).toBe(2);
    expect(summaries.cell('cell-0')).toBeNull();
    expect(summaries.summary('cell-1')).toBeNull();
    expect(summaries.level(30)).toBe('low');
    expect(summaries.level(50)).toBe('high');
  });

  it('is disposed quietly after its notebook model (a closed tab)', () => {
    const model = notebookWith([10, 20, 30]);
    const summaries = new NotebookSummaries(model);
    model.dispose();
    expect(() => summaries.dispose()).not.toThrow();
    expect(summaries.isDisposed).toBe(true);
    expect(summaries.summary('cell-0')).toBeNull();
  });

  it('stops following the notebook once disposed', () => {
    const model = notebookWith([10, 20, 30]);
    const summaries = new NotebookSummaries(model);
    summaries.dispose();
    model.cells.get(0).deleteMetadata(METADATA_KEY);
    expect(summaries.isDisposed).toBe(true);
    expect(summaries.summary('cell-1')).toBeNull();
  });
});
