import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

import { ICarbonClient } from '../tokens';
import { CarbonClient } from './client';

/** Provides the REST client every other plugin talks through. */
export const clientPlugin: JupyterFrontEndPlugin<ICarbonClient> = {
  id: 'jupyterlab-carbon:client',
  description: 'Typed REST access to the jupyterlab-carbon server extension.',
  autoStart: true,
  provides: ICarbonClient,
  activate: (_app: JupyterFrontEnd): ICarbonClient => new CarbonClient()
};
