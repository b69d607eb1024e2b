/**
 * The replay of a network figure's recorded history (NetworkHistory): the step slider above the
 * figure, and what the figure draws at the step it is on: each recorded layer's units filled by
 * their batch mean, their flags (dead, saturated) outlined and counted per layer, and the edges
 * from the weights kept at or before that step. At the slider's end the figure is its own moment.
 */
import { flaggedUnits, type NetworkFigure, type NetworkHistory } from "../../../lessons/lesson.js";
import { el } from "./view.js";

const count = (n: number) => n.toLocaleString("en-US");

export class NetworkReplay {
  readonly controls = el("div", { class: "graph-controls network-replay" });
  readonly flagCounts = el("p", { class: "network-flags" });
  readonly flagLegend = flagLegend();
  /** The recorded step replayed (an index into history.steps), or undefined: the figure's own moment. */
  private at: number | undefined;
  private history: NetworkHistory | undefined;
  private readonly slider = el("input", {
    type: "range",
    min: "0",
    step: "1",
    "aria-label": "training step to replay",
  });
  private readonly position = el("span", { class: "graph-position" });
  private flagCache: { step: number; history: object; flags: ReturnType<typeof flaggedUnits> } | undefined;
  private weightCache: { snapshot: number; history: object; weights: number[][][] } | undefined;

  /** `onChange`: the figure draws itself again (the slider moved). */
  constructor(onChange: () => void) {
    this.slider.addEventListener("input", () => {
      const n = this.history?.steps.length ?? 0;
      const at = Number(this.slider.value);
      this.at = at >= n ? undefined : at;
      onChange();
    });
    const now = el("button", { type: "button", "data-action": "now", class: "quiet" }, "to the end");
    now.addEventListener("click", () => {
      this.at = undefined;
      onChange();
    });
    this.controls.append(
      el("span", { class: "network-replay-label" }, "replay training:"),
      this.slider,
      this.position,
      now,
    );
  }

  /** The figure's history; a new one (the run went on) starts again from the figure's own moment. */
  setHistory(history: NetworkHistory | undefined): void {
    if (history?.steps.length !== this.history?.steps.length) this.at = undefined;
    this.history = history;
  }

  /** Whether a recorded step is replayed (not the figure's own moment). */
  get replaying(): boolean {
    return this.at !== undefined;
  }

  /** The figure's activations with each recorded layer's batch means at the replayed step. */
  activations(figure: NetworkFigure): number[][] {
    const s = this.at;
    if (s === undefined || !this.history) return figure.activations;
    const layers = figure.activations.map((a) => a);
    for (const l of this.history.layers)
      layers[l.layer] = Array.from(l.meanActivation.subarray(s * l.units, (s + 1) * l.units));
    return layers;
  }

  /** The weight snapshot the edges are drawn from at the replayed step, or -1: the figure's own. */
  private snapshot(): number {
    const kept = this.history?.weights;
    if (this.at === undefined || !kept) return -1;
    const step = this.history!.steps[this.at]!;
    let s = -1;
    while (s + 1 < kept.steps.length && kept.steps[s + 1]! <= step) s++;
    return s;
  }

  /** The step whose weights the edges are, or undefined: the figure's own weights. */
  weightStep(): number | undefined {
    const s = this.snapshot();
    return s < 0 ? undefined : this.history!.weights!.steps[s];
  }

  /** The figure's weights, with the kept layers' at the replayed step's snapshot. */
  weights(figure: NetworkFigure): number[][][] {
    const s = this.snapshot();
    const history = this.history;
    if (s < 0 || !history?.weights) return figure.weights;
    if (this.weightCache?.snapshot !== s || this.weightCache.history !== history) {
      const weights = figure.weights.map((w) => w);
      for (const { layer, from, to, values } of history.weights.layers) {
        const at = s * to * from;
        weights[layer - 1] = Array.from({ length: to }, (_, j) =>
          Array.from(values.subarray(at + j * from, at + (j + 1) * from)),
        );
      }
      this.weightCache = { snapshot: s, history, weights };
    }
    return this.weightCache.weights;
  }

