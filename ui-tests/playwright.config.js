/**
 * Galata configuration: JupyterLab is started by Playwright with the project's virtual
 * environment, and driven in Debian's Chromium (no browser download).
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const jupyter = path.resolve(__dirname, '..', '.venv', 'bin', 'jupyter');
// A throwaway Jupyter data directory: the run ledger and intensity settings of each test run
// start empty and never touch the user's own.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carbon-ui-data-'));
// galata's port unless CARBON_UI_TEST_PORT names another (a second checkout's suite, a busy 8888).
const port = Number(process.env.CARBON_UI_TEST_PORT || 8888);

module.exports = {
  ...baseConfig,
  timeout: 120000,
  retries: process.env.CI ? 1 : 0,
  reporter: [['list'], ['html', { open: 'never' }]],
  use: {
    ...baseConfig.use,
    baseURL: `http://localhost:${port}`,
    launchOptions: { executablePath: '/usr/bin/chromium' },
    trace: 'retain-on-failure',
    // Playwright's video needs its own ffmpeg download, which this machine cannot fetch.
    video: 'off'
  },
  webServer: {
    command: `${jupyter} lab --config jupyter_server_test_config.py --ServerApp.port=${port}`,
    url: `http://localhost:${port}/lab`,
    env: { ...process.env, JUPYTER_DATA_DIR: dataDir },
    timeout: 120 * 1000,
    // Never reuse a server found on the port: it would lack this run's throwaway data directory
    // and meterless configuration (and may run other code), and the tests would judge it instead.
    reuseExistingServer: false
  }
};
