/** A few named numbers, updated as a run goes. */
import type { Figure, StatsFigure } from "../../../lessons/lesson.js";
import { el, type FigureView, figureCard } from "./view.js";

export class StatsView implements FigureView {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;
  private readonly heading: HTMLElement;
  private figure: StatsFigure;

  constructor(figure: StatsFigure) {
    const card = figureCard("stats", figure.title);
    this.element = card.element;
    this.body = card.body;
    this.heading = card.heading;
    this.figure = figure;
  }

  update(figure: Figure): void {
    if (figure.kind === "stats") this.figure = figure;
  }

  draw(): void {
    // The title names the moment ("After 120 steps") and changes as the run goes.
    this.heading.textContent = this.figure.title;
    this.body.replaceChildren(
      el(
        "dl",
        { class: "stats" },
        ...this.figure.items.map((item) =>
          el(
            "div",
            {},
            el("dt", {}, item.label),
            el("dd", item.value.length > 14 ? { class: "long" } : {}, item.value),
          ),
        ),
      ),
    );
  }
}
