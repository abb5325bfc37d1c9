import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { DOMUtils, IThemeManager, MainAreaWidget, showErrorMessage } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { ICarbonClient, IRun } from '../tokens';
import { cloudRegions, gridZones } from '../whatif/api';
import { IWhatIfData } from '../whatif/view';
import { compareRuns, experimentRunIds, MAX_COMPARED_RUNS } from './api';
import { CompareView } from './view';

/** The command's id. */
export const COMPARE_COMMAND = 'carbon:compare-runs';

/** Opens runs, or whole experiments, side by side in the main area. */
export const comparePlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-carbon:compare',
  description: 'Compares runs or experiments side by side: table, charts and a what-if map.',
  autoStart: true,
  requires: [ICarbonClient],
  optional: [ITranslator, IThemeManager],
  activate: (
    app: JupyterFrontEnd,
    client: ICarbonClient,
    translator: ITranslator | null,
    themes: IThemeManager | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('jupyterlab_carbon');
    app.commands.addCommand(COMPARE_COMMAND, {
      label: trans.__('Compare Runs'),
      caption: trans.__('Open runs or experiments side by side (args: runIds or experiments)'),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            runIds: { type: 'array', items: { type: 'string' }, description: trans.__('Runs to compare') },
            experiments: {
              type: 'array',
              items: { type: 'string' },
              description: trans.__('Experiments whose runs to compare')
            }
          }
        }
      },
      execute: async args => {
        let content: CompareView;
        try {
          content = await Private.load(args, client, trans, themes);
        } catch (error) {
          void showErrorMessage(trans.__('The runs could not be compared'), error as Error);
          throw error;
        }
        const widget = new MainAreaWidget({ content });
        widget.id = DOMUtils.createDomID();
        widget.title.label = trans.__('Compare %1 runs', content.runCount);
        widget.title.caption = widget.title.label;
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
        return widget.id;
      }
    });
  }
};

namespace Private {
  /** The runs the command's args name, checked, with a notice when experiments were cut short. */
  export async function load(
    args: ReadonlyPartialJSONObject,
    client: ICarbonClient,
    trans: TranslationBundle,
    themes: IThemeManager | null
  ): Promise<CompareView> {
    const runIds = strings(args.runIds);
    const experiments = strings(args.experiments);
    let ids: string[];
    let notice: string | undefined;
    if (runIds.length > 0) {
      ids = runIds;
    } else if (experiments.length > 0) {
      const found = await experimentRunIds(experiments);
      ids = found.runIds;
      if (found.total > ids.length) {
        notice = trans.__('These experiments have %1 runs; the newest %2 are compared.', found.total, ids.length);
      }
    } else {
      throw new Error(trans.__('Compare Runs needs `runIds` (2 or more run ids) or `experiments` (names).'));
    }
    if (ids.length < 2 || ids.length > MAX_COMPARED_RUNS) {
      throw new Error(
        trans.__(
          'Compare from 2 to %1 runs; %2 were given. Select other runs and try again.',
          MAX_COMPARED_RUNS,
          ids.length
        )
      );
    }
    const runs: IRun[] = await compareRuns(ids);
    return new CompareView({ runs, trans, themes, whatIf: whatIfData(client), notice });
  }

  /** The strings of a JSON array argument ([] when absent or not an array). */
  function strings(value: unknown): string[] {
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  }

  /** The intensity tables, the world atlas (loaded on demand) and the user's zone. */
  async function whatIfData(client: ICarbonClient): Promise<IWhatIfData> {
    const [zones, regions, atlas, intensity] = await Promise.all([
      gridZones(),
      cloudRegions(),
      import('world-atlas/countries-110m.json'),
      client.intensity().catch(() => null)
    ]);
    return { zones, regions, topology: atlas.default, userZone: intensity?.resolved.zone ?? null };
  }
}
