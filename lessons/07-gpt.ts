/**
 * Lesson 7: a GPT from scratch. The trick at the heart of self-attention (a weighted average of the
 * past as one matrix product), a small character-level GPT trained on Shakespeare, and its
 * attention weights, per layer and head, for a prompt the learner types.
 * Follows "Let's build GPT: from scratch, in code, spelled out".
 */
import { GPT } from "../src/models/gpt.js";
import { capture, Linear } from "../src/nn/index.js";
import { AdamW } from "../src/optim/index.js";
import { Random } from "../src/random/index.js";
import {
  maskedFill,
  matmul,
  noGrad,
  ones,
  randn,
  softmax,
  stack,
  type Tensor,
  tensor,
  tidy,
  tril,
  zeros,
} from "../src/tensor/index.js";
import { getBatch } from "../src/train/gpt.js";
import { loadDatasetText } from "./data.js";
import { lookInside } from "./gpt-inside.js";
import { GPTProbe, gptIntervention } from "./gpt-interventions.js";
import { headActions, signedLoss } from "./interventions.js";
import type { HeatmapFigure, LabContext, Lesson, Params } from "./lesson.js";
import { param } from "./lesson.js";

const THIS = "lessons/07-gpt.ts";

const rows = (t: Tensor) => t.tolist() as number[][];
const maxDiff = (a: Tensor, b: Tensor) => a.sub(b).abs().max().item();

// #region aggregation
/** Three ways to average each token with the tokens before it: the same numbers, ever faster. */
function aggregate(B: number, T: number, C: number, seed: number) {
  const x = randn([B, T, C], { generator: new Random(seed) });
  // 1. Loops: xbow[b, t] = mean of x[b, 0..t].
  const loops = stack(
    Array.from({ length: B }, (_, b) =>
      stack(Array.from({ length: T }, (_, t) => x.index(b, `:${t + 1}`).mean(0))),
    ),
  );
  // 2. A matrix product: the rows of a lower-triangular matrix, normalised to sum to 1.
  let wei = tril(ones([T, T]));
  wei = wei.div(wei.sum(1, true));
  const product = matmul(wei, x); // [T, T] @ [B, T, C] → [B, T, C]
  // 3. Softmax over a mask: -inf where a token would see the future. Self-attention starts here,
  //    with affinities that are no longer all zero.
  const future = tril(ones([T, T])).eq(0);
  const masked = softmax(maskedFill(zeros([T, T]), future, Number.NEGATIVE_INFINITY), -1);
  const viaSoftmax = matmul(masked, x);
  return { x, loops, wei, product, masked, viaSoftmax };
}

/** One head of self-attention: the weights now depend on the data (queries meet keys). */
function attentionHead(B: number, T: number, C: number, headSize: number, seed: number): Tensor {
  const generator = new Random(seed);
  const x = randn([B, T, C], { generator });
  const key = new Linear(C, headSize, { bias: false, generator });
  const query = new Linear(C, headSize, { bias: false, generator });
  const k = key.forward(x); // [B, T, 16]
  const q = query.forward(x); // [B, T, 16]
  const scores = matmul(q, k.transpose(-2, -1)).mul(headSize ** -0.5); // [B, T, T]
  const future = tril(ones([T, T])).eq(0);
  return softmax(maskedFill(scores, future, Number.NEGATIVE_INFINITY), -1);
}
// #endregion

