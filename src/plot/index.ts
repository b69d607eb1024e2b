/**
 * Figures as SVG, drawn with Observable Plot. The same figure functions serve the CLI (which
 * hands them a headless DOM and writes .svg files) and the lab (which hands them the page's DOM).
 */
import * as Plot from "@observablehq/plot";

export interface FigureOptions {
  document?: Document;
  width?: number;
  height?: number;
}

let headless: Document | undefined;

/** A DOM document for drawing outside a browser (linkedom, loaded on first use). */
export async function headlessDocument(): Promise<Document> {
  if (!headless) {
    const { parseHTML } = await import("linkedom");
    headless = parseHTML("<!doctype html><html><body></body></html>").document as unknown as Document;
  }
  return headless;
}

/**
 * Standalone SVG text of a figure (adds the namespace that a browser page does not need).
 * The figures here draw their legends as SVG marks, so the chart is the whole picture; a Plot
 * <figure> wrapper (titles, HTML legends) is refused rather than silently cropped.
 */
export function svgText(figure: Element): string {
  if (figure.tagName.toLowerCase() !== "svg") {
    throw new Error(`svgText needs a bare <svg> figure, got <${figure.tagName.toLowerCase()}>`);
  }
  figure.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  return `<?xml version="1.0" encoding="UTF-8"?>\n${figure.outerHTML}\n`;
}

export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

/** Plot's default font: 10 px, about 6 px a character of a label. */
const CHAR_PX = 6;
const LINE_PX = 12;

/** Tick labels that stay short: 1.2M, not 1,200,000 (which no margin holds). */
export function compactNumber(v: number): string {
  return Math.abs(v) >= 1e4
    ? new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 }).format(v)
    : new Intl.NumberFormat("en-US", { maximumFractionDigits: 6, useGrouping: false }).format(v);
}

/**
 * Label positions (pixels, top to bottom) at least their heights apart, as near to `want` as the
 * range [top, bottom] allows: labels at the end of lines that end close together are stacked.
 */
export function dodge(want: number[], heights: number[], top: number, bottom: number): number[] {
  const order = want.map((_, i) => i).sort((a, b) => want[a]! - want[b]!);
  const at = want.slice();
  let prev: number | undefined;
  for (const i of order) {
    const min = prev === undefined ? top + heights[i]! / 2 : at[prev]! + (heights[prev]! + heights[i]!) / 2;
    at[i] = Math.max(at[i]!, min);
    prev = i;
  }
  let next: number | undefined;
  for (const i of order.slice().reverse()) {
    const max =
      next === undefined ? bottom - heights[i]! / 2 : at[next]! - (heights[next]! + heights[i]!) / 2;
    at[i] = Math.min(at[i]!, max);
    next = i;
  }
  return at;
}

/**
 * Line chart of one or more series (loss curves), each labelled at its end: the labels are
 * stacked so that none prints over another, and wrapped when the margin cannot hold them.
 */