  /** The caption while a step is replayed. */
  caption(): string | undefined {
    if (this.at === undefined || !this.history) return undefined;
    const step = this.history.steps[this.at]!;
    const w = this.weightStep();
    const edges =
      w === undefined
        ? "the edges are the weights at the end"
        : w === step
          ? "the edges are the weights at that step"
          : `the edges are the weights at step ${count(w)}, the last kept before it`;
    return `Replaying step ${count(step)}: the recorded layers' units filled by their activation averaged over that step's batch; ${edges}.`;
  }

  /** The recorded step whose flags are drawn: the one replayed, else the last recorded. */
  private flagStep(): number {
    return this.at ?? (this.history?.steps.length ?? 1) - 1;
  }

  /** Unit j of layer l's flag at the step drawn: dead, saturated, or none. */
  flagOf(l: number, j: number): "dead" | "saturated" | undefined {
    const history = this.history;
    if (!history?.steps.length) return undefined;
    if (this.flagCache?.step !== this.flagStep() || this.flagCache.history !== history)
      this.flagCache = { step: this.flagStep(), history, flags: flaggedUnits(history, this.flagStep()) };
    const f = this.flagCache.flags.find((x) => x.layer === l);
    if (!f) return undefined;
    return f.dead.includes(j) ? "dead" : f.saturated.includes(j) ? "saturated" : undefined;
  }

  /** The slider, its position and the flag counts, on `element` (the figure's card) as data too. */
  render(element: HTMLElement, sizes: number[], layerName: (l: number) => string): void {
    const history = this.history;
    const n = history?.steps.length ?? 0;
    this.controls.hidden = n === 0;
    this.flagCounts.hidden = n === 0;
    this.flagLegend.hidden = n === 0;
    element.dataset.replay = this.at === undefined ? "" : String(history?.steps[this.at]);
    element.dataset.edgesStep = String(this.weightStep() ?? "");
    if (!history || n === 0) return;
    // Only the flags these layers can have: "dead" is a ReLU's, "saturated" a tanh's.
    for (const item of this.flagLegend.querySelectorAll<HTMLElement>(".legend-item")) {
      const nonlinearity = item.dataset.flag === "dead" ? "relu" : "tanh";
      item.hidden = !history.layers.some((l) => l.nonlinearity === nonlinearity);
    }
    this.slider.max = String(n);
    this.slider.value = String(this.at ?? n);
    const shown = this.flagStep();
    this.position.textContent =
      this.at === undefined
        ? `the end (flags: step ${count(history.steps[shown]!)}, the last recorded)`
        : `step ${count(history.steps[this.at]!)} (${this.at + 1} of ${n} recorded)`;
    const flagged = flaggedUnits(history, shown);
    this.flagCounts.replaceChildren(
      `Flags at step ${count(history.steps[shown]!)}: `,
      ...flagged.flatMap((f, k) => {
        const units = sizes[f.layer] ?? 0;
        const what =
          history.layers[k]!.nonlinearity === "relu"
            ? `${f.dead.length} of ${count(units)} dead`
            : `${f.saturated.length} of ${count(units)} saturated`;
        return [
          ...(k > 0 ? ["; "] : []),
          el(
            "b",
            { "data-layer": String(f.layer), class: "network-flag-count" },
            `${layerName(f.layer)}: ${what}`,
          ),
        ];
      }),
      ".",
    );
  }
}

/** What the flag outlines mean, shown with a figure that has a history. */
function flagLegend(): HTMLElement {
  const ring = (flag: string, text: string) =>
    el("span", { class: "legend-item", "data-flag": flag }, el("i", { class: `ring ${flag}` }), text);
  return el(
    "div",
    { class: "legend flag-legend" },
    ring("saturated", "saturated: |tanh| > 0.97 on more than half of the batch"),
    ring("dead", "dead: ReLU 0 on the whole batch"),
  );
}
