import { expect, galata, IJupyterLabPageFixture, test } from '@jupyterlab/galata';

import { notebookJSON, openWithIdleKernel } from './notebooks';

const NOTEBOOK = 'predictions.ipynb';
// Counted FLOPs (PyTorch on the CPU) make a calibration point; its second run is shown a
// prediction from the first (the history basis), which the sidebar then sets against the measurement.
const CELL = [
  '%%carbon --flops --quiet',
  `# ${Date.now()}: code of its own, also on a retry against the same ledger`,
  'import torch',
  'w = torch.randn(384, 384)',
  'for _ in range(60):',
  '    w = torch.tanh(w @ w)'
].join('\n');
const CHIP = '.jp-carbon-Badge-chip';
const FINAL = /^⚡ (?!running).*\d.*(Wh|J)/;
const PANEL = '#jp-carbon-predictions';

test.use({
  autoGoto: false,
  viewport: { width: 1280, height: 2400 }, // the whole sidebar in its screenshots
  waitForApplication: async ({ baseURL }, use) => {
    void baseURL;
    await use(async page => {
      await page.locator('#jupyterlab-splash').waitFor({ state: 'detached' });
      await page.locator('.jp-NotebookPanel').waitFor({ timeout: 60000 });
    });
  }
});

async function runAndWait(page: IJupyterLabPageFixture, prompt: string): Promise<void> {
  const cell = page.locator('.jp-Notebook .jp-CodeCell').first();
  await cell.locator('.jp-InputPrompt').click();
  await page.keyboard.press('Control+Enter');
  await expect(cell.locator('.jp-InputPrompt')).toHaveText(prompt, { timeout: 60000 });
  await expect(cell.locator(CHIP)).toHaveText(FINAL, { timeout: 30000 });
}

test.describe('Predictions sidebar', () => {
  test.beforeEach(async ({ page, tmpPath }) => {
    await page.contents.uploadContent(notebookJSON([CELL]), 'text', `${tmpPath}/${NOTEBOOK}`);
    await openWithIdleKernel(page, `${tmpPath}/${NOTEBOOK}`, 1);
  });

  test('calibration, prediction error and the training-run calculator', async ({ page }) => {
    await runAndWait(page, '[1]:');
    await runAndWait(page, '[2]:');

    await page.evaluate(() => window.jupyterapp.commands.execute('carbon:open-predictions'));
    const panel = page.locator(PANEL);
    await expect(panel).toBeVisible();
    await panel.getByRole('button', { name: 'Refresh' }).click();

    // This node's calibration: a row for the CPU, and its chart.
    const calibration = panel.locator('.jp-carbon-Predictions-calibration');
    await expect(calibration.locator('.jp-carbon-Predictions-fit h4').first()).toContainText(/^cpu /, {
      timeout: 20000
    });
    await expect(calibration.locator('.jp-carbon-chart-plot svg').first()).toBeVisible({ timeout: 20000 });

    // The second run was shown a prediction: the error over time.
    const accuracy = panel.locator('.jp-carbon-Predictions-accuracy');
    await expect(accuracy).toContainText(/\d+ runs? with a prediction/, { timeout: 20000 });
    await expect(accuracy.locator('.jp-carbon-chart-plot svg').first()).toBeVisible({ timeout: 20000 });

    // The calculator: a mistake is named next to its field, then an estimate with its chart.
    await panel.getByLabel('Number of GPUs').fill('lots');
    await panel.getByRole('button', { name: 'Estimate' }).click();
    await expect(panel.getByRole('alert')).toContainText('whole number');
    await expect(panel.getByLabel('Number of GPUs')).toHaveAttribute('aria-invalid', 'true');
    await panel.getByLabel('GPU', { exact: true }).selectOption('H100-SXM');
    await panel.getByLabel('Number of GPUs').fill('64');
    await panel.getByLabel('Parameters').fill('7B');
    await panel.getByLabel('Training tokens').fill('2T');
    await panel.getByLabel('Where').fill('FR');
    await panel.getByLabel('Number of GPUs').press('Enter'); // the keyboard submits the form
    const result = panel.locator('.jp-carbon-Predictions-result');
    await expect(result).toContainText('8.40e+22', { timeout: 20000 });
    await expect(result).toContainText('GPU-hours');
    await expect(result.locator('li').first()).toContainText('FLOPs = 6 x');
    await expect(result.locator('.jp-carbon-chart-plot svg').first()).toBeVisible({ timeout: 20000 });
    for (const [index, section] of (await panel.locator('section').all()).entries()) {
      await section.screenshot({ path: test.info().outputPath(`predictions-light-${index}.png`) });
    }

    // galata's theme helper needs its own navigation: the theme command, as the Settings menu runs it.
    const setTheme = (theme: string) =>
      page.evaluate(name => window.jupyterapp.commands.execute('apputils:change-theme', { theme: name }), theme);
    await setTheme('JupyterLab Dark');
    await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', 'false', { timeout: 20000 });
    await expect(result.locator('.jp-carbon-chart.jp-carbon-chart-dark svg').first()).toBeVisible({ timeout: 20000 });
    for (const [index, section] of (await panel.locator('section').all()).entries()) {
      await section.screenshot({ path: test.info().outputPath(`predictions-dark-${index}.png`) });
    }
    await setTheme('JupyterLab Light');
    await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', 'true', { timeout: 20000 });
  });
});

