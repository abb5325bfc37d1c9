import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { GateChoice } from './gate';
import { IGateContent, renderGateContent } from './content';

/** The action that marks the "Don't ask again" button. */
const DONT_ASK_ACTION = 'carbon-dont-ask';

/** Show the gate's dialog (JupyterLab's, so it is modal, focus-trapped and keyboard-operable). */
export async function askToRun(trans: TranslationBundle, content: IGateContent): Promise<GateChoice> {
  const body = new Widget({ node: renderGateContent(content) });
  const count = content.cells.length;
  const result = await showDialog({
    title: content.title,
    body,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.createButton({
        label: trans._n("Don't ask again for this cell", "Don't ask again for these cells", count),
        accept: true,
        actions: [DONT_ASK_ACTION]
      }),
      Dialog.okButton({ label: trans.__('Run') })
    ],
    defaultButton: 2,
    hasClose: true
  });
  if (!result.button.accept) {
    return 'cancel';
  }
  return result.button.actions.includes(DONT_ASK_ACTION) ? 'dont-ask' : 'run';
}
