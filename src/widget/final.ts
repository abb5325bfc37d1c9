import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { CarbonEvent, ICarbonClient, IRun } from '../tokens';
import { CarbonDrawing, ICarbonSource, IDrawingContext } from './drawing';
import { FINAL_MIME, IFinalOutput, readFinalOutput } from './output';
import { budgetOfRun, summaryOfRun } from './state';

let outputs = 0;

/**
 * A finished %%carbon cell's output (a body shorter than the live widget's delay): drawn as the
 * widget draws its final state, and completed by the server's record of the execution when it
 * arrives (or is found in the ledger). No widget model: the kernel sent the state as JSON.
 */
export class FinalOutput extends Widget implements IRenderMime.IRenderer {
  constructor(private readonly _context: IDrawingContext) {
    super();
    this._id = `jp-carbon-final-${++outputs}`;
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this._stop();
    const state = readFinalOutput(model.data[FINAL_MIME]);
    if (typeof state === 'string') {
      this.node.textContent = this._context.trans.__('This %%carbon output could not be read: %1', state);
      return;
    }
    const source: ICarbonSource = {
      id: this._id,
      msgId: state.msgId,
      experiment: state.experiment,
      status: state.status,
      get summary() {
        return state.summary;
      },
      get budget() {
        return state.budget;
      },
      meter: null,
      setRun: run => this._setRun(run)
    };
    this._state = state;
    this._drawing = new CarbonDrawing(this.node, source, this._context);
    this._context.client.events.connect(this._onEvent, this);
    this._drawing.start();
  }

  dispose(): void {
    this._stop();
    super.dispose();
  }

  private _onEvent(_: ICarbonClient, event: CarbonEvent): void {
    if (event.type === 'run' && this._state !== null && event.run.msg_id === this._state.msgId) {
      this._setRun(event.run);
    }
  }

  private _setRun(run: IRun): void {
    const state = this._state;
    if (state === null || this._drawing === null) {
      return;
    }
    state.summary = summaryOfRun(run);
    state.budget = { ...state.budget, ...(budgetOfRun(run) ?? {}) };
    this._drawing.draw();
    void this._drawing.loadHistory();
  }

  private _stop(): void {
    this._context.client.events.disconnect(this._onEvent, this);
    this._drawing?.dispose();
    this._drawing = null;
    this._state = null;
  }

  private readonly _id: string;
  private _state: IFinalOutput | null = null;
  private _drawing: CarbonDrawing | null = null;
}

/** The renderer factory of finished %%carbon outputs. */
export function finalOutputFactory(context: IDrawingContext): IRenderMime.IRendererFactory {
  return {
    // Safe: every string of the output is set as text, never as HTML.
    safe: true,
    mimeTypes: [FINAL_MIME],
    defaultRank: 0,
    createRenderer: () => new FinalOutput(context)
  };
}
