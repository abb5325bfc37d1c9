import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { formatCarbon, formatCost, formatEnergy } from '../format';
import { IBudgetCrossing } from '../tokens';

const MARK_CLASS = 'jp-carbon-Badge-budget';

/** What a crossed budget's warning says, e.g. "Over budget: 1.2 Wh spent of 1 Wh (warn)". */
export function budgetWarningText(trans: TranslationBundle, budget: IBudgetCrossing): string {
  const amount = (value: number): string =>
    budget.kind === 'carbon'
      ? formatCarbon(value)
      : budget.kind === 'cost'
        ? formatCost(value, null)
        : formatEnergy(value);
  return budget.on_budget === 'stop'
    ? trans.__('Over budget: %1 spent of %2; the kernel was interrupted', amount(budget.spent), budget.text)
    : trans.__('Over budget: %1 spent of %2', amount(budget.spent), budget.text);
}

/** Mark a running cell's badge: its execution crossed its %%carbon budget (announced once). */
export function markBudget(badge: Widget, trans: TranslationBundle, budget: IBudgetCrossing): void {
  clearBudget(badge);
  const mark = document.createElement('span');
  mark.className = MARK_CLASS;
  mark.setAttribute('role', 'status');
  mark.textContent = `⚠ ${budgetWarningText(trans, budget)}`;
  badge.addClass('jp-mod-overBudget');
  badge.node.append(mark);
  badge.show();
}

/** Remove the mark (the cell runs again). */
export function clearBudget(badge: Widget): void {
  badge.removeClass('jp-mod-overBudget');
  badge.node.querySelector(`.${MARK_CLASS}`)?.remove();
}
