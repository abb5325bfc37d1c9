import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookCellExecutor, runCell } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { METADATA_KEY as SUMMARY_KEY } from '../badges/summary';
import { alwaysLooksUp, IMeasuredRun, IPredictionKey, PredictionCache } from './cache';
import { gateContent, IGateCellLabel } from './content';
import { DECLARED_LOOKUP_TIMEOUT_MS, declareFlops } from './declare';
import { askToRun } from './dialog';
import { isDontAsk, setDontAsk } from './dontask';
import { CellGate } from './gate';
import { KnownCodes } from './known';
import { Prefetcher } from './prefetch';
import { lookupPrediction, REFRESH_TIMEOUT_MS } from './lookup';
import { readPredictSettings } from './threshold';
import { DEFAULT_PREDICT_SETTINGS, IPredictSettings } from './types';

/** Command that turns the gate on or off. */
export const TOGGLE_GATE_COMMAND = 'carbon:toggle-prediction-gate';

/** How often the page checks whether its known codes are due for a refresh (their period is the server's). */
const KNOWN_CHECK_MS = 5000;

/** The badges' settings plugin, whose energy unit the dialog follows. */
const BADGES_PLUGIN = 'jupyterlab-carbon:badges';

/** A cell on its way to the kernel, with what the gate needs to look it up. */
interface IGatedCell {
  options: INotebookCellExecutor.IRunCellOptions;
}

/** The cell's position and first line, for the dialog. */
function labelOf({ options }: IGatedCell): IGateCellLabel {
  const model = options.cell.model;
  let position: number | null = null;
  const cells = options.notebook.cells;
  for (let index = 0; index < cells.length; index++) {
    if (cells.get(index) === model) {
      position = index + 1;
      break;
    }
  }
  const firstLine = model.sharedModel.getSource().trimStart().split('\n', 1)[0] ?? '';
  return { position, firstLine };
}

/** The cache's key for a cell: null (always wait) without a kernel or with `%%carbon --predict`. */
function cacheKeyOf({ options }: IGatedCell): IPredictionKey | null {
  const session = options.sessionContext?.session;
  const kernelId = session?.kernel?.id;
  const code = options.cell.model.sharedModel.getSource();
  if (!kernelId || alwaysLooksUp(code)) {
    return null;
  }
  return { notebookPath: session?.path ?? null, kernelId, cellId: options.cell.model.id, code };
}

/** The figures of the cell's last measured run, from its badge's summary in the metadata. */
function lastMeasuredOf({ options }: IGatedCell): IMeasuredRun | null {
  const summary = options.cell.model.getMetadata(SUMMARY_KEY) as Record<string, unknown> | undefined;
  if (typeof summary !== 'object' || summary === null) {
    return null;
  }
  const figure = (name: string): number | null =>
    typeof summary[name] === 'number' ? (summary[name] as number) : null;
  return {
    energy_j: figure('energy_j'),
    duration_s: figure('duration_s'),
    gco2e: figure('gco2e'),
    cost: figure('cost')
  };
}

/**
 * The notebook cell executor with the prediction gate: each cell run is looked up first (unless the
 * gate is off) and, above a threshold, confirmed; then JupyterLab's own `runCell` runs it.
 */
