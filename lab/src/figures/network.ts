/**
 * A network drawn as neurons and weighted edges: edge colour = weight (blue positive, red
 * negative; width and strength grow with |w|), neuron fill = activation for one input. It stays
 * readable at any width: every unit of a layer of up to 64 is a neuron labelled with what it
 * stands for (a letter, a position and channel, an index), folded into a few columns when the
 * layer is tall; a wider layer is a strip of cells, one per unit, with its most active units (or
 * a page of them, or the one clicked) drawn as neurons. Only the strongest edges are drawn, and
 * the figure says which. Neurons and strip cells can be clicked when the experiment answers (a
 * detail of the unit appears), and the chosen one is ringed with its edges on top. A figure with
 * a recorded history replays it with a step slider (network-replay.ts): fills, flags and edges.
 */
import type { Figure, NetworkFigure, Target } from "../../../lessons/lesson.js";
import { activationColor, weightColor } from "./color.js";
import { NetworkReplay } from "./network-replay.js";
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
const count = (n: number) => n.toLocaleString("en-US");
/** |w| rounded down to two significant digits: the threshold as stated stays true. */
const floor2 = (x: number) => {
  if (x <= 0) return "0";
  const scale = 10 ** (Math.floor(Math.log10(x)) - 1);
  const v = Math.floor(x / scale) * scale;
  return v >= 1 ? v.toFixed(v >= 10 ? 0 : 1) : v.toPrecision(2);
};

/** A layer up to this wide draws every unit; a wider one is a strip with WINDOW units drawn. */
const ALL_SHOWN = 64;
const WINDOW = 16;
/** Edges drawn per pair of layers at most: the strongest ones. */
const EDGE_BUDGET = 150;
/** Fonts of the labels: set on each text, so what is measured is what is drawn. */
const UNIT_FONT = "600 10px system-ui, sans-serif";
const LAYER_FONT = "600 11px system-ui, sans-serif";
const LAYER_LINE = 14;
const MAX_LAYER_LINES = 3;
/** The smallest gap between two layers (room for their edges), the margin of the figure. */
const MIN_GAP = 44;
const PAD = 6;
/** The height short layers spread over. */
const MIN_AREA = 240;
/** A strip cell's smallest side, in px. */
const CELL = 10;

let context: CanvasRenderingContext2D | null | undefined;
/** The width of `text` in `font`, as the page draws it. */
function measure(text: string, font: string): number {
  context ??= document.createElement("canvas").getContext("2d");
  if (!context) return text.length * 7;
  context.font = font;
  return context.measureText(text).width;
}

/** `text` cut to fit `width` with an ellipsis (the full text goes in a tooltip). */
function shorten(text: string, font: string, width: number): string {
  if (measure(text, font) <= width) return text;
  let cut = text.length - 1;
  while (cut > 1 && measure(`${text.slice(0, cut)}…`, font) > width) cut--;
  return `${text.slice(0, cut)}…`;
}

/** Words wrapped to lines of at most `width` px, at most `max` lines; the last one shortened. */
function wrap(text: string, font: string, width: number, max: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const next = line ? `${line} ${word}` : word;
    if (!line || measure(next, font) <= width) line = next;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line) lines.push(line);
  if (lines.length > max) lines.splice(max - 1, lines.length, lines.slice(max - 1).join(" "));
  return lines.map((l) => shorten(l, font, width));
}

/** One layer as drawn: the units shown as neurons, their labels, and where they sit. */
interface Column {
  units: number[];
  labels: string[];
  names: string[];
  r: number;
  /** Distance between the centres of two neighbours: across columns, and down a column. */
  pitch: number;
  dy: number;
  columns: number;
  rows: number;
  width: number;
  x: number;
}

/** What a strip shows as neurons: its most active units, or a page of WINDOW units. */
type Window = { mode: "active" } | { mode: "page"; page: number };

export class NetworkView implements FigureView {
  readonly element: HTMLElement;
  readonly minInterval = 80;
  private readonly body: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly caption = el("figcaption");
  private readonly note = el("p", { class: "network-note" });
  private figure: NetworkFigure;
  private probe: number[] | undefined;
  private onSelect: ((target: Target) => void) | undefined;
  private selected: Target | undefined;
  private readonly windows = new Map<number, Window>();
  private drawnWidth = 0;
  /** The step slider of a figure with a history, and what it replays. */
  private readonly replay = new NetworkReplay(() => this.draw());

