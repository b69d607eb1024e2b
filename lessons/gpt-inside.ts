/**
 * Inside a GPT, for lessons 7 and 9: one prompt forwarded with probes on every block (traceGPT),
 * then the block drawn as tensors and neurons with the model's real shapes, the residual stream's
 * norm after each layer, the logit lens (each layer's guess of the next token), the most active
 * MLP neurons and the attention heads; a click on any of them shows its detail, its numbers, the
 * formula and the line of src/models/gpt.ts that computes it. Values are read with await only, so
 * this runs on WebGPU as well (lesson 9).
 */
import type { GPT } from "../src/models/gpt.js";
import { type GPTTrace, traceGPT } from "../src/models/gpt-probes.js";
import { noGrad, type Tensor, tensor } from "../src/tensor/index.js";
import { GPTProbe, type GPTProbeOptions, gptIntervention, gptNeuronLife } from "./gpt-interventions.js";
import { headActions } from "./interventions.js";
import type { DetailFigure, GraphFigure, LabContext, Target } from "./lesson.js";

const MODEL = "src/models/gpt.ts";
const THIS = "lessons/gpt-inside.ts";
/** The most active MLP neurons shown per layer. */
const TOP_NEURONS = 16;
/** Guesses listed in a logit-lens cell's detail. */
const TOP_GUESSES = 5;

export interface InsideOptions {
  model: GPT;
  /** The prompt's token ids (at most the block size). */
  ids: number[];
  /** A token as text. */
  decode: (id: number) => string;
  /** Also backpropagate the prompt's next-token loss, for each neuron's gradient. */
  gradients: boolean;
  /**
   * Held-out tokens: a neuron's detail then shows what it responds to over them and what it does,
   * and offers to ablate it or a head (the val loss on `windows` windows of them, before and after).
   */
  data?: Omit<GPTProbeOptions, "decode"> & { sampleTokens?: number };
}

/** Everything read back from a trace, as plain numbers. */
interface Readout {
  T: number;
  C: number;
  hidden: number;
  nLayer: number;
  nHead: number;
  residualNorms: number[][]; // [layer][t]
  mlpPre: Float32Array[]; // [layer]: T × 4C
  mlpAct: Float32Array[];
  mlpGrad: (Float32Array | null)[];
  attention: Float32Array[]; // [layer]: nh × T × T
  lens: { id: number; p: number }[][][]; // [layer][t]: the top guesses
  loss: number | null;
}

async function read(model: GPT, trace: GPTTrace, T: number): Promise<Readout> {
  const { nEmbd: C, nLayer, nHead } = model.config;
  const residualNorms: number[][] = [];
  const lens: Readout["lens"] = [];
  for (const residual of trace.residuals) {
    const values = await residual.data();
    residualNorms.push(
      Array.from({ length: T }, (_, t) => Math.hypot(...values.subarray(t * C, (t + 1) * C))),
    );
    lens.push(await lensGuesses(model, residual, T));
  }
  const all = (list: Tensor[]) => Promise.all(list.map(async (t) => (await t.data()) as Float32Array));
  return {
    T,
    C,
    hidden: 4 * C,
    nLayer,
    nHead,
    residualNorms,
    mlpPre: await all(trace.mlpPre),
    mlpAct: await all(trace.mlpAct),
    mlpGrad: await Promise.all(
      trace.mlpAct.map(async (a) => (a.grad ? ((await a.grad.data()) as Float32Array) : null)),
    ),
    attention: await all(trace.attention),
    lens,
    loss: trace.loss ? (await trace.loss.data())[0]! : null,
  };
}

// #region logit-lens
/** The logit lens: a layer's residual stream read out as if it were the last (ln_f, then lm_head). */
async function lensGuesses(model: GPT, residual: Tensor, T: number): Promise<{ id: number; p: number }[][]> {
  const probs = noGrad(() => model.logitLens(residual).softmax(-1)); // [1, T, V]
  const p = await probs.data();
  probs.dispose();
  const V = model.config.vocabSize;
  return Array.from({ length: T }, (_, t) => topK(p.subarray(t * V, (t + 1) * V), TOP_GUESSES));
}
// #endregion

