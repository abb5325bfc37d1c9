import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { ICarbonClient, IPower, IStatus } from './tokens';

/** The server extension's URL namespace. */
export const NAMESPACE = 'carbon';

/** An error answered by the server extension, with its JSON message when it sent one. */
export class CarbonAPIError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
    this.name = 'CarbonAPIError';
  }
}

/**
 * Call the server extension's REST API and parse the JSON answer.
 *
 * @param endPoint path below `carbon/`
 * @param init fetch options
 * @param settings server connection settings (the running server's by default)
 */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, NAMESPACE, endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: unknown = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    const message =
      typeof data === 'object' && data !== null && 'message' in data
        ? String((data as { message: unknown }).message)
        : `${response.status} ${response.statusText}`;
    throw new CarbonAPIError(response.status, message);
  }
  return data as T;
}

/** The REST client behind the ICarbonClient token. */
export class CarbonClient implements ICarbonClient {
  constructor(private readonly _settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  status(): Promise<IStatus> {
    return requestAPI<IStatus>('status', {}, this._settings);
  }

  power(): Promise<IPower> {
    return requestAPI<IPower>('power', {}, this._settings);
  }
}
