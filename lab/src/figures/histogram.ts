/** Distributions, one line per series (activations or gradients per layer), with Observable Plot. */
import * as Plot from "@observablehq/plot";
import type { HistogramFigure } from "../../../lessons/lesson.js";
import { CardView, el } from "./view.js";

export class HistogramView extends CardView<HistogramFigure> {
  readonly minInterval = 150;

  draw(): void {
    const { series, bins = 50, xLabel } = this.figure;
    this.heading.textContent = this.figure.title;
    this.caption.textContent = this.figure.caption ?? "";
    const rows = series.flatMap((s) => s.values.map((value) => ({ value, series: s.name })));
    const width = Math.max(280, this.body.clientWidth || 480);
    const plot = Plot.plot({
      width,
      height: Math.round(Math.min(300, width * 0.6)),
      grid: true,
      x: { label: xLabel ?? null },
      y: { label: "count" },
      color: { domain: series.map((s) => s.name) },
      marks: [
        Plot.lineY(
          rows,
          Plot.binX<Plot.LineYOptions>(
            { y: "count" },
            { x: "value", stroke: "series", z: "series", thresholds: bins, curve: "step" },
          ),
        ),
        Plot.ruleY([0]),
      ],
    }) as unknown as Element;
    this.element.dataset.series = String(series.length);
    // The legend sits right above the curves, one swatch per series, wrapping rather than
    // printing names over each other.
    const scale = (plot as unknown as { scale(name: "color"): { domain: string[]; range: string[] } }).scale(
      "color",
    );
    const legend =
      series.length > 1
        ? el(
            "div",
            { class: "legend" },
            ...scale.domain.map((name, i) =>
              el(
                "span",
                { class: "legend-item" },
                el("i", { class: "bar", style: `background:${scale.range[i % scale.range.length]}` }),
                name,
              ),
            ),
          )
        : "";
    this.body.replaceChildren(legend, plot);
  }
}
