/** A classifier's decision boundary on a grid, drawn with Observable Plot through src/plot. */
import type { FieldFigure, Figure } from "../../../lessons/lesson.js";
import { decisionBoundary } from "../../../src/plot/index.js";
import { el, type FigureView, figureCard } from "./view.js";

export class FieldView implements FigureView {
  readonly element: HTMLElement;
  readonly minInterval = 120;
  private readonly body: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly caption = el("figcaption");
  private figure: FieldFigure;

  constructor(figure: FieldFigure) {
    const card = figureCard("field", figure.title);
    this.element = card.element;
    this.body = card.body;
    this.heading = card.heading;
    this.element.append(this.caption);
    this.figure = figure;
  }

  update(figure: Figure): void {
    if (figure.kind === "field") this.figure = figure;
  }

  draw(): void {
    const { grid, points, step, title, caption } = this.figure;
    const width = Math.max(280, Math.min(520, this.body.clientWidth || 420));
    this.heading.textContent = title;
    this.caption.textContent = caption ?? "";
    this.body.replaceChildren(
      decisionBoundary(grid, points, { step, width, height: Math.round(width * 0.8) }),
    );
  }
}