async function aggregationTrick(params: Params, lab: LabContext): Promise<void> {
  const T = param.number(params, "T");
  const seed = param.number(params, "seed");
  noGrad(() => {
    const { x, loops, wei, product, viaSoftmax } = aggregate(4, T, 2, seed);
    const heat = (id: string, title: string, values: number[][], caption: string): HeatmapFigure => ({
      kind: "heatmap",
      id,
      title,
      values,
      rowLabels: values.map((_, i) => `t=${i}`),
      colLabels: values.map((_, i) => String(i)),
      xLabel: "averaged token →",
      text: "auto",
      caption,
    });
    lab.emit({
      type: "figure",
      figure: heat(
        "wei",
        "wei = tril, rows normalised (= softmax of the masked zeros)",
        rows(wei),
        "Row t holds the weights token t gives to tokens 0..t: a uniform average of the past.",
      ),
    });
    lab.emit({
      type: "figure",
      figure: heat(
        "attention",
        "wei of one self-attention head (head size 16), batch 0",
        rows(attentionHead(4, T, 32, 16, seed).select(0, 0)),
        "Queries meet keys: each token now weighs the past by how much it wants it. Still lower-triangular, rows still sum to 1.",
      ),
    });
    lab.emit({
      type: "figure",
      figure: {
        kind: "stats",
        id: "agree",
        title: "The three versions agree",
        items: [
          { label: "x", value: `[4, ${T}, 2]` },
          { label: "max |loops − matmul|", value: maxDiff(loops, product).toExponential(2) },
          { label: "max |loops − softmax|", value: maxDiff(loops, viaSoftmax).toExponential(2) },
        ],
      },
    });
    lab.emit({
      type: "log",
      text: `x[0] = ${JSON.stringify(rows(x.select(0, 0)).map((r) => r.map((v) => +v.toFixed(3))))}`,
    });
    lab.emit({
      type: "log",
      text: `xbow[0] = ${JSON.stringify(rows(product.select(0, 0)).map((r) => r.map((v) => +v.toFixed(3))))}`,
    });
  });
}

/** Tiny Shakespeare as character ids: the vocabulary is its sorted characters (65 of them). */
async function shakespeare(): Promise<{ chars: string[]; train: Uint16Array; val: Uint16Array }> {
  const text = await loadDatasetText("tinyshakespeare");
  const chars = [...new Set(text)].sort();
  const stoi = new Map(chars.map((c, i) => [c, i]));
  const ids = Uint16Array.from(text, (c) => stoi.get(c)!);
  const n = Math.floor(0.9 * ids.length);
  return { chars, train: ids.subarray(0, n), val: ids.subarray(n) };
}

// #region train
/** nanoGPT's loop, small: random windows of the text, AdamW, the loss of predicting each next character. */
async function trainCharGPT(
  params: Params,
  lab: LabContext,
  onStep?: (step: number, loss: number, vocabSize: number) => void,
): Promise<{ model: GPT; chars: string[]; val: Uint16Array }> {
  const { chars, train, val } = await shakespeare();
  const blockSize = param.number(params, "blockSize");
  const generator = new Random(param.number(params, "seed"));
  const model = new GPT(
    {
      blockSize,
      vocabSize: chars.length,
      nLayer: param.number(params, "nLayer"),
      nHead: param.number(params, "nHead"),
      nEmbd: param.number(params, "nEmbd"),
      dropout: 0,
      bias: false,
      gelu: "none",
    },
    { generator },
  );
  const optimizer = new AdamW(model.parameters(), { lr: param.number(params, "lr"), weightDecay: 0 });
  const batchSize = param.number(params, "batchSize");
  for (let step = 0; step < param.number(params, "steps"); step++) {
    // tidy frees the step's temporaries at once (the parameters, grads and AdamW state stay).
    const loss = tidy(() => {
      const { x, y } = getBatch(train, batchSize, blockSize, generator);
      const { loss } = model.forward(x, { targets: y });
      optimizer.zeroGrad();
      loss!.backward();
      optimizer.step();
      return loss!.detach();
    });
    // Read with await, so the loop also runs on WebGPU (which cannot read synchronously).
    const value = (await loss.data())[0]!;
    loss.dispose();
    onStep?.(step, value, chars.length);
    await lab.tick();
  }
  return { model, chars, val };
}
// #endregion

/** The mean loss on a few random windows of a split (no gradients). */
async function estimateLoss(model: GPT, data: Uint16Array, blockSize: number, batches = 4): Promise<number> {
  const generator = new Random(7);
  let total = 0;
  for (let i = 0; i < batches; i++) {
    const { x, y } = getBatch(data, 16, blockSize, generator);
    const loss = noGrad(() => tidy(() => model.forward(x, { targets: y }).loss!.detach()));
    total += (await loss.data())[0]!;
    loss.dispose();
  }
  return total / batches;
}

