import { exceededThresholds, IExceeded } from './threshold';
import { IPrediction, IPredictSettings } from './types';

/** What the user chose in the gate's dialog. */
export type GateChoice = 'run' | 'cancel' | 'dont-ask';

/** A cell above a threshold, shown in the dialog. */
export interface IFlaggedCell<C> {
  cell: C;
  prediction: IPrediction;
  exceeded: IExceeded[];
}

/** What the gate needs from the notebook and the server (fakes in the tests). */
export interface IGateHost<C> {
  settings(): IPredictSettings;
  /** Whether the cell goes to a kernel at all (markdown cells do not, and are never looked up). */
  isLookedUp(cell: C): boolean;
  /** The user said "Don't ask again" for this cell. */
  isDontAsk(cell: C): boolean;
  lookup(cell: C): Promise<IPrediction | null>;
  /** Ask once for all the flagged cells of one batch. */
  confirm(flagged: IFlaggedCell<C>[]): Promise<GateChoice>;
  rememberDontAsk(cell: C): void;
}

interface IPending<C> {
  cell: C;
  resolve: (run: boolean) => void;
}

/**
 * Decides whether cells may run. Cells asked for in the same tick of one notebook (Run All, Run
 * Selected) form one batch: their lookups go out together and one dialog lists every cell above a
 * threshold. Batches of a notebook are decided in order, and the cells of a batch are answered in
 * order, so the kernel receives them in the order the user asked.
 */
export class CellGate<C> {
  constructor(private readonly _host: IGateHost<C>) {}

  /** Resolves true when the cell may run, false when the user cancelled. */
  admit(notebook: object, cell: C): Promise<boolean> {
    return new Promise<boolean>(resolve => {
      let batch = this._open.get(notebook);
      if (!batch) {
        batch = [];
        this._open.set(notebook, batch);
        queueMicrotask(() => {
          const closed = this._open.get(notebook) ?? [];
          this._open.delete(notebook);
          this._decide(notebook, closed);
        });
      }
      batch.push({ cell, resolve });
    });
  }

  private _decide(notebook: object, batch: IPending<C>[]): void {
    const host = this._host;
    const settings = host.settings();
    // Lookups start at once, before any earlier batch's dialog is answered.
    const lookups = batch.map(({ cell }) =>
      host.isLookedUp(cell) ? host.lookup(cell).catch(() => null) : Promise.resolve(null)
    );
    const previous = this._tail.get(notebook) ?? Promise.resolve();
    const decided = previous.then(async () => {
      const predictions = await Promise.all(lookups);
      const flagged: IFlaggedCell<C>[] = [];
      batch.forEach(({ cell }, index) => {
        const prediction = predictions[index];
        const exceeded = exceededThresholds(prediction, settings);
        if (prediction && exceeded.length > 0 && !host.isDontAsk(cell)) {
          flagged.push({ cell, prediction, exceeded });
        }
      });
      let choice: GateChoice = 'run';
      if (flagged.length > 0) {
        choice = await host.confirm(flagged).catch((): GateChoice => 'cancel');
      }
      if (choice === 'dont-ask') {
        flagged.forEach(({ cell }) => host.rememberDontAsk(cell));
      }
      for (const { resolve } of batch) {
        resolve(choice !== 'cancel');
      }
    });
    this._tail.set(notebook, decided);
    void decided.then(() => {
      if (this._tail.get(notebook) === decided) {
        this._tail.delete(notebook);
      }
    });
  }

  private _open = new Map<object, IPending<C>[]>();
  private _tail = new Map<object, Promise<void>>();
}
