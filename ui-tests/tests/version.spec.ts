import { expect, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';

const FRONTEND_VERSION: string = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf-8')
).version;
const SERVER_VERSION = '0.0.1-stale';

test.use({ autoGoto: false });

test('warns once when the server extension runs another version, naming both and the fix', async ({ page }) => {
  // The server answers for itself, but with a version this frontend was not built with.
  await page.route(/\/carbon\/status(\?|$)/, async route => {
    const response = await route.fetch();
    await route.fulfill({ response, json: { ...(await response.json()), version: SERVER_VERSION } });
  });
  await page.goto();
  const warning = page.locator('.Toastify__toast', { hasText: 'on the server. Reinstall it' });
  await expect(warning).toHaveCount(1, { timeout: 30000 });
  await expect(warning).toContainText(
    `jupyterlab-carbon ${FRONTEND_VERSION} in this page, ${SERVER_VERSION} on the server. Reinstall it, restart the Jupyter server, then reload this page.`
  );
  await page.screenshot({ path: test.info().outputPath('version-warning.png') });
  // The status bar keeps asking the server; the warning is still said once.
  await expect(page.locator('.jp-carbon-StatusItem-text')).toHaveText(/\d/, { timeout: 30000 });
  await expect(warning).toHaveCount(1);
});

test('says nothing when the versions agree', async ({ page }) => {
  await page.goto();
  await expect(page.locator('.jp-carbon-StatusItem-text')).toHaveText(/\d/, { timeout: 30000 });
  // The status bar has read /carbon/status by now, and so has the version check (same request).
  await expect(page.locator('.Toastify__toast', { hasText: 'on the server. Reinstall it' })).toHaveCount(0);
});
