/**
 * Lesson 1: micrograd. A scalar Value that remembers how it was made, backpropagation through the
 * expression graph one node at a time, a neuron, and an MLP of 337 such Values learning two moons.
 * Follows "The spelled-out intro to neural networks and backpropagation: building micrograd".
 */
import { README_EXAMPLE } from "../src/micrograd/examples.js";
import {
  decisionGrid,
  type MLP,
  moonsLoss,
  runProgram,
  setupMoons,
  toDot,
  Value,
} from "../src/micrograd/index.js";
import {
  type DetailFigure,
  type GraphFrame,
  type LabContext,
  type Lesson,
  type NetworkFigure,
  param,
  type Target,
} from "./lesson.js";

const ENGINE = "src/micrograd/engine.ts";
const NN = "src/micrograd/nn.ts";
const THIS = "lessons/01-micrograd.ts";

// ---------------------------------------------------------------------------------------------
// Stepping through backprop

const AT = "#ffd27f"; // the node whose backward rule runs now
const TOUCHED = "#fff1d0"; // its inputs, whose grads it just added to

/** A node's name in captions: its label, or its op for the unnamed intermediate values. */
function nameOf(v: Value): string {
  if (v.label) return v.label;
  return v.op ? `(${v.opLabel})` : String(v.data); // an unnamed constant: its value
}

/** How a node was computed from its inputs, e.g. "c + d", "e**2", "tanh(n)". */
function formula(v: Value): string {
  const [a, b] = v.prev.map(nameOf);
  if (v.op === "+" || v.op === "*") return `${a} ${v.op} ${b}`;
  if (v.op === "**") return `${a}${v.opLabel}`;
  return `${v.opLabel}(${a})`;
}

function texName(v: Value): string {
  return `\\mathtt{${nameOf(v)
    .replace(/[_{}#$%&]/g, "\\$&")
    .replace(/\*\*/g, "\\ast\\ast ")
    .replace(/\*/g, "\\ast ")}}`;
}

const fmt = (x: number) => (Number.isInteger(x) ? x.toFixed(1) : x.toFixed(4));
const paren = (x: number) => (x < 0 ? `(${fmt(x)})` : fmt(x));

/** The local derivative d(out)/d(input), as TeX and as a number: the chain rule's first factor. */
function localDerivative(out: Value, input: Value, index: number): { tex: string; value: number } {
  const [a, b] = out.prev as [Value, Value | undefined];
  switch (out.op) {
    case "+":
      return { tex: "1", value: 1 };
    case "*": {
      const other = index === 0 ? b! : a;
      return { tex: texName(other), value: other.data };
    }
    case "**": {
      const n = Number(out.opLabel.slice(2));
      return { tex: `${n} \\cdot ${texName(input)}^{${n - 1}}`, value: n * input.data ** (n - 1) };
    }
    case "ReLU":
      return { tex: `[${texName(input)} > 0]`, value: out.data > 0 ? 1 : 0 };
    case "tanh":
      return { tex: `1 - ${texName(out)}^2`, value: 1 - out.data ** 2 };
    case "exp":
      return { tex: texName(out), value: out.data };
    case "log":
      return { tex: `1 / ${texName(input)}`, value: 1 / input.data };
    case "sigmoid":
      return { tex: `${texName(out)}\\,(1 - ${texName(out)})`, value: out.data * (1 - out.data) };
    default:
      return { tex: "?", value: Number.NaN };
  }
}

// #region step-through
/**
 * Backpropagation one node at a time: the same steps as Value.backward(), with a drawing of the
 * graph after each one. Reverse topological order guarantees that a node's grad is complete
 * (every use of it has passed its share back) before it passes its grad on to its inputs.
 */