function topK(values: ArrayLike<number>, k: number): { id: number; p: number }[] {
  const best: { id: number; p: number }[] = [];
  for (let i = 0; i < values.length; i++) {
    const p = values[i]!;
    if (best.length < k || p > best[best.length - 1]!.p) {
      best.push({ id: i, p });
      best.sort((a, b) => b.p - a.p);
      if (best.length > k) best.pop();
    }
  }
  return best;
}

/** Run the prompt through the model and draw what is inside; clicks answer until the next run. */
export async function lookInside(lab: LabContext, options: InsideOptions): Promise<void> {
  const { model, ids, decode } = options;
  const T = ids.length;
  const idx = tensor([ids], { dtype: "int32" });
  const targets = options.gradients && T > 1 ? tensor([[...ids.slice(1), -1]], { dtype: "int32" }) : null;
  const trace = traceGPT(model, idx, { targets });
  const r = await read(model, trace, T);
  const labels = ids.map((id) => shown(decode(id)));
  const layerNames = ["embeddings", ...Array.from({ length: r.nLayer }, (_, l) => `block ${l}`)];
  const last = T - 1;
  const probe = options.data ? new GPTProbe(model, { ...options.data, decode }) : null;
  const intervene = async (
    unit: { layer: number; neuron: number } | { layer: number; head: number },
    action: string,
    of: DetailFigure["of"],
  ) => {
    if (!probe) throw new RangeError("this experiment has no val data to measure an intervention on");
    const figure = await gptIntervention(probe, unit, action, {
      of,
      prompt: ids,
      promptLabel: `the prompt "…${ids.slice(-12).map(decode).join("").replace(/\n/g, "↵")}"`,
      sampleTokens: options.data?.sampleTokens ?? 40,
    });
    lab.emit({ type: "figure", figure });
  };

  // The block as tensors and neurons, each box clickable.
  const block = blockDiagram(model, T);
  lab.emit({ type: "figure", figure: block.figure });
  lab.onSelect(
    "block",
    ([k]) => {
      const node = block.nodes[k ?? -1];
      if (!node) throw new RangeError(`the diagram has no box ${k}`);
      lab.emit({ type: "figure", figure: { ...node.detail, of: { figure: "block", target: [k!] } } });
    },
    "Click a box to see the tensor's shape, its formula and the line of code that computes it.",
  );

  // The residual stream's size as it flows up.
  lab.emit({
    type: "figure",
    figure: {
      kind: "line",
      id: "residual-norm",
      title: "The residual stream's norm ‖x‖ after each layer",
      xLabel: "layer (0: the embeddings)",
      yLabel: "‖x‖",
      series: ["mean over the prompt", "last token"],
    },
  });
  lab.emit({
    type: "points",
    figure: "residual-norm",
    series: "mean over the prompt",
    points: r.residualNorms.map((n, l) => ({ x: l, y: n.reduce((a, b) => a + b, 0) / T })),
  });
  lab.emit({
    type: "points",
    figure: "residual-norm",
    series: "last token",
    points: r.residualNorms.map((n, l) => ({ x: l, y: n[last]! })),
  });

  // The logit lens.
  lab.emit({
    type: "figure",
    figure: {
      kind: "heatmap",
      id: "logit-lens",
      title: "Logit lens: each layer's guess of the next token",
      wide: true,
      values: r.lens.map((row) => row.map((g) => g[0]!.p)),
      cellText: r.lens.map((row) => row.map((g) => shown(decode(g[0]!.id)))),
      rowLabels: layerNames,
      colLabels: labels,
      xLabel: "after this token of the prompt →",
      caption:
        "Each cell: the most likely next token if the residual stream stopped at that layer; colour: its probability.",
    },
  });
  lab.onSelect(
    "logit-lens",
    ([l, t]) => {
      const guesses = r.lens[l!]?.[t!];
      if (!guesses) throw new RangeError(`the logit lens has no cell ${l}, ${t}`);
      lab.emit({
        type: "figure",
        figure: {
          kind: "detail",
          id: "detail",
          title: `Logit lens, ${layerNames[l!]}, after "${labels[t!]}"`,
          wide: true,
          of: { figure: "logit-lens", target: [l!, t!] },
          values: [
            { label: "layer", value: layerNames[l!]! },
            { label: "position", value: t! },
            { label: "‖x‖", value: r.residualNorms[l!]![t!]! },
            { label: "top guess", value: decode(guesses[0]!.id) },
            { label: "its probability", value: guesses[0]!.p },
          ],
          tokens: {
            label: `the ${TOP_GUESSES} likeliest next tokens`,
            tokens: guesses.map((g) => ({ text: decode(g.id), value: g.p })),
          },
          tex: `P(\\cdot) = \\operatorname{softmax}\\big(W_{te}\\, \\operatorname{LN}_f(x_{${l}}[${t}])\\big)`,
          code: { file: THIS, region: "logit-lens", line: "model.logitLens(residual).softmax(-1)" },
        },
      });
    },
    "Click a cell to see that layer's five likeliest next tokens.",
  );

  // The most active MLP neurons of each layer on the last token.
  const ranked = r.mlpAct.map((act) =>
    topK(act.subarray(last * r.hidden, (last + 1) * r.hidden), Math.min(TOP_NEURONS, r.hidden)),
  );
  lab.emit({
    type: "figure",
    figure: {
      kind: "heatmap",
      id: "mlp-neurons",
      title: `The ${Math.min(TOP_NEURONS, r.hidden)} most active MLP neurons of each block (of ${r.hidden}) on "${labels[last]}"`,
      wide: true,
      values: ranked.map((row) => row.map((n) => n.p)),
      cellText: ranked.map((row) => row.map((n) => String(n.id))),
      rowLabels: layerNames.slice(1),
      colLabels: ranked[0]!.map((_, k) => `#${k + 1}`),
      xLabel: "rank by activation (the number in a cell is the neuron's index)",
      caption: "Colour: the neuron's GELU activation on the last token of the prompt.",
    },
  });
  const neuron = async (
    layer: number,
    n: number,
    of: { figure: string; target: Target },
    action?: string,
  ) => {
    if (!(layer >= 0 && layer < r.nLayer && n >= 0 && n < r.hidden))
      throw new RangeError(
        `no MLP neuron ${n} in block ${layer} (blocks 0 to ${r.nLayer - 1}, neurons 0 to ${r.hidden - 1})`,
      );
    if (action !== undefined) return intervene({ layer, neuron: n }, action, of);
    const mlp = [...model.transformer.h][layer]!.mlp;
    const fc = await mlp.c_fc.weight.data(); // [4C, C]: row n is what the neuron reads
    const proj = await mlp.c_proj.weight.data(); // [C, 4C]: column n is what it writes
    const bias = mlp.c_fc.bias ? (await mlp.c_fc.bias.data())[n]! : undefined;
    const at = (a: Float32Array, t: number) => a[t * r.hidden + n]!;
    const pre = at(r.mlpPre[layer]!, last);
    const act = at(r.mlpAct[layer]!, last);
    const grad = r.mlpGrad[layer];
    const strongest = ids
      .map((id, t) => ({ text: decode(id), value: at(r.mlpAct[layer]!, t), t }))
      .sort((a, b) => b.value - a.value);
    const values: DetailFigure["values"] = [
      { label: bias === undefined ? "pre-activation w·LN(x)" : "pre-activation w·LN(x) + b", value: pre },
      { label: "activation GELU(pre)", value: act },
      ...(bias === undefined ? [] : [{ label: "bias b", value: bias }]),
      {
        label: "d loss / d activation, summed over the prompt",
        value: grad ? ids.reduce((sum, _, t) => sum + at(grad, t), 0) : "not computed for a model this large",
      },
      { label: "most active on", value: `"${shown(strongest[0]!.text)}" (position ${strongest[0]!.t})` },
    ];
    if (r.loss !== null) values.push({ label: "the prompt's next-token loss", value: r.loss });
    const life = probe ? await gptNeuronLife(probe, layer, n, act) : null;
    if (life) values.push(...life.values);
    lab.emit({
      type: "figure",
      figure: {
        kind: "detail",
        id: "detail",
        title: `Block ${layer}, MLP neuron ${n}`,
        wide: true,
        of,
        values,
        ...(life
          ? {
              examples: life.examples,
              histogram: life.histogram,
              effects: life.effects,
              actions: life.actions,
            }
          : {}),
        vectors: [
          { label: "c_fc weights into it", values: [...fc.subarray(n * r.C, (n + 1) * r.C)] },
          {
            label: "c_proj weights out of it",
            values: Array.from({ length: r.C }, (_, c) => proj[c * r.hidden + n]!),
          },
          ...(grad
            ? [
                {
                  label: "d loss / d activation at each position (0 at the last: nothing follows it)",
                  values: ids.map((_, t) => at(grad, t)),
                  labels,
                },
              ]
            : []),
        ],
        tokens: {
          label: "its activation on each token of the prompt, strongest first",
          tokens: strongest.map(({ text, value }) => ({ text, value })),
        },
        tex: `a_{${n}} = \\operatorname{GELU}\\big(w_{${n}} \\cdot \\operatorname{LN}_2(x_t)${mlp.c_fc.bias ? ` + b_{${n}}` : ""}\\big) = \\operatorname{GELU}(${pre.toFixed(3)}) = ${act.toFixed(3)}`,
        code: { file: MODEL, symbol: "export class MLP", line: "x = this.gelu.forward(x);" },
        caption: `A row of c_fc (${r.C} inputs from the residual stream) and a column of c_proj (${r.C} outputs back into it). Its numbers are for the last token, "${labels[last]}".`,
      },
    });
  };
  lab.onSelect(
    "mlp-neurons",
    ([l, k], action) => {
      const id = ranked[l!]?.[k!]?.id;
      if (id === undefined) throw new RangeError(`the figure has no neuron at ${l}, ${k}`);
      return neuron(l!, id, { figure: "mlp-neurons", target: [l!, k!] }, action);
    },
    probe
      ? "Click a neuron to see the contexts that excite it most over the val text, what it writes to the output, and to ablate it."
      : "Click a neuron to see the tokens that excite it most, its weights and its gradient.",
  );
  // Any neuron by block and index (the terminal's --select LAYER:UNIT and --ablate).
  lab.onSelect("unit", ([l, n], action) => neuron(l!, n!, { figure: "unit", target: [l!, n!] }, action));

  // The attention heads, by how far back they look.
  const heads = r.attention.map((att) =>
    Array.from({ length: r.nHead }, (_, h) => {
      let distance = 0;
      for (let i = 0; i < T; i++)
        for (let j = 0; j <= i; j++) distance += (att[(h * T + i) * T + j]! * (i - j)) / T;
      return distance;
    }),
  );
  lab.emit({
    type: "figure",
    figure: {
      kind: "heatmap",
      id: "heads",
      title: "Attention heads: how many tokens back each one looks, on average",
      values: heads,
      rowLabels: layerNames.slice(1),
      colLabels: Array.from({ length: r.nHead }, (_, h) => `head ${h}`),
      text: true,
    },
  });
  const head = (figure: string, [l, h]: Target, action?: string) => {
    const att = r.attention[l!];
    if (!att || h === undefined || h < 0 || h >= r.nHead)
      throw new RangeError(
        `no head ${h} in block ${l} (blocks 0 to ${r.nLayer - 1}, heads 0 to ${r.nHead - 1})`,
      );
    if (action !== undefined) return intervene({ layer: l!, head: h }, action, { figure, target: [l!, h] });
    const pattern = [...att.subarray(h * T * T, (h + 1) * T * T)];
    const row = pattern.slice(last * T, (last + 1) * T);
    const top = row.indexOf(Math.max(...row));
    lab.emit({
      type: "figure",
      figure: {
        kind: "detail",
        id: "detail",
        title: `Block ${l}, head ${h}`,
        wide: true,
        of: { figure, target: [l!, h] },
        values: [
          { label: "head size", value: r.C / r.nHead },
          { label: "mean look-back (tokens)", value: heads[l!]![h]! },
          { label: `"${labels[last]}" attends most to`, value: `"${labels[top]}" (position ${top})` },
          { label: "that weight", value: row[top]! },
        ],
        vectors: [
          {
            label: `its weights for the prompt, ${T} × ${T} (row: query, column: key)`,
            values: pattern,
            image: { width: T, height: T },
          },
        ],
        tokens: {
          label: `what "${labels[last]}" takes from each token`,
          tokens: ids.map((id, j) => ({ text: decode(id), value: row[j]! })),
        },
        tex: `\\text{att}_{${h}} = \\operatorname{softmax}\\Big(\\frac{q_{${h}} k_{${h}}^\\top}{\\sqrt{${r.C / r.nHead}}} + M\\Big), \\qquad y_{${h}} = \\text{att}_{${h}}\\, v_{${h}}`,
        code: {
          file: MODEL,
          symbol: "export class CausalSelfAttention",
          line: "let att = causalAttentionWeights(q, k, scale);",
        },
        ...(probe ? { actions: headActions } : {}),
      },
    });
  };
  lab.onSelect(
    "heads",
    (target, action) => head("heads", target, action),
    probe
      ? "Click a head to see its attention pattern for the prompt, and to ablate it."
      : "Click a head to see its attention pattern for the prompt.",
  );
  lab.onSelect("head", (target, action) => head("head", target, action));

  // What a click shows before any click: the most active neuron of the last block.
  await neuron(r.nLayer - 1, ranked[r.nLayer - 1]![0]!.id, {
    figure: "mlp-neurons",
    target: [r.nLayer - 1, 0],
  });
}

