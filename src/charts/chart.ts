import type { TopLevelSpec } from 'vega-lite';

/** One cell of a chart's text alternative: what is shown, and what it sorts by. */
export interface ITableCell {
  text: string;
  value: number | string;
}

/** The same figures as a chart, as a table for screen readers and keyboard users. */
export interface IChartTable {
  columns: string[];
  rows: ITableCell[][];
}

/** A chart ready to embed: a vega-lite spec with its title, description and text alternative. */
export interface IChart {
  title: string;
  /** One or two sentences saying what the chart shows; read by screen readers. */
  description: string;
  spec: TopLevelSpec;
  table: IChartTable;
}
