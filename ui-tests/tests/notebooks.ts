/**
 * What several UI tests do with a notebook: build one, open it until its kernel is idle, run a cell.
 */
import { expect, IJupyterLabPageFixture } from '@jupyterlab/galata';
import { Page } from '@playwright/test';

/** A Python notebook of code cells with these sources, as the contents API takes it. */
export function notebookJSON(sources: string[]): string {
  return JSON.stringify({
    cells: sources.map(source => ({ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source })),
    metadata: { kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' } },
    nbformat: 4,
    nbformat_minor: 5
  });
}

/** Open the notebook at `path` and wait until its `cells` code cells show and its kernel is idle. */
export async function openWithIdleKernel(page: IJupyterLabPageFixture, path: string, cells: number): Promise<void> {
  // Playwright's own navigation: galata's goto waits 15 s for the application, too short here.
  await (page as unknown as { page: Page }).page.goto(`lab/tree/${path}`);
  await page.waitForFunction(() => !!window.jupyterapp?.shell, null, { timeout: 60000 });
  await expect(page.locator('.jp-Notebook .jp-CodeCell')).toHaveCount(cells, { timeout: 60000 });
  await waitForIdleKernel(page);
}

/** Wait until the notebook in focus has a kernel and it is idle. */
export async function waitForIdleKernel(page: IJupyterLabPageFixture): Promise<void> {
  await page.waitForFunction(
    () => {
      const panel = window.jupyterapp.shell.currentWidget as unknown as {
        sessionContext?: { session?: { kernel?: { status: string } | null } | null };
      } | null;
      return panel?.sessionContext?.session?.kernel?.status === 'idle';
    },
    null,
    { timeout: 60000 }
  );
}

/** Upload a one-cell notebook `name` into `directory`, open it from the file browser and run its cell. */
export async function runInNewNotebook(
  page: IJupyterLabPageFixture,
  directory: string,
  name: string,
  source: string
): Promise<void> {
  await page.contents.uploadContent(notebookJSON([source]), 'text', `${directory}/${name}`);
  await page.filebrowser.openDirectory(directory);
  await page.notebook.openByPath(`${directory}/${name}`);
  await page.notebook.activate(name);
  await page.notebook.selectCells(0);
  await page.keyboard.press('Control+Enter');
}

/** File > Reload Notebook from Disk, confirming when JupyterLab asks (a modified notebook). */
export async function reloadFromDisk(page: IJupyterLabPageFixture): Promise<void> {
  await page.menu.clickMenuItem('File>Reload Notebook from Disk');
  const confirm = page.locator('.jp-Dialog .jp-mod-accept');
  const asked = await confirm
    .waitFor({ state: 'visible', timeout: 2000 })
    .then(() => true)
    .catch(() => false);
  if (asked) {
    await confirm.click();
  }
}
