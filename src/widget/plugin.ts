import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { LedgerClient } from '../client/ledger';
import { FRONTEND_VERSION } from '../client/version';
import { ICarbonClient } from '../tokens';
import { IDrawingContext } from './drawing';
import { finalOutputFactory } from './final';
import { MODULE_NAME, widgetClasses } from './widget';

/**
 * The %%carbon outputs: the live widget's view, registered with the Jupyter widget manager, and
 * the renderer of a finished short cell's output (no widget model). The widget registry is
 * optional: JupyterLab without ipywidgets' labextension still loads, and a long cell's output is
 * then its text and HTML summary.
 */
export const widgetPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-carbon:widget',
  description: 'The live %%carbon widget: energy so far, power, budget, then the figures and earlier runs.',
  autoStart: true,
  requires: [ICarbonClient],
  optional: [IJupyterWidgetRegistry, IRenderMimeRegistry, ITranslator],
  activate: (
    _app: JupyterFrontEnd,
    client: ICarbonClient,
    registry: IJupyterWidgetRegistry | null,
    rendermime: IRenderMimeRegistry | null,
    translator: ITranslator | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('jupyterlab_carbon');
    const context: IDrawingContext = { client, ledger: new LedgerClient(), trans };
    rendermime?.addFactory(finalOutputFactory(context));
    if (registry) {
      const classes = widgetClasses(context, FRONTEND_VERSION);
      registry.registerWidget({ name: MODULE_NAME, version: FRONTEND_VERSION, exports: { ...classes } });
    }
  }
};