export function backpropFrames(root: Value): GraphFrame[] {
  const order = root.topologicalOrder();
  for (const v of order) v.grad = 0;
  const frames: GraphFrame[] = [
    {
      dot: toDot(root),
      caption: `Forward pass done: every node holds its data. ${order.length} values, every grad 0.`,
    },
  ];
  root.grad = 1;
  frames.push({
    dot: toDot(root, { highlight: new Map([[root, AT]]) }),
    caption: `Start at the output: d${nameOf(root)}/d${nameOf(root)} = 1.`,
    tex: `\\frac{\\partial ${texName(root)}}{\\partial ${texName(root)}} = 1`,
  });
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!;
    const inputs = node.prev;
    if (inputs.length === 0) continue; // a leaf: nothing to pass on
    const before = inputs.map((v) => v.grad);
    node.backwardStep(); // the chain rule for this one node: input.grad += local derivative · node.grad
    const highlight = new Map<Value, string>(inputs.map((v) => [v, TOUCHED]));
    highlight.set(node, AT);
    const lines = inputs.map((input, k) => {
      const local = localDerivative(node, input, k);
      return (
        `\\text{grad}_{${texName(input)}} \\mathrel{+}= \\underbrace{${local.tex}}_{${fmt(local.value)}}` +
        ` \\cdot \\underbrace{\\text{grad}_{${texName(node)}}}_{${fmt(node.grad)}}` +
        ` &= ${fmt(before[k]!)} + ${paren(local.value * node.grad)} = ${fmt(input.grad)}`
      );
    });
    frames.push({
      dot: toDot(root, { highlight }),
      caption: `${node.label ? `${node.label} = ` : "the node "}${formula(node)} passes its grad to its inputs.`,
      tex: `\\begin{aligned}${lines.join("\\\\")}\\end{aligned}`,
    });
  }
  return frames;
}
// #endregion

/** Statements of a program typed in micrograd's Python syntax, one per line or split by ";". */
function statements(program: string): string[] {
  return program
    .split(/[\n;]/)
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter((line) => line !== "");
}

const PRESETS = {
  lecture: ["a = 2.0", "b = -3.0", "c = 10.0", "e = a * b", "d = e + c", "f = -2.0", "L = d * f"],
  neuron: [
    "x1 = 2.0",
    "x2 = 0.0",
    "w1 = -3.0",
    "w2 = 1.0",
    "b = 6.8813735870195432",
    "n = x1*w1 + x2*w2 + b",
    "o = n.tanh()",
  ],
  twice: ["a = 3.0", "b = a + a  # a is used twice: its grad is 1 + 1"],
  readme: [
    ...Object.entries(README_EXAMPLE.leaves).map(([name, value]) => `${name} = ${value.toFixed(1)}`),
    ...README_EXAMPLE.program,
  ],
};

async function runExpression(program: string, lab: LabContext): Promise<void> {
  const lines = statements(program);
  if (lines.length === 0) throw new SyntaxError("type at least one statement, e.g. a = 2.0");
  const vars = runProgram(lines, {});
  const last = /^\s*([A-Za-z_]\w*)/.exec(lines.at(-1)!)![1]!;
  const root = vars.get(last)!;
  const frames = backpropFrames(root);
  lab.emit({ type: "figure", figure: { kind: "graph", id: "graph", title: `The graph of ${last}`, frames } });
  const leaves = [...vars.values()].filter((v) => v.op === "");
  lab.emit({
    type: "log",
    text: `${last} = ${fmt(root.data)}; ${leaves.map((v) => `d${last}/d${v.label} = ${fmt(v.grad)}`).join(", ")}`,
  });
}

// ---------------------------------------------------------------------------------------------
// A neuron, and an MLP drawn as neurons

/** Weights, biases and the activations of every layer for one input: what the network figure draws. */
function networkFigure(
  model: MLP,
  x: number[],
  figure: { id: string; title: string; caption?: string },
): NetworkFigure {
  const activations: number[][] = [x];
  let out: Value[] = x.map((xi) => new Value(xi));
  for (const layer of model.layers) {
    out = layer.call(out);
    activations.push(out.map((v) => v.data));
  }
  return {
    kind: "network",
    ...figure,
    sizes: [x.length, ...model.layers.map((l) => l.neurons.length)],
    weights: model.layers.map((l) => l.neurons.map((n) => n.w.map((w) => w.data))),
    biases: model.layers.map((l) => l.neurons.map((n) => n.b.data)),
    activations,
    nonlinearities: model.layers.map((l) => l.neurons[0]!.activation),
  };
}

