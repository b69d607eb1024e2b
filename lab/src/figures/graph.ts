/**
 * A Graphviz drawing (WebAssembly Graphviz, @viz-js/viz). With several frames (backprop one node
 * at a time) it has step controls: start, back, step, play, end.
 */
import type { Viz } from "@viz-js/viz";
import katex from "katex";
import type { Figure, GraphFigure, Target } from "../../../lessons/lesson.js";
import { el, type FigureView, figureCard, selectHint } from "./view.js";

let vizPromise: Promise<Viz> | undefined;

/** The fill of the node whose backward step runs (lessons/01-micrograd.ts highlights it so). */
const AT = "#ffd27f";

/** The least height in pixels of a label of a graph scaled to fit. */
const READABLE_PX = 9;

/** The height of the graph's smallest label as drawn now. */
function labelHeight(svg: SVGSVGElement): number {
  const heights = [...svg.querySelectorAll("text")].map((t) => t.getBoundingClientRect().height);
  return Math.min(Number.POSITIVE_INFINITY, ...heights.filter((h) => h > 0));
}

/** Graphviz is large: load it the first time a graph is drawn. */
export function viz(): Promise<Viz> {
  vizPromise ??= import("@viz-js/viz").then((m) => m.instance());
  return vizPromise;
}

export class GraphView implements FigureView {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly controls = el("div", { class: "graph-controls" });
  private readonly caption = el("figcaption", { class: "graph-caption" });
  private readonly position = el("span", { class: "graph-position" });
  private readonly buttons: Record<"first" | "back" | "step" | "play" | "last", HTMLButtonElement>;
  private readonly fit = el(
    "button",
    { type: "button", class: "quiet", title: "fit the graph to the page or show it at full size" },
    "full size",
  );
  private figure: GraphFigure;
  private index: number;
  private shown = -1;
  private shownFigure: GraphFigure | undefined;
  private playing: ReturnType<typeof setInterval> | undefined;
  /** The learner chose fit or full size: keep it. */
  private userSized = false;
  private onSelect: ((target: Target) => void) | undefined;
  private selected: number | undefined;

  constructor(figure: GraphFigure) {
    const card = figureCard("graph", figure.title);
    this.element = card.element;
    this.body = card.body;
    this.heading = card.heading;
    this.figure = figure;
    this.index = figure.start ?? figure.frames.length - 1;
    const button = (name: string, label: string, title: string) => {
      const b = el("button", { type: "button", "data-action": name, title }, label);
      b.addEventListener("click", () => this.act(name));
      return b;
    };
    this.buttons = {
      first: button("first", "« start", "back to the forward pass"),
      back: button("back", "◀ back", "undo one backprop step"),
      step: button("step", "step ▶", "backprop through the next node"),
      play: button("play", "play", "step through the whole backward pass"),
      last: button("last", "end »", "the finished backward pass"),
    };
    this.fit.addEventListener("click", () => {
      this.userSized = true;
      this.element.classList.toggle("full-size");
      this.fit.textContent = this.element.classList.contains("full-size") ? "fit" : "full size";
    });
    this.controls.append(...Object.values(this.buttons), this.position, this.fit);
    this.element.insertBefore(this.controls, this.body);
    this.element.append(this.caption);
    // The keyboard steps too: → and ← one node, Home and End to either end.
    this.element.tabIndex = 0;
    this.element.addEventListener("keydown", (e) => {
      const action = { ArrowRight: "step", ArrowLeft: "back", Home: "first", End: "last" }[e.key];
      if (!action || this.figure.frames.length < 2) return;
      e.preventDefault();
      this.act(action);
    });
  }

  setSelectable(onSelect: ((target: Target) => void) | undefined, hint?: string): void {
    this.onSelect = onSelect;
    selectHint(this.element, onSelect ? hint : undefined, onSelect ? "Click a box to see its code." : "");
    this.wireNodes();
  }

  setSelected(target: Target | undefined): void {
    this.selected = target?.[0];
    this.wireNodes();
  }