async function trainGPTExperiment(params: Params, lab: LabContext): Promise<void> {
  lab.emit({
    type: "figure",
    figure: {
      kind: "line",
      id: "loss",
      title: "Training loss (cross-entropy, nats)",
      xLabel: "step",
      yLabel: "loss",
      series: ["loss"],
    },
  });
  const steps = param.number(params, "steps");
  let window: { x: number; y: number }[] = [];
  const { model, chars, val } = await trainCharGPT(params, lab, (step, loss, vocabSize) => {
    window.push({ x: step, y: loss });
    if (window.length === 5 || step === steps - 1) {
      lab.emit({ type: "points", figure: "loss", series: "loss", points: window });
      window = [];
      lab.emit({
        type: "figure",
        figure: {
          kind: "stats",
          id: "stats",
          title: "Training",
          items: [
            { label: "step", value: `${step + 1} / ${steps}` },
            { label: "loss", value: loss.toFixed(4) },
            { label: "uniform guess", value: Math.log(vocabSize).toFixed(4) },
          ],
        },
      });
    }
  });
  const blockSize = param.number(params, "blockSize");
  const valLoss = await estimateLoss(model, val, blockSize);
  lab.emit({
    type: "figure",
    figure: {
      kind: "stats",
      id: "stats",
      title: `After ${steps} steps`,
      items: [
        { label: "parameters", value: String(model.numParameters()) },
        { label: "val loss", value: valLoss.toFixed(4) },
        { label: "uniform guess", value: Math.log(chars.length).toFixed(4) },
        { label: "lecture (5,000 steps, 10.8M)", value: "val 1.4873" },
      ],
    },
  });
  const sample = await model.generate([0], 200, { generator: new Random(1), topK: null });
  const text = [...(await sample.data())].map((i) => chars[i]!).join("");
  lab.emit({ type: "log", text: `sample: ${text.slice(1)}` });
}

// #region attention-maps
/** Forward the prompt once with a probe on each attention's attn_dropout: its input is the softmaxed weights. */
function attentionMaps(model: GPT, ids: number[]): number[][][][] {
  const weights = capture(
    [...model.transformer.h].map((block) => block.attn.attn_dropout),
    { input: true },
  );
  try {
    noGrad(() => model.forward(tensor([ids], { dtype: "int32" })));
    // Each layer's weights: [1, nHead, T, T] → per head a T × T matrix.
    return Array.from(
      { length: model.config.nLayer },
      (_, l) => weights.values[l]!.select(0, 0).tolist() as number[][][],
    );
  } finally {
    weights.remove();
  }
}
// #endregion

/**
 * The prompt's characters the model has a token for. The others are not dropped silently: the log
 * names them and shows the prompt with each marked where it was.
 */
function knownCharacters(text: string, stoi: Map<string, number>, lab: LabContext): string[] {
  const chars = [...text];
  const known = chars.filter((c) => stoi.has(c));
  const unknown = [...new Set(chars.filter((c) => !stoi.has(c)))];
  if (unknown.length > 0) {
    const shown = (c: string) => JSON.stringify(c).slice(1, -1);
    const marked = chars.map((c) => (stoi.has(c) ? c : `⟦${shown(c)}⟧`)).join("");
    lab.emit({
      type: "log",
      text: `Not in the ${stoi.size} characters of tiny Shakespeare, so left out: ${unknown.map((c) => `"${shown(c)}"`).join(", ")}. The prompt, with them marked: ${marked}`,
    });
  }
  if (known.length === 0)
    throw new RangeError(
      `prompt: none of its characters is in the vocabulary (${stoi.size} characters of tiny Shakespeare); type a few characters of English text`,
    );
  return known;
}

