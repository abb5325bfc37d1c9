/** What the user can do with the selected runs: dialogs, then the ledger's endpoints. */

import { Dialog, InputDialog, Notification, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';

import { ExportFormat, IDownload, LedgerClient } from '../client/ledger';
import { ILedgerFilters, IRun } from '../tokens';
import { splitList } from './filters';

/** The comparison view's command (built by the compare plugin). */
export const COMPARE_COMMAND = 'carbon:compare-runs';

/** How many runs one comparison takes (the server's limit). */
export const MAX_COMPARED_RUNS = 50;

/** What every action needs. */
export interface IActionContext {
  client: LedgerClient;
  trans: TranslationBundle;
}

/** Run a server call; show its error with a title saying what failed. */
async function attempt<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    await showErrorMessage(what, (error as Error).message);
    return undefined;
  }
}

/** A labelled input in a dialog body. */
function labelledInput(
  label: string,
  value: string,
  element: 'input' | 'textarea' = 'input'
): { row: HTMLElement; input: HTMLInputElement | HTMLTextAreaElement } {
  const row = document.createElement('label');
  row.className = 'jp-carbon-Ledger-dialogField';
  const caption = document.createElement('span');
  caption.textContent = label;
  const input = document.createElement(element);
  input.className = 'jp-mod-styled';
  input.value = value;
  row.append(caption, input);
  return { row, input };
}

/** A dialog body whose value is read from its inputs. */
class FormBody<T> extends Widget implements Dialog.IBodyWidget<T> {
  constructor(
    fields: HTMLElement[],
    private readonly _read: () => T
  ) {
    super();
    this.addClass('jp-carbon-Ledger-dialog');
    this.node.append(...fields);
  }

  getValue(): T {
    return this._read();
  }
}

/** Move the runs to another experiment. */
export async function setExperiment(context: IActionContext, runs: IRun[], current: string): Promise<void> {
  const { trans } = context;
  const result = await InputDialog.getText({
    title: trans._n('Move %1 run to experiment', 'Move %1 runs to experiment', runs.length),
    label: trans.__('Experiment name'),
    text: current,
    okLabel: trans.__('Move')
  });
  const name = result.value?.trim();
  if (!result.button.accept || !name) {
    return;
  }
  await attempt(trans.__('The experiment was not changed'), () =>
    context.client.annotate(
      runs.map(run => run.run_id),
      { experiment: name }
    )
  );
}

/** Rename an experiment on all its runs. */
export async function renameExperiment(context: IActionContext, from: string): Promise<void> {
  const { trans } = context;
  const result = await InputDialog.getText({
    title: trans.__('Rename experiment %1', from),
    label: trans.__('New name'),
    text: from,
    okLabel: trans.__('Rename')
  });
  const to = result.value?.trim();
  if (!result.button.accept || !to || to === from) {
    return;
  }
  const updated = await attempt(trans.__('The experiment was not renamed'), () =>
    context.client.renameExperiment(from, to)
  );
  if (updated !== undefined) {
    Notification.success(trans._n('Renamed on %1 run.', 'Renamed on %1 runs.', updated), { autoClose: 4000 });
  }
}

/** Add and remove tags on the runs. */
export async function editTags(context: IActionContext, runs: IRun[]): Promise<void> {
  const { trans } = context;
  const add = labelledInput(trans.__('Tags to add (comma-separated)'), '');
  const common =
    runs.length > 0 ? (runs[0].tags ?? []).filter(tag => runs.every(r => (r.tags ?? []).includes(tag))) : [];
  const remove = labelledInput(trans.__('Tags to remove (comma-separated)'), '');
  remove.input.placeholder = common.join(', ');
  const result = await showDialog({
    title: trans._n('Tags of %1 run', 'Tags of %1 runs', runs.length),
    body: new FormBody([add.row, remove.row], () => ({
      add: splitList(add.input.value),
      remove: splitList(remove.input.value)
    })),
    focusNodeSelector: 'input',
    buttons: [Dialog.cancelButton({ label: trans.__('Cancel') }), Dialog.okButton({ label: trans.__('Apply') })]
  });
  const value = result.value;
  if (!result.button.accept || !value || (value.add.length === 0 && value.remove.length === 0)) {
    return;
  }
  await attempt(trans.__('The tags were not changed'), () =>
    context.client.annotate(
      runs.map(run => run.run_id),
      { add_tags: value.add, remove_tags: value.remove }
    )
  );
}

/** Write (or clear) the note of the runs. */
export async function editNote(context: IActionContext, runs: IRun[]): Promise<void> {
  const { trans } = context;
  const note = labelledInput(
    trans.__('Note (empty to remove)'),
    runs.length === 1 ? (runs[0].note ?? '') : '',
    'textarea'
  );
  note.input.maxLength = 4000;
  const result = await showDialog({
    title: trans._n('Note on %1 run', 'Note on %1 runs', runs.length),
    body: new FormBody([note.row], () => note.input.value.trim()),
    focusNodeSelector: 'textarea',
    buttons: [Dialog.cancelButton({ label: trans.__('Cancel') }), Dialog.okButton({ label: trans.__('Save') })]
  });
  if (!result.button.accept || result.value === null) {
    return;
  }
  const text = result.value;
  await attempt(trans.__('The note was not saved'), () =>
    context.client.annotate(
      runs.map(run => run.run_id),
      { note: text ? text : null }
    )
  );
}

