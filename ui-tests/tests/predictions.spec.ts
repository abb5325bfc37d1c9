import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';

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
