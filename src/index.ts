import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

import { badgesPlugin } from './badges';
import { CarbonClient } from './client';
import { statusBarPlugin } from './statusbar';
import { ICarbonClient } from './tokens';

export * from './tokens';
export { CarbonAPIError, CarbonClient, requestAPI } from './client';
export { formatCarbon, formatCost, formatDuration, formatEnergy, formatPower } from './format';

/** Provides the REST client every other plugin talks through. */
const clientPlugin: JupyterFrontEndPlugin<ICarbonClient> = {
  id: 'jupyterlab-carbon:client',
  description: 'Typed REST access to the jupyterlab-carbon server extension.',
  autoStart: true,
  provides: ICarbonClient,
  activate: (_app: JupyterFrontEnd): ICarbonClient => new CarbonClient()
};

export default [clientPlugin, statusBarPlugin, badgesPlugin];