export function lineChart(
  series: Series[],
  {
    xLabel = "step",
    yLabel = "loss",
    logY = false,
    ...options
  }: FigureOptions & {
    xLabel?: string;
    yLabel?: string;
    logY?: boolean;
  } = {},
): Element {
  const width = options.width ?? 640;
  const height = options.height ?? 360;
  const rows = series.flatMap((s) => s.points.map((p) => ({ ...p, series: s.name })));
  const ys = rows.map((r) => r.y).filter((y) => Number.isFinite(y) && (!logY || y > 0));
  const xs = rows.map((r) => r.x).filter(Number.isFinite);
  const margin = { top: 20, bottom: 36, left: 56, right: 20 };
  // End labels: the margin holds the longest, wrapped to lines if it would take over a third.
  const labelled = series.length > 1 ? series.filter((s) => s.points.length > 0) : [];
  const longest = Math.max(0, ...labelled.map((s) => s.name.length));
  const perLine = Math.max(6, Math.min(longest, Math.floor((width / 3 - 10) / CHAR_PX)));
  if (labelled.length > 0) margin.right = 10 + perLine * CHAR_PX;
  const yScale = Plot.scale({
    y: {
      type: logY ? "log" : "linear",
      domain: ys.length > 0 ? [Math.min(...ys), Math.max(...ys)] : [0, 1],
      range: [height - margin.bottom, margin.top],
      nice: true,
    },
  });
  const labels: Plot.Markish[] = [];
  if (labelled.length > 0) {
    const ends = labelled.map((s) => s.points.at(-1)!);
    const lines = labelled.map((s) => wrapWords(s.name, perLine).length);
    const at = dodge(
      ends.map((p) => yScale.apply(p.y) as number),
      lines.map((n) => n * LINE_PX + 2),
      margin.top,
      height - margin.bottom + 10,
    );
    const placed = labelled.map((s, i) => ({
      x: ends[i]!.x,
      y: yScale.invert!(at[i]!) as number,
      text: wrapWords(s.name, perLine).join("\n"),
      series: s.name,
    }));
    labels.push(
      Plot.text(placed, {
        x: "x",
        y: "y",
        text: "text",
        fill: "series",
        dx: 5,
        textAnchor: "start",
        lineAnchor: "middle",
        clip: false,
      }),
    );
  }
  // Whole-numbered x (layers, epochs) over a short span: a tick on each whole number, none between.
  const whole = xs.length > 0 && xs.every(Number.isInteger);
  const span = whole ? Math.max(...xs) - Math.min(...xs) : 0;
  const xTicks =
    whole && span <= 12 ? Array.from({ length: span + 1 }, (_, i) => Math.min(...xs) + i) : undefined;
  return Plot.plot({
    document: options.document,
    width,
    height,
    marginTop: margin.top,
    marginBottom: margin.bottom,
    marginLeft: margin.left,
    marginRight: margin.right,
    grid: true,
    x: { label: xLabel, tickFormat: compactNumber, ...(xTicks ? { ticks: xTicks } : {}) },
    y: {
      label: yLabel,
      type: logY ? "log" : "linear",
      domain: yScale.domain,
      tickFormat: logY ? undefined : compactNumber,
    },
    color: { type: "categorical", domain: series.map((s) => s.name) },
    marks: [Plot.line(rows, { x: "x", y: "y", stroke: "series", strokeWidth: 1.5 }), ...labels],
  }) as unknown as Element;
}

/** Words wrapped to lines of at most `width` characters (a longer word keeps its own line). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(/\s+/)) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + word.length <= width)
      lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

export interface DecisionBoundaryOptions extends FigureOptions {
  /** Mesh step of the grid the scores were computed on. */
  step: number;
}

/** Classifier scores on a grid (sign = class) with the labelled points on top. */
export function decisionBoundary(
  grid: { x: number; y: number; score: number }[],
  points: { x: number; y: number; label: number }[],
  { step, ...options }: DecisionBoundaryOptions,
): Element {
  // Merge each row's runs of one class into a single rectangle: the same picture, far fewer nodes.
  const cells: { x1: number; x2: number; y: number; cls: string }[] = [];
  const rows = new Map<number, { x: number; score: number }[]>();
  for (const g of grid) {
    const row = rows.get(g.y) ?? [];
    row.push(g);
    rows.set(g.y, row);
  }
  for (const [y, row] of rows) {
    row.sort((a, b) => a.x - b.x);
    for (const cell of row) {
      const cls = cell.score > 0 ? "+1" : "-1";
      const last = cells.at(-1);
      if (last && last.y === y && last.cls === cls && Math.abs(last.x2 - cell.x) < step / 2)
        last.x2 = cell.x + step;
      else cells.push({ x1: cell.x, x2: cell.x + step, y, cls });
    }
  }
  return Plot.plot({
    document: options.document,
    width: options.width ?? 520,
    height: options.height ?? 460,
    aspectRatio: 1,
    x: { label: "x₀" },
    y: { label: "x₁" },
    color: { domain: ["-1", "+1"], range: ["#f4a6a6", "#a6c8f4"] },
    marks: [
      // Stroked in their own colour so anti-aliasing leaves no seams between rows.
      Plot.rect(cells, {
        x1: "x1",
        x2: "x2",
        y1: "y",
        y2: (d: { y: number }) => d.y + step,
        fill: "cls",
        stroke: "cls",
      }),
      Plot.dot(points, {
        x: "x",
        y: "y",
        r: 4,
        fill: (d: { label: number }) => (d.label > 0 ? "#1f5fbf" : "#bf1f1f"),
        stroke: "black",
        strokeWidth: 0.5,
      }),
    ],
  }) as unknown as Element;
}

export { imageRGBA, type PixelImage, type PixelScheme } from "./pixels.js";