export const predictPlugin: JupyterFrontEndPlugin<INotebookCellExecutor> = {
  id: 'jupyterlab-carbon:predict',
  description: 'Predicts the energy, carbon, cost and duration of a cell before it runs and asks above a threshold.',
  autoStart: true,
  provides: INotebookCellExecutor,
  optional: [ISettingRegistry, ITranslator, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null,
    palette: ICommandPalette | null
  ): INotebookCellExecutor => {
    const trans = (translator ?? nullTranslator).load('jupyterlab_carbon');
    let settings: IPredictSettings = { ...DEFAULT_PREDICT_SETTINGS };
    let energyUnit: 'Wh' | 'J' = 'Wh';

    const known = new KnownCodes();
    const refreshKnown = (): void => {
      if (settings.enabled && document.visibilityState !== 'hidden' && known.stale) {
        void known.refresh();
      }
    };
    refreshKnown();
    window.setInterval(refreshKnown, KNOWN_CHECK_MS);

    const cache = new PredictionCache();
    const gate = new CellGate<IGatedCell>(
      {
        settings: () => settings,
        isLookedUp: ({ options }) =>
          options.cell.model.type === 'code' && !!options.sessionContext?.session?.kernel?.id,
        isDontAsk: ({ options }) => isDontAsk(options.cell.model),
        lookup: async ({ options }, background) => {
          const session = options.sessionContext?.session;
          const code = options.cell.model.sharedModel.getSource();
          // A refresh goes out once the cell has started: its kernel is busy, and nobody waits.
          const declared = background ? null : await declareFlops(session?.kernel, code);
          return lookupPrediction(
            {
              kernel_id: session?.kernel?.id ?? '',
              notebook_path: session?.path ?? null,
              cell_id: options.cell.model.id,
              code,
              execution_count: null,
              ...(declared ? { flops_declared: declared } : {})
            },
            // A cell that declares its work asked for its prediction: a busy page does not skip it.
            background
              ? Math.max(settings.lookup_timeout_ms, REFRESH_TIMEOUT_MS)
              : declared
                ? Math.max(settings.lookup_timeout_ms, DECLARED_LOOKUP_TIMEOUT_MS)
                : settings.lookup_timeout_ms
          );
        },
        confirm: flagged => askToRun(trans, gateContent(trans, flagged, labelOf, energyUnit)),
        rememberDontAsk: ({ options }) => setDontAsk(options.cell.model),
        cacheKey: cacheKeyOf,
        lastMeasured: lastMeasuredOf,
        hasNoBasis: ({ options }) => known.hasNoBasis(options.cell.model.sharedModel.getSource())
      },
      cache
    );

    // The first run in a notebook (for each kernel it has) looks its other cells up meanwhile.
    const prefetcher = new Prefetcher(
      {
        settings: () => settings,
        lookup: key =>
          lookupPrediction(
            {
              kernel_id: key.kernelId,
              notebook_path: key.notebookPath,
              cell_id: key.cellId,
              code: key.code,
              execution_count: null
            },
            REFRESH_TIMEOUT_MS
          ),
        hasNoBasis: code => known.hasNoBasis(code)
      },
      cache
    );
    const prefetchedFor = new WeakMap<object, string>();
    const prefetchOthers = (options: INotebookCellExecutor.IRunCellOptions): void => {
      const session = options.sessionContext?.session;
      const kernelId = session?.kernel?.id;
      if (!kernelId || prefetchedFor.get(options.notebook) === kernelId) {
        return;
      }
      prefetchedFor.set(options.notebook, kernelId);
      const keys: IPredictionKey[] = [];
      for (const model of options.notebook.cells) {
        if (model.type === 'code' && model !== options.cell.model) {
          const code = model.sharedModel.getSource();
          keys.push({ notebookPath: session?.path ?? null, kernelId, cellId: model.id, code });
        }
      }
      setTimeout(() => void prefetcher.prefetch(options.notebook, keys), 0);
    };

    let registrySettings: ISettingRegistry.ISettings | null = null;
    app.commands.addCommand(TOGGLE_GATE_COMMAND, {
      label: trans.__('Predict Cells Before They Run'),
      caption: trans.__('Look up what each cell is predicted to use, and ask first above your thresholds'),
      isToggled: () => settings.enabled,
      execute: async () => {
        if (registrySettings) {
          await registrySettings.set('enabled', !settings.enabled);
        } else {
          settings = { ...settings, enabled: !settings.enabled };
          app.commands.notifyCommandChanged(TOGGLE_GATE_COMMAND);
        }
      }
    });
    palette?.addItem({ command: TOGGLE_GATE_COMMAND, category: trans.__('Carbon') });

    if (settingRegistry) {
      void settingRegistry.load(predictPlugin.id).then(loaded => {
        registrySettings = loaded;
        const read = (): void => {
          settings = readPredictSettings(loaded.composite as Record<string, unknown>, DEFAULT_PREDICT_SETTINGS);
          app.commands.notifyCommandChanged(TOGGLE_GATE_COMMAND);
        };
        loaded.changed.connect(read);
        read();
      });
      void settingRegistry.load(BADGES_PLUGIN).then(
        badges => {
          const read = (): void => {
            energyUnit = badges.composite.energyUnit === 'J' ? 'J' : 'Wh';
          };
          badges.changed.connect(read);
          read();
        },
        () => undefined // the badges' settings are optional here: Wh it is
      );
    }

    return {
      async runCell(options: INotebookCellExecutor.IRunCellOptions): Promise<boolean> {
        const sent = (): void => {
          if (options.cell.model.type === 'code') {
            known.ran(options.cell.model.sharedModel.getSource());
          }
        };
        if (!settings.enabled) {
          const running = runCell(options); // the gate is off: no lookup at all,
          sent(); // but the code may have a basis when it is on again
          return running;
        }
        const cell = { options };
        const admitted = await gate.admit(options.notebook, cell);
        if (!admitted) {
          return false;
        }
        const started = performance.now();
        const running = runCell(options);
        sent(); // after the cell is on its way: hashing its code is not on that path
        prefetchOthers(options);
        const ran = await running;
        // A run longer than the duration threshold (queue included) ends what the cache knew of the
        // cell: its next start waits for a fresh lookup, even before its badge has the run.
        const limit = settings.duration_s;
        if (limit !== null && (performance.now() - started) / 1000 > limit) {
          gate.forget(cell);
        }
        return ran;
      }
    };
  }
};
