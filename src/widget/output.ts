import { IWidgetBudget, IWidgetSummary, WidgetStatus } from './state';

/** The MIME type of a finished %%carbon cell's output (the kernel's `final_output.MIME_TYPE`). */
export const FINAL_MIME = 'application/vnd.jupyterlab-carbon.widget+json';

/** A finished %%carbon cell's output: the widget's state, without a widget model. */
export interface IFinalOutput {
  msgId: string;
  experiment: string;
  status: Exclude<WidgetStatus, 'running'>;
  budget: IWidgetBudget;
  summary: IWidgetSummary;
}

const FINAL_STATUSES = ['ok', 'error', 'interrupted'] as const;

/**
 * The output's JSON as the page may use it, or why it cannot be: a saved notebook may hold
 * anything under this MIME type. Fields of the wrong type are left out, not drawn.
 */
export function readFinalOutput(data: unknown): IFinalOutput | string {
  if (!isObject(data)) {
    return 'not a JSON object';
  }
  const status = data.status;
  if (typeof status !== 'string' || !(FINAL_STATUSES as readonly string[]).includes(status)) {
    return `unknown status ${JSON.stringify(status ?? null)}`;
  }
  return {
    msgId: typeof data.msg_id === 'string' ? data.msg_id : '',
    experiment: typeof data.experiment === 'string' ? data.experiment : '',
    status: status as IFinalOutput['status'],
    budget: readBudget(data.budget),
    summary: readSummary(data.summary)
  };
}

function readSummary(value: unknown): IWidgetSummary {
  if (!isObject(value)) {
    return {};
  }
  const summary: IWidgetSummary = {};
  for (const key of ['energy_j', 'duration_s'] as const) {
    if (isFiniteNumber(value[key])) {
      summary[key] = value[key] as number;
    }
  }
  for (const key of ['gco2e', 'cost'] as const) {
    if (isFiniteNumber(value[key]) || value[key] === null) {
      summary[key] = value[key] as number | null;
    }
  }
  for (const key of ['currency', 'experiment', 'run_id'] as const) {
    if (typeof value[key] === 'string') {
      summary[key] = value[key] as string;
    }
  }
  for (const key of ['methods', 'flags'] as const) {
    const list = value[key];
    if (Array.isArray(list)) {
      summary[key] = list.filter((item): item is string => typeof item === 'string');
    }
  }
  if (isObject(value.metrics)) {
    summary.metrics = Object.fromEntries(
      Object.entries(value.metrics).filter((entry): entry is [string, number] => isFiniteNumber(entry[1]))
    );
  }
  if (value.source === 'server' || value.source === 'in-kernel' || value.source === 'kernel') {
    summary.source = value.source;
  }
  return summary;
}

function readBudget(value: unknown): IWidgetBudget {
  if (!isObject(value)) {
    return {};
  }
  const budget: IWidgetBudget = {};
  if (value.kind === 'energy' || value.kind === 'carbon' || value.kind === 'cost') {
    budget.kind = value.kind;
  }
  if (value.on_budget === 'warn' || value.on_budget === 'stop') {
    budget.on_budget = value.on_budget;
  }
  for (const key of ['limit', 'spent'] as const) {
    if (isFiniteNumber(value[key])) {
      budget[key] = value[key] as number;
    }
  }
  if (isFiniteNumber(value.exceeded_at) || value.exceeded_at === null) {
    budget.exceeded_at = value.exceeded_at as number | null;
  }
  if (typeof value.text === 'string') {
    budget.text = value.text;
  }
  if (typeof value.currency === 'string' || value.currency === null) {
    budget.currency = value.currency as string | null;
  }
  return budget;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value);
}
