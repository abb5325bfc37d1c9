// What the prediction gate adds to a cell's start, in a real browser (Debian's Chromium).
//
// Starts JupyterLab with the UI tests' configuration (modeled meters, galata's in-page handle),
// opens a one-cell notebook and runs its cheap cell (`x = 1`) ROUNDS times with the gate on and
// off, interleaved. For each run: milliseconds from the run command to the moment the
// execute_request leaves for the kernel (the kernel connection's `anyMessage`, direction "send").
// Gate on, the cell's lookup (POST carbon/predict, answered below the threshold) sits on that path;
// off, there is no lookup at all. Prints JSON: per mode p50/p95/max, and the added p50 and p95.
// With --new-code, the cell's code is changed before every run (`x = <a new number>`), so that
// neither the page nor the ledger knows it: the first run of a cell, which waits for its lookup.
//
//   node benchmarks/gate.mjs [rounds] [--new-code]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const requireFromUiTests = createRequire(path.join(root, 'ui-tests', 'package.json'));
const { chromium } = requireFromUiTests('playwright-core');

const args = process.argv.slice(2);
const NEW_CODE = args.includes('--new-code');
const ROUNDS = Number(args.find(arg => !arg.startsWith('--')) ?? 100);
const PORT = 18000 + Math.floor(Math.random() * 1000);
const NOTEBOOK = 'gate-bench.ipynb';

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const round = v => Math.round(v * 1000) / 1000;
  return {
    n: sorted.length,
    p50_ms: round(quantile(sorted, 0.5)),
    p95_ms: round(quantile(sorted, 0.95)),
    max_ms: round(sorted[sorted.length - 1])
  };
}

async function waitForServer(url, deadline) {
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise(r => setTimeout(r, 500));
  }
  throw new Error(`JupyterLab did not answer at ${url}`);
}

const serverRoot = mkdtempSync(path.join(tmpdir(), 'carbon-gate-root-'));
const dataDir = mkdtempSync(path.join(tmpdir(), 'carbon-gate-data-'));
writeFileSync(
  path.join(serverRoot, NOTEBOOK),
  JSON.stringify({
    cells: [{ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source: 'x = 1' }],
    metadata: { kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' } },
    nbformat: 4,
    nbformat_minor: 5
  })
);
const server = spawn(
  path.join(root, '.venv', 'bin', 'jupyter'),
  [
    'lab',
    '--config',
    path.join(root, 'ui-tests', 'jupyter_server_test_config.py'),
    `--ServerApp.port=${PORT}`,
    `--ServerApp.root_dir=${serverRoot}`
  ],
  {
    cwd: path.join(root, 'ui-tests'),
    env: { ...process.env, JUPYTER_DATA_DIR: dataDir },
    stdio: ['ignore', 'ignore', process.env.GATE_BENCH_SERVER_LOG ? 'inherit' : 'ignore']
  }
);

let browser;
try {
  const base = `http://localhost:${PORT}`;
  await waitForServer(`${base}/lab`, Date.now() + 120000);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${base}/lab/tree/${NOTEBOOK}`);
  await page.waitForFunction(
    () => {
      const panel = window.jupyterapp?.shell.currentWidget;
      return (
        panel?.sessionContext?.session?.kernel?.connectionStatus === 'connected' &&
        panel.sessionContext.session.kernel.status === 'idle'
      );
    },
    null,
    { timeout: 120000, polling: 200 }
  );
  const samples = await page.evaluate(
    async ([rounds, newCode]) => {
      const app = window.jupyterapp;
      const setGate = async enabled => {
        if (app.commands.isToggled('carbon:toggle-prediction-gate') !== enabled) {
          await app.commands.execute('carbon:toggle-prediction-gate');
        }
      };
      const panel = app.shell.currentWidget;
      const kernel = panel.sessionContext.session.kernel;
      let sentAt = 0;
      kernel.anyMessage.connect((_, args) => {
        if (args.direction === 'send' && args.msg.header.msg_type === 'execute_request') {
          sentAt = performance.now();
        }
      });
      let version = 0;
      const runOnce = async () => {
        if (newCode) {
          version += 1;
          panel.content.activeCell.model.sharedModel.setSource(`x = ${Date.now()}${version}`);
        }
        sentAt = 0;
        const start = performance.now();
        await app.commands.execute('notebook:run-cell');
        return sentAt - start;
      };
      const result = { on: [], off: [] };
      // Warm up both paths (first lookups open connections, first runs load code).
      for (const enabled of [true, false, true, false]) {
        await setGate(enabled);
        await runOnce();
      }
      for (let i = 0; i < rounds; i++) {
        for (const enabled of i % 2 ? [true, false] : [false, true]) {
          await setGate(enabled);
          result[enabled ? 'on' : 'off'].push(await runOnce());
        }
      }
      return result;
    },
    [ROUNDS, NEW_CODE]
  );
  const on = stats(samples.on);
  const off = stats(samples.off);
  const round = v => Math.round(v * 1000) / 1000;
  console.log(
    JSON.stringify(
      {
        benchmark: 'prediction gate: run command to execute_request sent, cheap cell (x = 1), JupyterLab in Chromium',
        code: NEW_CODE ? 'new before every run (never seen)' : 'the same every run',
        rounds: ROUNDS,
        gate_on: on,
        gate_off: off,
        added_p50_ms: round(on.p50_ms - off.p50_ms),
        added_p95_ms: round(on.p95_ms - off.p95_ms)
      },
      null,
      2
    )
  );
} finally {
  await browser?.close();
  server.kill('SIGTERM');
  await new Promise(r => server.once('exit', r));
  rmSync(serverRoot, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
}
