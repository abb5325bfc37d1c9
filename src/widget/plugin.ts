import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { FRONTEND_VERSION } from '../client/version';
import { ICarbonClient } from '../tokens';
import { MODULE_NAME, widgetClasses } from './widget';

/**
 * Registers the %%carbon widget's view with the Jupyter widget manager. The registry is optional:
 * JupyterLab without ipywidgets' labextension still loads, and the magic's output is then its
 * text and HTML summary.
 */
export const widgetPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-carbon:widget',
  description: 'The live %%carbon widget: energy so far, power, budget, then the figures and earlier runs.',
  autoStart: true,
  requires: [ICarbonClient],
  optional: [IJupyterWidgetRegistry, ITranslator],
  activate: (
    _app: JupyterFrontEnd,
    client: ICarbonClient,
    registry: IJupyterWidgetRegistry | null,
    translator: ITranslator | null
  ): void => {
    if (!registry) {
      return;
    }
    const trans = (translator ?? nullTranslator).load('jupyterlab_carbon');
    const classes = widgetClasses(client, trans, FRONTEND_VERSION);
    registry.registerWidget({ name: MODULE_NAME, version: FRONTEND_VERSION, exports: { ...classes } });
  }
};
