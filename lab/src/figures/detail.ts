/**
 * What one element of another figure is (a neuron, a BatchNorm channel, an attention head, a box
 * of a diagram, a token): its numbers for the current input, its weights, the tokens that excite
 * it, the formula and the line of code that compute it, cut from the real source.
 */
import katex from "katex";
import type { DetailFigure } from "../../../lessons/lesson.js";
import { findLine } from "../../../lessons/source.js";
import { imageRGBA } from "../../../src/plot/pixels.js";
import { highlight } from "../markdown.js";
import { codeCell, codeWhere } from "../sources.js";
import { activationColor, weightColor } from "./color.js";
import { CardView, el } from "./view.js";

/** Lines of code shown around the one that computes the element. */
const CONTEXT_LINES = 3;

const SVG = "http://www.w3.org/2000/svg";

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** A number as a learner reads it: four significant digits, exponents for tiny or huge ones. */
export function formatValue(value: number | string): string {
  if (typeof value === "string") return value;
  if (Number.isInteger(value)) return String(value);
  const a = Math.abs(value);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return value.toExponential(3);
  return value.toPrecision(4);
}

export class DetailView extends CardView<DetailFigure> {
  /** A click on one of the figure's actions (the panel sends it to the experiment). */
  onAction: ((action: string) => void) | undefined;

  /** The answer to an action came (or failed): its button is free again. */
  settle(): void {
    for (const button of this.body.querySelectorAll<HTMLButtonElement>(".detail-actions button")) {
      button.disabled = false;
      button.classList.remove("pending");
    }
    const status = this.body.querySelector(".detail-actions .detail-action-status");
    if (status) status.textContent = "";
  }

  draw(): Promise<void> {
    const f = this.figure;
    this.heading.textContent = f.title;
    this.caption.textContent = f.caption ?? "";
    this.element.dataset.of = f.of ? `${f.of.figure}:${f.of.target.join(",")}` : "";
    const parts: HTMLElement[] = [];
    if (f.tex) {
      const math = el("div", { class: "detail-math" });
      katex.render(f.tex, math, { displayMode: true, throwOnError: false });
      parts.push(math);
    }
    parts.push(
      el(
        "dl",
        { class: "stats detail-values" },
        ...f.values.map((v) =>
          el(
            "div",
            {},
            el("dt", {}, v.label),
            el("dd", { "data-label": v.label, "data-value": String(v.value) }, formatValue(v.value)),
          ),
        ),
      ),
    );
    if (f.compare) parts.push(compareView(f.compare));
    if (f.examples || f.histogram || f.effects) {
      const responds = el("div", { class: "detail-life-column" });
      if (f.examples) responds.append(examplesView(f.examples));
      const does = el("div", { class: "detail-life-column" });
      if (f.histogram) does.append(histogramView(f.histogram));
      if (f.effects) does.append(effectsView(f.effects));
      parts.push(el("div", { class: "detail-life" }, responds, does));
    }
    if (f.actions?.length) parts.push(this.actionsView(f.actions));
    if (f.vectors?.length) parts.push(el("div", { class: "detail-vectors" }, ...f.vectors.map(vectorView)));
    if (f.tokens) parts.push(tokensView(f.tokens));
    const code = el("div", { class: "detail-code" });
    parts.push(code);
    this.body.replaceChildren(...parts);
    return f.code ? this.drawCode(code, f.code) : Promise.resolve();
  }

  /** Buttons that ask the experiment to do something to the element (ablate it, clamp it). */
  private actionsView(actions: NonNullable<DetailFigure["actions"]>): HTMLElement {
    const status = el("span", { class: "detail-action-status", role: "status" });
    const buttons = actions.map((a) => {
      const button = el("button", { type: "button", "data-action-id": a.action }, a.label);
      if (a.help) button.title = a.help;
      button.addEventListener("click", () => {
        if (!this.onAction) return;
        for (const b of buttons) b.disabled = true;
        button.classList.add("pending");
        status.textContent = "measuring the val loss with and without it…";
        this.onAction(a.action);
      });
      return button;
    });
    return el(
      "div",
      { class: "detail-actions" },
      el("span", { class: "detail-vector-label" }, "Intervene:"),
      ...buttons,
      status,
    );
  }

  /** The code cell's lines around the one that computes the element, that one marked. */
  private async drawCode(target: HTMLElement, code: NonNullable<DetailFigure["code"]>): Promise<void> {
    const text = await codeCell(code);
    const lines = text.split("\n");
    const at = findLine(text, code.line);
    const from = Math.max(0, at - CONTEXT_LINES);
    const to = Math.min(lines.length, at + CONTEXT_LINES + 1);
    const rows = lines.slice(from, to).map((line, k) => {
      const row = el("span", { class: from + k === at ? "code-line current" : "code-line" });
      row.innerHTML = `${highlight(line)}\n`;
      return row;
    });
    const where = codeWhere(code);
    target.replaceChildren(
      el(
        "div",
        { class: "detail-code-head" },
        el("span", { class: "file" }, code.file),
        el("span", { class: "where" }, `${where}, line ${at + 1}`),
      ),
      el("pre", {}, el("code", { class: "language-ts", "data-line": String(at + 1) }, ...rows)),
    );
  }
}

