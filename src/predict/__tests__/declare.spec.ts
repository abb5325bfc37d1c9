import type { Kernel, KernelMessage } from '@jupyterlab/services';

import { declarationExpression, declareFlops, predictLine, readDeclared } from '../declare';

type ReplyContent = KernelMessage.IExecuteReplyMsg['content'];

/** A kernel whose silent requests answer `content` after `delayMs`, recording what was sent. */
function fakeKernel(status: string, content: ReplyContent, delayMs = 0) {
  const sent: KernelMessage.IExecuteRequestMsg['content'][] = [];
  const kernel = {
    status,
    requestExecute: (request: KernelMessage.IExecuteRequestMsg['content']) => {
      sent.push(request);
      return { done: new Promise(resolve => setTimeout(() => resolve({ content }), delayMs)) };
    }
  } as unknown as Kernel.IKernelConnection;
  return { kernel, sent };
}

function answer(json: unknown): ReplyContent {
  return {
    status: 'ok',
    execution_count: 0,
    user_expressions: { carbon: { status: 'ok', data: { 'application/json': json }, metadata: {} } }
  } as unknown as ReplyContent;
}

const CELL = '%%carbon -e big --predict "model=net, batch=next(iter(loader)), steps=epochs*len(loader)"\ntrain()';

describe('declared FLOPs, counted before the cell runs', () => {
  beforeEach(() => jest.spyOn(console, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('finds the --predict line of a %%carbon cell only', () => {
    expect(predictLine(CELL)).toBe(CELL.split('\n')[0]);
    expect(predictLine('%%carbon --flops\ntrain()')).toBeNull();
    expect(predictLine('x = 1  # --predict')).toBeNull();
    expect(predictLine('train()\n%%carbon --predict "model=m, batch=b"')).toBeNull();
  });

  it('passes the line to the kernel as a Python string literal', () => {
    expect(declarationExpression('%%carbon --predict "a=\'b\'"')).toBe(
      `__import__('jupyterlab_carbon.kernel.gate', fromlist=['declared_flops']).declared_flops("%%carbon --predict \\"a='b'\\"")`
    );
  });

  it('sends a silent request to an idle kernel and reads its count', async () => {
    const { kernel, sent } = fakeKernel(
      'idle',
      answer({
        flops_declared: { count: 9.6e12, device: 'cuda', dtype: 'bfloat16', device_name: 'NVIDIA H100', per_step: 1 }
      })
    );
    expect(await declareFlops(kernel, CELL)).toEqual({
      count: 9.6e12,
      device: 'cuda',
      dtype: 'bfloat16',
      device_name: 'NVIDIA H100'
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ code: '', silent: true, store_history: false });
    expect(sent[0].user_expressions!.carbon).toContain('declared_flops(');
  });

  it('asks nothing of a busy kernel or for a cell without --predict', async () => {
    const busy = fakeKernel('busy', answer({ flops_declared: { count: 1 } }));
    expect(await declareFlops(busy.kernel, CELL)).toBeNull();
    const plain = fakeKernel('idle', answer({ flops_declared: { count: 1 } }));
    expect(await declareFlops(plain.kernel, 'train()')).toBeNull();
    expect([...busy.sent, ...plain.sent]).toHaveLength(0);
    expect(await declareFlops(null, CELL)).toBeNull();
  });

  it('gives up after its timeout, and says why when nothing was counted', async () => {
    const slow = fakeKernel('idle', answer({ flops_declared: { count: 1 } }), 200);
    expect(await declareFlops(slow.kernel, CELL, 20)).toBeNull();
    expect(console.warn).toHaveBeenCalledWith(expect.stringContaining('took over 20 ms'));
    expect(readDeclared(answer({ error: 'FLOPs not counted: NameError: loader' }))).toEqual({
      declared: null,
      reason: 'FLOPs not counted: NameError: loader'
    });
    expect(readDeclared(answer({ flops_declared: { count: Infinity } })).declared).toBeNull();
    const failed = {
      status: 'ok',
      user_expressions: {
        carbon: { status: 'error', ename: 'ModuleNotFoundError', evalue: "No module named 'jupyterlab_carbon'" }
      }
    } as unknown as ReplyContent;
    expect(readDeclared(failed).reason).toContain('is jupyterlab-carbon installed there?');
  });
});
