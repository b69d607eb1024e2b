/**
 * GPT (lectures 7 and 9): nanoGPT's model, which is GPT-2's architecture. Token + position
 * embeddings, pre-LayerNorm blocks of causal self-attention (fused qkv projection) and a GELU MLP,
 * a final LayerNorm, and an output projection tied to the token embedding.
 *
 * Field names follow nanoGPT, so stateDict() keys read "transformer.h.0.attn.c_attn.weight" and a
 * Hugging Face GPT-2 checkpoint maps onto them by name (see io/gpt2.ts).
 */
import { Dropout, Embedding, GELU, hasHooks, LayerNorm, Linear, Module, ModuleList } from "../nn/index.js";
import { globalRandom, type Random } from "../random/index.js";
import {
  arange,
  argmax,
  assign,
  cat,
  causalAttention,
  causalAttentionWeights,
  crossEntropy,
  embedding,
  fromValues,
  isGradEnabled,
  linear,
  linearGelu,
  lt,
  maskedFill,
  matmul,
  multinomial,
  noGrad,
  randn,
  softmax,
  type Tensor,
  tidy,
  topk,
} from "../tensor/index.js";

export interface GPTConfig {
  /** Longest context (number of learned positions). */
  blockSize: number;
  vocabSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  dropout: number;
  /** Biases in Linear layers and LayerNorms (GPT-2: true). */
  bias: boolean;
  /** "tanh" is GPT-2's gelu_new; nanoGPT's own model uses the exact "none". Default "tanh". */
  gelu?: "tanh" | "none";
  /** LayerNorm epsilon (default 1e-5). */
  layerNormEps?: number;
}

export const GPT_CONFIG_KEYS = [
  "blockSize",
  "vocabSize",
  "nLayer",
  "nHead",
  "nEmbd",
  "dropout",
  "bias",
] as const;

/**
 * The largest size each dimension may take (well past GPT-2 XL and GPT-3's 96 layers of 12,288),
 * checked before a model is built, so a lying file or flag is an error instead of gigabytes.
 */
export const GPT_LIMITS = {
  blockSize: 65_536,
  vocabSize: 1_048_576,
  nLayer: 1024,
  nHead: 1024,
  nEmbd: 65_536,
} as const;

/** The most parameters a GPT may have here (GPT-2 XL has 1.56 billion). */
export const MAX_GPT_PARAMETERS = 2 ** 31;

/** Parameters of a GPT of this config (the tied lm_head counted once), without building it. */
export function gptParameterCount(c: GPTConfig): number {
  const { vocabSize: V, blockSize: T, nEmbd: C, nLayer: L, bias } = c;
  const perLayer = 12 * C * C + (bias ? 13 * C : 2 * C);
  return (V + T) * C + L * perLayer + (bias ? 2 * C : C);
}

export function validateGPTConfig(c: GPTConfig): GPTConfig {
  for (const k of ["blockSize", "vocabSize", "nLayer", "nHead", "nEmbd"] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0 || c[k] > GPT_LIMITS[k])
      throw new RangeError(`GPT config: ${k} must be an integer in [1, ${GPT_LIMITS[k]}], got ${c[k]}`);
  }
  if (c.nEmbd % c.nHead !== 0)
    throw new RangeError(`GPT config: nEmbd ${c.nEmbd} is not divisible by nHead ${c.nHead}`);
  if (!(c.dropout >= 0 && c.dropout < 1))
    throw new RangeError(`GPT config: dropout must be in [0, 1), got ${c.dropout}`);
  const n = gptParameterCount(c);
  if (n > MAX_GPT_PARAMETERS)
    throw new RangeError(
      `GPT config: ${c.nLayer} layers of ${c.nEmbd} with ${c.vocabSize} tokens and ${c.blockSize} positions make ${n} parameters, over the limit of ${MAX_GPT_PARAMETERS}`,
    );
  return c;
}

/**
 * The name and shape of every parameter of a GPT of this config, in namedParameters() order,
 * computed without building it: loaders compare a file's tensors against it before allocating.
 */
