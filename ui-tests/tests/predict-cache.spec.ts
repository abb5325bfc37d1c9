import { expect, galata, IJupyterLabPageFixture, test } from '@jupyterlab/galata';

import { notebookJSON, openWithIdleKernel, waitForIdleKernel } from './notebooks';

const NOTEBOOK = 'predict-cache.ipynb';
// Code of its own (the ledger's history is per code): a retry on the same server starts unknown too.
const CELL = `y = sum(range(1000))  # ${Date.now()}`;
const DIALOG = '.jp-Dialog';
const CHIP = '.jp-carbon-Badge-chip';
const FINAL = /^⚡ (?!running).*\d.*(Wh|J)/;
const PREDICT = 'jupyterlab-carbon:predict';

test.use({
  autoGoto: false,
  // Thresholds a short cell is far below; a patient lookup, as this machine may be loaded.
  mockSettings: {
    ...galata.DEFAULT_SETTINGS,
    [PREDICT]: { enabled: true, energy_wh: 10, duration_s: 300, lookup_timeout_ms: 5000 }
  },
  waitForApplication: async ({ baseURL }, use) => {
    void baseURL;
    await use(async page => {
      await page.locator('#jupyterlab-splash').waitFor({ state: 'detached' });
      await page.locator('.jp-NotebookPanel').waitFor({ timeout: 60000 });
    });
  }
});

/** Record, in the page, when each lookup starts and when each execute_request leaves. */
async function watchOrder(page: IJupyterLabPageFixture): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { carbonOrder: string[] };
    w.carbonOrder = [];
    const fetch = window.fetch.bind(window);
    window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      // The lookup only (POST carbon/predict), not the known codes' refresh (GET carbon/predict/known).
      if (/carbon\/predict(\?|$)/.test(url)) {
        w.carbonOrder.push('lookup');
      }
      return fetch(input, init);
    };
    const panel = window.jupyterapp.shell.currentWidget as unknown as {
      sessionContext: {
        session: {
          kernel: {
            anyMessage: {
              connect(
                fn: (_: unknown, args: { direction: string; msg: { header: { msg_type: string } } }) => void
              ): void;
            };
          };
        };
      };
    };
    panel.sessionContext.session.kernel.anyMessage.connect((_, args) => {
      if (args.direction === 'send' && args.msg.header.msg_type === 'execute_request') {
        w.carbonOrder.push('execute');
      }
    });
  });
}

/** What happened since the last call, in order. */
async function takeOrder(page: IJupyterLabPageFixture): Promise<string[]> {
  return page.evaluate(() => {
    const w = window as unknown as { carbonOrder: string[] };
    const taken = w.carbonOrder;
    w.carbonOrder = [];
    return taken;
  });
}

/** Run the notebook's only cell (not awaited: a dialog may hold it). */
async function runCell(page: IJupyterLabPageFixture): Promise<void> {
  void page.evaluate(() => window.jupyterapp.commands.execute('notebook:run-cell'));
}

async function waitForRun(page: IJupyterLabPageFixture, prompt: string): Promise<void> {
  const cell = page.locator('.jp-Notebook .jp-CodeCell').first();
  await expect(cell.locator('.jp-InputPrompt')).toHaveText(prompt, { timeout: 30000 });
  await expect(cell.locator(CHIP)).toHaveText(FINAL, { timeout: 30000 });
}

/**
 * Set the duration threshold through the settings registry, as the Settings Editor would (a short
 * cell's modeled energy can be 0 J, counted in 10 ms CPU ticks; its duration never is).
 */
async function setDurationThreshold(page: IJupyterLabPageFixture, seconds: number): Promise<void> {
  await page.evaluate(
    async ({ plugin, value }) => {
      // The registry is the settings plugin's service (what galata's getPlugin returns; its
      // in-page helper is not bound here, as the page was opened by Playwright's own navigation).
      const app = window.jupyterapp as unknown as {
        pluginRegistry: {
          _plugins: Map<string, { service: { set(plugin: string, key: string, value: unknown): Promise<void> } }>;
        };
      };
      const registry = app.pluginRegistry._plugins.get('@jupyterlab/apputils-extension:settings')!.service;
      await registry.set(plugin, 'duration_s', value);
    },
    { plugin: PREDICT, value: seconds }
  );
}

