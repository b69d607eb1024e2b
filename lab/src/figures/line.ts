/** A streaming line chart (loss curves), drawn with Observable Plot through src/plot. */
import type { Figure, LineFigure } from "../../../lessons/lesson.js";
import { lineChart } from "../../../src/plot/index.js";
import { type FigureView, figureCard } from "./view.js";

export class LineView implements FigureView {
  readonly element: HTMLElement;
  readonly minInterval = 50;
  private readonly body: HTMLElement;
  private readonly heading: HTMLElement;
  private figure: LineFigure;
  private readonly series = new Map<string, { x: number; y: number }[]>();

  constructor(figure: LineFigure) {
    const card = figureCard("line", figure.title);
    this.element = card.element;
    this.body = card.body;
    this.heading = card.heading;
    this.figure = figure;
    for (const name of figure.series) this.series.set(name, []);
  }

  update(figure: Figure): void {
    if (figure.kind !== "line") return;
    this.figure = figure;
    for (const name of figure.series) if (!this.series.has(name)) this.series.set(name, []);
  }

  addPoints(series: string, points: { x: number; y: number }[]): void {
    const list = this.series.get(series) ?? [];
    list.push(...points);
    this.series.set(series, list);
  }

  draw(): void {
    this.heading.textContent = this.figure.title;
    const series = [...this.series].map(([name, points]) => ({ name, points }));
    const count = series.reduce((n, s) => n + s.points.length, 0);
    this.element.dataset.points = String(count);
    // A line needs two points (and Plot warns about a series per row before that).
    if (series.every((s) => s.points.length < 2)) return;
    const width = Math.max(280, this.body.clientWidth || 480);
    const chart = lineChart(series, {
      width,
      height: Math.round(Math.min(this.figure.wide ? 240 : 360, width * 0.72)),
      xLabel: this.figure.xLabel ?? "step",
      yLabel: this.figure.yLabel ?? "",
      logY: this.figure.logY ?? false,
    });
    this.body.replaceChildren(chart);
  }
}
