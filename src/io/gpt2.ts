/**
 * Hugging Face GPT-2 checkpoints ↔ our GPT. Hugging Face names the tensors "h.0.attn.c_attn.weight"
 * (some checkpoints add a "transformer." prefix) and stores the four projection matrices as Conv1D
 * weights [in, out]; our Linear keeps [out, in], so those are transposed on the way in and out.
 * The causal-mask buffers attn.bias / attn.masked_bias are not parameters and are skipped.
 */
import { GPT, GPT_LIMITS, type GPTConfig } from "../models/gpt.js";
import { noGrad, type Tensor } from "../tensor/index.js";

/** The Hugging Face GPT2Config fields we read. */
export interface HFGPT2Config {
  vocab_size: number;
  n_positions?: number;
  n_ctx?: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  layer_norm_epsilon?: number;
  activation_function?: string;
  tie_word_embeddings?: boolean;
  n_inner?: number | null;
  [key: string]: unknown;
}

const CONV1D = /\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;

export function configFromHF(hf: HFGPT2Config, source = "config.json"): GPTConfig {
  if (typeof hf !== "object" || hf === null || Array.isArray(hf))
    throw new Error(
      `${source}: expected an object of GPT-2 settings, got ${JSON.stringify(hf)?.slice(0, 40)}`,
    );
  const need = (k: string, v: unknown, max: number): number => {
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0 || v > max)
      throw new Error(`${source}: ${k} must be an integer in [1, ${max}], got ${JSON.stringify(v)}`);
    return v;
  };
  const act = hf.activation_function ?? "gelu_new";
  if (!["gelu_new", "gelu_pytorch_tanh", "gelu"].includes(act))
    throw new Error(
      `${source}: activation_function "${act}" is not supported (gelu_new, gelu_pytorch_tanh, gelu)`,
    );
  if (hf.n_inner !== undefined && hf.n_inner !== null && hf.n_inner !== 4 * hf.n_embd)
    throw new Error(`${source}: n_inner ${hf.n_inner} is not supported (the MLP is 4·n_embd wide)`);
  const eps = hf.layer_norm_epsilon ?? 1e-5;
  if (typeof eps !== "number" || !(eps > 0 && eps < 1))
    throw new Error(`${source}: layer_norm_epsilon must be a number in (0, 1), got ${JSON.stringify(eps)}`);
  if (hf.tie_word_embeddings === false)
    throw new Error(`${source}: untied word embeddings are not supported`);
  return {
    blockSize: need("n_positions", hf.n_positions ?? hf.n_ctx, GPT_LIMITS.blockSize),
    vocabSize: need("vocab_size", hf.vocab_size, GPT_LIMITS.vocabSize),
    nLayer: need("n_layer", hf.n_layer, GPT_LIMITS.nLayer),
    nHead: need("n_head", hf.n_head, GPT_LIMITS.nHead),
    nEmbd: need("n_embd", hf.n_embd, GPT_LIMITS.nEmbd),
    dropout: 0,
    bias: true,
    gelu: act === "gelu" ? "none" : "tanh",
    layerNormEps: eps,
  };
}

export function configToHF(c: GPTConfig): HFGPT2Config {
  return {
    activation_function: c.gelu === "none" ? "gelu" : "gelu_new",
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    vocab_size: c.vocabSize,
    n_positions: c.blockSize,
    n_ctx: c.blockSize,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    n_inner: null,
    layer_norm_epsilon: c.layerNormEps ?? 1e-5,
    tie_word_embeddings: true,
    attn_pdrop: c.dropout,
    embd_pdrop: c.dropout,
    resid_pdrop: c.dropout,
    torch_dtype: "float32",
    // GPT-2's <|endoftext|>, where the vocabulary has it.
    ...(c.vocabSize > 50256 ? { bos_token_id: 50256, eos_token_id: 50256 } : {}),
  };
}

/**
 * A config.json against the tensors of its model.safetensors (names and shapes from the header),
 * before a model of the config is allocated: the number of layers and the embeddings' shapes (which
 * fix every other size) must agree. The error names the config file, its fields and values, and what
 * the weights hold; a tensor of the wrong shape is left to the loader, which names the weights.
 */