async function runNeuron(p: Record<string, number>, lab: LabContext): Promise<void> {
  // #region neuron
  const x1 = new Value(p.x1!).named("x1");
  const x2 = new Value(p.x2!).named("x2");
  const w1 = new Value(p.w1!).named("w1");
  const w2 = new Value(p.w2!).named("w2");
  const b = new Value(p.b!).named("b");
  const x1w1 = x1.mul(w1).named("x1*w1");
  const x2w2 = x2.mul(w2).named("x2*w2");
  const x1w1x2w2 = x1w1.add(x2w2).named("x1*w1 + x2*w2");
  const n = x1w1x2w2.add(b).named("n");
  const o = n.tanh().named("o");
  // #endregion
  const frames = backpropFrames(o);
  lab.emit({
    type: "figure",
    figure: { kind: "graph", id: "graph", title: "o = tanh(x1·w1 + x2·w2 + b)", frames },
  });
  lab.emit({
    type: "figure",
    figure: {
      kind: "network",
      id: "neuron",
      title: "The same neuron",
      sizes: [2, 1],
      weights: [[[w1.data, w2.data]]],
      biases: [[b.data]],
      activations: [[x1.data, x2.data], [o.data]],
      inputLabels: ["x1", "x2"],
      outputLabels: ["o"],
      caption: `n = ${fmt(n.data)}, o = tanh(n) = ${fmt(o.data)}; grads: x1 ${fmt(x1.grad)}, w1 ${fmt(w1.grad)}, x2 ${fmt(x2.grad)}, w2 ${fmt(w2.grad)}`,
    },
  });
  lab.onSelect(
    "neuron",
    ([layer, i]) => {
      const inputs = [
        { x: x1, w: w1 },
        { x: x2, w: w2 },
      ];
      const input = layer === 0 ? inputs[i!] : undefined;
      const detail: DetailFigure = input
        ? {
            kind: "detail",
            id: "detail",
            title: `The input ${input.x.label}`,
            of: { figure: "neuron", target: [0, i!] },
            values: [
              { label: input.x.label, value: input.x.data },
              { label: `its weight ${input.w.label}`, value: input.w.data },
              { label: `${input.x.label}·${input.w.label}`, value: input.x.data * input.w.data },
              { label: `do/d${input.x.label} = ${input.w.label}·(1 − o²)`, value: input.x.grad },
              { label: `do/d${input.w.label} = ${input.x.label}·(1 − o²)`, value: input.w.grad },
            ],
            tex: `\\frac{\\partial o}{\\partial ${input.w.label}} = ${input.x.label} \\cdot (1 - o^2) = ${fmt(input.x.data)} \\cdot ${fmt(1 - o.data ** 2)} = ${fmt(input.w.grad)}`,
            code: { file: THIS, region: "neuron", line: `const ${input.x.label}${input.w.label} = ` },
          }
        : {
            kind: "detail",
            id: "detail",
            title: "The neuron o = tanh(n)",
            of: { figure: "neuron", target: [1, 0] },
            values: [
              { label: "n = x1·w1 + x2·w2 + b", value: n.data },
              { label: "o = tanh(n)", value: o.data },
              { label: "bias b", value: b.data },
              { label: "do/dn = 1 − o²", value: n.grad },
              { label: "do/db", value: b.grad },
            ],
            vectors: [{ label: "weights w1, w2", values: [w1.data, w2.data], labels: ["w1", "w2"] }],
            tex: `o = \\tanh(${fmt(x1.data)} \\cdot ${paren(w1.data)} + ${fmt(x2.data)} \\cdot ${paren(w2.data)} + ${paren(b.data)}) = \\tanh(${fmt(n.data)}) = ${fmt(o.data)}`,
            code: { file: THIS, region: "neuron", line: "const o = n.tanh()" },
          };
      lab.emit({ type: "figure", figure: detail });
    },
    "Click the neuron or an input to see its numbers, its gradient and the line that computes it.",
  );
  // tanh, and the tangent at n: its slope is the local derivative backprop used, 1 − o².
  const slope = n.grad / o.grad;
  const title = `tanh at n = ${fmt(n.data)}: slope 1 − o² = ${fmt(slope)}`;
  lab.emit({
    type: "figure",
    figure: { kind: "line", id: "tanh", title, xLabel: "n", yLabel: "o", series: ["tanh(n)", "slope at n"] },
  });
  const [lo, hi] = [Math.min(-4, n.data - 2), Math.max(4, n.data + 2)];
  const curve = Array.from({ length: 161 }, (_, i) => lo + ((hi - lo) * i) / 160);
  lab.emit({
    type: "points",
    figure: "tanh",
    series: "tanh(n)",
    points: curve.map((x) => ({ x, y: Math.tanh(x) })),
  });
  const tangent = [-1, 1].map((d) => ({ x: n.data + d, y: o.data + slope * d }));
  lab.emit({ type: "points", figure: "tanh", series: "slope at n", points: tangent });
}