export function gptParameterShapes(config: GPTConfig): [string, number[]][] {
  const { vocabSize: V, blockSize: T, nEmbd: C, nLayer, bias } = validateGPTConfig({ ...config });
  const out: [string, number[]][] = [
    ["transformer.wte.weight", [V, C]],
    ["transformer.wpe.weight", [T, C]],
  ];
  const linear = (name: string, nOut: number, nIn: number) => {
    out.push([`${name}.weight`, [nOut, nIn]]);
    if (bias) out.push([`${name}.bias`, [nOut]]);
  };
  const norm = (name: string) => linear(name, C, 0);
  for (let i = 0; i < nLayer; i++) {
    const h = `transformer.h.${i}`;
    norm(`${h}.ln_1`);
    linear(`${h}.attn.c_attn`, 3 * C, C);
    linear(`${h}.attn.c_proj`, C, C);
    norm(`${h}.ln_2`);
    linear(`${h}.mlp.c_fc`, 4 * C, C);
    linear(`${h}.mlp.c_proj`, C, 4 * C);
  }
  norm("transformer.ln_f");
  // A LayerNorm's weight is [C], not [C, 0].
  return out.map(([k, s]) => [k, s[1] === 0 ? [s[0]!] : s]);
}

export interface GPTInitOptions {
  generator?: Random;
  /** Generator for dropout masks (default: the init generator). */
  dropoutGenerator?: Random;
  /** Skip GPT-2's initialisation (a loader overwrites every parameter anyway). */
  skipInit?: boolean;
}

/** Per-layer keys and values of the tokens seen so far, [B, nh, Tpast, hs]. */
export interface KVCache {
  layers: { k: Tensor; v: Tensor }[];
  /** Number of positions cached. */
  length: number;
}

export class CausalSelfAttention extends Module {
  readonly c_attn: Linear;
  readonly c_proj: Linear;
  readonly attn_dropout: Dropout;
  readonly resid_dropout: Dropout;

  constructor(
    readonly nEmbd: number,
    readonly nHead: number,
    bias: boolean,
    dropout: number,
    dropoutGenerator: Random,
  ) {
    super();
    this.c_attn = new Linear(nEmbd, 3 * nEmbd, { bias });
    this.c_proj = new Linear(nEmbd, nEmbd, { bias });
    this.attn_dropout = new Dropout(dropout, dropoutGenerator);
    this.resid_dropout = new Dropout(dropout, dropoutGenerator);
  }

  /** x [B, T, C]; with `cache`, keys and values of earlier positions are prepended and the cache updated. */
  forward(x: Tensor, cache?: { k: Tensor; v: Tensor } | null): { y: Tensor; k: Tensor; v: Tensor } {
    const [B, T, C] = x.shape as [number, number, number];
    const nh = this.nHead;
    const hs = C / nh;
    const qkv = this.c_attn.forward(x);
    const heads = (t: Tensor) => t.reshape([B, T, nh, hs]).transpose(1, 2);
    const [q, kNew, vNew] = qkv.split(C, 2).map(heads) as [Tensor, Tensor, Tensor];
    const k = cache ? cat([cache.k, kNew], 2) : kNew;
    const v = cache ? cat([cache.v, vNew], 2) : vNew;
    const scale = 1 / Math.sqrt(hs);
    let y: Tensor;
    // A fused kernel where the backend has one (nanoGPT's flash attention), unless the weights
    // must exist: for dropout on them in training, or for a hook on attn_dropout (a probe).
    if ((this.training && this.attn_dropout.p > 0) || hasHooks(this.attn_dropout)) {
      // softmax(q·kᵀ/√hs), masked: query i sits at position Tk - T + i and sees keys j <= Tk - T + i.
      let att = causalAttentionWeights(q, k, scale);
      att = this.attn_dropout.forward(att);
      y = matmul(att, v);
    } else y = causalAttention(q, k, v, scale);
    y = y.transpose(1, 2).reshape([B, T, C]);
    return { y: this.resid_dropout.forward(this.c_proj.forward(y)), k, v };
  }
}

export class MLP extends Module {
  readonly c_fc: Linear;
  readonly gelu: GELU;
  readonly c_proj: Linear;
  readonly dropout: Dropout;

  constructor(
    nEmbd: number,
    bias: boolean,
    dropout: number,
    approximate: "tanh" | "none",
    dropoutGenerator: Random,
  ) {
    super();
    this.c_fc = new Linear(nEmbd, 4 * nEmbd, { bias });
    this.gelu = new GELU(approximate);
    this.c_proj = new Linear(4 * nEmbd, nEmbd, { bias });
    this.dropout = new Dropout(dropout, dropoutGenerator);
  }

  forward(x: Tensor): Tensor {
    // gelu(c_fc(x)) is one fused kernel where the backend has one (webgpu); a hook on c_fc or
    // gelu (a probe of the 4C neurons) takes it apart into nanoGPT's two steps.
    if (!hasHooks(this.c_fc) && !hasHooks(this.gelu))
      x = linearGelu(x, this.c_fc.weight, this.c_fc.bias, this.gelu.approximate);
    else {
      x = this.c_fc.forward(x); // each of the 4C neurons: w·x + b
      x = this.gelu.forward(x);
    }
    x = this.c_proj.forward(x);
    return this.dropout.forward(x);
  }
}

