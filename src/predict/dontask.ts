import { ICellModel } from '@jupyterlab/cells';

/** The cell-metadata key the gate shares with the rest of the extension's per-cell options. */
export const METADATA_KEY = 'carbon';

type CarbonMetadata = Record<string, unknown> & { predict?: Record<string, unknown> };

function read(model: ICellModel): CarbonMetadata {
  const value = model.getMetadata(METADATA_KEY);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as CarbonMetadata) : {};
}

/** Did the user say "Don't ask again" for this cell (`carbon.predict.dont_ask`)? */
export function isDontAsk(model: ICellModel): boolean {
  return read(model).predict?.dont_ask === true;
}

/** Remember "Don't ask again" in the cell's metadata, keeping whatever else is under `carbon`. */
export function setDontAsk(model: ICellModel): void {
  const current = read(model);
  const predict = typeof current.predict === 'object' && current.predict !== null ? current.predict : {};
  model.setMetadata(METADATA_KEY, { ...current, predict: { ...predict, dont_ask: true } });
}
