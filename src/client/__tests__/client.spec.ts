import { ServerConnection } from '@jupyterlab/services';

import { CarbonAPIError, CarbonClient, SERVER_EXTENSION_MISSING, parseEvents, reconnectDelay } from '../client';

type FetchArgs = [RequestInfo, RequestInit?];

function settingsAnswering(
  status: number,
  body: string,
  calls: FetchArgs[],
  statusText = ''
): ServerConnection.ISettings {
  const fakeFetch = async (...args: FetchArgs): Promise<Response> => {
    calls.push(args);
    return new Response(body, { status, statusText, headers: { 'Content-Type': 'application/json' } });
  };
  return ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/base/',
    fetch: fakeFetch as typeof fetch
  });
}

describe('CarbonClient', () => {
  it('GETs the status endpoint below the base URL and parses it', async () => {
    const calls: FetchArgs[] = [];
    const status = { version: '0.1.0', hostname: 'node', channels: [], diagnoses: [], modeled: true };
    const client = new CarbonClient(settingsAnswering(200, JSON.stringify(status), calls));
    await expect(client.status()).resolves.toEqual(status);
    const request = calls[0][0];
    const url = typeof request === 'string' ? request : request.url;
    // makeRequest adds a cache-busting query to GETs
    expect(url.split('?')[0]).toBe('http://localhost:8888/base/carbon/status');
  });

  it('GETs the power endpoint', async () => {
    const calls: FetchArgs[] = [];
    const power = { time: 1, total_w: 23, channels: [] };
    const client = new CarbonClient(settingsAnswering(200, JSON.stringify(power), calls));
    await expect(client.power()).resolves.toEqual(power);
  });

  it('raises the server JSON error message with its status', async () => {
    const client = new CarbonClient(settingsAnswering(400, JSON.stringify({ code: 400, message: 'bad window' }), []));
    const error = await client.power().catch(e => e);
    expect(error).toBeInstanceOf(CarbonAPIError);
    expect(error.status).toBe(400);
    expect(error.message).toBe('bad window');
  });

  it('falls back to the HTTP status line when an error body is not JSON', async () => {
    const client = new CarbonClient(settingsAnswering(502, '<html>Bad gateway</html>', [], 'Bad Gateway'));
    const error = await client.status().catch(e => e);
    expect(error).toBeInstanceOf(CarbonAPIError);
    expect(error.status).toBe(502);
    expect(error.message).toBe('502 Bad Gateway');
  });

  it('says the server extension is missing when Jupyter answers its own 404 page', async () => {
    const page = '<!DOCTYPE HTML><html><head><title>Jupyter Server</title></head><body>404 : Not Found</body></html>';
    const client = new CarbonClient(settingsAnswering(404, page, [], 'Not Found'));
    const error = await client.status().catch(e => e);
    expect(error).toBeInstanceOf(CarbonAPIError);
    expect(error.status).toBe(404);
    expect(error.message).toBe(SERVER_EXTENSION_MISSING);
    expect(error.message).toContain('jupyter server extension enable jupyterlab_carbon');
    // An endpoint of the extension answering 404 says what it did not find.
    const notFound = JSON.stringify({ code: 404, message: 'No run abc' });
    const run = await new CarbonClient(settingsAnswering(404, notFound, [])).status().catch(e => e);
    expect(run.message).toBe('No run abc');
  });

  it('says only the status when the server gave no reason phrase', async () => {
    const client = new CarbonClient(settingsAnswering(503, '', []));
    const error = await client.status().catch(e => e);
    expect(error.message).toBe('503');
  });

  it('rejects a successful answer whose body is not valid JSON, quoting it', async () => {
    // What the server once sent after a settings write of 1e308: Python's non-standard Infinity.
    const body = '{"total": 1, "runs": [{"gco2e": Infinity}]}';
    const client = new CarbonClient(settingsAnswering(200, body, []));
    const error = await client.runs().catch(e => e);
    expect(error).toBeInstanceOf(CarbonAPIError);
    expect(error.status).toBe(200);
    expect(error.message).toBe(
      'The server\'s answer to carbon/runs is not valid JSON: {"total": 1, "runs": [{"gco2e": Infinity}]}'
    );
  });

  it('rejects an empty successful answer, and quotes a long one only in part', async () => {
    const empty = new CarbonClient(settingsAnswering(200, '', []));
    expect((await empty.power().catch(e => e)).message).toBe(
      "The server's answer to carbon/power is not valid JSON: (empty)"
    );
    const long = new CarbonClient(settingsAnswering(200, `[NaN,\n${'1, '.repeat(100)}]`, []));
    expect((await long.power().catch(e => e)).message).toBe(
      // Whitespace runs become one space; 80 characters are kept.
      `The server's answer to carbon/power is not valid JSON: [NaN, ${'1, '.repeat(24)}1,…`
    );
  });
});

describe('CarbonClient.runs', () => {
  it('passes the filters as query parameters', async () => {
    const calls: FetchArgs[] = [];
    const client = new CarbonClient(settingsAnswering(200, JSON.stringify({ total: 0, runs: [] }), calls));
    await client.runs({ kernel_id: 'k1', limit: 5, notebook_path: 'a b.ipynb' });
    const request = calls[0][0];
    const url = new URL(typeof request === 'string' ? request : request.url);
    expect(url.pathname).toBe('/base/carbon/runs');
    expect(url.searchParams.get('kernel_id')).toBe('k1');
    expect(url.searchParams.get('limit')).toBe('5');
    expect(url.searchParams.get('notebook_path')).toBe('a b.ipynb');
  });
});

describe('reconnectDelay', () => {
  it('doubles from one second and stops at thirty', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map(reconnectDelay)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });
});

describe('parseEvents', () => {
  const started = { type: 'execution-started', kernel_id: 'k', msg_id: 'm1', started_at: 1 };
  const run = { type: 'run', run: { run_id: 'r1', msg_id: 'm1' } };

  it('reads one event object', () => {
    expect(parseEvents(JSON.stringify(started))).toEqual([started]);
  });

  it('reads a batch in its order', () => {
    const power = { type: 'power', total_w: 12, time: 2 };
    expect(parseEvents(JSON.stringify([started, run, power]))).toEqual([started, run, power]);
  });

  it('leaves out entries that are not events', () => {
    expect(parseEvents(JSON.stringify([null, 3, 'run', { kind: 'run' }, run]))).toEqual([run]);
    expect(parseEvents('null')).toEqual([]);
  });

  it('throws on text that is not JSON', () => {
    expect(() => parseEvents('{"type": "run"')).toThrow(SyntaxError);
  });
});
