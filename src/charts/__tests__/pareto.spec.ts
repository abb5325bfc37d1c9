import { higherIsBetter, paretoFront } from '../pareto';

const point = (id: string, energy: number, metric: number) => ({ id, energy, metric });

describe('paretoFront', () => {
  it('keeps the runs that no other beats on energy and metric, by energy', () => {
    const points = [
      point('a', 10, 0.9),
      point('b', 5, 0.8),
      point('c', 7, 0.7),
      point('d', 20, 0.95),
      point('e', 12, 0.85)
    ];
    expect(paretoFront(points).map(p => p.id)).toEqual(['b', 'a', 'd']);
  });

  it('minimises the metric when lower is better', () => {
    const points = [point('a', 10, 0.2), point('b', 5, 0.4), point('c', 7, 0.5), point('d', 20, 0.1)];
    expect(paretoFront(points, false).map(p => p.id)).toEqual(['b', 'a', 'd']);
  });

  it('keeps one of equal-energy runs, the better one, and drops exact duplicates after the first', () => {
    const points = [point('a', 5, 0.7), point('b', 5, 0.9), point('c', 5, 0.9)];
    expect(paretoFront(points).map(p => p.id)).toEqual(['b']);
  });

  it('ignores points with non-finite values, and is empty for no points', () => {
    const points = [point('nan', NaN, 1), point('inf', 1, Infinity), point('ok', 3, 0.5)];
    expect(paretoFront(points).map(p => p.id)).toEqual(['ok']);
    expect(paretoFront([])).toEqual([]);
  });

  it('does not reorder its input', () => {
    const points = [point('a', 10, 0.9), point('b', 5, 0.8)];
    paretoFront(points);
    expect(points.map(p => p.id)).toEqual(['a', 'b']);
  });
});

describe('higherIsBetter', () => {
  it('guesses the direction from the name', () => {
    expect(higherIsBetter('accuracy')).toBe(true);
    expect(higherIsBetter('f1')).toBe(true);
    expect(higherIsBetter('val_loss')).toBe(false);
    expect(higherIsBetter('RMSE')).toBe(false);
  });
});