export class Block extends Module {
  readonly ln_1: LayerNorm;
  readonly attn: CausalSelfAttention;
  readonly ln_2: LayerNorm;
  readonly mlp: MLP;

  constructor(c: GPTConfig, dropoutGenerator: Random) {
    super();
    const eps = c.layerNormEps ?? 1e-5;
    this.ln_1 = new LayerNorm(c.nEmbd, { eps, bias: c.bias });
    this.attn = new CausalSelfAttention(c.nEmbd, c.nHead, c.bias, c.dropout, dropoutGenerator);
    this.ln_2 = new LayerNorm(c.nEmbd, { eps, bias: c.bias });
    this.mlp = new MLP(c.nEmbd, c.bias, c.dropout, c.gelu ?? "tanh", dropoutGenerator);
  }

  forward(x: Tensor, cache?: { k: Tensor; v: Tensor } | null): { x: Tensor; k: Tensor; v: Tensor } {
    const a = this.attn.forward(this.ln_1.forward(x), cache);
    x = x.add(a.y);
    x = x.add(this.mlp.forward(this.ln_2.forward(x)));
    return { x, k: a.k, v: a.v };
  }
}

class Transformer extends Module {
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly drop: Dropout;
  readonly h: ModuleList<Block>;
  readonly ln_f: LayerNorm;

  constructor(c: GPTConfig, dropoutGenerator: Random) {
    super();
    this.wte = new Embedding(c.vocabSize, c.nEmbd);
    this.wpe = new Embedding(c.blockSize, c.nEmbd);
    this.drop = new Dropout(c.dropout, dropoutGenerator);
    this.h = new ModuleList(Array.from({ length: c.nLayer }, () => new Block(c, dropoutGenerator)));
    this.ln_f = new LayerNorm(c.nEmbd, { eps: c.layerNormEps ?? 1e-5, bias: c.bias });
  }
}

/** The output projection, its weight shared with wte (weight tying). */
class TiedHead extends Module {
  constructor(readonly weight: Tensor) {
    super();
  }
}

export interface GPTForwardOptions {
  /** int32 [B, T]: return the mean cross-entropy as `loss` (targets -1 are ignored). */
  targets?: Tensor | null;
  /** Keys/values of earlier positions; updated in place (layers and length). */
  cache?: KVCache | null;
  /** Only compute logits for the last position ([B, 1, V]), as nanoGPT does at inference. */
  lastOnly?: boolean;
}

export interface GenerateOptions {
  /** Divide the logits by this; 0 means greedy (argmax). Default 1. */
  temperature?: number;
  /** Sample only among the k most likely tokens. */
  topK?: number | null;
  generator?: Random;
  /** Reuse keys and values of earlier positions (default true). */
  kvCache?: boolean;
  /** Called with each new token id (batch row 0), for streaming output. */
  onToken?: (id: number) => void;
  /**
   * Choose only ids below this: a vocabulary padded past its tokenizer's (build-nanogpt's 50,304
   * for GPT-2's 50,257) has rows no text ever trained. Default: the whole vocabulary.
   */
  vocabLimit?: number;
}

export class GPT extends Module {
  readonly config: GPTConfig;
  readonly transformer: Transformer;
  readonly lm_head: TiedHead;

  constructor(
    config: GPTConfig,
    { generator = globalRandom, dropoutGenerator, skipInit = false }: GPTInitOptions = {},
  ) {
    super();
    this.config = validateGPTConfig({ ...config });
    // tidy frees the layers' throwaway init tensors at once (parameters are kept): GPT-2 sized
    // models would otherwise hold several copies until garbage collection.
    this.transformer = tidy(() => new Transformer(this.config, dropoutGenerator ?? generator));
    this.lm_head = new TiedHead(this.transformer.wte.weight);
    if (!skipInit) this.initWeights(generator);
  }

  /**
   * GPT-2's initialisation: N(0, 0.02) for Linear and Embedding weights, zero biases, and
   * N(0, 0.02/√(2·nLayer)) for the projections that add into the residual stream (c_proj).
   */
  initWeights(generator: Random = globalRandom): void {
    noGrad(() => {
      const std = 0.02;
      const resid = 0.02 / Math.sqrt(2 * this.config.nLayer);
      for (const [name, p] of this.namedParameters()) {
        if (name.endsWith(".bias") && !name.includes("ln_")) assign(p, 0);
        else if (name.includes("ln_")) assign(p, name.endsWith(".weight") ? 1 : 0);
        else
          tidy(() => {
            assign(
              p,
              randn(p.shape as number[], { generator }).mul(name.endsWith("c_proj.weight") ? resid : std),
            );
          });
      }
    });
  }

