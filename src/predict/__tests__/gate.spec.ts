import { CellGate, GateChoice, IFlaggedCell, IGateHost } from '../gate';
import { DEFAULT_PREDICT_SETTINGS, IPrediction, IPredictSettings } from '../types';
import { prediction } from './fixtures';

interface IFakeCell {
  id: string;
  energy_wh: number | null;
  markdown?: boolean;
  dontAsk?: boolean;
}

const SETTINGS: IPredictSettings = { ...DEFAULT_PREDICT_SETTINGS, duration_s: null };

/** A host whose lookups answer from the cells and whose dialog answers `choice`. */
function host(choice: GateChoice, delays: Record<string, number> = {}) {
  const dialogs: string[][] = [];
  const lookedUp: string[] = [];
  const remembered: string[] = [];
  const fake: IGateHost<IFakeCell> = {
    settings: () => SETTINGS,
    isLookedUp: cell => !cell.markdown,
    isDontAsk: cell => cell.dontAsk === true,
    lookup: cell => {
      lookedUp.push(cell.id);
      const answer: IPrediction | null =
        cell.energy_wh === null
          ? null
          : prediction({ energy_j: { p50: cell.energy_wh * 3600, low: 0, high: cell.energy_wh * 7200 } });
      return new Promise(resolve => setTimeout(() => resolve(answer), delays[cell.id] ?? 0));
    },
    confirm: async (flagged: IFlaggedCell<IFakeCell>[]) => {
      dialogs.push(flagged.map(f => f.cell.id));
      return choice;
    },
    rememberDontAsk: cell => {
      remembered.push(cell.id);
      cell.dontAsk = true;
    }
  };
  return { fake, dialogs, lookedUp, remembered };
}

/** Admit cells in one tick, as Run All does, and record the order the answers arrive in. */
async function runAll(gate: CellGate<IFakeCell>, notebook: object, cells: IFakeCell[]) {
  const order: string[] = [];
  const results = await Promise.all(
    cells.map(cell =>
      gate.admit(notebook, cell).then(ok => {
        order.push(cell.id);
        return ok;
      })
    )
  );
  return { results, order };
}

describe('the gate', () => {
  it('runs cheap and unknown cells without a dialog', async () => {
    const { fake, dialogs } = host('cancel');
    const gate = new CellGate(fake);
    const { results } = await runAll(gate, {}, [
      { id: 'a', energy_wh: 1 },
      { id: 'b', energy_wh: null }
    ]);
    expect(results).toEqual([true, true]);
    expect(dialogs).toEqual([]);
  });

  it('Run All asks once, listing every cell above the threshold, and answers in order', async () => {
    const { fake, dialogs, lookedUp } = host('run', { a: 30, c: 5 });
    const gate = new CellGate(fake);
    const cells = [
      { id: 'a', energy_wh: 50 },
      { id: 'md', energy_wh: null, markdown: true },
      { id: 'b', energy_wh: 1 },
      { id: 'c', energy_wh: 20 }
    ];
    const { results, order } = await runAll(gate, {}, cells);
    expect(dialogs).toEqual([['a', 'c']]);
    expect(lookedUp).toEqual(['a', 'b', 'c']); // never the markdown cell
    expect(results).toEqual([true, true, true, true]);
    expect(order).toEqual(['a', 'md', 'b', 'c']); // the slow lookup of 'a' does not reorder
  });

  it('Cancel runs none of the cells of that run', async () => {
    const { fake } = host('cancel');
    const gate = new CellGate(fake);
    const { results } = await runAll(gate, {}, [
      { id: 'a', energy_wh: 1 },
      { id: 'b', energy_wh: 50 }
    ]);
    expect(results).toEqual([false, false]);
  });

  it("Don't ask again marks the flagged cells, runs them, and the next run does not ask", async () => {
    const { fake, dialogs, remembered } = host('dont-ask');
    const gate = new CellGate(fake);
    const cells = [
      { id: 'a', energy_wh: 50 },
      { id: 'b', energy_wh: 1 }
    ];
    expect((await runAll(gate, {}, cells)).results).toEqual([true, true]);
    expect(remembered).toEqual(['a']);
    expect((await runAll(gate, {}, cells)).results).toEqual([true, true]);
    expect(dialogs).toHaveLength(1);
  });

  it('separate runs of one notebook are decided in order; other notebooks do not wait', async () => {
    const { fake, dialogs } = host('run', { slow: 40 });
    const gate = new CellGate(fake);
    const notebook = {};
    const order: string[] = [];
    const first = gate.admit(notebook, { id: 'slow', energy_wh: 50 }).then(() => order.push('slow'));
    await Promise.resolve(); // the next tick: a second run
    const second = gate.admit(notebook, { id: 'fast', energy_wh: 1 }).then(() => order.push('fast'));
    const other = gate.admit({}, { id: 'other', energy_wh: 1 }).then(() => order.push('other'));
    await Promise.all([first, second, other]);
    expect(order).toEqual(['other', 'slow', 'fast']);
    expect(dialogs).toEqual([['slow']]);
  });

  it('a failing lookup or dialog never blocks: the lookup counts as unknown, the dialog as Cancel', async () => {
    const { fake } = host('run');
    const gate = new CellGate({ ...fake, lookup: () => Promise.reject(new Error('down')) });
    expect(await gate.admit({}, { id: 'a', energy_wh: 50 })).toBe(true);
    const refusing = new CellGate({ ...fake, confirm: () => Promise.reject(new Error('closed')) });
    expect(await refusing.admit({}, { id: 'a', energy_wh: 50 })).toBe(false);
  });
});