async function attentionExperiment(params: Params, lab: LabContext): Promise<void> {
  const { model, chars, val } = await trainCharGPT(params, lab);
  const stoi = new Map(chars.map((c, i) => [c, i]));
  const prompt = knownCharacters(param.string(params, "prompt"), stoi, lab);
  const blockSize = param.number(params, "blockSize");
  const shown = prompt.slice(-blockSize);
  if (shown.length < prompt.length)
    lab.emit({
      type: "log",
      text: `The prompt is cut to its last ${blockSize} characters (the block size).`,
    });
  const maps = attentionMaps(
    model,
    shown.map((c) => stoi.get(c)!),
  );
  const labels = shown.map((c) => (c === " " ? "␣" : c === "\n" ? "↵" : c));
  const hint = "Click a cell to see how much that character takes from the earlier one, and why.";
  for (const [layer, heads] of maps.entries()) {
    for (const [head, values] of heads.entries()) {
      lab.emit({
        type: "figure",
        figure: {
          kind: "heatmap",
          id: `attn-${layer}-${head}`,
          title: `block ${layer}, head ${head}`,
          values,
          rowLabels: labels,
          colLabels: labels,
          text: false,
          caption: "Row: the query character; column: the earlier character it attends to.",
        },
      });
      lab.onSelect(
        `attn-${layer}-${head}`,
        ([i, j]) => headDetail(lab, { layer, head, values, labels, i: i!, j: j! }),
        hint,
      );
    }
  }
  lab.emit({
    type: "log",
    text: `${maps.length} layers × ${maps[0]!.length} heads on "${shown.join("")}" (${shown.length} characters); each row sums to 1.`,
  });
  await headAblation(lab, new GPTProbe(model, { val, windows: VAL_WINDOWS, decode: (id) => chars[id]! }), {
    prompt: shown.map((c) => stoi.get(c)!),
    label: `the prompt "…${shown.slice(-12).join("").replace(/\n/g, "↵")}"`,
  });
}

/** Windows of the val text (of the block size each) that ablations are measured on. */
const VAL_WINDOWS = 64;

// #region head-ablation
/**
 * Which head matters most: the val loss with each head's output set to zero in turn (a forward
 * pre-hook on its block's c_proj, removed after each run), against the unchanged model's.
 */
async function headAblation(
  lab: LabContext,
  probe: GPTProbe,
  prompt: { prompt: number[]; label: string },
): Promise<void> {
  const base = await probe.loss();
  const deltas = (await probe.headSweep()).map((row) => row.map((loss) => loss - base));
  // #endregion
  let worst = { layer: 0, head: 0 };
  for (const [layer, row] of deltas.entries())
    for (const [head, d] of row.entries()) if (d > deltas[worst.layer]![worst.head]!) worst = { layer, head };
  const hurt = deltas[worst.layer]![worst.head]!;
  const sentence =
    hurt > 0
      ? `Without block ${worst.layer}, head ${worst.head} the val loss rises most: ${base.toFixed(3)} → ${(base + hurt).toFixed(3)} (+${hurt.toFixed(3)}, ${((100 * hurt) / base).toFixed(1)}%), on ${probe.tokens.toLocaleString("en")} val characters.`
      : `No head's ablation raises the val loss (${base.toFixed(3)} on ${probe.tokens.toLocaleString("en")} val characters): this model has not learned to need any of them yet; train it longer.`;
  lab.emit({
    type: "figure",
    figure: {
      kind: "heatmap",
      id: "head-ablation",
      title: "Δ val loss when one head is ablated (its output set to 0)",
      values: deltas,
      rowLabels: deltas.map((_, l) => `block ${l}`),
      colLabels: deltas[0]!.map((_, h) => `head ${h}`),
      text: true,
      cellText: deltas.map((row) => row.map((d) => `${d >= 0 ? "+" : ""}${d.toFixed(3)}`)),
      scheme: "diverging",
      caption: `${sentence} Blue: the loss goes up without the head (the model needs it); orange: it goes down.`,
    },
  });
  lab.emit({ type: "log", text: sentence });
  const detail = (figure: string, [layer, head]: number[], action?: string) => {
    const d = deltas[layer!]?.[head!];
    if (d === undefined)
      throw new RangeError(
        `no head ${head} in layer ${layer} (layers 0 to ${deltas.length - 1}, heads 0 to ${deltas[0]!.length - 1})`,
      );
    const of = { figure, target: [layer!, head!] };
    if (action !== undefined)
      return gptIntervention(probe, { layer: layer!, head: head! }, action, {
        of,
        prompt: prompt.prompt,
        promptLabel: prompt.label,
        sampleTokens: 80,
      }).then((figure) => lab.emit({ type: "figure", figure }));
    const hs = probe.model.config.nEmbd / probe.model.config.nHead;
    lab.emit({
      type: "figure",
      figure: {
        kind: "detail",
        id: "detail",
        title: `Block ${layer}, head ${head}: what the model loses without it`,
        wide: true,
        of,
        values: [
          { label: "val loss, unchanged", value: base },
          { label: "val loss, head set to 0", value: base + d },
          { label: "change Δ", value: signedLoss(d) },
          { label: "rank (1: hurts most)", value: 1 + deltas.flat().filter((x) => x > d).length },
          { label: "its channels of c_proj's input", value: `${head! * hs} to ${(head! + 1) * hs - 1}` },
        ],
        tex: `\\Delta L = L(y_{${head}} \\leftarrow 0) - L = ${d >= 0 ? "+" : ""}${d.toFixed(4)}`,
        code: { file: THIS, region: "head-ablation", line: "const deltas = (await probe.headSweep())" },
        caption:
          "Ablate it here to see, side by side with the unchanged model, the next characters it predicts and a sample.",
        actions: headActions,
      },
    });
  };
  lab.onSelect(
    "head-ablation",
    (target, action) => detail("head-ablation", target, action),
    "Click a head to see what the model loses without it, and to ablate it.",
  );
  lab.onSelect("head", (target, action) => detail("head", target, action));
}

