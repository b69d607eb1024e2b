/**
 * The lab's home page (#/): what the lab is, the ten lessons with what each runs and about how
 * long, and the engine this browser gives the experiments. And the page for an unknown address.
 */
import type { LessonEntry } from "../../lessons/index.js";
import { el } from "./figures/view.js";

/** One line per lesson: what it is about, what its experiments run, and about how long at their defaults. */
const ABOUT: Record<string, { line: string; runs: string; time: string }> = {
  "01-micrograd": {
    line: "Autograd on scalars: a Value, backpropagation node by node, a neuron.",
    runs: "expression graphs, a neuron, an MLP learning two moons (100 steps)",
    time: "a few seconds",
  },
  "02-bigram": {
    line: "A character-level language model from counts, then learned by gradient descent.",
    runs: "bigram counts of 32,033 names, the same model as one linear layer",
    time: "about 10 s",
  },
  "03-mlp": {
    line: "Learned character embeddings and a tanh hidden layer (Bengio et al. 2003).",
    runs: "an 11,897-parameter MLP that beats the bigram, letters in 2-D, a learning-rate sweep",
    time: "about 30 s",
  },
  "04-activations": {
    line: "Initialisation, saturated tanh units and BatchNorm, with the diagnostics that show them.",
    runs: "the MLP with its fixes, a 6-layer net's activation and gradient histograms",
    time: "about 30 s",
  },
  "05-backprop-ninja": {
    line: "The backward pass written by hand, intermediate by intermediate.",
    runs: "26 hand-written gradients checked against autograd, training with them",
    time: "about 20 s",
  },
  "06-wavenet": {
    line: "Eight characters of context, fused two at a time.",
    runs: "the hierarchical model of the lecture, trained on names",
    time: "about 40 s",
  },
  "07-gpt": {
    line: "Self-attention, and a character-level GPT trained on Shakespeare.",
    runs: "attention as averaging, a small GPT (WebGPU where the browser has it), its heads",
    time: "about 40 s",
  },
  "08-tokenizer": {
    line: "Byte-pair encoding, merge by merge; GPT-2's and GPT-4's tokenizers.",
    runs: "BPE training on your text, tokenizations side by side",
    time: "a few seconds",
  },
  "09-gpt2": {
    line: "GPT-2: the architecture, the training recipe, and OpenAI's 124M weights.",
    runs: "an untrained GPT-2's loss, one batch overfit, a small GPT-2 trained on Shakespeare; GPT-2 124M from a file or a download",
    time: "about a minute",
  },
  "10-pong": {
    line: "Policy gradients: a network learns Pong from pixels, rewarded only for points.",
    runs: "REINFORCE on a quick Pong, its first layer's weights as images",
    time: "about 2 minutes",
  },
};

/** The engine the experiments get in this browser, in words (wasm threads, WebGPU). */
async function engine(): Promise<string[]> {
  const lines: string[] = [];
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const cores = navigator.hardwareConcurrency || 1;
  const { wasmAvailable } = await import("../../src/backend/wasm/index.js");
  if (!wasmAvailable()) lines.push("JavaScript only: this browser has no WebAssembly SIMD (slow)");
  else if (isolated)
    lines.push(`WebAssembly with ${cores} thread${cores === 1 ? "" : "s"} (one per core of this machine)`);
  else lines.push("WebAssembly on one thread (the page is not cross-origin isolated: no shared memory)");
  const gpu = (navigator as { gpu?: GPU }).gpu;
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  if (adapter) {
    const info = (adapter as { info?: { vendor?: string; architecture?: string } }).info;
    const name = [info?.vendor, info?.architecture].filter(Boolean).join(" ");
    lines.push(`WebGPU${name ? ` (${name})` : ""}: lessons 7 and 9 train on it`);
  } else
    lines.push(
      gpu
        ? "no WebGPU adapter: lessons 7 and 9 run on WebAssembly"
        : "no WebGPU in this browser: lessons 7 and 9 run on WebAssembly",
    );
  return lines;
}

export function homePage(lessons: LessonEntry[]): HTMLElement {
  const engineList = el("ul", { class: "engine" }, el("li", {}, "checking…"));
  void engine().then(
    (lines) => {
      engineList.replaceChildren(...lines.map((line) => el("li", {}, line)));
      engineList.dataset.ready = "true";
    },
    (error: unknown) => engineList.replaceChildren(el("li", {}, `could not tell: ${String(error)}`)),
  );
  const rows = lessons.map((l) => {
    const about = ABOUT[l.id];
    return el(
      "li",
      { "data-lesson": l.id },
      el(
        "a",
        { href: `#/${l.id}`, class: "lesson-link" },
        el("span", { class: "num" }, String(l.number)),
        l.title,
      ),
      about ? el("p", { class: "line" }, about.line) : "",
      about
        ? el("p", { class: "runs" }, `Runs ${about.runs} — `, el("span", { class: "time" }, about.time))
        : "",
    );
  });
  return el(
    "div",
    { class: "home" },
    el(
      "header",
      { class: "lesson-header" },
      el("p", { class: "kicker" }, "herograd lab"),
      el("h1", {}, "Neural Networks: Zero to Hero, where the neurons can be seen"),
      el(
        "p",
        { class: "summary" },
        "Andrej Karpathy's lecture series, lesson by lesson: the text, the math, the real herograd code, and experiments that train on this machine while you watch. Every experiment starts by itself at settings that show its lecture's point; change a setting and it runs again. Click a neuron to see its numbers.",
      ),
    ),
    el("h2", {}, "The engine in this browser"),
    engineList,
    el("h2", {}, "The lessons"),
    el("ol", { class: "home-lessons" }, ...rows),
    el(
      "p",
      { class: "footnote" },
      "Times are for a 2-core laptop at the defaults; one experiment of a page computes at a time, the one in view first.",
    ),
  );
}

export function notFoundPage(address: string): HTMLElement {
  return el(
    "div",
    { class: "not-found" },
    el("h1", {}, "No such page"),
    el("p", {}, "The lab has no page at ", el("code", {}, address), "."),
    el("p", {}, el("a", { href: "#/" }, "Go to the lab's home page"), " for the ten lessons."),
  );
}