/** A vector: one bar per value (weights into a neuron), or an image when it has a shape. */
function vectorView(vector: NonNullable<DetailFigure["vectors"]>[number]): HTMLElement {
  const { label, values, labels, image } = vector;
  const max = Math.max(1e-12, ...values.map(Math.abs));
  const box = el("div", {
    class: "detail-vector",
    "data-vector": label,
    "data-length": String(values.length),
  });
  // The length once, whether or not the lesson's label already says it.
  const count = `(${values.length})`;
  box.append(
    el("div", { class: "detail-vector-label" }, label.endsWith(count) ? label : `${label} ${count}`),
  );
  if (image) {
    const canvas = el("canvas", { class: "image" });
    canvas.width = image.width;
    canvas.height = image.height;
    const scale = Math.max(1, Math.floor(160 / image.width));
    canvas.style.width = `${image.width * scale}px`;
    canvas.style.height = `${image.height * scale}px`;
    const rgba = imageRGBA({ ...image, pixels: values }, "diverging");
    canvas.getContext("2d")?.putImageData(new ImageData(rgba, image.width, image.height), 0, 0);
    box.append(canvas);
    return box;
  }
  const width = Math.min(640, Math.max(120, values.length * 8));
  const height = 64;
  const bar = width / Math.max(1, values.length);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "detail-bars" });
  root.append(svg("line", { x1: 0, x2: width, y1: height / 2, y2: height / 2, stroke: "#c9c6bd" }));
  values.forEach((v, i) => {
    const h = (Math.abs(v) / max) * (height / 2 - 2);
    const rect = svg("rect", {
      x: i * bar + 0.5,
      y: v >= 0 ? height / 2 - h : height / 2,
      width: Math.max(1, bar - 1),
      height: Math.max(0.5, h),
      fill: weightColor(v / max),
    });
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${labels?.[i] ?? i}: ${formatValue(v)}`;
    rect.append(title);
    root.append(rect);
  });
  box.append(root);
  return box;
}

/** Tokens with a value each, as chips whose colour is the value. */
function tokensView(tokens: NonNullable<DetailFigure["tokens"]>): HTMLElement {
  const max = Math.max(1e-12, ...tokens.tokens.map((t) => Math.abs(t.value)));
  return el(
    "div",
    { class: "detail-tokens" },
    el("div", { class: "detail-vector-label" }, tokens.label),
    el(
      "div",
      { class: "token-text" },
      ...tokens.tokens.map((t) =>
        el(
          "span",
          {
            class: "token",
            style: `background:${activationColor(t.value / max)}`,
            title: formatValue(t.value),
            "data-value": String(t.value),
          },
          t.text.replace(/\n/g, "↵"),
          el("small", {}, ` ${formatValue(t.value)}`),
        ),
      ),
    ),
  );
}

/** A token's text as it reads inside running text: spaces kept (not collapsed), newlines as ↵. */
function inline(text: string): string {
  return text.replace(/\n/g, "↵").replace(/ /g, "\u00a0");
}

/** A token's text alone in a chip: whitespace made visible (␣, ↵), nothing shown as ∅. */
function chip(text: string): string {
  return text === "" ? "∅" : text.replace(/\n/g, "↵").replace(/ /g, "␣");
}

/**
 * The contexts that excite the element most: each a line of text whose tokens are coloured by
 * the element's value on them, the strongest boxed, its value at the end.
 */
function examplesView(examples: NonNullable<DetailFigure["examples"]>): HTMLElement {
  const max = Math.max(1e-12, ...examples.contexts.flatMap((c) => c.tokens.map((t) => Math.abs(t.value))));
  return el(
    "div",
    { class: "detail-examples", "data-contexts": String(examples.contexts.length) },
    el("div", { class: "detail-vector-label" }, examples.label),
    el(
      "ol",
      {},
      ...examples.contexts.map((context) =>
        el(
          "li",
          { class: "example" },
          el(
            "span",
            { class: "example-text" },
            ...context.tokens.map((t, i) =>
              el(
                "span",
                {
                  class: i === context.max ? "example-token max" : "example-token",
                  // At most 60% strength: the letter stays readable on a saturated unit's colour.
                  style: `background:${activationColor((0.6 * t.value) / max)}`,
                  title: `${JSON.stringify(t.text)}: ${formatValue(t.value)}`,
                  "data-value": String(t.value),
                },
                inline(t.text),
              ),
            ),
          ),
          el(
            "span",
            { class: "example-value" },
            formatValue(context.tokens[context.max]?.value ?? Number.NaN),
          ),
          ...(context.note ? [el("span", { class: "example-note" }, context.note)] : []),
        ),
      ),
    ),
  );
}

/** Counts per bin as bars, the axis's ends and zero labelled, marks (the mean) as lines. */
function histogramView(histogram: NonNullable<DetailFigure["histogram"]>): HTMLElement {
  const { edges, counts, marks = [] } = histogram;
  const width = 360;
  const height = 96;
  const bottom = 16;
  const top = 12 + 11 * marks.length;
  const lo = edges[0]!;
  const hi = edges[edges.length - 1]!;
  const x = (v: number) => ((v - lo) / (hi - lo || 1)) * width;
  const most = Math.max(1, ...counts);
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    class: "detail-histogram-plot",
    role: "img",
    "aria-label": histogram.label,
  });
  counts.forEach((count, b) => {
    const h = (count / most) * (height - bottom - top);
    const rect = svg("rect", {
      x: x(edges[b]!) + 0.5,
      y: height - bottom - h,
      width: Math.max(1, x(edges[b + 1]!) - x(edges[b]!) - 1),
      height: h,
      fill: "#8aa8cf",
    });
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${formatValue(edges[b]!)} to ${formatValue(edges[b + 1]!)}: ${count}`;
    rect.append(title);
    root.append(rect);
  });
  root.append(svg("line", { x1: 0, x2: width, y1: height - bottom, y2: height - bottom, stroke: "#9aa4b1" }));
  const tick = (v: number, anchor: string) => {
    const text = svg("text", {
      x: x(v),
      y: height - 3,
      "font-size": 10,
      "text-anchor": anchor,
      fill: "#6a6f76",
    });
    text.textContent = formatValue(v);
    root.append(text);
  };
  tick(lo, "start");
  tick(hi, "end");
  if (lo < 0 && hi > 0 && x(0) > 30 && x(0) < width - 30) tick(0, "middle");
  marks.forEach((mark, i) => {
    if (!(mark.value >= lo && mark.value <= hi)) return;
    const mx = x(mark.value);
    root.append(
      svg("line", {
        x1: mx,
        x2: mx,
        y1: 12 + 11 * i,
        y2: height - bottom,
        stroke: i === 0 ? "#c43a31" : "#111",
        "stroke-dasharray": "3 2",
      }),
    );
    const text = svg("text", {
      x: Math.min(width - 2, Math.max(2, mx)),
      y: 10 + 11 * i,
      "font-size": 10,
      "text-anchor": mx < 60 ? "start" : mx > width - 60 ? "end" : "middle",
      fill: i === 0 ? "#c43a31" : "#111",
    });
    text.textContent = `${mark.label} ${formatValue(mark.value)}`;
    root.append(text);
  });
  return el(
    "div",
    { class: "detail-histogram", "data-total": String(counts.reduce((a, b) => a + b, 0)) },
    el("div", { class: "detail-vector-label" }, histogram.label),
    root,
  );
}

