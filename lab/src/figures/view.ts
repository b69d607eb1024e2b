/** A figure on a page: built from the figures an experiment emits, drawn on animation frames. */
import type { Figure, Target } from "../../../lessons/lesson.js";

export interface FigureView {
  readonly element: HTMLElement;
  /** Take the latest version of the figure (cheap: drawing happens in draw()). */
  update(figure: Figure): void;
  /** Append points to a series (line figures). */
  addPoints?(series: string, points: { x: number; y: number }[]): void;
  /** Draw what changed since the last draw. */
  draw(): void | Promise<void>;
  /** Milliseconds to wait at least between two draws (heavy figures). */
  readonly minInterval?: number;
  /**
   * Clicking an element (a neuron, a cell, an image, a node) calls `onSelect` with its target;
   * undefined turns clicking off. `hint` says what a click shows.
   */
  setSelectable?(onSelect: ((target: Target) => void) | undefined, hint?: string): void;
  /** Mark the element whose detail is shown. */
  setSelected?(target: Target | undefined): void;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

/** The frame of every figure: a card with a title and a body. */
export function figureCard(
  kind: string,
  title: string,
): { element: HTMLElement; body: HTMLElement; heading: HTMLElement } {
  const heading = el("h4", { class: "figure-title" }, title);
  const body = el("div", { class: "figure-body" });
  const element = el("figure", { class: `figure figure-${kind}`, "data-kind": kind }, heading, body);
  return { element, body, heading };
}

/**
 * A figure drawn whole from its latest version: a card, a caption below it, and update() that
 * keeps the newest figure of its kind. Subclasses only draw.
 */
export abstract class CardView<F extends Figure> implements FigureView {
  readonly element: HTMLElement;
  protected readonly body: HTMLElement;
  protected readonly heading: HTMLElement;
  protected readonly caption = el("figcaption");
  protected figure: F;

  constructor(figure: F) {
    const card = figureCard(figure.kind, figure.title);
    this.element = card.element;
    this.body = card.body;
    this.heading = card.heading;
    this.element.append(this.caption);
    this.figure = figure;
  }

  update(figure: Figure): void {
    if (figure.kind === this.figure.kind) this.figure = figure as F;
  }

  abstract draw(): void | Promise<void>;
}

/** The line under a figure that says what clicking its elements shows. */
export function selectHint(element: HTMLElement, hint: string | undefined, fallback: string): void {
  let note = element.querySelector<HTMLElement>(":scope > .select-hint");
  if (hint === undefined && fallback === "") {
    note?.remove();
    return;
  }
  if (!note) {
    note = el("p", { class: "select-hint" });
    element.append(note);
  }
  note.textContent = hint ?? fallback;
}
