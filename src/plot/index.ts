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

/** Line chart of one or more series (loss curves), each labelled at its end. */
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
  const rows = series.flatMap((s) => s.points.map((p) => ({ ...p, series: s.name })));
  const labels =
    series.length > 1
      ? [
          Plot.text(
            rows,
            Plot.selectLast({
              x: "x",
              y: "y",
              z: "series",
              text: "series",
              fill: "series",
              dx: 4,
              textAnchor: "start",
            }),
          ),
        ]
      : [];
  return Plot.plot({
    document: options.document,
    width: options.width ?? 640,
    height: options.height ?? 360,
    marginLeft: 56,
    marginRight: series.length > 1 ? 80 : 20,
    grid: true,
    x: { label: xLabel },
    y: { label: yLabel, type: logY ? "log" : "linear" },
    color: { type: "categorical", domain: series.map((s) => s.name) },
    marks: [Plot.line(rows, { x: "x", y: "y", stroke: "series", strokeWidth: 1.5 }), ...labels],
  }) as unknown as Element;
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