  constructor(figure: NetworkFigure) {
    const card = figureCard("network", figure.title);
    this.element = card.element;
    this.body = card.body;
    this.heading = card.heading;
    this.element.append(this.note, this.caption, legend());
    this.figure = figure;
    this.replay.setHistory(figure.history);
    this.element.insertBefore(this.replay.controls, this.body);
    this.element.append(this.replay.flagCounts, this.replay.flagLegend);
    // Laid out for the width of its box: drawn again when that changes (a window resized).
    if (typeof ResizeObserver !== "undefined")
      new ResizeObserver(() => {
        const width = this.body.clientWidth;
        if (width > 0 && Math.abs(width - this.drawnWidth) > 1) this.draw();
      }).observe(this.body);
  }

  update(figure: Figure): void {
    if (figure.kind !== "network") return;
    this.replay.setHistory(figure.history);
    this.figure = figure;
  }

  setSelectable(onSelect: ((target: Target) => void) | undefined, hint?: string): void {
    this.onSelect = onSelect;
    const wide = this.figure.sizes.some((n) => n > ALL_SHOWN);
    selectHint(
      this.element,
      onSelect ? hint : undefined,
      onSelect ? `Click a neuron${wide ? ", or a cell of a strip," : ""} to look inside it.` : "",
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

  /** The name of unit j of layer l: its label from the lesson, else its index. */
  private unitName(l: number, j: number): string {
    const { sizes, inputLabels, outputLabels } = this.figure;
    const name = l === 0 ? inputLabels?.[j] : l === sizes.length - 1 ? outputLabels?.[j] : undefined;
    return name ?? String(j);
  }

  private layerName(l: number): string {
    const n = this.figure.sizes.length;
    return this.figure.layerLabels?.[l] ?? (l === 0 ? "input" : l === n - 1 ? "output" : `hidden ${l}`);
  }

  /** The units of layer l drawn as neurons: all of a narrow layer; a window of a wide one. */
  private unitsOf(l: number, activations: number[]): number[] {
    const n = this.figure.sizes[l]!;
    if (n <= ALL_SHOWN) return Array.from({ length: n }, (_, j) => j);
    const window = this.windows.get(l) ?? { mode: "active" };
    let units: number[];
    if (window.mode === "active")
      units = activations
        .map((a, j) => ({ a: Math.abs(a), j }))
        .sort((p, q) => q.a - p.a || p.j - q.j)
        .slice(0, WINDOW)
        .map((p) => p.j);
    else
      units = Array.from(
        { length: Math.min(WINDOW, n - window.page * WINDOW) },
        (_, k) => window.page * WINDOW + k,
      );
    const [sl, sj] = this.selected ?? [];
    if (sl === l && sj !== undefined && sj < n && !units.includes(sj)) units.push(sj);
    return units.sort((a, b) => a - b);
  }

  draw(): void {
    const activations = this.probe ? this.forward(this.probe) : this.replay.activations(this.figure);
    // The probe runs the figure's own weights: its edges are those.
    const weights = this.probe ? this.figure.weights : this.replay.weights(this.figure);
    this.heading.textContent = this.figure.title;
    this.caption.textContent = this.probe
      ? `neurons filled by their activation for the input under the pointer (${this.probe.map((v) => v.toFixed(2)).join(", ")})`
      : (this.replay.caption() ?? this.figure.caption ?? "");
    this.replay.render(this.element, this.figure.sizes, (l) => this.layerName(l));
    this.element.classList.toggle("probing", this.probe !== undefined);
    this.element.dataset.sizes = this.figure.sizes.join(",");
    this.drawnWidth = this.body.clientWidth;
    this.element.dataset.width = String(this.drawnWidth); // the width it is laid out for
    const width = Math.max(280, this.body.clientWidth || 480);
    if (this.figure.sizes.reduce((a, b) => a + b, 0) <= 6) this.drawSmall(activations, weights, width);
    else this.drawLayers(activations, weights, width);
  }

  /** Every layer as columns of labelled neurons, the wide ones as strips below. */
  private drawLayers(activations: number[][], weights: number[][][], available: number): void {
    const { sizes } = this.figure;
    const last = sizes.length - 1;
    // Each layer's neurons: a circle big enough for its label, in as few columns as fit the height.
    const columns: Column[] = sizes.map((_, l) => {
      const units = this.unitsOf(l, activations[l] ?? []);
      const names = units.map((j) => this.unitName(l, j));
      const widest = Math.max(0, ...names.map((s) => measure(s, UNIT_FONT)));
      const r = Math.max(
        units.length <= 12 ? 10 : 7,
        Math.min(units.length <= 4 ? 22 : 13, Math.ceil(widest / 2) + 3),
      );
      const labels = names.map((s) => shorten(s, UNIT_FONT, 2 * r - 3));
      return {
        units,
        labels,
        names,
        r,
        pitch: 2 * r + 3,
        dy: 2 * r + 3,
        columns: 1,
        rows: units.length,
        width: 0,
        x: 0,
      };
    });
    const fold = (height: number) => {
      for (const c of columns) {
        c.columns = Math.max(1, Math.ceil((c.units.length * c.pitch) / height));
        c.rows = Math.ceil(c.units.length / c.columns);
        c.width = c.columns * c.pitch;
      }
      return columns.reduce((s, c) => s + c.width, 0) + MIN_GAP * last + 2 * PAD;
    };
    // Tall enough for 27 letters in one column; taller only when the width asks for it.
    let height = 600;
    while (fold(height) > available && height < 1400) height += 120;
    const width = Math.max(available, fold(height));
    const gap = Math.min(
      320,
      (width - 2 * PAD - columns.reduce((s, c) => s + c.width, 0)) / Math.max(1, last),
    );
    const used = columns.reduce((s, c) => s + c.width, 0) + gap * last;
    let left = (width - used) / 2;
    for (const c of columns) {
      c.x = left + c.width / 2;
      left += c.width + gap;
    }

    // Layer labels above their layers, each within the half gaps around it: wrapped, never cut
    // without a tooltip, never over a neighbour.
    const bounds = columns.map((c, l) => ({
      from: l === 0 ? 0 : (columns[l - 1]!.x + columns[l - 1]!.width / 2 + c.x - c.width / 2) / 2,
      to: l === last ? width : (c.x + c.width / 2 + columns[l + 1]!.x - columns[l + 1]!.width / 2) / 2,
    }));
    const layerLines = columns.map((_, l) =>
      wrap(this.layerName(l), LAYER_FONT, bounds[l]!.to - bounds[l]!.from - 6, MAX_LAYER_LINES),
    );
    const band = Math.max(...layerLines.map((lines) => lines.length)) * LAYER_LINE + 6;
    // Short layers spread over a readable height rather than huddle in the middle.
    for (const c of columns) c.dy = Math.max(c.pitch, Math.min(4 * c.r, MIN_AREA / c.rows));
    const area = Math.max(...columns.map((c) => c.rows * c.dy));
    const svgHeight = band + area + 6;
    const at = (l: number, k: number) => {
      const c = columns[l]!;
      const column = Math.floor(k / c.rows);
      return {
        x: c.x + (column - (c.columns - 1) / 2) * c.pitch,
        y: band + (area - c.rows * c.dy) / 2 + ((k % c.rows) + 0.5) * c.dy,
      };
    };

    const root = svg("svg", {
      viewBox: `0 0 ${width} ${svgHeight}`,
      width,
      height: svgHeight,
      class: "network",
    });
    const labels = svg("g", { class: "layer-labels" });
    layerLines.forEach((lines, l) => {
      const { from, to } = bounds[l]!;
      const w = Math.max(...lines.map((s) => measure(s, LAYER_FONT)));
      const x = Math.max(from + 3, Math.min(to - 3 - w, columns[l]!.x - w / 2));
      const text = svg("text", { class: "layer-label", x, y: 0, style: `font: ${LAYER_FONT}` });
      lines.forEach((line, k) => {
        const span = svg("tspan", { x, y: LAYER_LINE * (k + 1) - 3 });
        span.textContent = line;
        text.append(span);
      });
      labels.append(
        titled(text, `${this.layerName(l)} (${count(sizes[l]!)} unit${sizes[l] === 1 ? "" : "s"})`),
      );
    });
    root.append(labels);

    // Edges: per pair of layers, the strongest among the neurons drawn; the selected neuron's all.
    const [selLayer, selNeuron] = this.selected ?? [-1, -1];
    const edges = svg("g", { class: "edges" });
    const chosen = svg("g", { class: "edges selected-edges" });
    const notes: string[] = [];
    let drawn = 0;
    weights.forEach((layer, l) => {
      const from = columns[l]!;
      const to = columns[l + 1]!;
      const maxW = Math.max(1e-9, ...layer.map((row) => Math.max(...row.map(Math.abs))));
      const total = layer.reduce((s, row) => s + row.length, 0);
      const candidates: { i: number; j: number; ki: number; kj: number; w: number }[] = [];
      const line = (e: (typeof candidates)[number], selected: boolean) => {
        const p = at(l, e.ki);
        const q = at(l + 1, e.kj);
        const t = e.w / maxW;
        return titled(
          svg("line", {
            x1: p.x.toFixed(1),
            y1: p.y.toFixed(1),
            x2: q.x.toFixed(1),
            y2: q.y.toFixed(1),
            stroke: weightColor(t),
            "stroke-width": (selected ? 0.8 : 0.5) + (selected ? 2.4 : 1.6) * Math.abs(t),
            "stroke-opacity": selected ? 1 : 0.2 + 0.6 * Math.abs(t) ** 1.5,
          }),
          `${this.unitName(l, e.i)} → ${this.unitName(l + 1, e.j)}: w = ${e.w.toFixed(4)}`,
        );
      };
      let ofSelected = 0;
      to.units.forEach((j, kj) => {
        from.units.forEach((i, ki) => {
          const e = { i, j, ki, kj, w: layer[j]?.[i] ?? 0 };
          if ((l + 1 === selLayer && j === selNeuron) || (l === selLayer && i === selNeuron)) {
            chosen.append(line(e, true));
            ofSelected++;
          } else candidates.push(e);
        });
      });
      candidates.sort((a, b) => Math.abs(b.w) - Math.abs(a.w));
      // About three edges a neuron: all of a small network's, a readable few of a big one's.
      const budget = Math.min(EDGE_BUDGET, Math.max(64, 3 * Math.max(from.units.length, to.units.length)));
      const kept = candidates.slice(0, budget);
      // The faint ones first, so the strong ones are drawn on top.
      for (const e of [...kept].reverse()) edges.append(line(e, false));
      drawn += kept.length + ofSelected;
      const between = candidates.length + ofSelected;
      const into = `into “${this.layerName(l + 1)}”`;
      const among = between < total ? ` between the neurons drawn (${count(total)} in all)` : "";
      notes.push(
        kept.length < candidates.length
          ? `${into}, the ${count(kept.length)} strongest of ${count(between)} weights${among}, |w| ≥ ${floor2(Math.abs(kept.at(-1)!.w))}`
          : `${into}, all ${count(between)} weights${among}`,
      );
    });
    root.append(edges, chosen);

    const neurons = svg("g", { class: "neurons" });
    activations.forEach((layer, l) => {
      const c = columns[l]!;
      const maxA = Math.max(1e-9, ...layer.map(Math.abs));
      c.units.forEach((j, k) => {
        const { x, y } = at(l, k);
        neurons.append(this.neuron(l, j, x, y, c.r, layer[j] ?? 0, maxA));
        const label = svg("text", {
          x: x.toFixed(1),
          y: y.toFixed(1),
          class: "neuron-label",
          "text-anchor": "middle",
          "dominant-baseline": "central",
          style: `font: ${UNIT_FONT}`,
          "data-layer": l,
          "data-neuron": j,
        });
        label.textContent = c.labels[k]!;
        if (dark(layer[j] ?? 0, maxA)) label.classList.add("on-dark");
        if (c.labels[k] !== c.names[k]) titled(label, c.names[k]!);
        neurons.append(label);
      });
    });
    root.append(neurons);
    this.element.dataset.edges = String(drawn);
    this.note.textContent = `Edges: ${notes.join("; ")}.`;
    const strips = sizes.flatMap((n, l) =>
      n > ALL_SHOWN ? [this.strip(l, activations[l] ?? [], columns[l]!)] : [],
    );
    this.body.replaceChildren(root, ...strips);
  }

  /** A neuron: its circle, filled by its activation, clickable when the experiment answers. */
  private neuron(
    l: number,
    j: number,
    cx: number,
    cy: number,
    r: number,
    a: number,
    maxA: number,
    small = false,
  ) {
    // Biases are not recorded: none in a replayed step's tooltip.
    const bias = l > 0 && !this.replay.replaying ? this.figure.biases[l - 1]?.[j] : undefined;
    const [selLayer, selNeuron] = this.selected ?? [-1, -1];
    const circle = svg("circle", {
      cx: cx.toFixed(1),
      cy: cy.toFixed(1),
      r,
      fill: activationColor(small ? Math.tanh(a) : a / maxA),
      class: `${l === 0 ? "neuron input" : "neuron"}${this.onSelect ? " selectable" : ""}${l === selLayer && j === selNeuron ? " selected" : ""}`,
      "data-layer": l,
      "data-neuron": j,
    });
    if (this.onSelect) {
      const onSelect = this.onSelect;
      circle.addEventListener("click", () => onSelect([l, j]));
    }
    const kind = l === 0 ? "input" : l === this.figure.sizes.length - 1 ? "output" : `layer ${l}, unit`;
    const flag = this.replay.flagOf(l, j);
    titled(
      circle,
      `${kind} ${this.unitName(l, j)}: ${a.toFixed(4)}${bias === undefined ? "" : `, bias ${bias.toFixed(4)}`}${flag ? ` (${flag})` : ""}`,
    );
    if (!flag) return circle;
    circle.classList.add(`flag-${flag}`);
    const ring = svg("circle", {
      cx: cx.toFixed(1),
      cy: cy.toFixed(1),
      r: r + 2.5,
      class: `flag-ring ${flag}`,
      "data-layer": l,
      "data-neuron": j,
    });
    const group = svg("g", {});
    group.append(circle, ring);
    return group;
  }

  /**
   * A wide layer as a strip of cells, one per unit, coloured by activation; the units drawn as
   * neurons are outlined. A click opens a unit (or shows it, when the figure answers no clicks);
   * the buttons page through the layer or go back to its most active units.
   */
  private strip(l: number, activations: number[], column: Column): HTMLElement {
    const n = this.figure.sizes[l]!;
    const window = this.windows.get(l) ?? { mode: "active" };
    const pages = Math.ceil(n / WINDOW);
    const width = Math.max(200, (this.body.clientWidth || 480) - 2);
    // Rows of a round number of cells (units are easy to count), as few rows as fit.
    const perRow = Math.max(10, Math.floor(width / CELL / 10) * 10);
    const rows = Math.ceil(n / perRow);
    const cols = Math.min(perRow, Math.ceil(n / rows / 10) * 10);
    const cell = Math.min(16, width / cols);
    const maxA = Math.max(1e-9, ...activations.map(Math.abs));
    const shown = new Set(column.units);
    const [selLayer, selNeuron] = this.selected ?? [-1, -1];
    const root = svg("svg", {
      viewBox: `0 0 ${cols * cell} ${rows * cell}`,
      width: cols * cell,
      height: rows * cell,
      class: "network-strip-cells",
    });
    activations.forEach((a, j) => {
      const rect = svg("rect", {
        x: ((j % cols) * cell).toFixed(1),
        y: (Math.floor(j / cols) * cell).toFixed(1),
        width: cell.toFixed(1),
        height: cell.toFixed(1),
        fill: activationColor(a / maxA),
        class: `strip-cell${shown.has(j) ? " shown" : ""}${this.onSelect ? " selectable" : ""}${l === selLayer && j === selNeuron ? " selected" : ""}`,
        "data-layer": l,
        "data-neuron": j,
      });
      rect.addEventListener("click", () => {
        if (this.onSelect) this.onSelect([l, j]);
        else {
          this.windows.set(l, { mode: "page", page: Math.floor(j / WINDOW) });
          this.draw();
        }
      });
      const flag = this.replay.flagOf(l, j);
      root.append(titled(rect, `unit ${this.unitName(l, j)}: ${a.toFixed(4)}${flag ? ` (${flag})` : ""}`));
      if (flag) {
        rect.classList.add(`flag-${flag}`);
        root.append(
          svg("rect", {
            x: ((j % cols) * cell + 1.5).toFixed(1),
            y: (Math.floor(j / cols) * cell + 1.5).toFixed(1),
            width: Math.max(1, cell - 3).toFixed(1),
            height: Math.max(1, cell - 3).toFixed(1),
            class: `strip-flag ${flag}`,
            "data-layer": l,
            "data-neuron": j,
          }),
        );
      }
    });
    const go = (next: Window) => () => {
      this.windows.set(l, next);
      this.draw();
    };
    const page = window.mode === "page" ? window.page : -1;
    const button = (action: string, text: string, label: string, onClick: () => void, disabled = false) => {
      const b = el(
        "button",
        { type: "button", class: "quiet", "data-action": action, "aria-label": label },
        text,
      );
      b.disabled = disabled;
      b.addEventListener("click", onClick);
      return b;
    };
    const first = page * WINDOW;
    const what =
      window.mode === "active"
        ? activations.some((a) => a !== 0)
          ? `the ${WINDOW} most active of ${count(n)} units are drawn as neurons`
          : `all ${count(n)} units are at 0; the first ${WINDOW} are drawn as neurons`
        : `units ${first}–${Math.min(n, first + WINDOW) - 1} of ${count(n)} are drawn as neurons`;
    return el(
      "div",
      { class: "network-strip", "data-layer": String(l) },
      el(
        "div",
        { class: "network-strip-head" },
        el(
          "span",
          { class: "network-strip-what" },
          el("b", { class: "network-strip-title" }, this.layerName(l)),
          `: ${what}`,
        ),
        el(
          "span",
          { class: "network-strip-buttons" },
          button(
            "active",
            "most active",
            "the most active units",
            go({ mode: "active" }),
            window.mode === "active",
          ),
          button(
            "previous",
            "◀",
            "the previous units",
            go({ mode: "page", page: page <= 0 ? pages - 1 : page - 1 }),
          ),
          button("next", "▶", "the next units", go({ mode: "page", page: (page + 1) % pages })),
        ),
      ),
      root,
    );
  }

  /** A network of a handful of neurons: every weight, bias and activation printed. */
  private drawSmall(activations: number[][], weights: number[][][], available: number): void {
    const { sizes, biases } = this.figure;
    const width = available;
    const height = 220;
    const pad = 70;
    const r = 22;
    const x = (l: number) => pad + ((width - 2 * pad) * l) / Math.max(1, sizes.length - 1);
    const y = (l: number, j: number) =>
      height / 2 + (j - (sizes[l]! - 1) / 2) * ((height - 40) / Math.max(...sizes));
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "network" });
    const edges = svg("g", { class: "edges" });
    const [selLayer, selNeuron] = this.selected ?? [-1, -1];
    const maxW = Math.max(1e-9, ...weights.flat(2).map(Math.abs));
    weights.forEach((layer, l) => {
      layer.forEach((row, j) => {
        row.forEach((w, i) => {
          const selected = (l + 1 === selLayer && j === selNeuron) || (l === selLayer && i === selNeuron);
          const t = w / maxW;
          const edge = svg("line", {
            x1: x(l),
            y1: y(l, i),
            x2: x(l + 1),
            y2: y(l + 1, j),
            stroke: weightColor(t),
            "stroke-width": (selected ? 2.5 : 1.5) + 4 * Math.abs(t),
          });
          edges.append(titled(edge, `w = ${w.toFixed(4)}`));
          const label = svg("text", {
            x: (x(l) * 0.6 + x(l + 1) * 0.4).toFixed(1),
            y: (y(l, i) * 0.6 + y(l + 1, j) * 0.4 - 6).toFixed(1),
            class: "edge-label",
            "text-anchor": "middle",
          });
          label.textContent = `w ${fmt(w)}`;
          edges.append(label);
        });
      });
    });
    root.append(edges);
    const neurons = svg("g", { class: "neurons" });
    activations.forEach((layer, l) => {
      layer.forEach((a, j) => {
        const cx = x(l);
        const cy = y(l, j);
        neurons.append(this.neuron(l, j, cx, cy, r, a, 1, true));
        const value = svg("text", { x: cx, y: cy + 4, class: "neuron-value", "text-anchor": "middle" });
        value.textContent = fmt(a);
        const name = svg("text", {
          x: cx,
          y: cy - r - 6,
          class: "neuron-label",
          "text-anchor": "middle",
          "data-layer": l,
          "data-neuron": j,
        });
        name.textContent = this.unitName(l, j);
        neurons.append(value, name);
        const bias = l > 0 ? biases[l - 1]?.[j] : undefined;
        if (bias !== undefined) {
          const b = svg("text", { x: cx, y: cy + r + 14, class: "edge-label", "text-anchor": "middle" });
          b.textContent = `b ${fmt(bias)}`;
          neurons.append(b);
        }
      });
    });
    root.append(neurons);
    this.element.dataset.edges = String(
      weights.reduce((n, layer) => n + layer.length * (layer[0]?.length ?? 0), 0),
    );
    this.note.textContent = "";
    this.body.replaceChildren(root);
  }
}

/** A neuron filled dark enough that its label reads better in white. */
function dark(a: number, maxA: number): boolean {
  const t = a / maxA;
  return t < -0.55;
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
