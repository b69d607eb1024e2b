/**
 * Text cut into tokens, each a coloured chip (its colour from its id, so a token keeps its colour
 * wherever it appears). Several tokenizations sit side by side with their counts; with several
 * frames (a tokenizer's merges, one after another) there are step / play controls and a slider.
 */
import type { Figure, Target, TokenSpan, TokensFigure } from "../../../lessons/lesson.js";
import { el, type FigureView, figureCard, selectHint } from "./view.js";

/** A light colour per id: hues spread by the golden angle, so neighbouring ids differ. */
export function tokenColor(id: number): string {
  const hue = (id * 137.508) % 360;
  return `hsl(${hue.toFixed(1)}, 70%, 84%)`;
}

/** Whitespace made visible, so a token that is only spaces or a newline can be seen. */
function shown(text: string): string {
  return text.replace(/\n/g, "↵").replace(/\t/g, "→");
}

export class TokensView implements FigureView {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly caption = el("figcaption");
  private readonly controls = el("div", { class: "graph-controls tokens-controls" });
  private readonly slider = el("input", { type: "range", min: "0", step: "1", "aria-label": "frame" });
  private readonly position = el("span", { class: "graph-position" });
  private readonly play = el("button", { type: "button", "data-action": "play" }, "play");
  private figure: TokensFigure;
  private index: number;
  private playing: ReturnType<typeof setInterval> | undefined;
  private onSelect: ((target: Target) => void) | undefined;
  private selected: Target | undefined;

  constructor(figure: TokensFigure) {
    const card = figureCard("tokens", figure.title);
    this.element = card.element;
    this.body = card.body;
    this.heading = card.heading;
    this.figure = figure;
    this.index = figure.start ?? figure.frames.length - 1;
    const button = (name: string, label: string, move: () => void) => {
      const b = el("button", { type: "button", "data-action": name }, label);
      b.addEventListener("click", () => {
        this.stop();
        move();
        this.draw();
      });
      return b;
    };
    const last = () => this.figure.frames.length - 1;
    this.play.addEventListener("click", () => this.toggle());
    this.slider.addEventListener("input", () => {
      this.stop();
      this.index = Number(this.slider.value);
      this.draw();
    });
    this.controls.append(
      button("first", "« start", () => (this.index = 0)),
      button("back", "◀ back", () => (this.index = Math.max(0, this.index - 1))),
      button("step", "step ▶", () => (this.index = Math.min(last(), this.index + 1))),
      this.play,
      this.slider,
      this.position,
    );
    this.element.insertBefore(this.controls, this.body);
    this.element.append(this.caption);
  }

  setSelectable(onSelect: ((target: Target) => void) | undefined, hint?: string): void {
    this.onSelect = onSelect;
    selectHint(this.element, onSelect ? hint : undefined, onSelect ? "Click a token to look inside it." : "");
    this.draw();
  }

  setSelected(target: Target | undefined): void {
    this.selected = target;
    this.draw();
  }

  update(figure: Figure): void {
    if (figure.kind !== "tokens") return;
    this.stop();
    this.figure = figure;
    this.index = figure.start ?? figure.frames.length - 1;
  }

  private toggle(): void {
    if (this.playing) {
      this.stop();
      return;
    }
    const last = this.figure.frames.length - 1;
    if (this.index >= last) this.index = 0;
    this.play.textContent = "pause";
    this.playing = setInterval(() => {
      if (this.index >= this.figure.frames.length - 1) this.stop();
      else this.index++;
      this.draw();
    }, 350);
  }

  private stop(): void {
    if (this.playing) clearInterval(this.playing);
    this.playing = undefined;
    this.play.textContent = "play";
  }

  private sequence(name: string, tokens: TokenSpan[], multiple: boolean, s: number): HTMLElement {
    const [frame, sequence, token] = this.selected ?? [-1, -1, -1];
    const chips = tokens.map((t, k) => {
      const chosen = frame === this.index && sequence === s && token === k;
      const chip = el(
        "span",
        {
          class: `token${this.onSelect ? " selectable" : ""}${chosen ? " selected" : ""}`,
          style: `background:${tokenColor(t.id)}`,
          title: `id ${t.id}`,
          "data-token": String(k),
        },
        shown(t.text),
      );
      if (this.onSelect) chip.addEventListener("click", () => this.onSelect?.([this.index, s, k]));
      return chip;
    });
    return el(
      "div",
      { class: "token-sequence", "data-name": name, "data-tokens": String(tokens.length) },
      multiple || name ? el("div", { class: "token-count" }, `${name} — ${tokens.length} tokens`) : "",
      el("div", { class: "token-text" }, ...chips),
      this.figure.ids ? el("div", { class: "token-ids" }, tokens.map((t) => t.id).join(", ")) : "",
    );
  }

  draw(): void {
    const { frames, title } = this.figure;
    this.heading.textContent = title;
    const frame = frames[Math.min(this.index, frames.length - 1)];
    this.controls.hidden = frames.length < 2;
    this.slider.max = String(Math.max(0, frames.length - 1));
    this.slider.value = String(this.index);
    this.position.textContent = `${this.index} / ${frames.length - 1}`;
    this.element.dataset.frame = String(this.index);
    this.element.dataset.frames = String(frames.length);
    if (!frame) return;
    const multiple = frame.sequences.length > 1;
    this.body.replaceChildren(
      el(
        "div",
        { class: multiple ? "token-columns" : "" },
        ...frame.sequences.map((s, k) => this.sequence(s.name, s.tokens, multiple, k)),
      ),
    );
    this.caption.textContent = frame.caption;
  }
}
