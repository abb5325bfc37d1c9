import { expect, test } from '@jupyterlab/galata';

test.describe('status bar power', () => {
  test('shows the node power, marks it modeled, lists the meters in its tooltip', async ({ page }) => {
    const item = page.locator('.jp-carbon-StatusItem');
    await expect(item).toBeVisible();
    // A number with a unit once the first readings arrive (not the dash shown before).
    await expect(item.locator('.jp-carbon-StatusItem-text')).toHaveText(/⚡ \d+(\.\d+)? (mW|W|kW)/, {
      timeout: 30000
    });
    // The test server reads no meter (ui-tests/jupyter_server_test_config.py): modeled, and said so.
    await expect(item.locator('.jp-carbon-StatusItem-modeled')).toHaveText('modeled');
    // Read both at once: the item re-renders with every new reading.
    const [tooltip, label] = await item.evaluate(node => [node.title, node.getAttribute('aria-label')]);
    expect(tooltip).toContain('CPU (modeled)');
    expect(tooltip).toContain('Memory (modeled)');
    expect(tooltip).toContain('rapl');
    expect(label).toBe(tooltip);

    await page.locator('#jp-main-statusbar').screenshot({ path: test.info().outputPath('statusbar.png') });
    await test.info().attach('statusbar', {
      path: test.info().outputPath('statusbar.png'),
      contentType: 'image/png'
    });
  });

  test('opens the meters dialog by keyboard, with the diagnosis and its fix', async ({ page }) => {
    const item = page.locator('.jp-carbon-StatusItem');
    await expect(item.locator('.jp-carbon-StatusItem-text')).toHaveText(/\d/, { timeout: 30000 });
    await item.focus();
    await page.keyboard.press('Enter');
    const dialog = page.locator('.jp-Dialog .jp-carbon-MetersDialog');
    await expect(dialog).toBeVisible();
    await expect(dialog).toContainText('CPU (modeled)');
    await expect(dialog).toContainText('Diagnosis');
    await expect(dialog.locator('.jp-carbon-MetersDialog-fix').first()).toContainText('modprobe');
    await page.screenshot({ path: test.info().outputPath('meters-dialog.png') });
    await page.keyboard.press('Escape');
    await expect(dialog).toBeHidden();
  });
});
