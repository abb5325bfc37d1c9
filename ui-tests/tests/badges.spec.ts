import { expect, test } from '@jupyterlab/galata';
import * as path from 'path';

import { reloadFromDisk, waitForIdleKernel } from './notebooks';

const DEMO = 'demo.ipynb';
const CHIP = '.jp-carbon-Badge-chip';
// A final figure (not the live counter, which shows digits too).
const FINAL = /^⚡ (?!running).*\d.*(Wh|J)/;

test.use({ autoGoto: true });

test.describe('cell badges', () => {
  test.beforeEach(async ({ page, tmpPath }) => {
    await page.contents.uploadFile(path.resolve(__dirname, '../../examples', DEMO), `${tmpPath}/${DEMO}`);
    await page.filebrowser.openDirectory(tmpPath);
    await page.notebook.openByPath(`${tmpPath}/${DEMO}`);
    await page.notebook.activate(DEMO);
  });

  test('every executed code cell gets a badge; a long cell counts live, then shows its figure', async ({ page }) => {
    const codeCells = page.locator('.jp-Notebook .jp-CodeCell');
    const count = await codeCells.count();
    expect(count).toBeGreaterThanOrEqual(3);

    // The 5 s busy cell: run everything, then watch it live.
    await page.notebook.run();
    const busyCell = codeCells.nth(1);
    // run() waits for the kernel to finish; the live state is checked on a fresh run below.
    for (let i = 0; i < count; i++) {
      await expect(codeCells.nth(i).locator(CHIP)).toHaveText(FINAL, { timeout: 30000 });
    }

    await page.notebook.selectCells(3); // the busy cell (cell 3 of the notebook)
    await page.keyboard.press('Control+Enter');
    await expect(busyCell.locator(`${CHIP}.jp-mod-live`)).toContainText('running', { timeout: 10000 });
    await page.screenshot({ path: test.info().outputPath('live.png') });
    await expect(busyCell.locator(`${CHIP}.jp-mod-live`)).toHaveCount(0, { timeout: 30000 });
    await expect(busyCell.locator(CHIP)).toHaveText(FINAL);
    await expect(busyCell.locator(CHIP)).toContainText('modeled');
    await page.screenshot({ path: test.info().outputPath('badges-light.png'), fullPage: true });
  });

  test('the popover opens by mouse and by keyboard, and closes with Escape', async ({ page }) => {
    await page.notebook.runCell(1); // the first code cell
    const chip = page.locator('.jp-Notebook .jp-CodeCell').nth(0).locator(CHIP);
    await expect(chip).toHaveText(FINAL, { timeout: 30000 });

    await chip.click();
    const popover = page.locator('.jp-carbon-Popover');
    await expect(popover).toBeVisible();
    await expect(popover).toContainText('Energy by device');
    await expect(popover).toContainText('CPU (modeled)');
    await expect(popover).toContainText('gCO₂e/kWh');
    await expect(popover).toContainText('That is about');
    await page.screenshot({ path: test.info().outputPath('popover.png') });
    await page.keyboard.press('Escape');
    await expect(popover).toBeHidden();

    await chip.focus();
    await page.keyboard.press('Enter');
    await expect(popover).toBeVisible();
    await expect(popover).toBeFocused();
    await page.keyboard.press('Escape');
    await expect(popover).toBeHidden();
    await expect(chip).toBeFocused();
  });

  test('badges persist in the saved file and after a reload, and go when outputs are cleared', async ({
    page,
    tmpPath
  }) => {
    await page.notebook.run();
    const chips = page.locator(`.jp-Notebook ${CHIP}`);
    const count = await page.locator('.jp-Notebook .jp-CodeCell').count();
    // Run records land shortly after each cell ends: wait for all before saving.
    for (let i = 0; i < count; i++) {
      await expect(chips.nth(i)).toHaveText(FINAL, { timeout: 30000 });
    }
    const before = await chips.allTextContents();
    await page.notebook.save();
    // The summaries are in the saved file, one per code cell, as nbformat cell metadata.
    const response = await page.request.get(`/api/contents/${tmpPath}/${DEMO}?content=1&type=notebook`);
    const saved = (await response.json()).content as {
      cells: Array<{ cell_type: string; metadata: Record<string, { version?: number; energy_j?: number }> }>;
    };
    const stored = saved.cells.filter(c => c.cell_type === 'code').map(c => c.metadata['jupyterlab-carbon']);
    expect(stored).toHaveLength(count);
    for (const summary of stored) {
      expect(summary?.version).toBe(1);
      expect(summary?.energy_j).toBeGreaterThan(0);
    }
    // Reloaded from disk, the notebook shows the same badges.
    await reloadFromDisk(page);
    await expect(chips.first()).toHaveText(FINAL, { timeout: 30000 });
    expect(await chips.allTextContents()).toEqual(before);

    await page.menu.clickMenuItem('Edit>Clear Outputs of All Cells');
    for (let i = 0; i < count; i++) {
      await expect(chips.nth(i)).toBeHidden();
    }
  });

  test('dark theme', async ({ page }) => {
    await page.theme.setDarkTheme();
    await page.notebook.runCell(1); // one cell's badge and popover show the theme; the demo's others take 11 s
    const chip = page.locator('.jp-Notebook .jp-CodeCell').nth(0).locator(CHIP);
    await expect(chip).toHaveText(FINAL, { timeout: 30000 });
    await chip.click();
    await expect(page.locator('.jp-carbon-Popover')).toBeVisible();
    await page.screenshot({ path: test.info().outputPath('badges-dark.png') });
    await page.theme.setLightTheme();
  });
});

