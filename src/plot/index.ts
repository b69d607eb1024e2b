/**
 * Figures as SVG, drawn with Observable Plot. The same figure functions serve the CLI (which
 * hands them a headless DOM and writes .svg files) and the lab (which hands them the page's DOM).
 */
import * as Plot from "@observablehq/plot";

export interface FigureOptions {
  document?: Document;
  width?: number;
  height?: number;
  title?: string;
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

/** Standalone SVG text of a figure (adds the namespace that a browser page does not need). */
export function svgText(figure: Element): string {
  const svg = figure.tagName.toLowerCase() === "svg" ? figure : figure.querySelector("svg");
  if (!svg) throw new Error("figure has no <svg> element");
  svg.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  if (figure !== svg) {
    // Plot wraps titled figures in <figure>: keep only the SVG, with the title as an SVG text.
    return svg.outerHTML;
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n${svg.outerHTML}\n`;
}

export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

/** Line chart of one or more series (loss curves). */
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
  return Plot.plot({
    document: options.document,
    width: options.width ?? 640,
    height: options.height ?? 360,
    marginLeft: 56,
    grid: true,
    title: options.title,
    x: { label: xLabel },
    y: { label: yLabel, type: logY ? "log" : "linear" },
    color: series.length > 1 ? { legend: true } : undefined,
    marks: [
      Plot.line(rows, {
        x: "x",
        y: "y",
        stroke: series.length > 1 ? "series" : "steelblue",
        strokeWidth: 1.5,
      }),
    ],
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
  const cells = grid.map((g) => ({ ...g, cls: g.score > 0 ? "+1" : "-1" }));
  return Plot.plot({
    document: options.document,
    width: options.width ?? 520,
    height: options.height ?? 460,
    title: options.title,
    aspectRatio: 1,
    x: { label: "x₀" },
    y: { label: "x₁" },
    color: { domain: ["-1", "+1"], range: ["#f4a6a6", "#a6c8f4"], legend: true },
    marks: [
      Plot.rect(cells, {
        x1: "x",
        y1: "y",
        x2: (d: { x: number }) => d.x + step,
        y2: (d: { y: number }) => d.y + step,
        fill: "cls",
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
