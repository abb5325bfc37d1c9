import { nullTranslator } from '@jupyterlab/translation';

import { CellBadge, IBadgeOptions } from '../badge';
import { summaryFromRun } from '../summary';
import { run } from './fixtures';
import { IRun } from '../../tokens';

const OPTIONS: IBadgeOptions = { figures: ['energy', 'duration'], energyUnit: 'Wh' };

function chipOf(changes: Partial<IRun>): HTMLElement {
  const badge = new CellBadge(nullTranslator.load('jupyterlab_carbon'));
  badge.showSummary(summaryFromRun({ ...run('r', 36), ...changes }, null), 'high', OPTIONS);
  return badge.node.querySelector('.jp-carbon-Badge-chip') as HTMLElement;
}

describe('CellBadge', () => {
  it('says first, on the chip and to screen readers, how a run that did not end well ended', () => {
    const cases: [Partial<IRun>, string][] = [
      [{ status: 'error', flags: ['errored'] }, 'failed'],
      [{ status: 'interrupted', flags: ['interrupted'] }, 'interrupted'],
      [{ status: 'interrupted', flags: ['interrupted', 'kernel-crash'] }, 'kernel died'],
      [{ status: 'interrupted', flags: ['interrupted', 'kernel-restart'] }, 'cut short by a restart'],
      [{ status: 'interrupted', flags: ['interrupted', 'kernel-shutdown'] }, 'cut short by a shutdown'],
      [
        { status: 'interrupted', flags: ['end-unknown', 'interrupted', 'server-crash'] },
        'cut short: the server stopped'
      ]
    ];
    for (const [changes, words] of cases) {
      const chip = chipOf(changes);
      expect(chip.querySelector('.jp-carbon-Badge-marks')?.textContent?.startsWith(words)).toBe(true);
      expect(chip.getAttribute('aria-label')).toContain(words);
      expect(chip.classList.contains('jp-mod-cut')).toBe(true);
    }
  });

  it('marks nothing on a run that ended well', () => {
    const chip = chipOf({ status: 'ok', flags: [] });
    expect(chip.classList.contains('jp-mod-cut')).toBe(false);
    expect(chip.textContent).not.toMatch(/failed|interrupted|cut short|kernel died/);
    expect(chip.textContent).toContain('10 mWh');
  });
});

describe('CellBadge popover', () => {
  it('closes when the keyboard leaves it, as when a click lands outside', () => {
    const badge = new CellBadge(nullTranslator.load('jupyterlab_carbon'));
    document.body.append(badge.node);
    const outside = document.createElement('button');
    document.body.append(outside);
    badge.showSummary(summaryFromRun(run('r', 36), null), null, OPTIONS);
    badge.togglePopover();
    const popover = badge.node.querySelector('[role="dialog"]') as HTMLElement;
    expect(popover).not.toBeNull();
    popover.dispatchEvent(new FocusEvent('focusout', { relatedTarget: outside, bubbles: true }));
    expect(badge.node.querySelector('[role="dialog"]')).toBeNull();
    badge.dispose();
    outside.remove();
  });
});