// #region mlp-neuron
/**
 * One neuron of the MLP for one input: its weighted sum and activation, and its gradients:
 * backward() from the score tells how the output moves with the neuron; the input's own loss
 * term, max(0, 1 − y·score), passes that on times −y while the margin is short of 1, else 0.
 */
function mlpNeuronDetail(model: MLP, x: number[], y: number, [layer, j]: Target): DetailFigure {
  if (layer === undefined || j === undefined || layer < 0 || layer > model.layers.length)
    throw new RangeError(`the MLP has no layer ${layer}`);
  const inputs = x.map((xi, i) => new Value(xi).named(`x${i}`));
  const outputs: Value[][] = [inputs];
  for (const l of model.layers) outputs.push(l.call(outputs.at(-1)!));
  const score = outputs.at(-1)![0]!;
  model.zeroGrad();
  score.backward();
  const lossPerScore = 1 - y * score.data > 0 ? -y : 0; // d max(0, 1 − y·score) / d score
  const v = outputs[layer]![j];
  if (!v) throw new RangeError(`layer ${layer} has no neuron ${j}`);
  const where = `For the input (${x.map((xi) => xi.toFixed(2)).join(", ")}), label ${y}, score ${fmt(score.data)}`;
  let detail: DetailFigure;
  if (layer === 0) {
    detail = {
      kind: "detail",
      id: "detail",
      title: `Input ${j}`,
      of: { figure: "mlp", target: [0, j] },
      values: [
        { label: `x${j}`, value: v.data },
        { label: `dscore/dx${j}`, value: v.grad },
        { label: `dloss/dx${j} (this input's hinge)`, value: lossPerScore * v.grad },
      ],
      tex: `x_{${j}} = ${fmt(v.data)}`,
      code: { file: NN, symbol: "export class MLP", line: "let out: Value[] = x.map" },
      caption: `${where}.`,
    };
  } else {
    const neuron = model.layers[layer - 1]!.neurons[j]!;
    const pre = neuron.activation === "linear" ? v : v.prev[0]!; // relu(act): its input is act
    const f =
      neuron.activation === "relu" ? "\\operatorname{ReLU}" : neuron.activation === "tanh" ? "\\tanh" : "";
    detail = {
      kind: "detail",
      id: "detail",
      title: `Layer ${layer}, neuron ${j} (${neuron})`,
      of: { figure: "mlp", target: [layer, j] },
      values: [
        { label: "pre-activation b + Σ w·x", value: pre.data },
        { label: `activation (${neuron.activation})`, value: v.data },
        { label: "bias b", value: neuron.b.data },
        { label: "dscore/d activation", value: v.grad },
        { label: "dscore/d pre-activation", value: pre.grad },
        { label: "dloss/d activation (this input's hinge)", value: lossPerScore * v.grad },
      ],
      vectors: [
        { label: "its weights w (one per input)", values: neuron.w.map((w) => w.data) },
        { label: "dscore/dw", values: neuron.w.map((w) => w.grad) },
      ],
      tex: `a = ${f}\\Big(b + \\sum_i w_i x_i\\Big) = ${f}(${fmt(pre.data)}) = ${fmt(v.data)}`,
      code: { file: NN, symbol: "call(x: readonly Scalar[]): Value {", line: "const act = sum(" },
      caption: `${where}: a margin of 1 or more leaves its hinge, and so its loss gradient, at 0.`,
    };
  }
  model.zeroGrad(); // the next training step starts from zero, as moonsLoss's caller does
  return detail;
}
// #endregion