/** Move the runs to the trash, once confirmed; the ids that left the list (none if not done). */
export async function deleteRuns(context: IActionContext, runIds: string[]): Promise<string[]> {
  const { trans } = context;
  const result = await showDialog({
    title: trans._n('Delete %1 run?', 'Delete %1 runs?', runIds.length),
    body: trans.__('The runs go to the trash, from which they can be restored until it is emptied.'),
    buttons: [Dialog.cancelButton({ label: trans.__('Cancel') }), Dialog.warnButton({ label: trans.__('Delete') })]
  });
  if (!result.button.accept) {
    return [];
  }
  const done = await attempt(trans.__('The runs were not deleted'), async () => {
    await context.client.deleteRuns(runIds);
    return true;
  });
  return done ? runIds : [];
}

/** Take the runs out of the trash; the ids that left the list (none if not done). */
export async function restoreRuns(context: IActionContext, runIds: string[]): Promise<string[]> {
  const done = await attempt(context.trans.__('The runs were not restored'), async () => {
    await context.client.restoreRuns(runIds);
    return true;
  });
  return done ? runIds : [];
}

/** Delete every trashed run for good, once confirmed. */
export async function emptyTrash(context: IActionContext): Promise<void> {
  const { trans } = context;
  const result = await showDialog({
    title: trans.__('Empty the trash?'),
    body: trans.__('The runs in the trash will be deleted for good. This cannot be undone.'),
    buttons: [Dialog.cancelButton({ label: trans.__('Cancel') }), Dialog.warnButton({ label: trans.__('Empty trash') })]
  });
  if (!result.button.accept) {
    return;
  }
  const purged = await attempt(trans.__('The trash was not emptied'), () => context.client.emptyTrash());
  if (purged !== undefined) {
    Notification.success(trans._n('%1 run deleted for good.', '%1 runs deleted for good.', purged), {
      autoClose: 4000
    });
  }
}

/** Save a downloaded file through the browser. */
export function saveDownload(download: IDownload): void {
  const url = URL.createObjectURL(download.blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = download.filename;
  link.style.display = 'none';
  document.body.append(link);
  link.click();
  link.remove();
  // Revoked after the click has handed the file to the browser.
  window.setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Export the selected runs, or every run matching the filters when none is selected. */
export async function exportRuns(
  context: IActionContext,
  format: ExportFormat,
  runIds: string[],
  filters: ILedgerFilters
): Promise<void> {
  const selection = runIds.length > 0 ? { runIds } : { filters };
  const download = await attempt(context.trans.__('The runs were not exported'), () =>
    context.client.exportRuns(format, selection)
  );
  if (download) {
    saveDownload(download);
  }
}

/** Let the user pick a file, resolving to its text (null when cancelled). */
function pickTextFile(accept: string): Promise<File | null> {
  return new Promise(resolve => {
    const input = document.createElement('input');
    input.type = 'file';
    input.accept = accept;
    input.style.display = 'none';
    input.addEventListener('change', () => {
      resolve(input.files?.[0] ?? null);
      input.remove();
    });
    input.addEventListener('cancel', () => {
      resolve(null);
      input.remove();
    });
    document.body.append(input);
    input.click();
  });
}

/** Import a CodeCarbon emissions.csv the user picks. */
export async function importCsv(context: IActionContext): Promise<void> {
  const { trans } = context;
  const file = await pickTextFile('.csv,text/csv');
  if (!file) {
    return;
  }
  const text = await file.text();
  const result = await attempt(trans.__('%1 was not imported', file.name), () => context.client.importCsv(text));
  if (result) {
    Notification.success(
      trans._n(
        'Imported %1 run from %2 into experiment %3.',
        'Imported %1 runs from %2 into experiment %3.',
        result.imported,
        file.name,
        result.experiment
      ),
      { autoClose: 6000 }
    );
  }
}

/** Open the comparison of runs or experiments, or say why it cannot open. */
export async function compare(
  commands: CommandRegistry,
  trans: TranslationBundle,
  what: { runIds: string[] } | { experiments: string[] }
): Promise<void> {
  if (!commands.hasCommand(COMPARE_COMMAND)) {
    Notification.warning(
      trans.__('Comparing runs needs the comparison view (command %1), which is not installed.', COMPARE_COMMAND),
      { autoClose: 8000 }
    );
    return;
  }
  if ('runIds' in what && what.runIds.length > MAX_COMPARED_RUNS) {
    Notification.warning(
      trans.__('Select at most %1 runs to compare (%2 are selected).', MAX_COMPARED_RUNS, what.runIds.length),
      { autoClose: 6000 }
    );
    return;
  }
  await commands.execute(COMPARE_COMMAND, what);
}