test.describe('prediction gate: what the page already knows', () => {
  test.beforeEach(async ({ page, tmpPath }) => {
    await page.contents.uploadContent(notebookJSON([CELL]), 'text', `${tmpPath}/${NOTEBOOK}`);
    await openWithIdleKernel(page, `${tmpPath}/${NOTEBOOK}`, 1);
  });

  test('a cell known cheap starts before its lookup; a changed threshold makes it wait and ask', async ({ page }) => {
    await watchOrder(page);
    // Never seen, by this page or the ledger: nothing can be known of it, it starts at once and its
    // lookup goes out afterwards (the server learns its code that way).
    await runCell(page);
    await waitForRun(page, '[1]:');
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { carbonOrder: string[] }).carbonOrder.length))
      .toBe(2);
    expect(await takeOrder(page)).toEqual(['execute', 'lookup']);
    // Its code has a history now: the cell waits for its lookup (the page had no cheap answer yet).
    await runCell(page);
    await waitForRun(page, '[2]:');
    expect(await takeOrder(page)).toEqual(['lookup', 'execute']);
    // Same cell, same code, same thresholds: it starts at once, the lookup refreshes afterwards.
    await runCell(page);
    await waitForRun(page, '[3]:');
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { carbonOrder: string[] }).carbonOrder.length))
      .toBe(2);
    expect(await takeOrder(page)).toEqual(['execute', 'lookup']);
    await expect(page.locator(DIALOG)).toHaveCount(0);

    // A threshold the cell is above: what the page knew no longer holds, the cell waits and asks.
    await setDurationThreshold(page, 0.000001);
    await runCell(page);
    const dialog = page.locator(DIALOG);
    await expect(dialog).toBeVisible({ timeout: 10000 });
    await expect(dialog).toContainText('Run an expensive cell?');
    expect(await takeOrder(page)).toEqual(['lookup']);
    await dialog
      .locator('.jp-Dialog-footer button.jp-Dialog-button')
      .filter({ hasText: /^Cancel$/ })
      .click();
    await expect(dialog).toHaveCount(0);
    // And it asks again on the next start: an answer above a threshold is never kept as cheap.
    await runCell(page);
    await expect(dialog).toBeVisible({ timeout: 10000 });
    await dialog
      .locator('.jp-Dialog-footer button.jp-Dialog-button')
      .filter({ hasText: /^Cancel$/ })
      .click();
    await expect(page.locator('.jp-Notebook .jp-CodeCell').first().locator('.jp-InputPrompt')).toHaveText('[3]:');
  });
});

const OTHER = `z = sum(range(2000))  # ${Date.now()}`;

/** Run the code cell at `index` (not awaited) and wait for its prompt and final badge. */
async function runAt(page: IJupyterLabPageFixture, index: number, prompt: string): Promise<void> {
  const cell = page.locator('.jp-Notebook .jp-CodeCell').nth(index);
  await cell.locator('.jp-InputPrompt').click();
  void page.evaluate(() => window.jupyterapp.commands.execute('notebook:run-cell'));
  await expect(cell.locator('.jp-InputPrompt')).toHaveText(prompt, { timeout: 30000 });
  await expect(cell.locator(CHIP)).toHaveText(FINAL, { timeout: 30000 });
}

test.describe('prediction gate: a notebook opened again', () => {
  test.beforeEach(async ({ page, tmpPath }) => {
    await page.contents.uploadContent(notebookJSON([CELL, OTHER]), 'text', `${tmpPath}/reopened.ipynb`);
    await openWithIdleKernel(page, `${tmpPath}/reopened.ipynb`, 2);
  });

  test('the first run looks the other cells up, so that their own first run does not wait', async ({ page }) => {
    // Both cells get a history (cheap), then the page is opened afresh: it knows nothing of them.
    await runAt(page, 0, '[1]:');
    await runAt(page, 1, '[2]:');
    await page.reload();
    await page.waitForFunction(() => !!window.jupyterapp?.shell, null, { timeout: 60000 });
    await waitForIdleKernel(page);
    await watchOrder(page);
    // The first cell run in the page waits for its lookup (its code has a history)...
    await runAt(page, 0, '[3]:');
    // ...and the page looks the other cell up meanwhile, in the background.
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { carbonOrder: string[] }).carbonOrder.length), {
        timeout: 20000
      })
      .toBeGreaterThanOrEqual(3);
    expect((await takeOrder(page)).slice(0, 2)).toEqual(['lookup', 'execute']);
    // So its own first run in this page starts before its lookup.
    await runAt(page, 1, '[4]:');
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { carbonOrder: string[] }).carbonOrder.length))
      .toBe(2);
    expect(await takeOrder(page)).toEqual(['execute', 'lookup']);
  });
});
