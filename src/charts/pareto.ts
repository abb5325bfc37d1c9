/** A run placed by the energy it used and the metric it reached. */
export interface IParetoPoint {
  id: string;
  energy: number;
  metric: number;
}

/**
 * The runs no other run beats on both axes: less (or equal) energy and a better (or equal) metric,
 * strictly better on one. Sorted by energy, lowest first; points with a non-finite energy or metric
 * take no part.
 *
 * @param higherIsBetter true for metrics such as accuracy, false for losses and errors
 */
export function paretoFront<T extends IParetoPoint>(points: readonly T[], higherIsBetter = true): T[] {
  const sign = higherIsBetter ? 1 : -1;
  const candidates = points
    .filter(point => Number.isFinite(point.energy) && Number.isFinite(point.metric))
    // By energy, then best metric first: the first point of each energy level is the only one kept.
    .sort((a, b) => a.energy - b.energy || sign * (b.metric - a.metric));
  const front: T[] = [];
  let best = -Infinity;
  for (const point of candidates) {
    const score = sign * point.metric;
    if (score > best) {
      front.push(point);
      best = score;
    }
  }
  return front;
}

/** Names of metrics where lower is better: losses, errors, perplexity, durations. */
const LOWER_IS_BETTER = /loss|err|mse|mae|rmse|perplexity|wer|cer|latency|time|duration/i;

/** Whether a larger value of the metric called `name` is better, guessed from its name. */
export function higherIsBetter(name: string): boolean {
  return !LOWER_IS_BETTER.test(name);
}