// ---------------------------------------------------------------------------------------------
// The moons

interface MoonsParams {
  learningRate: number;
  hidden: number;
  layers: number;
  steps: number;
  seed: number;
  noise: number;
}

// #region moons
async function trainMoons(p: MoonsParams, lab: LabContext): Promise<void> {
  const hidden = Array.from({ length: p.layers }, () => p.hidden);
  const { data, model } = setupMoons({ seed: p.seed, noise: p.noise, hidden });
  const nParams = model.parameters().length;
  const report = (step: number, loss: number, accuracy: number) => {
    const items = [
      { label: "step", value: `${step} / ${p.steps}` },
      { label: "loss", value: Number.isNaN(loss) ? "–" : loss.toFixed(4) },
      { label: "accuracy", value: Number.isNaN(accuracy) ? "–" : `${(accuracy * 100).toFixed(0)}%` },
      { label: "parameters", value: String(nParams) },
    ];
    lab.emit({ type: "figure", figure: { kind: "stats", id: "stats", title: "Training", items } });
  };
  const points = data.X.map(([x, y], i) => ({ x, y, label: data.y[i]! }));
  const probe = data.X[0]!; // the network figure shows the activations for this input
  let selected: Target = [1, 0];
  const detail = () =>
    lab.emit({ type: "figure", figure: mlpNeuronDetail(model, probe, data.y[0]!, selected) });
  lab.onSelect(
    "mlp",
    (target) => {
      selected = target;
      detail();
    },
    "Click a neuron to see its weights, its activation for this input, its gradient and its code.",
  );
  const draw = (step: number) => {
    const caption = `neurons filled by their activation for the input (${probe.map((v) => v.toFixed(2)).join(", ")})`;
    lab.emit({
      type: "figure",
      figure: {
        ...networkFigure(model, probe, { id: "mlp", title: `MLP(2, [${hidden.join(", ")}, 1])`, caption }),
        inputLabels: ["x0", "x1"], // the point's two coordinates, named as in the neuron's detail
        outputLabels: ["score"],
      },
    });
    detail(); // the chosen neuron, as it is now
    const grid = decisionGrid(model, data, 0.08);
    const title = `Decision boundary after ${step} steps`;
    lab.emit({ type: "figure", figure: { kind: "field", id: "boundary", title, step: 0.08, grid, points } });
  };
  report(0, Number.NaN, Number.NaN);
  draw(0);
  const curve = {
    id: "loss",
    title: "Loss and accuracy",
    yLabel: "loss · accuracy",
    series: ["loss", "accuracy"],
    wide: true,
  };
  lab.emit({ type: "figure", figure: { kind: "line", ...curve } });

  for (let k = 0; k < p.steps; k++) {
    // forward: the max-margin loss of all samples, plus L2 regularisation
    const { loss, accuracy } = moonsLoss(model, data, 1e-4);
    // backward: every parameter gets d(loss)/d(parameter)
    model.zeroGrad();
    loss.backward();
    // update: a step against the gradient, with a learning rate that decays linearly
    const learningRate = p.learningRate * (1.0 - (0.9 * k) / p.steps);
    for (const q of model.parameters()) q.data -= learningRate * q.grad;

    lab.emit({ type: "points", figure: "loss", series: "loss", points: [{ x: k, y: loss.data }] });
    lab.emit({ type: "points", figure: "loss", series: "accuracy", points: [{ x: k, y: accuracy }] });
    report(k + 1, loss.data, accuracy);
    if ((k + 1) % 5 === 0 || k === p.steps - 1) draw(k + 1);
    await lab.tick(); // the lab may pause here, or slow the run down so it can be watched
  }
}
// #endregion

