import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { ICarbonClient } from '../tokens';
import { CarbonAPIError, CarbonClient } from './client';
import { FRONTEND_VERSION, versionMismatchMessage } from './version';

/** Provides the REST client every other plugin talks through. */
export const clientPlugin: JupyterFrontEndPlugin<ICarbonClient> = {
  id: 'jupyterlab-carbon:client',
  description: 'Typed REST access to the jupyterlab-carbon server extension.',
  autoStart: true,
  provides: ICarbonClient,
  activate: (_app: JupyterFrontEnd): ICarbonClient => new CarbonClient()
};

/** Warns once per page load when the server extension's version differs from this frontend's. */
export const versionCheckPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-carbon:version-check',
  description: "Compares the frontend's version with the server extension's and says when they differ.",
  autoStart: true,
  requires: [ICarbonClient],
  optional: [ITranslator],
  activate: (_app: JupyterFrontEnd, client: ICarbonClient, translator: ITranslator | null): void => {
    const trans = (translator ?? nullTranslator).load('jupyterlab_carbon');
    client.status().then(
      status => {
        const message = versionMismatchMessage(trans, FRONTEND_VERSION, status.version);
        if (message) {
          Notification.warning(message, { autoClose: false });
        }
      },
      (error: Error) => {
        if (error instanceof CarbonAPIError && error.status === 404) {
          // Short enough for a notification toast (JupyterLab cuts them at 140 characters).
          const message = trans.__(
            'jupyterlab-carbon: the server extension is not enabled. Run `jupyter server extension enable jupyterlab_carbon`, restart Jupyter.'
          );
          Notification.error(message, { autoClose: false });
          return;
        }
        // The status bar shows an unreachable server; nothing to compare then.
        console.warn('jupyterlab-carbon: the server extension version could not be read', error);
      }
    );
  }
};
