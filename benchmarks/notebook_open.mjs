// Opens one notebook in Debian's Chromium on several JupyterLab servers, in alternating rounds,
// and prints, for each page load, when the first cell and the first carbon badge became visible.
//
// Driven by notebook_open.py (which generates the notebook and starts the servers); the input is
// one JSON argument: {"chromium": path, "rounds": n, "notebook": path, "servers": [{"name", "url", "token"}]}.
// Times are milliseconds since navigation start (performance.now() in the page), taken in a
// requestAnimationFrame loop, so they are the first painted frame that shows the element: a main
// thread busy with work delays them as it delays what the user sees.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
// Playwright is a dependency of the UI tests; no browser is downloaded: Debian's Chromium is driven.
const requireFromUiTests = createRequire(path.join(here, '..', 'ui-tests', 'package.json'));
const { chromium } = requireFromUiTests('playwright-core');

const options = JSON.parse(process.argv[2]);
const VIEWPORT = { width: 1280, height: 900 };
const LOAD_TIMEOUT_MS = 120000;

/** Installed before any page script: records the first frame that paints each milestone. */
function watchMilestones() {
  const marks = {};
  window.__openMilestones = marks;
  const inView = element => {
    const box = element.getBoundingClientRect();
    return box.height > 0 && box.bottom > 0 && box.top < window.innerHeight;
  };
  const tick = () => {
    if (marks.firstCell === undefined) {
      // The first cell's editor has drawn a line of its source.
      const line = document.querySelector('.jp-NotebookPanel .jp-Notebook .jp-Cell .cm-line');
      if (line && inView(line)) {
        marks.firstCell = performance.now();
      }
    }
    if (marks.firstBadge === undefined) {
      const chip = document.querySelector('.jp-NotebookPanel .jp-carbon-Badge-chip');
      if (chip && /\d/.test(chip.textContent ?? '') && inView(chip)) {
        marks.firstBadge = performance.now();
      }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

async function shutDownSessions(server) {
  const headers = { Authorization: `token ${server.token}` };
  const sessions = await (await fetch(`${server.url}/api/sessions`, { headers })).json();
  for (const session of sessions) {
    await fetch(`${server.url}/api/sessions/${session.id}`, { method: 'DELETE', headers });
  }
}

async function openOnce(browser, server, round) {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  await page.addInitScript(watchMilestones);
  // A workspace of its own per load: nothing is restored from an earlier round.
  const url = `${server.url}/lab/workspaces/bench-${server.name}-${round}/tree/${options.notebook}?token=${server.token}`;
  await page.goto(url, { timeout: LOAD_TIMEOUT_MS });
  await page.waitForFunction(() => window.__openMilestones.firstCell !== undefined, null, {
    timeout: LOAD_TIMEOUT_MS,
    polling: 100
  });
  const extensionLoaded = (await page.locator('.jp-carbon-StatusItem').count()) > 0;
  if (extensionLoaded) {
    await page.waitForFunction(() => window.__openMilestones.firstBadge !== undefined, null, {
      timeout: LOAD_TIMEOUT_MS,
      polling: 100
    });
  }
  const marks = await page.evaluate(() => window.__openMilestones);
  const badges = await page.locator('.jp-NotebookPanel .jp-carbon-Badge').count();
  const cells = await page.locator('.jp-NotebookPanel .jp-Cell').count();
  await context.close();
  await shutDownSessions(server);
  return {
    server: server.name,
    round,
    extension_loaded: extensionLoaded,
    first_cell_ms: marks.firstCell,
    first_badge_ms: marks.firstBadge ?? null,
    cell_widgets_in_dom: cells,
    badges_in_dom_at_first_badge: badges
  };
}

const browser = await chromium.launch({ executablePath: options.chromium, headless: true });
const loads = [];
try {
  for (let round = 0; round < options.rounds; round++) {
    // Alternate which server goes first, so drift over the run affects both alike.
    const order = round % 2 === 0 ? options.servers : [...options.servers].reverse();
    for (const server of order) {
      const load = await openOnce(browser, server, round);
      process.stderr.write(`${JSON.stringify(load)}\n`);
      loads.push(load);
    }
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(loads));
