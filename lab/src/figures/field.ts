/** A classifier's decision boundary on a grid, drawn with Observable Plot through src/plot. */
import type { FieldFigure } from "../../../lessons/lesson.js";
import { decisionBoundary } from "../../../src/plot/index.js";
import { CardView } from "./view.js";

export class FieldView extends CardView<FieldFigure> {
  readonly minInterval = 120;

  /** Called with the data coordinates under the pointer (undefined when it leaves). */
  onProbe: ((point: [number, number] | undefined) => void) | undefined;

  draw(): void {
    const { grid, points, step, title, caption } = this.figure;
    const width = Math.max(280, Math.min(520, this.body.clientWidth || 420));
    this.heading.textContent = title;
    this.caption.textContent =
      caption ?? (this.onProbe ? "point into the plane: the network shows its activations there" : "");
    const plot = decisionBoundary(grid, points, { step, width, height: Math.round(width * 0.8) });
    this.body.replaceChildren(plot);
    this.watchPointer(plot);
  }

  /** Plot's scales invert pixels to data coordinates: the network figure shows that input. */
  private watchPointer(plot: Element): void {
    type Scale = { invert?: (v: number) => number };
    const scales = plot as Element & { scale?: (name: string) => Scale | undefined };
    const x = scales.scale?.("x");
    const y = scales.scale?.("y");
    const svg = plot instanceof SVGSVGElement ? plot : plot.querySelector("svg");
    if (!this.onProbe || !x?.invert || !y?.invert || !svg) return;
    const marker = document.createElementNS("http://www.w3.org/2000/svg", "circle");
    marker.setAttribute("r", "6");
    marker.setAttribute("class", "probe");
    marker.style.display = "none";
    svg.append(marker);
    svg.addEventListener("pointermove", (e) => {
      const box = svg.getBoundingClientRect();
      const scale = svg.width.baseVal.value / box.width || 1;
      const px = (e.clientX - box.left) * scale;
      const py = (e.clientY - box.top) * scale;
      marker.setAttribute("cx", String(px));
      marker.setAttribute("cy", String(py));
      marker.style.display = "";
      this.onProbe?.([x.invert!(px), y.invert!(py)]);
    });
    svg.addEventListener("pointerleave", () => {
      marker.style.display = "none";
      this.onProbe?.(undefined);
    });
  }
}