const DECLARED_CELLS = [
  CELL,
  'import torch\nnet = torch.nn.Linear(256, 256)\nx = torch.randn(64, 256)',
  `%%carbon --predict "model=net, batch=x, steps=10**9"\n# ${Date.now()}\npass`
];

test.describe('the gate with declared FLOPs', () => {
  // A patient lookup, as this machine may be loaded (the default 250 ms lets a cell run unasked).
  test.use({
    mockSettings: {
      ...galata.DEFAULT_SETTINGS,
      'jupyterlab-carbon:predict': { enabled: true, energy_wh: 10, duration_s: 300, lookup_timeout_ms: 5000 }
    }
  });

  test.beforeEach(async ({ page, tmpPath }) => {
    await page.contents.uploadContent(notebookJSON(DECLARED_CELLS), 'text', `${tmpPath}/declared.ipynb`);
    await openWithIdleKernel(page, `${tmpPath}/declared.ipynb`, DECLARED_CELLS.length);
  });

  test('%%carbon --predict: the declared FLOPs are counted before the cell runs, and the gate asks', async ({
    page
  }) => {
    // A calibration first (the counted run), then a model, then a cell declaring a long training of it.
    const code = page.locator('.jp-Notebook .jp-CodeCell');
    for (const [index, prompt] of [
      [0, '[1]:'],
      [1, '[2]:']
    ] as const) {
      await code.nth(index).locator('.jp-InputPrompt').click();
      await page.keyboard.press('Control+Enter');
      await expect(code.nth(index).locator('.jp-InputPrompt')).toHaveText(prompt, { timeout: 60000 });
    }
    await expect(code.nth(0).locator(CHIP)).toHaveText(FINAL, { timeout: 30000 });

    // Never run, yet predicted: from the FLOPs it declares, at this node's calibration.
    await code.nth(2).locator('.jp-InputPrompt').click();
    await page.keyboard.press('Control+Enter');
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toBeVisible({ timeout: 20000 });
    await expect(dialog).toContainText('Run an expensive cell?');
    await expect(dialog).toContainText(/declared FLOPs at this node's calibration/);
    await dialog.screenshot({ path: test.info().outputPath('gate-declared-flops.png') });
    await dialog
      .locator('.jp-Dialog-footer button.jp-Dialog-button')
      .filter({ hasText: /^Cancel$/ })
      .click();
    await expect(code.nth(2).locator('.jp-InputPrompt')).toHaveText('[ ]:');

    // Counting cost a little: it is in the ledger as a run of its own, tagged.
    await expect
      .poll(
        () =>
          page.evaluate(async () => {
            const response = await fetch('/carbon/runs?tag=predict-gate&limit=5');
            return ((await response.json()) as { total: number }).total;
          }),
        { timeout: 20000 }
      )
      .toBeGreaterThan(0);
  });
});
