/**
 * A network drawn as neurons and weighted edges: edge colour = weight (blue positive, red
 * negative; width and strength grow with |w|), neuron fill = activation for one input. A wide
 * layer (an MLP's 200 hidden units) is folded into several columns; with thousands of edges they
 * are drawn as a few paths, one per colour step. Neurons can be clicked when the experiment
 * answers (a detail of the neuron appears), and the chosen one is ringed with its edges on top.
 */
import type { Figure, NetworkFigure, Target } from "../../../lessons/lesson.js";
import { activationColor, weightColor } from "./color.js";
import { el, type FigureView, figureCard, selectHint } from "./view.js";

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

/** A layer taller than this is folded into columns of FOLD neurons. */
const TALL = 64;
const FOLD = 48;
/** Above this many edges they are drawn as one path per colour step, not a line each. */
const MANY_EDGES = 2500;
const STEPS = 6;

export class NetworkView implements FigureView {
  readonly element: HTMLElement;
  readonly minInterval = 80;
  private readonly body: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly caption = el("figcaption");
  private figure: NetworkFigure;
  private probe: number[] | undefined;
  private onSelect: ((target: Target) => void) | undefined;
  private selected: Target | undefined;

  constructor(figure: NetworkFigure) {
    const card = figureCard("network", figure.title);
    this.element = card.element;
    this.body = card.body;
    this.heading = card.heading;
    this.element.append(this.caption, legend());
    this.figure = figure;
  }

  update(figure: Figure): void {
    if (figure.kind === "network") this.figure = figure;
  }

  setSelectable(onSelect: ((target: Target) => void) | undefined, hint?: string): void {
    this.onSelect = onSelect;
    selectHint(
      this.element,
      onSelect ? hint : undefined,
      onSelect ? "Click a neuron to look inside it." : "",
    );
    this.draw();
  }

  setSelected(target: Target | undefined): void {
    this.selected = target;
    this.draw();
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
    // Each layer as columns × rows of neurons: one column unless it is very tall.
    const grid = sizes.map((n) => {
      const columns = tallest > TALL ? Math.ceil(n / FOLD) : 1;
      return { columns, rows: Math.ceil(n / columns) };
    });
    const maxRows = Math.max(...grid.map((g) => g.rows));
    const width = Math.max(300, this.body.clientWidth || 480);
    const height = small
      ? 220
      : maxRows > 30
        ? Math.min(560, maxRows * 8 + 40)
        : Math.max(240, Math.min(360, tallest * 22 + 40));
    const pad = small ? 70 : 30;
    const pitch = (height - 40) / Math.max(1, maxRows);
    const r = small ? 22 : Math.max(2.5, Math.min(10, pitch / 2.6));
    const columnGap = Math.max(2 * r + 3, 9);
    const layerX = (l: number) => pad + ((width - 2 * pad) * l) / Math.max(1, sizes.length - 1);
    const x = (l: number, j: number) => {
      const { columns, rows } = grid[l]!;
      return layerX(l) + (Math.floor(j / rows) - (columns - 1) / 2) * columnGap;
    };
    const y = (l: number, j: number) => {
      const { rows } = grid[l]!;
      return height / 2 + ((j % rows) - (rows - 1) / 2) * pitch;
    };
    const [selLayer, selNeuron] = this.selected ?? [-1, -1];
    const touchesSelected = (l: number, j: number, i: number) =>
      (l + 1 === selLayer && j === selNeuron) || (l === selLayer && i === selNeuron);

    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "network" });
    const edges = svg("g", { class: "edges" });
    const chosen = svg("g", { class: "edges selected-edges" });
    const maxW = Math.max(1e-9, ...weights.flat(2).map(Math.abs));
    const count = weights.reduce((n, layer) => n + layer.reduce((m, row) => m + row.length, 0), 0);
    const line = (l: number, j: number, i: number) =>
      `M${x(l, i).toFixed(1)} ${y(l, i).toFixed(1)}L${x(l + 1, j).toFixed(1)} ${y(l + 1, j).toFixed(1)}`;
    const paths = new Map<number, string[]>(); // colour step → segments, when there are many edges
    weights.forEach((layer, l) => {
      layer.forEach((row, j) => {
        row.forEach((w, i) => {
          const t = w / maxW;
          if (touchesSelected(l, j, i)) {
            const edge = svg("line", {
              x1: x(l, i),
              y1: y(l, i),
              x2: x(l + 1, j),
              y2: y(l + 1, j),
              stroke: weightColor(t),
              "stroke-width": 0.8 + 2.4 * Math.abs(t),
            });
            chosen.append(titled(edge, `w = ${w.toFixed(4)}`));
            return;
          }
          if (count > MANY_EDGES) {
            const step = Math.sign(t) * Math.ceil(Math.abs(t) * STEPS);
            const list = paths.get(step) ?? [];
            list.push(line(l, j, i));
            paths.set(step, list);
            return;
          }
          const edge = svg("line", {
            x1: x(l, i),
            y1: y(l, i),
            x2: x(l + 1, j),
            y2: y(l + 1, j),
            stroke: weightColor(t),
            "stroke-width": (small ? 1.5 : 0.4) + (small ? 4 : 2.2) * Math.abs(t),
            "stroke-opacity": small ? 1 : 0.25 + 0.75 * Math.abs(t),
          });
          edges.append(titled(edge, `w = ${w.toFixed(4)}`));
          if (small) {
            const label = svg("text", {
              x: (x(l, i) * 0.6 + x(l + 1, j) * 0.4).toFixed(1),
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
    // Many edges: the faint ones first, so the strong ones are drawn on top.
    for (const step of [...paths.keys()].sort((a, b) => Math.abs(a) - Math.abs(b))) {
      const t = step / STEPS;
      edges.append(
        svg("path", {
          d: paths.get(step)!.join(""),
          stroke: weightColor(t),
          "stroke-width": 0.3 + 1.2 * Math.abs(t),
          "stroke-opacity": 0.08 + 0.5 * Math.abs(t) ** 2,
          fill: "none",
          class: "edge-bundle",
        }),
      );
    }
    root.append(edges, chosen);

    const neurons = svg("g", { class: "neurons" });
    activations.forEach((layer, l) => {
      const maxA = Math.max(1e-9, ...layer.map(Math.abs));
      layer.forEach((a, j) => {
        const cx = x(l, j);
        const cy = y(l, j);
        const bias = l > 0 ? biases[l - 1]?.[j] : undefined;
        const isSelected = l === selLayer && j === selNeuron;
        const circle = svg("circle", {
          cx,
          cy,
          r,
          fill: activationColor(small ? Math.tanh(a) : a / maxA),
          class: `${l === 0 ? "neuron input" : "neuron"}${this.onSelect ? " selectable" : ""}${isSelected ? " selected" : ""}`,
          "data-layer": l,
          "data-neuron": j,
        });
        if (this.onSelect) {
          const onSelect = this.onSelect;
          circle.addEventListener("click", () => onSelect([l, j]));
        }
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
        const label = svg("text", {
          x: layerX(l),
          y: height - 4,
          class: "layer-label",
          "text-anchor": "middle",
        });
        label.textContent =
          this.figure.layerLabels?.[l] ??
          (l === 0 ? "input" : l === sizes.length - 1 ? "output" : `hidden ${l}`);
        neurons.append(label);
      }
    });
    root.append(neurons);
    this.element.dataset.edges = String(count);
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
