/**
 * `%%carbon --predict "model=..., batch=..., steps=..."`: the page asks the kernel, while it is idle,
 * to count the declared FLOPs before the cell runs (a silent request, see kernel/gate.py), so the
 * gate's lookup can predict from them.
 */
import type { Kernel, KernelMessage } from '@jupyterlab/services';

/** How long a cell waits for its declared FLOPs to be counted (a meta-device pass: usually well under a second). */
export const DECLARE_TIMEOUT_MS = 5000;

/** The lookup's own timeout once the FLOPs were counted (the user asked for this prediction). */
export const DECLARED_LOOKUP_TIMEOUT_MS = 2000;

/** What the lookup is told (POST carbon/predict `flops_declared`). */
export interface IDeclaredFlops {
  count: number;
  device?: string;
  dtype?: string;
  device_name?: string;
}

/** The cell's `%%carbon` line when it declares its work with `--predict`, else null. */
export function predictLine(code: string): string | null {
  const first = code.split('\n', 1)[0].trim();
  return /^%%carbon\b.*\s--predict\b/.test(first) ? first : null;
}

/** The user expression that counts the line's declaration in the kernel (the line as a Python string). */
export function declarationExpression(line: string): string {
  // A JSON string is a valid Python string literal.
  return `__import__('jupyterlab_carbon.kernel.gate', fromlist=['declared_flops']).declared_flops(${JSON.stringify(line)})`;
}

/** The kernel's answer read into what the lookup takes; null (with the reason) when it holds none. */
export function readDeclared(reply: KernelMessage.IExecuteReplyMsg['content']): {
  declared: IDeclaredFlops | null;
  reason: string | null;
} {
  if (reply.status !== 'ok') {
    return { declared: null, reason: `the request ended with status ${reply.status}` };
  }
  const result = reply.user_expressions?.carbon as
    { status?: string; data?: Record<string, unknown>; ename?: string; evalue?: string } | undefined;
  if (!result || result.status !== 'ok') {
    const why = result?.ename ? `${result.ename}: ${result.evalue ?? ''}` : 'no answer';
    return {
      declared: null,
      reason: `the kernel could not count them (${why}; is jupyterlab-carbon installed there?)`
    };
  }
  const answer = result.data?.['application/json'] as { flops_declared?: Record<string, unknown>; error?: unknown };
  if (typeof answer?.error === 'string') {
    return { declared: null, reason: answer.error };
  }
  const found = answer?.flops_declared;
  const count = found?.count;
  if (typeof count !== 'number' || !Number.isFinite(count) || count <= 0) {
    return { declared: null, reason: 'the kernel answered without a FLOP count' };
  }
  const declared: IDeclaredFlops = { count };
  for (const key of ['device', 'dtype', 'device_name'] as const) {
    const value = found?.[key];
    if (typeof value === 'string' && value.length <= 128) {
      declared[key] = value;
    }
  }
  return { declared, reason: null };
}

/**
 * Count what the cell declares, in its kernel, before it runs; null when it declares nothing, the
 * kernel is busy (the request would wait for the cells ahead of it), or counting fails or takes
 * longer than `timeoutMs` (said in the console: the cell runs, predicted from what else is known).
 */
export async function declareFlops(
  kernel: Kernel.IKernelConnection | null | undefined,
  code: string,
  timeoutMs: number = DECLARE_TIMEOUT_MS
): Promise<IDeclaredFlops | null> {
  const line = predictLine(code);
  if (!line || !kernel || kernel.status !== 'idle') {
    return null;
  }
  const future = kernel.requestExecute(
    {
      code: '',
      silent: true,
      store_history: false,
      allow_stdin: false,
      stop_on_error: false,
      user_expressions: { carbon: declarationExpression(line) }
    },
    true
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<null>(resolve => {
    timer = setTimeout(() => resolve(null), timeoutMs);
  });
  try {
    const reply = await Promise.race([future.done, timedOut]);
    if (!reply) {
      console.warn(`jupyterlab-carbon: --predict: the declared FLOPs took over ${timeoutMs} ms to count; not used`);
      return null;
    }
    const { declared, reason } = readDeclared(reply.content as KernelMessage.IExecuteReplyMsg['content']);
    if (reason) {
      console.warn(`jupyterlab-carbon: --predict: ${reason}`);
    }
    return declared;
  } catch (error) {
    console.warn(`jupyterlab-carbon: --predict: the FLOPs were not counted: ${(error as Error).message}`);
    return null;
  } finally {
    clearTimeout(timer);
  }
}