test('the notebook toolbar shows the notebook total', async ({ page, tmpPath }) => {
  await page.contents.uploadFile(path.resolve(__dirname, '../../examples', DEMO), `${tmpPath}/${DEMO}`);
  await page.notebook.openByPath(`${tmpPath}/${DEMO}`);
  await page.notebook.runCell(1);
  const total = page.locator('.jp-carbon-NotebookTotal');
  await expect(total).toHaveText(/Σ .*\d/, { timeout: 30000 });
  // Figures from the server's ledger for this notebook (a fresh path: exactly the one run),
  // not the "All time: unavailable (...)" said when the totals cannot be read.
  const energy = String.raw`[\d.]+ \S*(Wh|J)`;
  const carbon = String.raw`[\d.]+ \S*g CO₂e`;
  await expect(total).toHaveAttribute(
    'title',
    new RegExp(
      `^This notebook, this session: ${energy} · ${carbon} in 1 run\\. All time: ${energy} · ${carbon}( · [^·]+)? in 1 run$`
    ),
    { timeout: 30000 }
  );
});

test('a cell the kernel aborts after an error shows no badge', async ({ page, tmpPath }) => {
  const name = 'aborted.ipynb';
  await page.notebook.createNew(name);
  await page.notebook.setCell(0, 'code', 'first = 1 + 1');
  await page.notebook.addCell('code', "raise ValueError('boom')");
  await page.notebook.addCell('code', 'never = 2 + 2');
  // Galata's run() waits for every cell's count, which an aborted cell never gets.
  await page.evaluate(() => window.jupyterapp.commands.execute('notebook:run-all-cells'));
  await waitForIdleKernel(page);
  const cells = page.locator('.jp-Notebook .jp-CodeCell');
  await expect(cells.nth(0).locator(CHIP)).toHaveText(FINAL, { timeout: 30000 });
  await expect(cells.nth(1).locator(CHIP)).toHaveText(FINAL, { timeout: 30000 });
  // The cell that raised says so first, on the chip (dashed) and to screen readers.
  await expect(cells.nth(1).locator(`${CHIP} .jp-carbon-Badge-marks`)).toHaveText(/^failed/);
  await expect(cells.nth(1).locator(CHIP)).toHaveClass(/jp-mod-cut/);
  await expect(cells.nth(1).locator(CHIP)).toHaveAttribute('aria-label', /failed/);
  await expect(cells.nth(0).locator(CHIP)).not.toHaveClass(/jp-mod-cut/);
  await cells.nth(1).screenshot({ path: test.info().outputPath('failed-badge.png') });
  // The server records the aborted request (runs land in groups, within 2 s): by then the
  // first two badges are there, and the third cell, which never ran, has none.
  await page.waitForTimeout(2500);
  await expect(cells.nth(2).locator(CHIP)).toBeHidden();
  await page.notebook.save();
  const response = await page.request.get(`/api/contents/${tmpPath}/${name}?content=1&type=notebook`);
  const saved = (await response.json()).content as { cells: Array<{ metadata: Record<string, unknown> }> };
  expect(saved.cells.map(cell => cell.metadata['jupyterlab-carbon'] !== undefined)).toEqual([true, true, false]);
});
