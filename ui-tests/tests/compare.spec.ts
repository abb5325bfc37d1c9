import { expect, test } from '@jupyterlab/galata';

const NOTEBOOK = 'compare.ipynb';

test.use({ autoGoto: true });

/** The ids of the `count` runs that started since `since` (epoch s), oldest first, once there are that many. */
async function runIdsSince(page: import('@playwright/test').Page, since: number, count: number): Promise<string[]> {
  let ids: string[] = [];
  await expect
    .poll(
      async () => {
        ids = await page.evaluate(
          async ({ since, limit }) => {
            const response = await fetch(`/carbon/runs?since=${since}&limit=${limit}`);
            const page = (await response.json()) as { runs: Array<{ run_id: string }> };
            return page.runs.map(run => run.run_id);
          },
          { since, limit: count + 1 }
        );
        return ids.length;
      },
      { timeout: 30000 }
    )
    .toBe(count);
  return ids.reverse();
}

test.describe('compare view', () => {
  test('two runs side by side: table, charts, what-if map, in light and dark', async ({ page }) => {
    // Two runs, five charts and a world map, drawn in two themes: slow on a small shared machine.
    test.setTimeout(300000);
    // The user's zone (outlined on the what-if map) is a JupyterLab setting, sent to the server at start.
    const settingStatus = await page.evaluate(
      async () =>
        (
          await fetch('/lab/api/settings/jupyterlab-carbon:badges', {
            method: 'PUT',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ raw: JSON.stringify({ zone: 'FR' }) })
          })
        ).status
    );
    expect(settingStatus).toBe(204);
    await page.goto();

    await page.notebook.createNew(NOTEBOOK);
    await page.notebook.setCell(0, 'code', 'total = sum(i * i for i in range(3_000_000))');
    await page.notebook.addCell('code', 'x = [i for i in range(1000)]');
    // Runs of other tests on the same server are older than these two.
    const since = Math.floor(await page.evaluate(() => Date.now() / 1000));
    await page.notebook.run();
    const runIds = await runIdsSince(page, since, 2);

    // A logged metric on each run draws the energy-against-metric chart with its Pareto front.
    for (const [index, runId] of runIds.entries()) {
      const status = await page.evaluate(
        async ({ id, accuracy }) =>
          (
            await fetch(`/carbon/runs/${id}`, {
              method: 'PATCH',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify({ metrics: { accuracy } })
            })
          ).status,
        { id: runId, accuracy: 0.8 + index / 10 }
      );
      expect(status).toBe(200);
    }

    await page.evaluate(async ids => {
      await window.jupyterapp.commands.execute('carbon:compare-runs', { runIds: ids });
    }, runIds);
    const view = page.locator('.jp-carbon-compare');
    await expect(view).toBeVisible();
    const table = view.locator('.jp-carbon-compare-table');
    await expect(table.locator('thead th')).toHaveCount(2);
    await expect(table.locator('tr[data-key="energy"] td')).toHaveCount(2);
    await expect(table.locator('tr[data-key="metric:accuracy"] td')).toHaveText(['0.8', '0.9']);
    await expect(view).toContainText('Different code');

    // "Differences only" hides the rows where both runs agree (the notebook, for one).
    const sameRow = table.locator('tr[data-key="notebook"]');
    await expect(sameRow).toBeVisible();
    await view.getByRole('switch', { name: 'Differences only' }).check();
    await expect(sameRow).toBeHidden();
    await expect(table.locator('tr[data-key="energy"]')).toBeVisible();
    await view.getByRole('switch', { name: 'Differences only' }).uncheck();

    // Charts are drawn as SVG, each with its description and its table alternative.
    const charts = view.locator('.jp-carbon-chart-grid .jp-carbon-chart');
    await expect(charts.first().locator('.jp-carbon-chart-plot svg').first()).toBeVisible({ timeout: 30000 });
    const drawn = await charts.count();
    expect(drawn).toBeGreaterThanOrEqual(4);
    for (let i = 0; i < drawn; i++) {
      await expect(charts.nth(i).locator('.jp-carbon-chart-plot svg').first()).toBeVisible();
    }
    const pareto = view.getByRole('figure', { name: 'Energy against accuracy' });
    await expect(pareto).toBeVisible();

    // The runs' power traces, overlaid.
    const power = view.getByRole('figure', { name: 'Power over time' });
    await expect(power.locator('.jp-carbon-chart-plot svg').first()).toBeVisible();
    await power.scrollIntoViewIfNeeded();
    await page.screenshot({ path: test.info().outputPath('power-light.png') });

    // Each chart offers PNG and SVG export.
    await charts.first().locator('.vega-embed summary').click();
    await expect(charts.first().getByRole('link', { name: 'Save as PNG' })).toBeVisible();
    await expect(charts.first().getByRole('link', { name: 'Save as SVG' })).toBeVisible();
    await charts.first().locator('.vega-embed summary').click();

    // The figures behind a chart, as a table.
    await pareto.getByText('Show the figures as a table').click();
    await expect(pareto.locator('table tbody tr')).toHaveCount(2);
    await pareto.scrollIntoViewIfNeeded();
    await page.screenshot({ path: test.info().outputPath('pareto-light.png') });

    // The what-if map: a country per shape, the user's zone outlined, and a sortable table.
    const whatIf = view.locator('.jp-carbon-whatif');
    await expect(whatIf.locator('.jp-carbon-chart-plot svg path').nth(150)).toBeAttached({ timeout: 30000 });
    await expect(whatIf.locator('path[stroke="#1f78ff"]')).toHaveCount(1);
    await expect(whatIf).toContainText('On the grid of your country, France');
    await expect(whatIf).toContainText('Greenest cloud regions per provider');
    const regionRows = whatIf.locator('.jp-carbon-whatif-regions tbody tr');
    expect(await regionRows.count()).toBeGreaterThanOrEqual(3);
    const sortByEmitted = whatIf
      .locator('.jp-carbon-whatif-regions')
      .getByRole('button', { name: 'Would have emitted' });
    await sortByEmitted.click();
    await expect(sortByEmitted.locator('..')).toHaveAttribute('aria-sort', 'ascending');

    await view.evaluate(node => node.scrollTo(0, 0));
    await page.screenshot({ path: test.info().outputPath('compare-light.png') });
    await whatIf.scrollIntoViewIfNeeded();
    await page.screenshot({ path: test.info().outputPath('whatif-light.png') });

    // Dark theme: the charts are drawn again in vega's dark theme.
    await page.theme.setDarkTheme();
    await expect(view.locator('.jp-carbon-chart.jp-carbon-chart-dark').first()).toBeAttached({ timeout: 30000 });
    await view.evaluate(node => node.scrollTo(0, 0));
    await charts.first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: test.info().outputPath('compare-dark.png') });
    await whatIf.scrollIntoViewIfNeeded();
    await page.screenshot({ path: test.info().outputPath('whatif-dark.png') });

    // Whole experiments: their runs are fetched and compared in a second view.
    const experiment = await page.evaluate(
      async id => ((await (await fetch(`/carbon/runs/${id}`)).json()) as { experiment: string }).experiment,
      runIds[0]
    );
    await page.evaluate(async name => {
      await window.jupyterapp.commands.execute('carbon:compare-runs', { experiments: [name] });
    }, experiment);
    await expect(page.locator('.jp-carbon-compare')).toHaveCount(2);
    await expect(page.locator('.jp-carbon-compare:visible .jp-carbon-compare-table thead th')).toHaveCount(2);
    // The theme is a setting of the shared test server: back to light for the tests after this one.
    await page.theme.setLightTheme();
  });
});
