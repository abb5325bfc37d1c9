import { badgesPlugin } from './badges/plugin';
import { clientPlugin, versionCheckPlugin } from './client/plugin';
import { comparePlugin } from './compare/plugin';
import { ledgerPlugin } from './ledger/plugin';
import { predictPlugin } from './predict/plugin';
import { predictionsSidebarPlugin } from './predict/sidebarplugin';
import { statusBarPlugin } from './statusbar/statusbar';
import { widgetPlugin } from './widget/plugin';

export * from './tokens';
export { CarbonAPIError, CarbonClient, requestAPI } from './client/client';
export { formatCarbon, formatCost, formatDuration, formatEnergy, formatPower } from './format';

export default [
  clientPlugin,
  versionCheckPlugin,
  statusBarPlugin,
  badgesPlugin,
  ledgerPlugin,
  predictPlugin,
  predictionsSidebarPlugin,
  widgetPlugin,
  comparePlugin
];
