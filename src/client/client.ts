import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  CarbonEvent,
  ICarbonClient,
  IExecutionStarted,
  IIntensitySettings,
  IIntensityState,
  IPower,
  IRunsPage,
  IRunsQuery,
  IStatus,
  ITotals
} from '../tokens';

/**
 * The events of one message of the events socket: an event object, or an array of them in the
 * order they happened (the server batches executions' starts and stored runs). Entries that are
 * not objects with a `type` are left out; text that is not JSON throws.
 */
export function parseEvents(text: string): CarbonEvent[] {
  const data: unknown = JSON.parse(text);
  const entries: unknown[] = Array.isArray(data) ? data : [data];
  return entries.filter(
    (entry): entry is CarbonEvent =>
      typeof entry === 'object' && entry !== null && typeof (entry as { type?: unknown }).type === 'string'
  );
}

/** `path?a=1&b=2` without the undefined values. */
function withQuery(path: string, query: Record<string, string | number | undefined | null>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) {
      params.set(key, String(value));
    }
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

/** The server extension's URL namespace. */
export const NAMESPACE = 'carbon';

/**
 * What a request says when the server has no `carbon/` endpoints at all: Jupyter answers its own
 * (HTML) 404 page, where every endpoint of the extension answers in JSON.
 */
export const SERVER_EXTENSION_MISSING =
  'The jupyterlab-carbon server extension is not enabled on this Jupyter server. ' +
  'Run `jupyter server extension enable jupyterlab_carbon`, then restart Jupyter.';

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
  if (!response.ok) {
    throw new CarbonAPIError(response.status, Private.errorMessage(response, text));
  }
  if (response.status === 204) {
    return undefined as T;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    // Never pass text on as data: a body that is not JSON (such as a non-standard `Infinity`)
    // is a server fault, and the caller must see it as one.
    throw new CarbonAPIError(
      response.status,
      `The server's answer to ${NAMESPACE}/${endPoint} is not valid JSON: ${Private.excerpt(text)}`
    );
  }
}

/** Reconnection delays of the events socket: doubling from 1 s up to 30 s. */
export function reconnectDelay(attempt: number): number {
  return Math.min(1000 * 2 ** attempt, 30000);
}

/** The REST client and events socket behind the ICarbonClient token. */
export class CarbonClient implements ICarbonClient, IDisposable {
  constructor(private readonly _settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  get events(): ISignal<this, CarbonEvent> {
    this._ensureSocket();
    return this._events;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  status(): Promise<IStatus> {
    return requestAPI<IStatus>('status', {}, this._settings);
  }

  power(): Promise<IPower> {
    return requestAPI<IPower>('power', {}, this._settings);
  }

  runs(query: IRunsQuery = {}): Promise<IRunsPage> {
    return requestAPI<IRunsPage>(withQuery('runs', { ...query }), {}, this._settings);
  }

  totals(query: { notebook_path?: string; kernel_id?: string; since?: number }): Promise<ITotals> {
    return requestAPI<ITotals>(withQuery('totals', query), {}, this._settings);
  }

  intensity(): Promise<IIntensityState> {
    return requestAPI<IIntensityState>('intensity', {}, this._settings);
  }

  setIntensity(settings: IIntensitySettings): Promise<IIntensityState> {
    return requestAPI<IIntensityState>('intensity', { method: 'PUT', body: JSON.stringify(settings) }, this._settings);
  }

  async executions(): Promise<IExecutionStarted[]> {
    const answer = await requestAPI<{ executions: IExecutionStarted[] }>('executions', {}, this._settings);
    return answer.executions;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    window.clearTimeout(this._reconnectTimer);
    this._socket?.close();
    Signal.clearData(this);
  }

  private _ensureSocket(): void {
    if (this._socket || this._disposed || typeof WebSocket === 'undefined') {
      return;
    }
    let url = URLExt.join(this._settings.wsUrl, NAMESPACE, 'events');
    const token = this._settings.token;
    if (this._settings.appendToken && token) {
      url += `?token=${encodeURIComponent(token)}`;
    }
    const socket = new WebSocket(url);
    this._socket = socket;
    socket.onopen = () => {
      this._attempt = 0;
    };
    socket.onmessage = event => {
      let events: CarbonEvent[];
      try {
        events = parseEvents(event.data as string);
      } catch (error) {
        console.warn('jupyterlab-carbon: ignoring a malformed event', error);
        return;
      }
      for (const carbonEvent of events) {
        this._events.emit(carbonEvent);
      }
    };
    socket.onclose = () => {
      this._socket = null;
      if (!this._disposed) {
        this._reconnectTimer = window.setTimeout(() => this._ensureSocket(), reconnectDelay(this._attempt++));
      }
    };
  }

  private _events = new Signal<this, CarbonEvent>(this);
  private _socket: WebSocket | null = null;
  private _attempt = 0;
  private _reconnectTimer = 0;
  private _disposed = false;
}

namespace Private {
  /** How much of an unexpected body an error message quotes. */
  const EXCERPT_LENGTH = 80;

  /** The start of a body, on one line, for an error message. */
  export function excerpt(text: string): string {
    if (text.length === 0) {
      return '(empty)';
    }
    const line = text.replace(/\s+/g, ' ');
    return line.length > EXCERPT_LENGTH ? `${line.slice(0, EXCERPT_LENGTH)}…` : line;
  }

  /** The server's JSON `message` when it sent one, else the HTTP status. */
  export function errorMessage(response: Response, text: string): string {
    try {
      const data: unknown = JSON.parse(text);
      if (typeof data === 'object' && data !== null && 'message' in data) {
        return String((data as { message: unknown }).message);
      }
    } catch {
      // Not JSON (a proxy's or Jupyter's HTML error page): fall back to the status line.
    }
    if (response.status === 404) {
      return SERVER_EXTENSION_MISSING;
    }
    return `${response.status} ${response.statusText}`.trim();
  }
}
