/**
 * What one element of another figure is (a neuron, a BatchNorm channel, an attention head, a box
 * of a diagram, a token): its numbers for the current input, its weights, the tokens that excite
 * it, the formula and the line of code that compute it, cut from the real source.
 */
import katex from "katex";
import type { DetailFigure, NeuronHistory } from "../../../lessons/lesson.js";
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
    if (f.history?.steps.length) parts.push(historyView(f.history));
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

/** The curves of a neuron's history: which series, how each reads, and lecture 4's guides. */
function historySeries(history: NeuronHistory) {
  const percent = (v: number) => `${(100 * v).toFixed(1)}%`;
  return [
    { key: "weightNorm", label: "|w|: its weights' norm", values: history.weightNorm, format: formatValue },
    {
      key: "meanActivation",
      label: "mean activation over the batch",
      values: history.meanActivation,
      format: formatValue,
    },
    ...(history.saturated
      ? [
          {
            key: "saturated",
            label: "saturated: |tanh| > 0.97, of the batch",
            values: history.saturated,
            format: percent,
          },
        ]
      : []),
    ...(history.dead
      ? [{ key: "dead", label: "dead: ReLU 0, of the batch", values: history.dead, format: percent }]
      : []),
    { key: "gradNorm", label: "|grad| of its weights", values: history.gradNorm, format: formatValue },
    {
      key: "updateRatio",
      label: "log10(update / data), about −3 is healthy",
      values: history.updateRatio,
      format: (v: number) => (Number.isFinite(v) ? v.toFixed(2) : v < 0 ? "−∞ (no update)" : "—"),
      guide: -3,
    },
  ];
}

const SPARK_W = 220;
const SPARK_H = 46;

/**
 * A neuron's life through training: a small curve per series over the recorded steps, and a
 * slider that moves a marker along all of them; the numbers beside each curve follow it.
 */
function historyView(history: NeuronHistory): HTMLElement {
  const n = history.steps.length;
  const series = historySeries(history);
  const slider = el("input", {
    type: "range",
    min: "0",
    max: String(n - 1),
    step: "1",
    value: String(n - 1),
    "data-action": "history-step",
    "aria-label": "recorded training step",
  });
  const position = el("span", { class: "history-position" });
  const x = (s: number) => (n === 1 ? SPARK_W / 2 : 4 + ((SPARK_W - 8) * s) / (n - 1));
  const charts = series.map((entry) => {
    const finite = entry.values.filter(Number.isFinite);
    const guide = "guide" in entry ? entry.guide : undefined;
    let lo = Math.min(...finite, ...(guide === undefined ? [] : [guide]));
    let hi = Math.max(...finite, ...(guide === undefined ? [] : [guide]));
    if (!(hi > lo)) {
      lo -= 0.5;
      hi += 0.5;
    }
    const y = (v: number) => SPARK_H - 4 - ((SPARK_H - 8) * (v - lo)) / (hi - lo);
    const root = svg("svg", {
      viewBox: `0 0 ${SPARK_W} ${SPARK_H}`,
      width: SPARK_W,
      height: SPARK_H,
      class: "history-spark",
    });
    if (guide !== undefined)
      root.append(svg("line", { x1: 0, x2: SPARK_W, y1: y(guide), y2: y(guide), class: "history-guide" }));
    // One polyline per run of finite values (NaN: not recorded, −∞: no update).
    let run: string[] = [];
    const flush = () => {
      if (run.length > 0) root.append(svg("polyline", { points: run.join(" "), class: "history-line" }));
      run = [];
    };
    entry.values.forEach((v, s) => {
      if (Number.isFinite(v)) run.push(`${x(s).toFixed(1)},${y(v).toFixed(1)}`);
      else flush();
    });
    flush();
    const marker = svg("line", { y1: 0, y2: SPARK_H, class: "history-marker" });
    const dot = svg("circle", { r: 2.5, class: "history-dot" });
    root.append(marker, dot);
    const value = el("span", { class: "history-value" });
    const box = el(
      "div",
      { class: "history-series", "data-series": entry.key },
      el("div", { class: "history-label" }, el("span", {}, entry.label), value),
      root,
      el("div", { class: "history-range" }, `bottom ${entry.format(lo)}, top ${entry.format(hi)}`),
    );
    const show = (s: number) => {
      const v = entry.values[s]!;
      marker.setAttribute("x1", x(s).toFixed(1));
      marker.setAttribute("x2", x(s).toFixed(1));
      dot.setAttribute("cx", x(s).toFixed(1));
      dot.setAttribute("cy", Number.isFinite(v) ? y(v).toFixed(1) : "-10");
      value.textContent = entry.format(v);
      value.dataset.value = String(v);
    };
    return { box, show };
  });
  const show = (s: number) => {
    position.textContent = `step ${history.steps[s]!.toLocaleString("en-US")} (${s + 1} of ${n} recorded)`;
    position.dataset.step = String(history.steps[s]);
    for (const chart of charts) chart.show(s);
  };
  slider.addEventListener("input", () => show(Number(slider.value)));
  show(n - 1);
  return el(
    "div",
    { class: "detail-history", "data-steps": String(n) },
    el(
      "div",
      { class: "detail-vector-label" },
      `Its life through training: ${n} recorded steps, ${history.steps[0]!.toLocaleString("en-US")} to ${history.steps[n - 1]!.toLocaleString("en-US")}`,
    ),
    el("div", { class: "history-controls" }, slider, position),
    el("div", { class: "history-grid" }, ...charts.map((c) => c.box)),
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
