import { IHistory, sparklinePoints } from './state';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** The widest slot of one run in the history chart (px). */
const MAX_SLOT = 16;

/** An SVG element with attributes (DOM calls only: no markup is parsed). */
export function svgElement<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, String(value));
  }
  return element;
}

/** The power sparkline: a polyline of the latest readings, described by `label`. */
export function sparkline(values: readonly number[], label: string, width = 160, height = 28): SVGSVGElement {
  const svg = svgElement('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' });
  svg.classList.add('jp-carbon-Widget-sparkline');
  svg.setAttribute('aria-label', label);
  svg.append(svgElement('polyline', { points: sparklinePoints(values, width, height), fill: 'none' }));
  return svg;
}

/**
 * The experiment's earlier runs: a bar of energy per run (the current one marked) and the metric as a
 * line of points on its own scale. `titleOf` says each mark's figures (a tooltip and its accessible name).
 */
export function historyChart(
  history: IHistory,
  label: string,
  titleOf: (index: number) => string,
  maxWidth = 320,
  height = 60
): SVGSVGElement {
  const count = history.marks.length;
  // Slots of at most MAX_SLOT px: a few runs stay thin bars rather than filling the width.
  const slot = Math.min(MAX_SLOT, maxWidth / Math.max(count, 1));
  const width = Math.max(slot * count, 1);
  const svg = svgElement('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' });
  svg.classList.add('jp-carbon-Widget-history');
  svg.setAttribute('aria-label', label);
  const barWidth = Math.max(2, slot * 0.7);
  const points: string[] = [];
  history.marks.forEach((mark, index) => {
    const barHeight = history.maxEnergyJ > 0 ? (mark.energyJ / history.maxEnergyJ) * (height - 4) : 0;
    const bar = svgElement('rect', {
      x: index * slot + (slot - barWidth) / 2,
      y: height - barHeight,
      width: barWidth,
      height: Math.max(barHeight, 1)
    });
    bar.classList.add('jp-carbon-Widget-bar');
    bar.classList.toggle('jp-mod-current', mark.current);
    const title = svgElement('title', {});
    title.textContent = titleOf(index);
    bar.append(title);
    svg.append(bar);
    if (mark.metric !== null && history.metricRange) {
      const [low, high] = history.metricRange;
      const y = height - 4 - ((mark.metric - low) / (high - low || 1)) * (height - 8) + 2;
      points.push(`${index * slot + slot / 2},${y}`);
    }
  });
  if (points.length) {
    svg.append(svgElement('polyline', { points: points.join(' '), fill: 'none' }));
    for (const point of points) {
      const [cx, cy] = point.split(',');
      const dot = svgElement('circle', { cx, cy, r: 2.5 });
      dot.classList.add('jp-carbon-Widget-metric');
      svg.append(dot);
    }
  }
  return svg;
}
