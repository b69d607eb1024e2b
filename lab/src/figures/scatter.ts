/** Labelled points in the plane (an embedding), drawn with Observable Plot. */
import * as Plot from "@observablehq/plot";
import type { ScatterFigure } from "../../../lessons/lesson.js";
import { CardView } from "./view.js";

type Point = ScatterFigure["points"][number];

export class ScatterView extends CardView<ScatterFigure> {
  readonly minInterval = 100;

  draw(): void {
    const { points, xLabel, yLabel } = this.figure;
    this.heading.textContent = this.figure.title;
    this.caption.textContent = this.figure.caption ?? "";
    const grouped = points.some((p) => p.group !== undefined);
    const width = Math.max(260, Math.min(560, this.body.clientWidth || 420));
    const plot = Plot.plot({
      width,
      height: Math.round(width * 0.85),
      grid: true,
      inset: 12,
      x: { label: xLabel ?? null },
      y: { label: yLabel ?? null },
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
        Plot.text(
          points.filter((p) => p.label),
          { x: "x", y: "y", text: "label", fontSize: 11, fontWeight: 600, fill: "#1f2328" },
        ),
      ],
    }) as unknown as Element;
    this.element.dataset.points = String(points.length);
    this.body.replaceChildren(plot);
  }
}
