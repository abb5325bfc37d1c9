import { findRunCell, ICellLike } from '../open';

const cells: ICellLike[] = [
  { type: 'markdown', executionCount: null, carbonRunId: null },
  { type: 'code', executionCount: 3, carbonRunId: 'old' },
  { type: 'code', executionCount: 4, carbonRunId: 'r4' }
];

describe('findRunCell', () => {
  it('finds the cell whose carbon summary names the run first', () => {
    expect(findRunCell(cells, { run_id: 'r4', execution_count: 3 })).toBe(2);
  });

  it('falls back to the code cell with the execution count', () => {
    expect(findRunCell(cells, { run_id: 'gone', execution_count: 3 })).toBe(1);
  });

  it('says -1 when neither is there', () => {
    expect(findRunCell(cells, { run_id: 'gone', execution_count: 9 })).toBe(-1);
    expect(findRunCell(cells, { run_id: 'gone', execution_count: null })).toBe(-1);
  });
});
