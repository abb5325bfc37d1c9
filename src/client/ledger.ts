import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  IAnnotation,
  IExperiment,
  IImportResult,
  ILedgerFilters,
  ILedgerPageQuery,
  IRun,
  IRunGroups,
  IRunsPage,
  LedgerGroupKey
} from '../tokens';
import { CarbonAPIError, NAMESPACE, requestAPI } from './client';

/** The formats of the ledger's export. */
export type ExportFormat = 'csv' | 'json';

/** A file the server sent as an attachment. */
export interface IDownload {
  filename: string;
  blob: Blob;
}

/** The query string of the ledger's shared filters (repeatable `tag` and `flag`), plus extras. */
export function ledgerSearchParams(
  filters: ILedgerFilters,
  extra: Record<string, string | number | undefined> = {}
): URLSearchParams {
  const params = new URLSearchParams();
  const { tags, flags, ...scalars } = filters;
  for (const [key, value] of Object.entries({ ...scalars, ...extra })) {
    if (value !== undefined && value !== null && value !== '') {
      params.set(key, String(value));
    }
  }
  for (const tag of tags ?? []) {
    params.append('tag', tag);
  }
  for (const flag of flags ?? []) {
    params.append('flag', flag);
  }
  return params;
}

function withParams(path: string, params: URLSearchParams): string {
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

function postJSON(body: unknown): RequestInit {
  return { method: 'POST', body: JSON.stringify(body) };
}

/** The filename of a Content-Disposition header, else the fallback. */
export function attachmentFilename(header: string | null, fallback: string): string {
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(header ?? '');
  return match ? decodeURIComponent(match[1].trim()) : fallback;
}

/** Typed access to the ledger's REST endpoints (issue 8's contract). */
export class LedgerClient {
  constructor(private readonly _settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  /** A page of runs matching the filters, sorted (newest first by default); no power traces. */
  runs(query: ILedgerPageQuery): Promise<IRunsPage> {
    const { sort, order, limit, offset, ...filters } = query;
    const params = ledgerSearchParams(filters, { sort, order, limit, offset });
    return this._request<IRunsPage>(withParams('runs', params));
  }

  /** One run with its power trace. */
  run(runId: string): Promise<IRun> {
    return this._request<IRun>(`runs/${encodeURIComponent(runId)}`);
  }

  /** Subtotals of the matching runs grouped by a key, and their total. */
  groups(by: LedgerGroupKey, filters: ILedgerFilters): Promise<IRunGroups> {
    return this._request<IRunGroups>(withParams('runs/groups', ledgerSearchParams(filters, { by })));
  }

  /** The experiments of the matching runs. */
  async experiments(filters: ILedgerFilters = {}): Promise<IExperiment[]> {
    const answer = await this._request<{ experiments: IExperiment[] }>(
      withParams('experiments', ledgerSearchParams(filters))
    );
    return answer.experiments;
  }

  /** Change the experiment, tags or note of runs; resolves to how many changed. */
  async annotate(runIds: string[], annotation: IAnnotation): Promise<number> {
    const answer = await this._request<{ updated: number }>(
      'runs/annotate',
      postJSON({ run_ids: runIds, ...annotation })
    );
    return answer.updated;
  }

  /** Move runs to the trash. */
  async deleteRuns(runIds: string[]): Promise<number> {
    const answer = await this._request<{ deleted: number }>('runs/delete', postJSON({ run_ids: runIds }));
    return answer.deleted;
  }

  /** Take runs out of the trash. */
  async restoreRuns(runIds: string[]): Promise<number> {
    const answer = await this._request<{ restored: number }>('runs/restore', postJSON({ run_ids: runIds }));
    return answer.restored;
  }

  /** Delete the trashed runs for good. */
  async emptyTrash(): Promise<number> {
    const answer = await this._request<{ purged: number }>('trash/empty', { method: 'POST' });
    return answer.purged;
  }

  /** Rename an experiment on every run of it. */
  async renameExperiment(from: string, to: string): Promise<number> {
    const answer = await this._request<{ updated: number }>('experiments/rename', postJSON({ from, to }));
    return answer.updated;
  }

  /** Import a CodeCarbon emissions.csv; rejects with the server's message naming row and column. */
  importCsv(text: string): Promise<IImportResult> {
    return this._request<IImportResult>('runs/import', {
      method: 'POST',
      body: text,
      headers: { 'Content-Type': 'text/csv' }
    });
  }

  /** Export the given runs, or every run matching the filters. */
  exportRuns(format: ExportFormat, selection: { runIds: string[] } | { filters: ILedgerFilters }): Promise<IDownload> {
    const fallback = format === 'csv' ? 'emissions.csv' : 'runs.json';
    if ('runIds' in selection) {
      return this._download('runs/export', postJSON({ format, run_ids: selection.runIds }), fallback);
    }
    return this._download(withParams('runs/export', ledgerSearchParams(selection.filters, { format })), {}, fallback);
  }

  private _request<T>(endpoint: string, init: RequestInit = {}): Promise<T> {
    return requestAPI<T>(endpoint, init, this._settings);
  }

  /** A request whose answer is a file, not JSON. */
  private async _download(endpoint: string, init: RequestInit, fallback: string): Promise<IDownload> {
    const url = URLExt.join(this._settings.baseUrl, NAMESPACE, endpoint);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this._settings);
    } catch (error) {
      throw new ServerConnection.NetworkError(error as TypeError);
    }
    if (!response.ok) {
      const text = await response.text();
      let message = `${response.status} ${response.statusText}`.trim();
      try {
        message = String((JSON.parse(text) as { message?: unknown }).message ?? message);
      } catch {
        // An HTML error page: the status line says enough.
      }
      throw new CarbonAPIError(response.status, message);
    }
    const filename = attachmentFilename(response.headers.get('Content-Disposition'), fallback);
    return { filename, blob: await response.blob() };
  }
}