/** One cell of a head's attention map: what query i takes from key j, and the rest of its row. */
function headDetail(
  lab: LabContext,
  {
    layer,
    head,
    values,
    labels,
    i,
    j,
  }: { layer: number; head: number; values: number[][]; labels: string[]; i: number; j: number },
): void {
  const row = values[i];
  if (!row || j < 0 || j >= row.length) throw new RangeError(`the map has no cell ${i}, ${j}`);
  const top = row.indexOf(Math.max(...row));
  const entropy = -row.reduce((h, p) => (p > 0 ? h + p * Math.log(p) : h), 0);
  lab.emit({
    type: "figure",
    figure: {
      kind: "detail",
      id: "detail",
      title: `Block ${layer}, head ${head}: "${labels[i]}" (position ${i}) looking at "${labels[j]}" (position ${j})`,
      wide: true,
      of: { figure: `attn-${layer}-${head}`, target: [i, j] },
      values: [
        { label: "weight att[i, j]", value: row[j]! },
        { label: "its row sums to", value: row.reduce((a, b) => a + b, 0) },
        { label: `strongest key for "${labels[i]}"`, value: `"${labels[top]}" (position ${top})` },
        { label: "entropy of the row (nats)", value: entropy },
        { label: "a future key's weight", value: j > i ? "0 (masked)" : "–" },
      ],
      tokens: {
        label: `what "${labels[i]}" takes from each earlier character`,
        tokens: row.slice(0, i + 1).map((value, k) => ({ text: labels[k]!, value })),
      },
      tex: `\\text{att}[${i}, ${j}] = \\frac{\\exp(q_{${i}} \\cdot k_{${j}} / \\sqrt{d_k})}{\\sum_{j' \\le ${i}} \\exp(q_{${i}} \\cdot k_{j'} / \\sqrt{d_k})} = ${row[j]!.toFixed(4)}`,
      code: {
        file: "src/models/gpt.ts",
        symbol: "export class CausalSelfAttention",
        line: "let att = causalAttentionWeights(q, k, scale);",
      },
    },
  });
}

// #region inside
/** Train briefly, then look inside: the block, the residual stream, the logit lens, the neurons. */
async function insideExperiment(params: Params, lab: LabContext): Promise<void> {
  const { model, chars, val } = await trainCharGPT(params, lab);
  const stoi = new Map(chars.map((c, i) => [c, i]));
  const prompt = knownCharacters(param.string(params, "prompt"), stoi, lab);
  const ids = prompt.slice(-param.number(params, "blockSize")).map((c) => stoi.get(c)!);
  // The val text: what each neuron responds to over it, and what ablating a neuron or head costs.
  const data = { val, windows: VAL_WINDOWS, sampleTokens: 80 };
  await lookInside(lab, { model, ids, decode: (id) => chars[id]!, gradients: true, data });
}
// #endregion

