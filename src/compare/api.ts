import { requestAPI } from '../client/client';
import { IRun, IRunsPage } from '../tokens';

/** The most runs POST runs/compare accepts at once. */
export const MAX_COMPARED_RUNS = 50;

/** The runs, with their traces, in the order given (2 to {@link MAX_COMPARED_RUNS} ids). */
export async function compareRuns(runIds: readonly string[]): Promise<IRun[]> {
  const answer = await requestAPI<{ runs: IRun[] }>('runs/compare', {
    method: 'POST',
    body: JSON.stringify({ run_ids: runIds })
  });
  return answer.runs;
}

/**
 * The ids of the runs of these experiments, oldest first, at most `limit` of them (the newest),
 * and how many there are in all.
 */
export async function experimentRunIds(
  experiments: readonly string[],
  limit: number = MAX_COMPARED_RUNS
): Promise<{ runIds: string[]; total: number }> {
  const pages = await Promise.all(
    experiments.map(experiment => {
      const query = new URLSearchParams({ experiment, limit: String(limit), sort: 'started_at', order: 'desc' });
      return requestAPI<IRunsPage>(`runs?${query.toString()}`);
    })
  );
  const runs = pages.flatMap(page => page.runs).sort((a, b) => b.started_at - a.started_at);
  const total = pages.reduce((sum, page) => sum + page.total, 0);
  return {
    runIds: runs
      .slice(0, limit)
      .reverse()
      .map(run => run.run_id),
    total
  };
}
