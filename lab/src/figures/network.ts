/**
 * A network drawn as neurons and weighted edges: edge colour = weight (blue positive, red
 * negative; width and strength grow with |w|), neuron fill = activation for one input.
 */
import type { Figure, NetworkFigure } from "../../../lessons/lesson.js";
import { activationColor, weightColor } from "./color.js";
import { el, type FigureView, figureCard } from "./view.js";

const SVG = "http://www.w3.org/2000/svg";

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function titled<T extends SVGElement>(node: T, text: string): T {
  const title = document.createElementNS(SVG, "title");
  title.textContent = text;
  node.append(title);
  return node;
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(Math.abs(x) >= 10 ? 1 : 2));

export class NetworkView implements FigureView {
  readonly element: HTMLElement;
  readonly minInterval = 80;
  private readonly body: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly caption = el("figcaption");
  private figure: NetworkFigure;

  constructor(figure: NetworkFigure) {
    const card = figureCard("network", figure.title);
    this.element = card.element;
    this.body = card.body;
    this.heading = card.heading;
    this.element.append(this.caption, legend());
    this.figure = figure;
  }

  private probe: number[] | undefined;

  update(figure: Figure): void {
    if (figure.kind === "network") this.figure = figure;
  }

  /** Show the activations for another input (the point under the pointer), or the lesson's again. */
  setProbe(input: number[] | undefined): void {
    if (!this.figure.nonlinearities || (input?.length !== undefined && input.length !== this.figure.sizes[0]))
      return;
    this.probe = input;
    this.draw();
  }

  /** The forward pass, from the figure's own weights: the same numbers the engine computes. */
  private forward(input: number[]): number[][] {
    const { weights, biases, nonlinearities = [] } = this.figure;
    const layers = [input];
    weights.forEach((layer, l) => {
      const x = layers[l]!;
      const f = nonlinearities[l] ?? "linear";
      layers.push(
        layer.map((row, j) => {
          const act = row.reduce((sum, w, i) => sum + w * x[i]!, biases[l]?.[j] ?? 0);
          return f === "relu" ? Math.max(0, act) : f === "tanh" ? Math.tanh(act) : act;
        }),
      );
    });
    return layers;
  }

  draw(): void {
    const { sizes, weights, biases, inputLabels, outputLabels } = this.figure;
    const activations = this.probe ? this.forward(this.probe) : this.figure.activations;
    this.heading.textContent = this.figure.title;
    this.caption.textContent = this.probe
      ? `neurons filled by their activation for the input under the pointer (${this.probe.map((v) => v.toFixed(2)).join(", ")})`
      : (this.figure.caption ?? "");
    this.element.classList.toggle("probing", this.probe !== undefined);
    const small = sizes.reduce((a, b) => a + b, 0) <= 6; // small enough to print every number
    const tallest = Math.max(...sizes);
    const width = Math.max(300, this.body.clientWidth || 480);
    const height = small ? 220 : Math.max(240, Math.min(360, tallest * 22 + 40));
    const pad = small ? 70 : 30;
    const r = small ? 22 : Math.max(4, Math.min(10, (height - 40) / tallest / 2.6));
    const x = (l: number) => pad + ((width - 2 * pad) * l) / Math.max(1, sizes.length - 1);
    const y = (l: number, j: number) =>
      height / 2 + (j - (sizes[l]! - 1) / 2) * ((height - 40) / Math.max(1, tallest));

    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "network" });
    const edges = svg("g", { class: "edges" });
    const maxW = Math.max(1e-9, ...weights.flat(2).map(Math.abs));
    weights.forEach((layer, l) => {
      layer.forEach((row, j) => {
        row.forEach((w, i) => {
          const t = w / maxW;
          const line = svg("line", {
            x1: x(l),
            y1: y(l, i),
            x2: x(l + 1),
            y2: y(l + 1, j),
            stroke: weightColor(t),
            "stroke-width": (small ? 1.5 : 0.4) + (small ? 4 : 2.2) * Math.abs(t),
            "stroke-opacity": small ? 1 : 0.25 + 0.75 * Math.abs(t),
          });
          edges.append(titled(line, `w = ${w.toFixed(4)}`));
          if (small) {
            const label = svg("text", {
              x: (x(l) * 0.6 + x(l + 1) * 0.4).toFixed(1),
              y: (y(l, i) * 0.6 + y(l + 1, j) * 0.4 - 6).toFixed(1),
              class: "edge-label",
              "text-anchor": "middle",
            });
            label.textContent = `w ${fmt(w)}`;
            edges.append(label);
          }
        });
      });
    });
    root.append(edges);

    const neurons = svg("g", { class: "neurons" });
    activations.forEach((layer, l) => {
      const maxA = Math.max(1e-9, ...layer.map(Math.abs));
      layer.forEach((a, j) => {
        const cx = x(l);
        const cy = y(l, j);
        const bias = l > 0 ? biases[l - 1]?.[j] : undefined;
        const circle = svg("circle", {
          cx,
          cy,
          r,
          fill: activationColor(small ? Math.tanh(a) : a / maxA),
          class: l === 0 ? "neuron input" : "neuron",
        });
        const name = l === 0 ? inputLabels?.[j] : l === sizes.length - 1 ? outputLabels?.[j] : undefined;
        const about = `${name ?? (l === 0 ? `input ${j}` : `layer ${l}, neuron ${j}`)}: ${a.toFixed(4)}${bias === undefined ? "" : `, bias ${bias.toFixed(4)}`}`;
        neurons.append(titled(circle, about));
        if (small) {
          const value = svg("text", { x: cx, y: cy + 4, class: "neuron-value", "text-anchor": "middle" });
          value.textContent = fmt(a);
          const label = svg("text", { x: cx, y: cy - r - 6, class: "neuron-label", "text-anchor": "middle" });
          label.textContent = name ?? "";
          neurons.append(value, label);
          if (bias !== undefined) {
            const b = svg("text", { x: cx, y: cy + r + 14, class: "edge-label", "text-anchor": "middle" });
            b.textContent = `b ${fmt(bias)}`;
            neurons.append(b);
          }
        }
      });
      if (!small) {
        const label = svg("text", { x: x(l), y: height - 4, class: "layer-label", "text-anchor": "middle" });
        label.textContent = l === 0 ? "input" : l === sizes.length - 1 ? "output" : `hidden ${l}`;
        neurons.append(label);
      }
    });
    root.append(neurons);
    this.element.dataset.edges = String(weights.flat(2).length);
    this.body.replaceChildren(root);
  }
}

function legend(): HTMLElement {
  const swatch = (color: string, text: string, round = false) =>
    el(
      "span",
      { class: "legend-item" },
      el("i", { class: round ? "dot" : "bar", style: `background:${color}` }),
      text,
    );
  return el(
    "div",
    { class: "legend" },
    swatch(weightColor(1), "weight > 0"),
    swatch(weightColor(-1), "weight < 0"),
    swatch(activationColor(1), "active", true),
    swatch(activationColor(-1), "negative", true),
  );
}