/** The outputs the element pushes up and down: two lists of chips, with the amount. */
function effectsView(effects: NonNullable<DetailFigure["effects"]>): HTMLElement {
  const max = Math.max(1e-12, ...[...effects.up, ...effects.down].map((t) => Math.abs(t.value)));
  const list = (title: string, tokens: { text: string; value: number }[], kind: string) =>
    el(
      "div",
      { class: `effects-list effects-${kind}` },
      el("div", { class: "effects-title" }, title),
      ...tokens.map((t) =>
        el(
          "span",
          {
            class: "token",
            // Light colours, so the text on them stays readable.
            style: `background:${weightColor((0.5 * t.value) / max)}`,
            "data-value": String(t.value),
          },
          chip(t.text),
          el("small", {}, ` ${t.value >= 0 ? "+" : ""}${formatValue(t.value)}`),
        ),
      ),
    );
  return el(
    "div",
    { class: "detail-effects" },
    el("div", { class: "detail-vector-label" }, effects.label),
    list("pushes up ▲", effects.up, "up"),
    list("pushes down ▼", effects.down, "down"),
    ...(effects.note ? [el("p", { class: "effects-note" }, effects.note)] : []),
  );
}

/** The same things under several conditions, a column each (unchanged against ablated). */
function compareView(compare: NonNullable<DetailFigure["compare"]>): HTMLElement {
  const cell = (c: string | { text: string; value: number }[]) =>
    typeof c === "string"
      ? el("td", {}, el("div", { class: "compare-text" }, c))
      : el(
          "td",
          {},
          ...c.map((t) =>
            el(
              "span",
              { class: "token", "data-value": String(t.value) },
              chip(t.text),
              el("small", {}, ` ${formatValue(t.value)}`),
            ),
          ),
        );
  return el(
    "div",
    { class: "detail-compare" },
    el("div", { class: "detail-vector-label" }, compare.label),
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, el("th", {}, ""), ...compare.columns.map((c) => el("th", {}, c)))),
      el(
        "tbody",
        {},
        ...compare.rows.map((row) =>
          el("tr", {}, el("th", { scope: "row" }, row.label), ...row.cells.map(cell)),
        ),
      ),
    ),
  );
}