  /**
   * Number of parameters (the tied wte/lm_head counted once). nanoGPT reports it without the
   * position embeddings: pass { nonEmbedding: true } for that figure.
   */
  override numParameters({ nonEmbedding = false }: { nonEmbedding?: boolean } = {}): number {
    const n = super.numParameters();
    return nonEmbedding ? n - this.transformer.wpe.weight.numel() : n;
  }

  /** The blocks' attention modules (a probe hooks their attn_dropout to read the weights). */
  get attentionLayers(): CausalSelfAttention[] {
    return [...this.transformer.h].map((b) => b.attn);
  }

  /**
   * The logit lens: read a residual stream [B, T, C] as if it were the last layer's, through the
   * final LayerNorm and the output projection: logits [B, T, V], each layer's guess of the next token.
   */
  logitLens(residual: Tensor): Tensor {
    return linear(this.transformer.ln_f.forward(residual), this.lm_head.weight);
  }

  /** idx int32 [B, T] → logits [B, T, V] (and loss with targets). */
  forward(idx: Tensor, options: GPTForwardOptions = {}): { logits: Tensor; loss: Tensor | null } {
    const { targets = null, cache = null, lastOnly = false } = options;
    if (idx.ndim !== 2 || idx.dtype !== "int32")
      throw new RangeError(
        `GPT.forward: expected int32 token ids [B, T], got ${idx.dtype} [${idx.shape.join(", ")}]`,
      );
    const [, T] = idx.shape as [number, number];
    const past = cache?.length ?? 0;
    if (past + T > this.config.blockSize) {
      throw new RangeError(
        `GPT.forward: cannot forward ${past + T} positions, the block size is only ${this.config.blockSize}`,
      );
    }
    const tr = this.transformer;
    const pos = arange(past, past + T);
    let x = tr.drop.forward(tr.wte.forward(idx).add(embedding(tr.wpe.weight, pos)));
    const blocks = [...tr.h];
    const inference = !isGradEnabled();
    blocks.forEach((block, i) => {
      const past = cache && cache.length > 0 ? cache.layers[i] : null;
      // Inference frees each block's temporaries (attention maps of [B, nh, T, T]) as it goes.
      const out = inference ? tidy(() => block.forward(x, past)) : block.forward(x, past);
      x = out.x;
      if (cache) {
        const prev = cache.layers[i];
        cache.layers[i] = { k: out.k, v: out.v };
        // Inference: the old keys/values were copied into the new ones; free them now rather than
        // leave a long generation's growing copies to the garbage collector.
        if (prev && inference) {
          prev.k.dispose();
          prev.v.dispose();
        }
      }
    });
    if (cache) cache.length = past + T;
    x = tr.ln_f.forward(x);
    if (lastOnly && !targets) x = x.slice(1, T - 1, T);
    const logits = linear(x, this.lm_head.weight);
    let loss: Tensor | null = null;
    if (targets) {
      const V = this.config.vocabSize;
      loss = crossEntropy(logits.reshape([-1, V]), targets.reshape([-1]), { ignoreIndex: -1 });
    }
    return { logits, loss };
  }

  /** An empty cache to pass to forward(). */
  newCache(): KVCache {
    return { layers: [], length: 0 };
  }

  /**
   * Append maxNewTokens tokens to each row of idx (int32 [B, T] or a list of ids for one row),
   * feeding predictions back in. The context is cropped to the last blockSize tokens (with the KV
   * cache, the cache restarts from the cropped context once it is full). Runs in eval mode. Each
   * token is read back with await as it is made: on js and wasm the reads resolve at once, on
   * webgpu they wait for the device. The same generator gives the same tokens on every backend.
   */
  async generate(
    idx: Tensor | number[],
    maxNewTokens: number,
    options: GenerateOptions = {},
  ): Promise<Tensor> {
    const prompt = promptRows(idx, Array.isArray(idx) ? null : await idx.data());
    const decoder = this.decoder(prompt, maxNewTokens, options);
    try {
      for (let n = 0; n < maxNewTokens; n++) {
        const { next, probs } = noGrad(() => decoder.step());
        const token = next ?? (await multinomial(probs!, 1, { generator: decoder.generator }));
        probs?.dispose();
        const ids = await token.data();
        token.dispose();
        decoder.append(ids);
      }
      return decoder.result();
    } finally {
      decoder.done();
    }
  }