// ---------------------------------------------------------------------------------------------

export const lesson: Lesson = {
  id: "01-micrograd",
  number: 1,
  title: "micrograd",
  summary:
    "A scalar Value with autograd, backpropagation node by node, a neuron, and an MLP that learns two moons.",
  lecture: {
    title: "The spelled-out intro to neural networks and backpropagation: building micrograd",
    url: "https://www.youtube.com/watch?v=VMj-3S1tku0",
  },
  sections: [
    {
      id: "graph",
      title: "A value that remembers how it was made",
      cells: [
        {
          kind: "text",
          text:
            "A `Value` holds a number (`data`) and, once we backpropagate, `grad`: how much the final output changes " +
            "when this number is nudged. Every operation returns a new `Value` that remembers its inputs and its op, " +
            "so an expression builds a graph.\n\n" +
            "`backward()` walks that graph from the output back to the leaves. Each node applies the **chain rule**: " +
            "it adds its local derivative times its own grad to the grad of each input. Grads *add up*, because a " +
            "value used twice gets a share from both uses.",
        },
        {
          kind: "math",
          tex: "\\frac{\\partial L}{\\partial a} \\mathrel{+}= \\frac{\\partial \\mathrm{out}}{\\partial a}\\cdot\\frac{\\partial L}{\\partial \\mathrm{out}} \\qquad \\text{e.g. } \\mathrm{out} = a\\cdot b:\\ \\frac{\\partial \\mathrm{out}}{\\partial a} = b",
        },
        {
          kind: "code",
          file: ENGINE,
          symbol: "backwardStep(): void {",
          caption: "every op's local derivative",
        },
        { kind: "code", file: ENGINE, symbol: "backward(): void {", caption: "backpropagation" },
        {
          kind: "text",
          text: "Type an expression in micrograd's Python syntax (one statement per line; the last one is the output), then step through backprop one node at a time: the highlighted node runs its `backwardStep()`.",
        },
        {
          kind: "code",
          file: THIS,
          region: "step-through",
          caption: "the step-through, drawn below",
          collapsed: true,
        },
      ],
      experiment: {
        id: "expression",
        title: "Backprop, one node at a time",
        params: {
          program: {
            kind: "text",
            label: "expression",
            default: PRESETS.lecture.join("\n"),
            rows: 8,
            presets: [
              { label: "lecture: L = (a·b + c)·f", value: PRESETS.lecture.join("\n") },
              { label: "a neuron", value: PRESETS.neuron.join("\n") },
              { label: "a + a", value: PRESETS.twice.join("\n") },
              { label: "micrograd README", value: PRESETS.readme.join("\n") },
            ],
          },
        },
        run: (params, lab) => runExpression(param.string(params, "program"), lab),
      },
    },
    {
      id: "neuron",
      title: "A neuron",
      cells: [
        {
          kind: "text",
          text:
            "A neuron weighs its inputs, adds a bias and squashes the sum with a nonlinearity such as $\\tanh$. " +
            "Built from `Value`s, the neuron is just a small expression graph, and backprop tells each weight " +
            "which way to move. The lecture's neuron has $x_1 = 2$, $w_1 = -3$, $x_2 = 0$, $w_2 = 1$ and a bias " +
            "chosen so that the output is $0.7071$.",
        },
        {
          kind: "math",
          tex: "o = \\tanh\\Big(\\sum_i w_i x_i + b\\Big), \\qquad \\frac{\\partial o}{\\partial n} = 1 - o^2, \\qquad \\frac{\\partial o}{\\partial w_i} = (1 - o^2)\\, x_i",
        },
        { kind: "code", file: THIS, region: "neuron", caption: "the lecture's neuron, one Value at a time" },
        {
          kind: "code",
          file: NN,
          symbol: "call(x: readonly Scalar[]): Value {",
          caption: "the same, as Neuron.call",
        },
      ],
      experiment: {
        id: "neuron",
        title: "A neuron and its gradients",
        params: {
          x1: { kind: "number", label: "x1", default: 2, min: -4, max: 4, step: 0.1, slider: true },
          x2: { kind: "number", label: "x2", default: 0, min: -4, max: 4, step: 0.1, slider: true },
          w1: { kind: "number", label: "w1", default: -3, min: -4, max: 4, step: 0.1, slider: true },
          w2: { kind: "number", label: "w2", default: 1, min: -4, max: 4, step: 0.1, slider: true },
          b: {
            kind: "number",
            label: "b",
            default: 6.881373587019543,
            min: -8,
            max: 8,
            step: 0.01,
            slider: true,
          },
        },
        run: (params, lab) => runNeuron(params as Record<string, number>, lab),
      },
    },
    {
      id: "moons",
      title: "An MLP learns two moons",
      cells: [
        {
          kind: "text",
          text:
            "Layers of neurons make an MLP. With two hidden layers of 16 ReLU neurons and a linear output, " +
            "`MLP(2, [16, 16, 1])` has 337 parameters, each a `Value`. The loss compares each score with its " +
            "label $y = \\pm 1$ (a max-margin loss) plus a little L2 regularisation; one full-batch step of " +
            "gradient descent moves every parameter against its grad.\n\n" +
            "Watch the network: edges are coloured by weight (blue positive, red negative), neurons filled by " +
            "their activation for one input; the decision boundary bends around the moons as the loss falls.",
        },
        {
          kind: "math",
          tex: "L = \\frac{1}{N}\\sum_{i=1}^{N} \\max(0,\\ 1 - y_i\\, s_i) + \\alpha \\sum_p p^2, \\qquad p \\leftarrow p - \\eta_k \\frac{\\partial L}{\\partial p}, \\qquad \\eta_k = \\eta_0\\Big(1 - 0.9\\,\\frac{k}{K}\\Big)",
        },
        { kind: "code", file: THIS, region: "moons", caption: "the experiment below, as it runs" },
        {
          kind: "text",
          text: "Click a neuron of the network to see inside it: its weights, its weighted sum and activation for the input drawn, and its gradient — how the loss of that input would change if the neuron's value moved — with the line of `Neuron.call` that computes it.",
        },
        { kind: "code", file: THIS, region: "mlp-neuron", caption: "what a click shows", collapsed: true },
      ],
      experiment: {
        id: "moons",
        title: "Train MLP(2, [16, 16, 1]) on the moons",
        streaming: true,
        params: {
          learningRate: {
            kind: "number",
            label: "learning rate η₀",
            default: 1.0,
            min: 0,
            max: 10,
            step: 0.1,
          },
          hidden: { kind: "int", label: "hidden size", default: 16, min: 1, max: 32 },
          layers: { kind: "int", label: "hidden layers", default: 2, min: 1, max: 3 },
          steps: { kind: "int", label: "steps", default: 100, min: 1, max: 2000, step: 10 },
          seed: { kind: "int", label: "seed", default: 1337 },
          noise: { kind: "number", label: "noise", default: 0.1, min: 0, max: 1, step: 0.05 },
        },
        run: (params, lab) => trainMoons(params as unknown as MoonsParams, lab),
      },
    },
  ],
};
