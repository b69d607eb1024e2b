/** Labelled points in the plane (an embedding), drawn with Observable Plot. */
import * as Plot from "@observablehq/plot";
import type { ScatterFigure } from "../../../lessons/lesson.js";
import { CardView } from "./view.js";

type Point = ScatterFigure["points"][number];

const MARGIN = { top: 20, right: 20, bottom: 36, left: 46 };
const INSET = 12;
/** A label's box: 11 px bold text, about 8 px a character. */
const CHAR_PX = 8;
const LABEL_H = 13;

/** Pixel offsets tried for a label whose place is taken: rings around its point. */
const OFFSETS = [0, 14, 22, 32].flatMap((r) =>
  r === 0
    ? [[0, 0]]
    : [...Array(8).keys()].map((k) => [r * Math.cos((k * Math.PI) / 4), r * Math.sin((k * Math.PI) / 4)]),
);

/**
 * Where each label goes, in pixels: on its point when free, else the nearest free place around it
 * (two points that nearly coincide keep both letters readable), else on its point.
 */
export function placeLabels(
  points: { x: number; y: number; w: number }[],
  bounds: { left: number; right: number; top: number; bottom: number },
): { x: number; y: number }[] {
  const placed: { l: number; r: number; t: number; b: number }[] = [];
  return points.map((p) => {
    const box = (x: number, y: number) => ({
      l: x - p.w / 2,
      r: x + p.w / 2,
      t: y - LABEL_H / 2,
      b: y + LABEL_H / 2,
    });
    const free = (b: ReturnType<typeof box>) =>
      b.l >= bounds.left &&
      b.r <= bounds.right &&
      b.t >= bounds.top &&
      b.b <= bounds.bottom &&
      placed.every((o) => b.r <= o.l || b.l >= o.r || b.b <= o.t || b.t >= o.b);
    const at =
      OFFSETS.map(([dx, dy]) => ({ x: p.x + dx!, y: p.y + dy! })).find((c) => free(box(c.x, c.y))) ?? p;
    placed.push(box(at.x, at.y));
    return at;
  });
}

export class ScatterView extends CardView<ScatterFigure> {
  readonly minInterval = 100;

  draw(): void {
    const { points, xLabel, yLabel } = this.figure;
    this.heading.textContent = this.figure.title;
    this.caption.textContent = this.figure.caption ?? "";
    const grouped = points.some((p) => p.group !== undefined);
    const width = Math.max(260, Math.min(560, this.body.clientWidth || 420));
    const height = Math.round(width * 0.85);
    const extent = (values: number[]): [number, number] => {
      const lo = Math.min(...values);
      const hi = Math.max(...values);
      return lo === hi ? [lo - 1, hi + 1] : [lo, hi];
    };
    const xDomain = extent(points.map((p) => p.x));
    const yDomain = extent(points.map((p) => p.y));
    const x = Plot.scale({
      x: { domain: xDomain, range: [MARGIN.left + INSET, width - MARGIN.right - INSET] },
    });
    const y = Plot.scale({
      y: { domain: yDomain, range: [height - MARGIN.bottom - INSET, MARGIN.top + INSET] },
    });
    const labelled = points.filter((p) => p.label);
    const at = placeLabels(
      labelled.map((p) => ({
        x: x.apply(p.x) as number,
        y: y.apply(p.y) as number,
        w: CHAR_PX * (p.label ?? "").length + 2,
      })),
      { left: MARGIN.left, right: width - MARGIN.right, top: MARGIN.top, bottom: height - MARGIN.bottom },
    );
    const labels = labelled.map((p, i) => ({
      ...p,
      lx: x.invert!(at[i]!.x) as number,
      ly: y.invert!(at[i]!.y) as number,
    }));
    const moved = labels.filter((l) => l.lx !== l.x || l.ly !== l.y);
    const plot = Plot.plot({
      width,
      height,
      marginTop: MARGIN.top,
      marginRight: MARGIN.right,
      marginBottom: MARGIN.bottom,
      marginLeft: MARGIN.left,
      grid: true,
      inset: INSET,
      x: { label: xLabel ?? null, domain: xDomain },
      y: { label: yLabel ?? null, domain: yDomain },
      color: grouped ? { legend: false } : undefined,
      marks: [
        Plot.dot(points, {
          x: "x",
          y: "y",
          r: 9,
          fill: grouped ? "group" : "#a6c8f4",
          stroke: "#1f5f99",
          strokeWidth: 0.8,
          title: (p: Point) => `${p.label ?? ""} (${p.x.toFixed(3)}, ${p.y.toFixed(3)})`,
        }),
        // A label moved off its point keeps a thread to it.
        Plot.link(moved, { x1: "x", y1: "y", x2: "lx", y2: "ly", stroke: "#8a8f96", strokeWidth: 0.8 }),
        Plot.text(labels, {
          x: "lx",
          y: "ly",
          text: "label",
          fontSize: 11,
          fontWeight: 600,
          fill: "#1f2328",
          stroke: "white",
          strokeWidth: 3,
          paintOrder: "stroke",
        }),
      ],
    }) as unknown as Element;
    this.element.dataset.points = String(points.length);
    this.body.replaceChildren(plot);
  }
}