export function checkHFWeights(
  config: GPTConfig,
  tensors: ReadonlyMap<string, readonly number[]>,
  configFile: string,
  weightsFile: string,
): void {
  const shapes = new Map<string, readonly number[]>();
  let layers = 0;
  for (const [name, shape] of tensors) {
    const ours = hfKeyToOurs(name);
    if (ours === null) continue;
    shapes.set(ours, shape);
    const layer = /^transformer\.h\.(\d+)\./.exec(ours);
    if (layer) layers = Math.max(layers, Number(layer[1]) + 1);
  }
  if (layers !== config.nLayer)
    throw new Error(`${configFile}: n_layer ${config.nLayer}, but ${weightsFile} holds ${layers} layers`);
  const embeddings: [string, string, number][] = [
    ["wte.weight", `vocab_size ${config.vocabSize}`, config.vocabSize],
    ["wpe.weight", `n_positions ${config.blockSize}`, config.blockSize],
  ];
  for (const [hf, field, rows] of embeddings) {
    const have = shapes.get(`transformer.${hf}`);
    if (have && have.join(",") !== `${rows},${config.nEmbd}`)
      throw new Error(
        `${configFile}: ${field} and n_embd ${config.nEmbd} need "${hf}" of [${rows}, ${config.nEmbd}], but in ${weightsFile} "${hf}" is [${have.join(", ")}]`,
      );
  }
}

/** Hugging Face key (with or without "transformer.") → our key, or null for skipped buffers. */
export function hfKeyToOurs(key: string): string | null {
  const k = key.startsWith("transformer.") ? key.slice("transformer.".length) : key;
  if (/\.attn\.(bias|masked_bias)$/.test(k)) return null;
  if (k === "lm_head.weight") return "lm_head.weight";
  return `transformer.${k}`;
}

/** Our key → the Hugging Face key (no prefix); lm_head.weight (tied) → null. */
export function ourKeyToHF(key: string): string | null {
  if (key === "lm_head.weight") return null;
  return key.startsWith("transformer.") ? key.slice("transformer.".length) : key;
}

export function isConv1DKey(key: string): boolean {
  return CONV1D.test(key);
}

/**
 * Copy Hugging Face GPT-2 tensors into `model`. Every parameter must be present; extra keys other
 * than the skipped buffers are an error, as are shape mismatches (both shapes named).
 */
export function loadHFState(model: GPT, tensors: Map<string, Tensor>, source = "weights"): void {
  const own = new Map(model.namedParameters());
  const seen = new Set<string>();
  const unexpected: string[] = [];
  for (const [key, t] of tensors) {
    const ours = hfKeyToOurs(key);
    if (ours === null || ours === "lm_head.weight") continue; // lm_head is tied to wte
    if (!own.has(ours)) unexpected.push(key);
    else {
      loadHFStatePartial(model, key, t, source, own);
      seen.add(ours);
    }
  }
  const missing = [...own.keys()].filter((k) => !seen.has(k)).map((k) => ourKeyToHF(k) ?? k);
  if (missing.length > 0 || unexpected.length > 0) {
    throw new Error(
      `${source}: ${missing.length > 0 ? `missing ${missing.join(", ")}` : ""}${missing.length > 0 && unexpected.length > 0 ? "; " : ""}${unexpected.length > 0 ? `unexpected ${unexpected.join(", ")}` : ""}`,
    );
  }
}

/** Copy one Hugging Face tensor into the matching parameter (transposing Conv1D weights). */
export function loadHFStatePartial(
  model: GPT,
  key: string,
  t: Tensor,
  source = "weights",
  own: Map<string, Tensor> = new Map(model.namedParameters()),
): void {
  const ours = hfKeyToOurs(key);
  const target = ours === null ? undefined : own.get(ours);
  if (!target) throw new Error(`${source}: unexpected tensor "${key}"`);
  const conv = isConv1DKey(key);
  const value = conv ? t.transpose(0, 1) : t;
  if (value.shape.join(",") !== target.shape.join(",")) {
    const expected = conv ? [...target.shape].reverse() : target.shape;
    throw new RangeError(
      `${source}: "${key}" has shape [${t.shape.join(", ")}]${conv ? " (Conv1D [in, out])" : ""}, the model expects [${expected.join(", ")}]`,
    );
  }
  noGrad(() => target.assign(value.cast(target.dtype)));
}

/** A GPT from a Hugging Face config and its tensors. */
export function gptFromHF(hf: HFGPT2Config, tensors: Map<string, Tensor>, source = "weights"): GPT {
  const model = new GPT(configFromHF(hf, source), { skipInit: true });
  loadHFState(model, tensors, source);
  return model;
}

/**
 * Our parameters (or their gradients with `grads: true`) under Hugging Face names and layouts
 * (no prefix, Conv1D weights [in, out], no lm_head.weight).
 */
export function toHFState(model: GPT, { grads = false }: { grads?: boolean } = {}): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [key, p] of model.namedParameters()) {
    const hf = ourKeyToHF(key);
    if (hf === null) continue;
    const t = grads ? p.grad : p;
    if (!t) throw new Error(`toHFState: "${key}" has no gradient`);
    out.set(hf, isConv1DKey(hf) ? t.transpose(0, 1).contiguous() : t);
  }
  return out;
}