  /** The figure's clickable nodes (by DOT name) answer clicks; the chosen one is marked. */
  private wireNodes(): void {
    const names = this.figure.nodes ?? [];
    for (const node of this.body.querySelectorAll<SVGGElement>("g.node")) {
      const index = names.indexOf(node.querySelector("title")?.textContent ?? "");
      if (index < 0) continue;
      node.classList.toggle("selectable", this.onSelect !== undefined);
      node.classList.toggle("selected", index === this.selected);
      node.dataset.node = String(index);
      node.onclick = this.onSelect ? () => this.onSelect?.([index]) : null;
    }
  }

  update(figure: Figure): void {
    if (figure.kind !== "graph") return;
    this.stop();
    this.figure = figure;
    this.index = figure.start ?? figure.frames.length - 1;
  }

  private act(action: string): void {
    const last = this.figure.frames.length - 1;
    if (action === "play") {
      if (this.playing) {
        this.stop();
        return;
      }
      if (this.index >= last) this.index = 0;
      this.buttons.play.textContent = "pause";
      this.playing = setInterval(() => {
        if (this.index >= last) {
          this.stop();
          return;
        }
        this.index++;
        void this.draw();
      }, 900);
    } else {
      this.stop();
      if (action === "first") this.index = 0;
      if (action === "back") this.index = Math.max(0, this.index - 1);
      if (action === "step") this.index = Math.min(last, this.index + 1);
      if (action === "last") this.index = last;
    }
    void this.draw();
  }

  /** Fitted, unless its labels would be too small to read (or the learner chose). */
  private chooseSize(): void {
    const svg = this.body.querySelector("svg");
    if (this.userSized || !svg) return;
    this.element.classList.remove("full-size");
    const wide = labelHeight(svg) < READABLE_PX;
    this.element.classList.toggle("full-size", wide);
    this.fit.textContent = wide ? "fit" : "full size";
  }

  private stop(): void {
    if (this.playing) clearInterval(this.playing);
    this.playing = undefined;
    this.buttons.play.textContent = "play";
  }

  async draw(): Promise<void> {
    const { frames, title } = this.figure;
    this.heading.textContent = title;
    const last = frames.length - 1;
    this.controls.hidden = frames.length < 2;
    this.buttons.first.disabled = this.buttons.back.disabled = this.index <= 0;
    this.buttons.step.disabled = this.buttons.last.disabled = this.index >= last;
    this.position.textContent = this.index === 0 ? "forward pass" : `backward step ${this.index} of ${last}`;
    this.element.dataset.frame = String(this.index);
    this.element.dataset.frames = String(frames.length);
    if (this.index === this.shown && this.figure === this.shownFigure) {
      this.chooseSize(); // its place may have changed
      return;
    }
    const frame = frames[this.index];
    if (!frame) return;
    const svg = (await viz()).renderSVGElement(frame.dot);
    this.shown = this.index;
    this.shownFigure = this.figure;
    this.body.replaceChildren(svg);
    this.wireNodes();
    // Full size is Graphviz's points at a comfortable reading size (11 pt labels ≈ 10 px).
    svg.style.setProperty("--full-width", `${Math.round(svg.width.baseVal.value * 0.7)}px`);
    // Either way the drawing is scaled on purpose; a graph whose labels would shrink below
    // READABLE_PX to fit is shown at full size, scrolled to where backprop is.
    svg.dataset.fit = "scaled";
    this.chooseSize();
    const at = svg.querySelector(`polygon[fill="${AT}"]`);
    if (at && this.element.classList.contains("full-size")) {
      const box = at.getBoundingClientRect();
      const view = this.body.getBoundingClientRect();
      this.body.scrollLeft += box.left + box.width / 2 - (view.left + view.width / 2);
      this.body.scrollTop += box.top + box.height / 2 - (view.top + view.height / 2);
    }
    this.caption.replaceChildren(el("span", {}, frame.caption));
    if (frame.tex) {
      const math = el("div", { class: "graph-math" });
      katex.render(frame.tex, math, { displayMode: true, throwOnError: false });
      this.caption.append(math);
    }
  }
}
