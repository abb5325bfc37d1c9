import { expect, test } from '@jupyterlab/galata';

import { reloadFromDisk, runInNewNotebook } from './notebooks';

// About 3 s of busy CPU under a 1 J budget: the modeled meter crosses it within the first second.
const CELL = '%%carbon -e demo --budget 1J\nimport time\nstart = time.time()\nwhile time.time() - start < 3:\n    pass';
const WIDGET = '.jp-carbon-Widget';
const FINAL_MIME = 'application/vnd.jupyterlab-carbon.widget+json';

test.use({ autoGoto: true });

for (const theme of ['light', 'dark'] as const) {
  test(`the %%carbon widget is live while the cell runs, then final (${theme})`, async ({ page, tmpPath }) => {
    if (theme === 'dark') {
      await page.theme.setDarkTheme();
    }
    await runInNewNotebook(page, tmpPath, `widget-${theme}.ipynb`, CELL);

    const widget = page.locator(WIDGET);
    await expect(widget).toHaveAttribute('data-status', 'running', { timeout: 30000 });
    await expect(widget.locator('dd').nth(1)).toContainText('(node power integrated, estimate)');
    const bar = widget.getByRole('progressbar');
    await expect(bar).toHaveAttribute('aria-valuemax', '1');
    await expect(bar).toHaveAttribute('aria-valuenow', /\d/);
    await expect(widget.locator('.jp-carbon-Widget-sparkline polyline')).toHaveAttribute('points', /,/);
    // The server crossed the budget: the bar and the running cell's badge warn.
    await expect(widget.locator('.jp-carbon-Widget-budget.jp-mod-warning')).toContainText('exceeded', {
      timeout: 10000
    });
    // Taken first: on a loaded machine the 3 s cell may end during the checks below.
    await page.screenshot({ path: test.info().outputPath(`widget-live-${theme}.png`) });
    await expect(page.locator('.jp-carbon-Badge-budget')).toContainText('Over budget');

    await expect(widget).toHaveAttribute('data-status', 'ok', { timeout: 30000 });
    const final = widget.getByRole('status');
    await expect(final).toContainText('server record', { timeout: 30000 });
    await expect(final).toContainText('modeled');
    await expect(final).toContainText('budget-exceeded');
    await expect(widget.locator('figcaption')).toContainText(/runs? of demo: energy/);
    await expect(widget.locator('.jp-carbon-Widget-history rect.jp-mod-current')).toHaveCount(1);
    await page.screenshot({ path: test.info().outputPath(`widget-final-${theme}.png`) });

    // Saved and opened again, the final figures are drawn again: the output no longer needs the
    // widget's model, which does not outlive the kernel.
    await page.notebook.save();
    await widget.evaluate(element => element.setAttribute('data-before-reload', ''));
    await reloadFromDisk(page);
    const redrawn = page.locator(`${WIDGET}:not([data-before-reload])`);
    await expect(redrawn.getByRole('status')).toContainText('server record', { timeout: 30000 });
    await expect(page.getByText('Error displaying widget')).toHaveCount(0);
  });
}

test('a cell shorter than the live delay shows the widget once, in its final state', async ({ page, tmpPath }) => {
  await runInNewNotebook(page, tmpPath, 'widget-short.ipynb', '%%carbon -e short\n1 + 1');

  const widget = page.locator(WIDGET);
  await expect(widget).toHaveAttribute('data-status', 'ok', { timeout: 30000 });
  await expect(widget).toHaveCount(1);
  const final = widget.getByRole('status');
  await expect(final).toContainText('server record', { timeout: 30000 });
  await expect(widget.locator('figcaption')).toContainText(/runs? of short: energy/);
  await page.screenshot({ path: test.info().outputPath('widget-short-final.png') });

  // Saved as the kernel sent it: the small state under the labextension's own MIME type (no
  // widget model), with the text and HTML fallbacks.
  await page.notebook.save();
  const response = await page.request.get(`/api/contents/${tmpPath}/widget-short.ipynb?content=1&type=notebook`);
  const saved = (await response.json()).content as { cells: Array<{ outputs: Array<{ data?: object }> }> };
  const displays = saved.cells[0].outputs.filter(output => output.data && FINAL_MIME in output.data);
  expect(displays).toHaveLength(1);
  expect(Object.keys(displays[0].data ?? {}).sort()).toEqual([FINAL_MIME, 'text/html', 'text/plain']);
  expect(JSON.stringify(displays[0]).length).toBeLessThan(3000);

  // Reloaded from disk, it is drawn again (a new element) and finds the server's record in the ledger.
  await widget.evaluate(element => element.setAttribute('data-before-reload', ''));
  await reloadFromDisk(page);
  const redrawn = page.locator(`${WIDGET}:not([data-before-reload])`);
  await expect(redrawn.getByRole('status')).toContainText('server record', { timeout: 30000 });
  await expect(redrawn.locator('figcaption')).toContainText(/runs? of short: energy/);
  await expect(page.locator(WIDGET)).toHaveCount(1);
});
