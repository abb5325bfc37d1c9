import { expect, galata, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';

import { notebookJSON, openWithIdleKernel } from './notebooks';

const NOTEBOOK = 'predict.ipynb';
// The first cell keeps a core busy (a sleeping cell's share of the node is 0 J, and so would be
// its prediction, leaving no error to show).
const CELLS = [
  'import time\nend = time.perf_counter() + 0.3\nwhile time.perf_counter() < end:\n    pass\ntrained = 1',
  'evaluated = sum(range(10 ** 6))'
];
const DIALOG = '.jp-Dialog';
const CHIP = '.jp-carbon-Badge-chip';
const FINAL = /^⚡ (?!running).*\d.*(Wh|J)/;

test.use({
  autoGoto: false,
  // A threshold every cell is above, so the second run of a cell (the history basis) asks; a
  // patient lookup, as this machine may be loaded.
  mockSettings: {
    ...galata.DEFAULT_SETTINGS,
    // Any run is above these: a short CPU cell's modeled energy can round to 0 J (its CPU time is
    // counted in 10 ms ticks), its duration never does.
    'jupyterlab-carbon:predict': { enabled: true, energy_wh: 0.000001, duration_s: 0.000001, lookup_timeout_ms: 5000 }
  },
  // The notebook is opened by URL: galata's own wait (the launcher, the file browser, 15 s each)
  // fails on a loaded machine.
  waitForApplication: async ({ baseURL }, use) => {
    void baseURL;
    await use(async page => {
      await page.locator('#jupyterlab-splash').waitFor({ state: 'detached' });
      await page.locator('.jp-NotebookPanel').waitFor({ timeout: 60000 });
    });
  }
});

/** The execution counts of the code cells, as their prompts show them. */
async function prompts(page: IJupyterLabPageFixture): Promise<string[]> {
  return (await page.locator('.jp-Notebook .jp-CodeCell .jp-InputPrompt').allTextContents()).map(t => t.trim());
}

/** One of the dialog's own buttons (not the title bar's close button, also named Cancel). */
function dialogButton(page: IJupyterLabPageFixture, label: string): Locator {
  return page
    .locator(`${DIALOG} .jp-Dialog-footer button.jp-Dialog-button`)
    .filter({ hasText: new RegExp(`^${label}$`) });
}

/** Run one cell from the keyboard (galata's runCell would wait through the dialog). */
async function runCellByKeyboard(page: IJupyterLabPageFixture, index: number): Promise<void> {
  await page.locator('.jp-Notebook .jp-CodeCell').nth(index).locator('.jp-InputPrompt').click();
  await page.keyboard.press('Control+Enter');
}

/** Wait until every code cell's run is in the ledger (its badge shows the final figure). */
async function waitForRuns(page: IJupyterLabPageFixture, runs: string[]): Promise<void> {
  const cells = page.locator('.jp-Notebook .jp-CodeCell');
  for (let i = 0; i < runs.length; i++) {
    await expect(cells.nth(i).locator('.jp-InputPrompt')).toHaveText(runs[i], { timeout: 30000 });
    await expect(cells.nth(i).locator(CHIP)).toHaveText(FINAL, { timeout: 30000 });
  }
}

test.describe('prediction gate', () => {
  test.beforeEach(async ({ page, tmpPath }) => {
    await page.contents.uploadContent(notebookJSON(CELLS), 'text', `${tmpPath}/${NOTEBOOK}`);
    await openWithIdleKernel(page, `${tmpPath}/${NOTEBOOK}`, CELLS.length);
  });

  test('asks above the threshold: Run All once, Cancel, Run, Don’t ask again; the popover compares', async ({
    page
  }) => {
    // First runs: nothing is known yet, so nothing asks.
    await page.evaluate(() => window.jupyterapp.commands.execute('notebook:run-all-cells'));
    await expect(page.locator(DIALOG)).toHaveCount(0);
    await waitForRuns(page, ['[1]:', '[2]:']);

    // Run All: one dialog listing both cells, from their history.
    void page.evaluate(() => window.jupyterapp.commands.execute('notebook:run-all-cells'));
    const dialog = page.locator(DIALOG);
    await expect(dialog).toBeVisible({ timeout: 10000 });
    await expect(dialog).toContainText('Run 2 expensive cells?');
    await expect(dialog.locator('.jp-carbon-PredictDialog-cell')).toHaveCount(2);
    await expect(dialog).toContainText('Cell 1: import time');
    await expect(dialog).toContainText('Cell 2: evaluated = sum');
    await expect(dialog).toContainText(/earlier run/);
    await expect(dialog).toContainText('Greenest grid zones');
    await page.screenshot({ path: test.info().outputPath('gate-run-all.png') });
    await dialogButton(page, 'Cancel').click();
    await expect(dialog).toHaveCount(0);
    await page.waitForTimeout(1000);
    await expect(dialog).toHaveCount(0); // asked once for the whole run
    expect(await prompts(page)).toEqual(['[1]:', '[2]:']); // nothing ran

    // One cell: Cancel does not run it.
    await runCellByKeyboard(page, 0);
    await expect(dialog).toBeVisible({ timeout: 10000 });
    await expect(dialog).toContainText('Run an expensive cell?');
    await expect(dialog.locator('dt')).toHaveText(['Energy', 'CO₂e', 'Cost', 'Duration']);
    await page.screenshot({ path: test.info().outputPath('gate-one-cell.png') });
    await dialogButton(page, 'Cancel').click();
    await page.waitForTimeout(1000);
    expect(await prompts(page)).toEqual(['[1]:', '[2]:']);

    // Run runs it.
    await runCellByKeyboard(page, 0);
    await expect(dialog).toBeVisible({ timeout: 10000 });
    await dialogButton(page, 'Run').click();
    await waitForRuns(page, ['[3]:']);

    // Don't ask again: runs now, and is remembered in the cell's metadata.
    await runCellByKeyboard(page, 0);
    await expect(dialog).toBeVisible({ timeout: 10000 });
    await dialogButton(page, "Don't ask again for this cell").click();
    await waitForRuns(page, ['[4]:']);
    const remembered = await page.evaluate(() => {
      const panel = window.jupyterapp.shell.currentWidget as unknown as {
        content: { widgets: Array<{ model: { getMetadata(key: string): unknown } }> };
      };
      return panel.content.widgets[0].model.getMetadata('carbon');
    });
    expect(remembered).toEqual({ predict: { dont_ask: true } });
    await runCellByKeyboard(page, 0);
    await waitForRuns(page, ['[5]:']);
    await expect(dialog).toHaveCount(0);

    // The popover sets the prediction against the measurement.
    await expect
      .poll(
        () =>
          page.evaluate(() => {
            const panel = window.jupyterapp.shell.currentWidget as unknown as {
              content: { widgets: Array<{ model: { getMetadata(key: string): unknown } }> };
            };
            const summary = panel.content.widgets[0].model.getMetadata('jupyterlab-carbon') as {
              prediction?: unknown;
            } | null;
            return summary?.prediction ?? null;
          }),
        { timeout: 30000 }
      )
      .not.toBeNull();
    const chip = page.locator('.jp-Notebook .jp-CodeCell').nth(0).locator(CHIP);
    await chip.click();
    const popover = page.locator('.jp-carbon-Popover');
    await expect(popover).toContainText('Predicted vs measured');
    await expect(popover).toContainText(/Energy: predicted .*, measured /);
    await expect(popover).toContainText(/Error: [+−±]\d+ % of the predicted energy/);
    await popover.locator('.jp-carbon-Popover-prediction').scrollIntoViewIfNeeded();
    await page.screenshot({ path: test.info().outputPath('popover-predicted.png') });
    await page.keyboard.press('Escape');
  });
});
