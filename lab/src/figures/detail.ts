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
    if (f.vectors?.length) parts.push(el("div", { class: "detail-vectors" }, ...f.vectors.map(vectorView)));
    if (f.tokens) parts.push(tokensView(f.tokens));
    const code = el("div", { class: "detail-code" });
    parts.push(code);
    this.body.replaceChildren(...parts);
    return f.code ? this.drawCode(code, f.code) : Promise.resolve();
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