/** A token as the figures show it: whitespace made visible. */
function shown(text: string): string {
  return text.replace(/ /g, "␣").replace(/\n/g, "↵");
}

interface DiagramNode {
  name: string;
  label: string;
  detail: Omit<DetailFigure, "of">;
}

/**
 * One transformer block with its inputs and outputs, as Graphviz: tensors as boxes with the
 * loaded model's shapes, the MLP's hidden layer as a row of neurons, the heads side by side.
 */
export function blockDiagram(model: GPT, T: number): { figure: GraphFigure; nodes: DiagramNode[] } {
  const { nEmbd: C, nHead: nh, nLayer, vocabSize: V } = model.config;
  // A model without biases (lesson 7's) shows none in its formulas; LayerNorm's β likewise.
  const b = model.config.bias ? " + b" : "";
  const hs = C / nh;
  const shape = (...dims: (number | string)[]) => `[${dims.join(", ")}]`;
  const node = (
    name: string,
    title: string,
    dims: string,
    tex: string,
    code: NonNullable<DetailFigure["code"]>,
    caption: string,
  ): DiagramNode => ({
    name,
    label: `${title}\\n${dims}`,
    detail: {
      kind: "detail",
      id: "detail",
      title: `${title} ${dims}`,
      wide: true,
      values: [
        { label: "shape", value: dims },
        { label: "T (prompt tokens)", value: T },
        { label: "C (channels)", value: C },
      ],
      tex,
      code,
      caption,
    },
  });
  const attn = { file: MODEL, symbol: "export class CausalSelfAttention" };
  const block = { file: MODEL, symbol: "export class Block" };
  const mlp = { file: MODEL, symbol: "export class MLP" };
  const gpt = { file: MODEL, symbol: "forward(idx: Tensor, options: GPTForwardOptions = {})" };
  const nodes: DiagramNode[] = [
    node(
      "emb",
      "wte[idx] + wpe[pos]",
      shape(T, C),
      "x_0 = W_{te}[\\text{idx}] + W_{pe}[0..T)",
      { ...gpt, line: "tr.wte.forward(idx).add(embedding(tr.wpe.weight, pos))" },
      `Each of the ${T} tokens becomes a vector of ${C} numbers: its token's row of wte (${V} × ${C}) plus its position's row of wpe.`,
    ),
    node(
      "ln1",
      "ln_1(x)",
      shape(T, C),
      `\\operatorname{LN}(x) = \\gamma \\frac{x - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}}${model.config.bias ? " + \\beta" : ""}`,
      { ...block, line: "const a = this.attn.forward(this.ln_1.forward(x), cache);" },
      "Each token's vector normalised over its channels, before the attention reads it (pre-LN).",
    ),
    node(
      "qkv",
      "c_attn: q, k, v",
      shape(T, 3 * C),
      `[q, k, v] = \\operatorname{LN}(x)\\, W_{attn}${b}`,
      { ...attn, line: "const qkv = this.c_attn.forward(x);" },
      `One linear layer makes each token's query, key and value at once (${C} → ${3 * C}).`,
    ),
    node(
      "heads",
      `${nh} heads`,
      shape(nh, T, hs),
      "q, k, v \\to [n_h, T, C / n_h]",
      { ...attn, line: "qkv.split(C, 2).map(heads)" },
      `The ${C} channels split into ${nh} heads of ${hs}: each head attends on its own.`,
    ),
    node(
      "att",
      "softmax(q·kᵀ/√hs)",
      shape(nh, T, T),
      `\\text{att} = \\operatorname{softmax}\\Big(\\frac{q k^\\top}{\\sqrt{${hs}}} + M\\Big)`,
      { ...attn, line: "let att = causalAttentionWeights(q, k, scale);" },
      "How much each token takes from each earlier one; the mask M hides the future.",
    ),
    node(
      "y",
      "att · v, heads joined",
      shape(T, C),
      "y = \\text{att}\\, v \\to [T, C]",
      { ...attn, line: "y = y.transpose(1, 2).reshape([B, T, C]);" },
      "The weighted sums of the values, the heads put side by side again.",
    ),
    node(
      "proj1",
      "c_proj(y)",
      shape(T, C),
      `\\operatorname{Attn}(x) = y\\, W_{proj}${b}`,
      { ...attn, line: "this.c_proj.forward(y)" },
      "A linear layer mixes the heads' outputs before they are added to the residual stream.",
    ),
    node(
      "add1",
      "x + attn",
      shape(T, C),
      "x \\leftarrow x + \\operatorname{Attn}(\\operatorname{LN}_1(x))",
      { ...block, line: "x = x.add(a.y);" },
      "The residual connection: the attention only adds to the stream.",
    ),
    node(
      "ln2",
      "ln_2(x)",
      shape(T, C),
      "\\operatorname{LN}_2(x)",
      { ...block, line: "x = x.add(this.mlp.forward(this.ln_2.forward(x)));" },
      "Normalised again, for the MLP.",
    ),
    node(
      "fc",
      `c_fc: ${4 * C} neurons`,
      shape(T, 4 * C),
      `h = \\operatorname{LN}_2(x)\\, W_{fc}${b}`,
      { ...mlp, line: "x = this.c_fc.forward(x);" },
      `The MLP's hidden layer: ${4 * C} neurons, each reading all ${C} channels of every token (click the MLP neurons figure below to look at one).`,
    ),
    node(
      "gelu",
      "GELU",
      shape(T, 4 * C),
      "a = \\operatorname{GELU}(h) = h\\, \\Phi(h)",
      { ...mlp, line: "x = this.gelu.forward(x);" },
      "The nonlinearity, neuron by neuron.",
    ),
    node(
      "proj2",
      "c_proj(a)",
      shape(T, C),
      `\\operatorname{MLP}(x) = a\\, W_{proj}${b}`,
      { ...mlp, line: "x = this.c_proj.forward(x);" },
      `Back from ${4 * C} to ${C} channels.`,
    ),
    node(
      "add2",
      "x + mlp",
      shape(T, C),
      "x \\leftarrow x + \\operatorname{MLP}(\\operatorname{LN}_2(x))",
      { ...block, line: "x = x.add(this.mlp.forward(this.ln_2.forward(x)));" },
      `The stream leaves the block; ${nLayer} blocks in all.`,
    ),
    node(
      "lnf",
      "ln_f(x)",
      shape(T, C),
      "\\operatorname{LN}_f(x_L)",
      { ...gpt, line: "x = tr.ln_f.forward(x);" },
      "The final LayerNorm, after the last block.",
    ),
    node(
      "logits",
      "lm_head: logits",
      shape(T, V),
      "\\text{logits} = \\operatorname{LN}_f(x_L)\\, W_{te}^\\top",
      { ...gpt, line: "const logits = linear(x, this.lm_head.weight);" },
      `One score per token of the vocabulary (${V}), from wte itself (weight tying).`,
    ),
  ];
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const box = (name: string, fill: string) =>
    `  ${name} [label="${byName.get(name)!.label}", fillcolor="${fill}", tooltip="${name}"];`;
  // The MLP's hidden layer drawn as neurons: a few circles for its 4C.
  const shownNeurons = Math.min(8, 4 * C);
  const neurons = Array.from(
    { length: shownNeurons },
    (_, i) => `    n${i} [label="", shape=circle, width=0.16, fillcolor="#fbe4e2"];`,
  );
  const dot = [
    "digraph block {",
    '  rankdir=BT; nodesep=0.25; ranksep=0.3; node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, color="#9aa4b1"];',
    box("emb", "#e6eefb"),
    `  subgraph cluster_block { label="block × ${nLayer}"; fontname="Helvetica"; fontsize=10; color="#c9c6bd"; style=rounded;`,
    box("ln1", "#efe6f7"),
    box("qkv", "#e3f4e8"),
    box("heads", "#fdf0d5"),
    box("att", "#fdf0d5"),
    box("y", "#fdf0d5"),
    box("proj1", "#e3f4e8"),
    box("add1", "#ffffff"),
    box("ln2", "#efe6f7"),
    box("fc", "#e3f4e8"),
    `    subgraph cluster_neurons { label="${4 * C} neurons"; fontsize=9; color="#e8d6d3"; style=rounded; rank=same;`,
    ...neurons,
    "    }",
    box("gelu", "#fbe4e2"),
    box("proj2", "#e3f4e8"),
    box("add2", "#ffffff"),
    "  }",
    box("lnf", "#efe6f7"),
    box("logits", "#e6eefb"),
    '  emb -> ln1; ln1 -> qkv; qkv -> heads; heads -> att; att -> y; heads -> y [style=dashed, label=" v", fontsize=9];',
    '  y -> proj1; proj1 -> add1; emb -> add1 [style=dashed, label=" residual", fontsize=9];',
    "  add1 -> ln2; ln2 -> fc;",
    ...Array.from(
      { length: shownNeurons },
      (_, i) =>
        `  fc -> n${i} [arrowhead=none, color="#d8c4c0"]; n${i} -> gelu [arrowhead=none, color="#d8c4c0"];`,
    ),
    '  gelu -> proj2; proj2 -> add2; add1 -> add2 [style=dashed, label=" residual", fontsize=9];',
    "  add2 -> lnf; lnf -> logits;",
    "}",
  ].join("\n");
  return {
    figure: {
      kind: "graph",
      id: "block",
      title: `A transformer block of this model (T = ${T}, C = ${C}, ${nh} heads, ${nLayer} layers)`,
      wide: true,
      frames: [
        { dot, caption: "Boxes are tensors with their shapes for this prompt; click one for its code." },
      ],
      nodes: nodes.map((n) => n.name),
    },
    nodes,
  };
}