  /**
   * The decoding loop's state: each step forwards the new position (or the cropped context) and
   * returns the next token (greedy) or the probabilities to sample it from. The tokens are kept as
   * numbers and each step's input is built from them, and every tensor a step makes is freed by the
   * next (the cache replaced when the window slides), so memory stays flat however long the
   * generation.
   */
  private decoder(rows: Int32Array[], maxNewTokens: number, options: GenerateOptions) {
    const { temperature = 1, topK = null, generator = globalRandom, kvCache = true, onToken } = options;
    if (!Number.isSafeInteger(maxNewTokens) || maxNewTokens < 0 || maxNewTokens > MAX_GENERATED_TOKENS)
      throw new RangeError(
        `GPT.generate: the number of new tokens must be an integer in [0, ${MAX_GENERATED_TOKENS}], got ${maxNewTokens}`,
      );
    const B = rows.length;
    if (B === 0) throw new RangeError("GPT.generate: the prompt batch is empty (shape [0, T])");
    const promptLength = rows[0]!.length;
    if (promptLength === 0) throw new RangeError("GPT.generate: the prompt needs at least one token");
    const ids = rows.map((row) => {
      const all = new Int32Array(promptLength + maxNewTokens);
      all.set(row);
      return all;
    });
    let T = promptLength;
    const V = this.config.vocabSize;
    const limit = options.vocabLimit ?? V;
    if (!Number.isInteger(limit) || limit < 1 || limit > V)
      throw new RangeError(`GPT.generate: vocabLimit must be a whole number from 1 to ${V}, got ${limit}`);
    const wasTraining = this.training;
    this.eval();
    const bs = this.config.blockSize;
    let cache: KVCache | null = null;
    const freeCache = () => {
      for (const layer of cache?.layers ?? []) {
        layer.k.dispose();
        layer.v.dispose();
      }
      cache = null;
    };
    /** Rows [from, T) of every row as an int32 [B, T - from] tensor. */
    const window = (from: number) => {
      const flat = new Int32Array(B * (T - from));
      for (let b = 0; b < B; b++) flat.set(ids[b]!.subarray(from, T), b * (T - from));
      return fromValues(flat, [B, T - from], { dtype: "int32" });
    };
    return {
      generator,
      step: (): { next: Tensor | null; probs: Tensor | null } => {
        const out = tidy(() => {
          let input: Tensor;
          if (kvCache && cache && cache.length > 0 && cache.length + 1 <= bs) input = window(T - 1);
          else {
            // Rebuilt from the cropped context: the old keys and values are no longer needed.
            freeCache();
            input = window(Math.max(0, T - bs));
            cache = kvCache ? this.newCache() : null;
          }
          const { logits } = this.forward(input, { cache, lastOnly: true });
          let last = logits.select(1, logits.shape[1]! - 1); // [B, V]
          if (limit < V) last = last.slice(1, 0, limit);
          if (temperature === 0) return { next: argmax(last, -1, true).cast("int32"), probs: null, cache };
          last = last.div(temperature);
          if (topK !== null && topK !== undefined && topK > 0) {
            const k = Math.min(topK, last.shape[1]!);
            const kth = topk(last, k).values.slice(1, k - 1, k);
            last = maskedFill(last, lt(last, kth), Number.NEGATIVE_INFINITY);
          }
          return { next: null, probs: softmax(last, -1), cache };
        });
        cache = out.cache;
        return { next: out.next, probs: out.probs };
      },
      /** The new token of each row. */
      append: (next: ArrayLike<number>) => {
        for (let b = 0; b < B; b++) ids[b]![T] = next[b]!;
        T++;
        onToken?.(next[0]!);
      },
      result: () => {
        const flat = new Int32Array(B * T);
        for (let b = 0; b < B; b++) flat.set(ids[b]!.subarray(0, T), b * T);
        return fromValues(flat, [B, T], { dtype: "int32" });
      },
      done: () => {
        freeCache();
        this.train(wasTraining);
      },
    };
  }
}

/** The most tokens one generate() call appends to a row (its ids are held in memory). */
export const MAX_GENERATED_TOKENS = 10_000_000;

/** A prompt (ids, or int32 [B, T] with its values) as one Int32Array per row. */
function promptRows(idx: Tensor | number[], values: ArrayLike<number> | null): Int32Array[] {
  if (Array.isArray(idx)) return [Int32Array.from(idx)];
  if (idx.ndim !== 2)
    throw new RangeError(`GPT.generate: expected token ids [B, T], got [${idx.shape.join(", ")}]`);
  const [B, T] = idx.shape as [number, number];
  return Array.from({ length: B }, (_, b) => Int32Array.from({ length: T }, (_, t) => values![b * T + t]!));
}
