import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';
import * as fs from 'fs';

import { notebookJSON } from './notebooks';

/** This attempt's notebook: a retry gets its own name, since the shared ledger keeps the runs of the failed attempt. */
function notebookName(): string {
  const retry = test.info().retry;
  return retry === 0 ? 'ledger.ipynb' : `ledger-retry${retry}.ipynb`;
}
const SIDEBAR = '#jp-carbon-ledger';
const ROWS = `${SIDEBAR} .jp-carbon-Ledger-body [role="row"]`;
const CELLS = ['alpha = 1 + 1', 'beta_total = sum(range(100000))', 'gamma = [i * i for i in range(1000)]'];

test.use({ autoGoto: true });

/** Drag the left sidebar's edge to the right, so a screenshot shows most columns. */
async function widenSidebar(page: IJupyterLabPageFixture, x: number): Promise<void> {
  const handle = page.locator('#jp-main-split-panel > .lm-SplitPanel-handle').first();
  const box = await handle.boundingBox();
  if (box) {
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(x, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
  }
}

/** A row's first cell (clicking the row's middle would scroll the wide grid sideways). */
function firstCell(row: Locator): Locator {
  return row.locator('[role="gridcell"]').first();
}

test.describe('run ledger sidebar', () => {
  // Uploaded, not created: a notebook created by galata starts as Untitled.ipynb and is renamed,
  // and its first runs would carry the first name.
  test.beforeEach(async ({ page, tmpPath }) => {
    await page.contents.uploadContent(notebookJSON(CELLS), 'text', `${tmpPath}/${notebookName()}`);
    await page.filebrowser.openDirectory(tmpPath);
    await page.notebook.openByPath(`${tmpPath}/${notebookName()}`);
    await page.notebook.activate(notebookName());
    await page.notebook.run();
  });

  /** Open the sidebar by its shortcut and keep to this test's notebook (the server's ledger is shared by every test). */
  async function openForThisNotebook(page: IJupyterLabPageFixture): Promise<Locator> {
    await page.keyboard.press('Control+Alt+C');
    const sidebar = page.locator(SIDEBAR);
    await expect(sidebar).toBeVisible();
    await sidebar.getByRole('button', { name: 'Filters', exact: true }).click();
    await sidebar.getByLabel('This notebook only').check();
    await sidebar.getByRole('button', { name: 'Filters', exact: true }).click();
    return sidebar;
  }

  test('opens by keyboard, lists runs live, searches, filters, selects and exports', async ({ page }) => {
    await page.keyboard.press('Control+Alt+C');
    await expect(page.locator(`${SIDEBAR} .jp-carbon-Ledger-search`)).toBeFocused();
    const sidebar = await openForThisNotebook(page);

    // The three runs of this notebook, newest first (the last cell on top).
    const rows = page.locator(ROWS);
    await expect(rows).toHaveCount(3, { timeout: 30000 });
    await expect(rows.first()).toContainText('gamma');
    await expect(sidebar.locator('[role="columnheader"][aria-sort="descending"]')).toHaveText(/When/);

    // A live run appears on top without reopening the sidebar.
    await page.notebook.addCell('code', 'delta_live = 4');
    await page.notebook.runCell(3);
    await expect(rows).toHaveCount(4, { timeout: 30000 });
    await expect(rows.first()).toContainText('delta_live');

    // Search (debounced) narrows the list to the matching cell.
    await sidebar.locator('.jp-carbon-Ledger-search').fill('beta_total');
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText('beta_total');
    await sidebar.locator('.jp-carbon-Ledger-search').fill('');
    await expect(rows).toHaveCount(4);

    // Filters: a tag nobody has empties the list; clearing it brings the runs back.
    await sidebar.getByRole('button', { name: 'Filters', exact: true }).click();
    const tags = sidebar.getByLabel('Tags (all of, comma-separated)');
    await tags.fill('no-such-tag');
    await tags.press('Enter');
    await expect(rows).toHaveCount(0);
    await expect(sidebar.locator('.jp-carbon-Ledger-empty')).toContainText('No runs match');
    await tags.fill('');
    await tags.press('Enter');
    await expect(rows).toHaveCount(4);
    await sidebar.getByRole('button', { name: 'Filters', exact: true }).click();

    // Sorting by energy asks the server and marks the header.
    await sidebar.getByRole('button', { name: 'Energy', exact: true }).click();
    await expect(sidebar.locator('[role="columnheader"][aria-sort="descending"]')).toHaveText(/Energy/);
    await sidebar.getByRole('button', { name: 'When', exact: true }).click();
    await expect(sidebar.locator('[role="columnheader"][aria-sort="descending"]')).toHaveText(/When/);

    // Select two runs: Ctrl click the first two rows, then extend by keyboard.
    await firstCell(rows.nth(0)).click({ modifiers: ['Control'] });
    await firstCell(rows.nth(1)).click({ modifiers: ['Control'] });
    await expect(sidebar.locator('[aria-selected="true"]')).toHaveCount(2);
    await expect(sidebar.locator('.jp-carbon-Ledger-footer')).toContainText('2 selected');
    await expect(sidebar.getByRole('button', { name: 'Compare' })).toBeEnabled();
    await widenSidebar(page, 760);
    await page.locator(SIDEBAR).screenshot({ path: test.info().outputPath('ledger-light.png') });

    // Export the selection: a CodeCarbon emissions.csv.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      sidebar.getByRole('button', { name: 'Export CSV' }).click()
    ]);
    expect(download.suggestedFilename()).toBe('emissions.csv');
    const csv = fs.readFileSync((await download.path()) as string, 'utf-8');
    const lines = csv.trim().split(/\r?\n/);
    expect(lines[0].startsWith('timestamp,project_name,run_id')).toBe(true);
    expect(lines).toHaveLength(3); // the header and the two selected runs

    // Import that file back: CodeCarbon's columns come first, so it reads as an emissions.csv.
    const [chooser] = await Promise.all([
      page.waitForEvent('filechooser'),
      sidebar.getByRole('button', { name: 'Import CSV…' }).click()
    ]);
    await chooser.setFiles((await download.path()) as string);
    await expect(page.locator('.Toastify')).toContainText(/Imported 2 runs from .+ into experiment/, {
      timeout: 15000
    });
    // The list then reloads with the imported copies (same notebook): wait for it, or the keys below
    // would move over rows that the reload then shifts.
    await expect(rows).toHaveCount(6);

    // Keyboard: Home, Down with Shift extends, Space toggles, Escape clears.
    const grid = sidebar.locator('[role="grid"]');
    await grid.focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('Shift+ArrowDown');
    await page.keyboard.press('Shift+ArrowDown');
    await expect(sidebar.locator('[aria-selected="true"]')).toHaveCount(3);
    await page.keyboard.press('Space');
    await expect(sidebar.locator('[aria-selected="true"]')).toHaveCount(2);
    await page.keyboard.press('Escape');
    await expect(sidebar.locator('[aria-selected="true"]')).toHaveCount(0);
  });

  test('groups by experiment with subtotals, and opens a run at its cell', async ({ page }) => {
    const sidebar = await openForThisNotebook(page);
    const rows = page.locator(ROWS);
    await expect(rows).toHaveCount(3, { timeout: 30000 });

    await sidebar.getByLabel('Group runs by').selectOption('experiment');
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText(notebookName());
    await expect(rows.first()).toContainText('3 runs');
    await widenSidebar(page, 760);
    await page.locator(SIDEBAR).screenshot({ path: test.info().outputPath('ledger-groups.png') });
    await firstCell(rows.first()).click();
    await expect(rows).toHaveCount(3);
    await sidebar.getByRole('button', { name: '← All groups' }).click();
    await expect(rows).toHaveCount(1);
    await sidebar.getByLabel('Group runs by').selectOption('');
    await expect(rows).toHaveCount(3);

    // Enter on the second run (beta_total, the second cell) opens the notebook at that cell.
    await page.notebook.selectCells(0);
    await sidebar.locator('[role="grid"]').focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const active = page.locator('.jp-Notebook .jp-Cell.jp-mod-active');
    await expect(active).toContainText('beta_total');
  });

  test('deletes to the trash with a confirmation and restores', async ({ page }) => {
    const sidebar = await openForThisNotebook(page);
    const rows = page.locator(ROWS);
    await expect(rows).toHaveCount(3, { timeout: 30000 });
    await firstCell(rows.nth(0)).click({ modifiers: ['Control'] });
    await sidebar.getByRole('button', { name: 'Delete…' }).click();
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Delete' }).click();
    await expect(rows).toHaveCount(2);
    // The deleted run left the selection, and the keyboard is back on the list.
    await expect(sidebar.locator('.jp-carbon-Ledger-footer')).not.toContainText('selected');
    await expect(sidebar.locator('[role="grid"]')).toBeFocused();

    await sidebar.getByRole('button', { name: 'Filters', exact: true }).click();
    await sidebar.getByLabel('Trash (deleted runs)').check();
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText('gamma');
    await expect(sidebar.getByRole('button', { name: 'Empty trash…' })).toBeVisible();
    await firstCell(rows.first()).click({ modifiers: ['Control'] });
    await sidebar.getByRole('button', { name: 'Restore' }).click();
    await expect(rows).toHaveCount(0);
    await expect(sidebar.locator('.jp-carbon-Ledger-empty')).toContainText('The trash is empty');
    await sidebar.getByLabel('Trash (deleted runs)').uncheck();
    await expect(rows).toHaveCount(3);
  });

  test('the meters dialog links to the ledger; a run whose notebook is gone says so', async ({ page, tmpPath }) => {
    const item = page.locator('.jp-carbon-StatusItem');
    await expect(item.locator('.jp-carbon-StatusItem-text')).toHaveText(/\d/, { timeout: 30000 });
    await item.click();
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Open Run Ledger' }).click();
    await expect(page.locator(SIDEBAR)).toBeVisible();
    await expect(page.locator(`${SIDEBAR} .jp-carbon-Ledger-search`)).toBeFocused();

    const sidebar = await openForThisNotebook(page);
    const rows = page.locator(ROWS);
    await expect(rows).toHaveCount(3, { timeout: 30000 });
    await page.contents.deleteFile(`${tmpPath}/${notebookName()}`);
    await sidebar.locator('[role="grid"]').focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('Enter');
    await expect(page.locator('.Toastify')).toContainText('no longer exists', { timeout: 15000 });
  });

  test('dark theme', async ({ page }) => {
    await page.theme.setDarkTheme();
    const sidebar = await openForThisNotebook(page);
    const rows = page.locator(ROWS);
    await expect(rows).toHaveCount(3, { timeout: 30000 });
    await firstCell(rows.nth(1)).click({ modifiers: ['Control'] });
    await sidebar.getByRole('button', { name: 'Filters', exact: true }).click();
    await widenSidebar(page, 620);
    await page.screenshot({ path: test.info().outputPath('ledger-dark.png') });
    await page.theme.setLightTheme();
  });
});
