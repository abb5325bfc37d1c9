import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from '../client/client';
import { IPrediction, IPredictRequest } from './types';

/** How long a cell waits for its prediction before it runs unasked (the server answers in ms). */
export const LOOKUP_TIMEOUT_MS = 250;

/**
 * How long a background refresh (of a cell known cheap, already started) may take: no cell waits
 * for it, and timing out would drop what the page knew, making the cell's next start wait.
 */
export const REFRESH_TIMEOUT_MS = 5000;

/**
 * Ask the server for a cell's prediction.
 *
 * Resolves null when nothing is known, and also when the server is slow (past `timeoutMs`), lacks
 * the endpoint or fails: the gate must never keep a cell from running because of itself.
 */
export async function lookupPrediction(
  request: IPredictRequest,
  timeoutMs: number = LOOKUP_TIMEOUT_MS,
  settings?: ServerConnection.ISettings
): Promise<IPrediction | null> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const answer = await requestAPI<{ prediction: IPrediction | null }>(
      'predict',
      { method: 'POST', body: JSON.stringify(request), signal: abort.signal },
      settings
    );
    return answer?.prediction ?? null;
  } catch (error) {
    if (!abort.signal.aborted) {
      Private.warnOnce(error as Error);
    }
    return null;
  } finally {
    clearTimeout(timer);
  }
}

namespace Private {
  let warned = false;

  /** One console line per page: a broken endpoint would otherwise log on every cell. */
  export function warnOnce(error: Error): void {
    if (!warned) {
      warned = true;
      console.warn(`jupyterlab-carbon: cells run without a prediction (the lookup failed: ${error.message})`);
    }
  }
}
