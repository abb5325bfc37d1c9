import { ServerConnection } from '@jupyterlab/services';

import { lookupPrediction } from '../lookup';
import { prediction } from './fixtures';

const REQUEST = { kernel_id: 'k', notebook_path: 'a.ipynb', cell_id: 'c', code: 'x = 1', execution_count: null };

function settingsWith(fetch: (request: Request) => Promise<Response>) {
  return ServerConnection.makeSettings({
    baseUrl: 'http://localhost/',
    fetch: fetch as unknown as typeof window.fetch
  });
}

describe('the lookup', () => {
  const answer = (status: number, body: string) =>
    Promise.resolve({ ok: status < 400, status, statusText: '', text: () => Promise.resolve(body) } as Response);

  it('posts the cell and returns the prediction', async () => {
    const seen: Array<{ url: string; method: string; body: string }> = [];
    const settings = settingsWith(async request => {
      seen.push({ url: request.url, method: request.method, body: await request.text() });
      return answer(200, JSON.stringify({ prediction: prediction() }));
    });
    expect((await lookupPrediction(REQUEST, 250, settings))?.basis.kind).toBe('history');
    expect(seen[0].url).toMatch(/\/carbon\/predict($|\?)/);
    expect(seen[0].method).toBe('POST');
    expect(JSON.parse(seen[0].body)).toEqual(REQUEST);
  });

  it('is null for nothing known, a failing server, or one slower than the timeout', async () => {
    expect(
      await lookupPrediction(
        REQUEST,
        250,
        settingsWith(() => answer(200, '{"prediction": null}'))
      )
    ).toBeNull();
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(
      await lookupPrediction(
        REQUEST,
        250,
        settingsWith(() => answer(404, 'no'))
      )
    ).toBeNull();
    warn.mockRestore();
    const hanging = settingsWith(
      request =>
        new Promise((_resolve, reject) =>
          request.signal.addEventListener('abort', () => reject(new TypeError('aborted')))
        )
    );
    const started = Date.now();
    expect(await lookupPrediction(REQUEST, 30, hanging)).toBeNull();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
