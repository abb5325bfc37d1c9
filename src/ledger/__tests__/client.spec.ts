import { ServerConnection } from '@jupyterlab/services';

import { attachmentFilename, ledgerSearchParams, LedgerClient } from '../../client/ledger';

type FetchArgs = [RequestInfo, RequestInit?];

function clientAnswering(
  status: number,
  body: string,
  calls: FetchArgs[],
  headers: Record<string, string> = {}
): LedgerClient {
  const fakeFetch = async (...args: FetchArgs): Promise<Response> => {
    calls.push(args);
    return new Response(body, { status, headers: { 'Content-Type': 'application/json', ...headers } });
  };
  return new LedgerClient(
    ServerConnection.makeSettings({ baseUrl: 'http://localhost:8888/', fetch: fakeFetch as typeof fetch })
  );
}

function requestOf(call: FetchArgs): Request {
  return call[0] as Request;
}

describe('ledgerSearchParams', () => {
  it('repeats tag and flag, and leaves out empty values', () => {
    const params = ledgerSearchParams(
      { q: 'a b', tags: ['x', 'y'], flags: ['interrupted'], experiment: '' },
      { limit: 50, sort: undefined }
    );
    expect(params.toString()).toBe('q=a+b&limit=50&tag=x&tag=y&flag=interrupted');
  });
});

describe('attachmentFilename', () => {
  it("reads Content-Disposition's filename, else the fallback", () => {
    expect(attachmentFilename('attachment; filename="emissions.csv"', 'x')).toBe('emissions.csv');
    expect(attachmentFilename(null, 'runs.json')).toBe('runs.json');
  });
});

describe('LedgerClient', () => {
  it('GETs a page with filters, sort and window', async () => {
    const calls: FetchArgs[] = [];
    const client = clientAnswering(200, JSON.stringify({ total: 0, runs: [] }), calls);
    await client.runs({ tags: ['gpu'], sort: 'energy', order: 'asc', limit: 10, offset: 20 });
    const url = new URL(requestOf(calls[0]).url);
    expect(url.pathname).toBe('/carbon/runs');
    expect(url.searchParams.getAll('tag')).toEqual(['gpu']);
    expect(url.searchParams.get('sort')).toBe('energy');
    expect(url.searchParams.get('offset')).toBe('20');
  });

  it('POSTs annotations with the run ids', async () => {
    const calls: FetchArgs[] = [];
    const client = clientAnswering(200, JSON.stringify({ updated: 2 }), calls);
    await expect(client.annotate(['a', 'b'], { add_tags: ['x'] })).resolves.toBe(2);
    const request = requestOf(calls[0]);
    expect(request.method).toBe('POST');
    expect(await request.json()).toEqual({ run_ids: ['a', 'b'], add_tags: ['x'] });
  });

  it('POSTs an import as CSV text and passes the server error on', async () => {
    const calls: FetchArgs[] = [];
    const message = 'Row 3, column energy_consumed: not a number';
    const client = clientAnswering(400, JSON.stringify({ code: 400, message }), calls);
    await expect(client.importCsv('timestamp,project_name\n')).rejects.toThrow(message);
    expect(requestOf(calls[0]).headers.get('Content-Type')).toBe('text/csv');
  });

  it('downloads an export with the filename the server gives', async () => {
    const calls: FetchArgs[] = [];
    const client = clientAnswering(200, 'timestamp,project_name,run_id\n', calls, {
      'Content-Disposition': 'attachment; filename="emissions.csv"'
    });
    const download = await client.exportRuns('csv', { runIds: ['a'] });
    expect(download.filename).toBe('emissions.csv');
    expect(await download.blob.text()).toBe('timestamp,project_name,run_id\n');
    expect(await requestOf(calls[0]).json()).toEqual({ format: 'csv', run_ids: ['a'] });
  });
});
