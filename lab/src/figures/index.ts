/** The figure kinds the lab can draw: one view per kind of lessons/lesson.ts's Figure. */
import type { Figure } from "../../../lessons/lesson.js";
import { DetailView } from "./detail.js";
import { FieldView } from "./field.js";
import { GraphView } from "./graph.js";
import { HeatmapView } from "./heatmap.js";
import { HistogramView } from "./histogram.js";
import { ImagesView } from "./images.js";
import { LineView } from "./line.js";
import { NetworkView } from "./network.js";
import { ScatterView } from "./scatter.js";
import { StatsView } from "./stats.js";
import { TokensView } from "./tokens.js";
import type { FigureView } from "./view.js";

export type { FigureView } from "./view.js";

export function createView(figure: Figure): FigureView {
  switch (figure.kind) {
    case "line":
      return new LineView(figure);
    case "graph":
      return new GraphView(figure);
    case "network":
      return new NetworkView(figure);
    case "field":
      return new FieldView(figure);
    case "stats":
      return new StatsView(figure);
    case "heatmap":
      return new HeatmapView(figure);
    case "scatter":
      return new ScatterView(figure);
    case "histogram":
      return new HistogramView(figure);
    case "tokens":
      return new TokensView(figure);
    case "images":
      return new ImagesView(figure);
    case "detail":
      return new DetailView(figure);
  }
}
