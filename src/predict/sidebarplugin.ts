import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, IThemeManager } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';

import { ICarbonClient } from '../tokens';
import { PredictionsPanel } from './sidebar';

/** Command that opens the Predictions sidebar. */
export const OPEN_PREDICTIONS_COMMAND = 'carbon:open-predictions';

/** A gauge with its needle: the sidebar tab's icon (themed through jp-icon3). */
export const predictionsIcon = new LabIcon({
  name: 'jupyterlab-carbon:predictions',
  svgstr: `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 4a10 10 0 0 0-10 10c0 1.9.5 3.6 1.4 5.1l1.3-.8A8.5 8.5 0 0 1 3.5 14a8.5 8.5 0 0 1 17 0c0 1.6-.4 3-1.2 4.3l1.3.8A10 10 0 0 0 22 14 10 10 0 0 0 12 4z"/>
    <path d="M16.6 8.3 12.9 13a1.8 1.8 0 1 1-1.4-.9l4.2-4.6z"/>
  </g>
</svg>`
});

/** The Predictions sidebar: the training-run calculator, this node's calibration, the prediction error. */
export const predictionsSidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-carbon:predictions',
  description: "The Predictions sidebar: a training-run calculator, this node's calibration and its prediction error.",
  autoStart: true,
  optional: [ICommandPalette, ITranslator, ILayoutRestorer, IThemeManager, ICarbonClient],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null,
    themes: IThemeManager | null,
    carbon: ICarbonClient | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('jupyterlab_carbon');
    const panel = new PredictionsPanel(trans, themes);
    panel.id = 'jp-carbon-predictions';
    panel.title.icon = predictionsIcon;
    app.shell.add(panel, 'left', { rank: 851, type: 'Predictions' });
    restorer?.add(panel, panel.id);
    // Live: a run with counted FLOPs or a prediction shown updates the calibration and the error.
    carbon?.events.connect((_, event) => {
      if (event.type === 'run') {
        panel.runRecorded(event.run);
      }
    });
    app.commands.addCommand(OPEN_PREDICTIONS_COMMAND, {
      label: trans.__('Open Predictions'),
      caption: trans.__("Estimate a training run; see this node's calibration and how good its predictions were"),
      icon: predictionsIcon,
      execute: () => {
        app.shell.activateById(panel.id);
      }
    });
    palette?.addItem({ command: OPEN_PREDICTIONS_COMMAND, category: trans.__('Carbon') });
  }
};
