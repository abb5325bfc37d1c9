import { IRun } from '../../tokens';

/** A recorded run of a cell, as the server sends it, with `attributed` joules for the cell. */
export function run(id: string, attributed: number, impact: Record<string, unknown> | null = null): IRun {
  return {
    run_id: id,
    kernel_id: 'k',
    kernel_name: 'python3',
    session_id: null,
    notebook_path: 'demo.ipynb',
    msg_id: `msg-${id}`,
    execution_count: 1,
    code_hash: 'ab',
    code_preview: 'x = 1',
    started_at: 1_800_000_000,
    ended_at: 1_800_000_002,
    duration_s: 2,
    status: 'ok',
    node_j: attributed * 2,
    attributed_j: attributed,
    idle_j: attributed / 4,
    active_j: (attributed * 3) / 4,
    channels: [
      {
        channel_id: 'cpu/model',
        label: 'CPU (modeled)',
        domain: 'cpu',
        method: 'modeled',
        node_j: attributed * 2,
        share: 0.5,
        attributed_j: attributed,
        idle_j: attributed / 4,
        active_j: (attributed * 3) / 4
      }
    ],
    methods: ['modeled'],
    flags: [],
    host: 'node',
    extra: {},
    impact,
    version: 1
  };
}
