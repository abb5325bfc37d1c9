/** Open a run's notebook at the cell that ran. */

import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { CodeCell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';

import { METADATA_KEY } from '../badges/summary';
import { IRun } from '../tokens';

/** What a cell exposes for finding a run's cell (a notebook's cell models). */
export interface ICellLike {
  type: string;
  executionCount: number | null;
  carbonRunId: string | null;
}

/**
 * The index of a run's cell: the cell whose carbon summary names the run, else the code cell
 * with the run's execution count; -1 when neither is there (the cell was deleted or re-run).
 */
export function findRunCell(cells: readonly ICellLike[], run: Pick<IRun, 'run_id' | 'execution_count'>): number {
  const byRunId = cells.findIndex(cell => cell.carbonRunId === run.run_id);
  if (byRunId >= 0 || run.execution_count === null) {
    return byRunId;
  }
  return cells.findIndex(cell => cell.type === 'code' && cell.executionCount === run.execution_count);
}

/** Whether a file exists on the server. */
async function fileExists(app: JupyterFrontEnd, path: string): Promise<boolean> {
  try {
    await app.serviceManager.contents.get(path, { content: false });
    return true;
  } catch {
    return false;
  }
}

/** Open the notebook of a run, scroll to its cell and select it; say so when that cannot be done. */
export async function openRun(app: JupyterFrontEnd, run: IRun, trans: TranslationBundle): Promise<void> {
  const path = run.notebook_path;
  if (!path) {
    Notification.info(trans.__('This run has no notebook (it ran in kernel %1).', run.kernel_name ?? run.kernel_id), {
      autoClose: 5000
    });
    return;
  }
  if (!(await fileExists(app, path))) {
    Notification.warning(
      trans.__('The notebook %1 no longer exists (moved, renamed or deleted); the run stays in the ledger.', path),
      { autoClose: 8000 }
    );
    return;
  }
  const widget = await app.commands.execute('docmanager:open', { path, factory: 'Notebook' });
  if (!(widget instanceof NotebookPanel)) {
    return;
  }
  await widget.context.ready;
  const notebook = widget.content;
  const cells: ICellLike[] = notebook.widgets.map(cell => {
    const summary = cell.model.getMetadata(METADATA_KEY) as { run_id?: unknown } | undefined;
    return {
      type: cell.model.type,
      executionCount: cell instanceof CodeCell ? cell.model.executionCount : null,
      carbonRunId: typeof summary?.run_id === 'string' ? summary.run_id : null
    };
  });
  const index = findRunCell(cells, run);
  app.shell.activateById(widget.id);
  if (index < 0) {
    Notification.info(trans.__('The cell of this run is no longer in %1 (it was deleted or run again since).', path), {
      autoClose: 6000
    });
    return;
  }
  notebook.deselectAll();
  notebook.activeCellIndex = index;
  await notebook.scrollToCell(notebook.widgets[index], 'center');
  notebook.activate();
}