const modelParams = {
  nLayer: { kind: "int", label: "layers", default: 2, min: 1, max: 8 },
  nHead: { kind: "int", label: "heads", default: 4, min: 1, max: 8 },
  nEmbd: { kind: "int", label: "embedding size", default: 32, min: 8, max: 256, step: 8 },
  blockSize: { kind: "int", label: "context (block size)", default: 32, min: 4, max: 256 },
  batchSize: { kind: "int", label: "batch size", default: 16, min: 1, max: 64 },
  lr: { kind: "number", label: "learning rate", default: 3e-3, min: 1e-5, max: 1 },
  seed: { kind: "int", label: "seed", default: 1337 },
} as const;

export const lesson: Lesson = {
  id: "07-gpt",
  number: 7,
  title: "GPT from scratch",
  summary:
    "Self-attention as a weighted average of the past, a character-level GPT trained on Shakespeare, and what its heads attend to.",
  lecture: {
    title: "Let's build GPT: from scratch, in code, spelled out",
    url: "https://www.youtube.com/watch?v=kCc8FmEb1nY",
  },
  sections: [
    {
      id: "aggregation",
      title: "The mathematical trick in self-attention",
      cells: [
        {
          kind: "text",
          text: "A token should talk to the tokens before it, never to those after. The simplest way: average them. For $x$ of shape $[B, T, C]$, `xbow[b, t]` is the mean of `x[b, 0..t]`. Done with loops it is slow; done as one matrix product with a lower-triangular $T \\times T$ matrix whose rows sum to 1, it is fast. The third form — set the future to $-\\infty$ and take a softmax — gives the same matrix, and is where self-attention starts: replace the zeros by data-dependent affinities $q \\cdot k$ and each token chooses what to average.",
        },
        {
          kind: "math",
          tex: "\\text{wei} = \\operatorname{softmax}\\big(\\operatorname{mask}_{j>i}(0 \\to -\\infty)\\big), \\qquad \\text{xbow} = \\text{wei}\\, x, \\qquad \\operatorname{Attention}(Q,K,V) = \\operatorname{softmax}\\Big(\\frac{QK^\\top}{\\sqrt{d_k}} + M\\Big) V",
        },
        { kind: "code", file: THIS, region: "aggregation" },
      ],
      experiment: {
        id: "aggregation",
        title: "Three versions of weighted aggregation",
        params: {
          T: { kind: "int", label: "tokens T", default: 8, min: 1, max: 32 },
          seed: { kind: "int", label: "seed", default: 1337 },
        },
        run: aggregationTrick,
      },
    },
    {
      id: "gpt",
      title: "A character GPT on Shakespeare",
      cells: [
        {
          kind: "text",
          text: "The model is GPT-2's: token and position embeddings, then blocks of causal self-attention (several heads side by side) and an MLP, each in a residual branch behind a LayerNorm, and a final linear layer to the 65 characters. The lecture trains 6 layers, 6 heads, 384 channels and a context of 256 for 5,000 steps on a GPU; the defaults here are small enough to watch train in a browser.",
        },
        {
          kind: "math",
          tex: "x_0 = W_{te}[\\text{idx}] + W_{pe}[0..T), \\quad x \\leftarrow x + \\operatorname{Attn}(\\operatorname{LN}(x)), \\quad x \\leftarrow x + \\operatorname{MLP}(\\operatorname{LN}(x))",
        },
        { kind: "code", file: "src/models/gpt.ts", symbol: "export class CausalSelfAttention" },
        { kind: "code", file: "src/models/gpt.ts", symbol: "export class Block", collapsed: true },
        { kind: "code", file: THIS, region: "train", caption: "The training loop", collapsed: true },
      ],
      experiment: {
        id: "gpt",
        title: "Train a character GPT",
        streaming: true,
        webgpu: true,
        params: { steps: { kind: "int", label: "steps", default: 500, min: 1, max: 20_000 }, ...modelParams },
        run: trainGPTExperiment,
      },
    },
    {
      id: "attention",
      title: "What the heads attend to",
      cells: [
        {
          kind: "text",
          text: "Each head of each layer has its own $T \\times T$ weights for a given text: row $i$ is how much character $i$ takes from each earlier character. The experiment trains a small GPT briefly, then runs your prompt through it with a hook on each attention's `attn_dropout` reading its input, the softmaxed weights (`capture`; without a hook the fused kernel runs and never forms them, so training pays nothing). Some heads look at the previous character, some at the start of a word, some spread out.",
        },
        { kind: "code", file: THIS, region: "attention-maps" },
        {
          kind: "text",
          text: "Which head does the model need most? Take each head away in turn — set its output to zero with a forward pre-hook on its block's `c_proj`, which reads the heads' outputs side by side — and measure the loss on the same 64 windows of the val text; the hook is removed right after, so the model is exactly as it was. The experiment ends with that table and names the head whose absence hurts the loss most. Click a head to ablate it (or set it to its mean output) and see, next to the unchanged model, the loss, the next characters it predicts after your prompt and a sample drawn with the same seed.",
        },
        { kind: "code", file: THIS, region: "head-ablation", caption: "Ablating each head in turn" },
        {
          kind: "code",
          file: "lessons/interventions.ts",
          region: "set-channels",
          caption: "The hook",
          collapsed: true,
        },
      ],
      experiment: {
        id: "attention",
        title: "Attention of a typed prompt, per layer and head",
        params: {
          prompt: { kind: "text", label: "prompt", default: "ROMEO: But soft, what light", rows: 2 },
          steps: { kind: "int", label: "training steps first", default: 150, min: 0, max: 5000 },
          ...modelParams,
        },
        run: attentionExperiment,
      },
    },
    {
      id: "inside",
      title: "Inside the model: neurons, the residual stream, the logit lens",
      cells: [
        {
          kind: "text",
          text: "A block reads the **residual stream** $x$ — one vector of $C$ numbers per token — and adds to it twice: what attention gathers from earlier tokens, and what the MLP's $4C$ neurons compute from each token on its own. Forward your prompt once with probes hooked on every block (`traceGPT`) and look: the block drawn as tensors with this model's real shapes (click a box for its code), the size of the stream after each layer, and the **logit lens** — read each layer's stream through the final LayerNorm and the output layer, as if the model stopped there, and see its guess of the next character sharpen layer by layer.",
        },
        {
          kind: "math",
          tex: "a = \\operatorname{GELU}\\big(\\operatorname{LN}_2(x)\\, W_{fc}\\big) \\in \\mathbb{R}^{4C}, \\qquad \\text{lens}_\\ell(x) = \\operatorname{softmax}\\big(\\operatorname{LN}_f(x_\\ell)\\, W_{te}^\\top\\big)",
        },
        {
          kind: "text",
          text: "Click one of the most active MLP neurons to see which characters of the prompt excite it most, its weights in and out, its pre-activation, activation and gradient (the prompt's next-character loss, backpropagated once), and the line of `MLP.forward` that computes it; click a head for its attention pattern.",
        },
        {
          kind: "text",
          text: "A neuron's detail also shows its life beyond the prompt. **What it responds to**: the 8 windows of the val text where it fires most, each character coloured by its activation, and a histogram of its activation over all 2,048 val characters. **What it does**: the characters whose logits one unit of its activation raises and lowers — its column of `c_proj` read through the unembedding (the direct logit attribution; ln_f's gain is folded in, its division by the stream's size ignored). **Without it**: ablate it (to 0 or to its mean) or clamp it at its largest value, and compare the val loss, the next-character probabilities and a sample with the unchanged model's.",
        },
        {
          kind: "code",
          file: "lessons/gpt-interventions.ts",
          region: "direct-effect",
          caption: "What a neuron writes to the logits",
          collapsed: true,
        },
        {
          kind: "code",
          file: "src/models/gpt-probes.ts",
          symbol: "export function traceGPT(",
          collapsed: true,
        },
        { kind: "code", file: "lessons/gpt-inside.ts", region: "logit-lens", caption: "The logit lens" },
        { kind: "code", file: THIS, region: "inside", caption: "The experiment", collapsed: true },
      ],
      experiment: {
        id: "inside",
        title: "Look inside a block for a typed prompt",
        params: {
          prompt: { kind: "text", label: "prompt", default: "ROMEO: But soft, what light", rows: 2 },
          steps: { kind: "int", label: "training steps first", default: 150, min: 0, max: 5000 },
          ...modelParams,
        },
        run: insideExperiment,
      },
    },
  ],
};
