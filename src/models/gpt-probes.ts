/**
 * Probes on a GPT, built on module hooks (nn/probes.ts): the model's code stays nanoGPT's, and a
 * lesson or a tool reaches its insides from outside. traceGPT reads one forward pass (the lab's
 * neuron views and logit lens); ablateHead and ablateNeuron switch a unit off until remove().
 */
import { type AblationMode, ablate, type Capture, capture, type RemovableHandle } from "../nn/index.js";
import { enableGrad, noGrad, type Tensor } from "../tensor/index.js";
import type { GPT } from "./gpt.js";

/** What traceGPT read of one forward pass (tensors of the batch's shape [B, T, ...]). */
export interface GPTTrace {
  /** The residual stream: after the embeddings, then after each block (nLayer + 1 of [B, T, C]). */
  residuals: Tensor[];
  /** Each block's residual stream after its attention, before its MLP ([B, T, C]). */
  afterAttention: Tensor[];
  /** Each block's MLP hidden layer, before and after GELU ([B, T, 4C]). */
  mlpPre: Tensor[];
  mlpAct: Tensor[];
  /** Each block's attention weights ([B, nh, T, T]). */
  attention: Tensor[];
  logits: Tensor;
  /** With targets: the mean cross-entropy, already backpropagated (mlpAct[l].grad is set). */
  loss: Tensor | null;
}

/**
 * Forward idx once with probes on every block: the residual stream (what each LayerNorm reads:
 * ln_1 before a block, ln_2 after its attention, ln_f after the last block), the MLPs' hidden
 * units (c_fc's output and gelu's), and the attention weights (attn_dropout's input). With
 * targets it also backpropagates the loss, so each mlpAct[l].grad is d loss / d activation; the
 * parameters' gradients this leaves are zeroed again. Runs in eval mode (no dropout), and takes
 * every hook off again: afterwards the model computes exactly what it did before.
 */
export function traceGPT(
  model: GPT,
  idx: Tensor,
  { targets = null }: { targets?: Tensor | null } = {},
): GPTTrace {
  const blocks = [...model.transformer.h];
  const streams = capture([...blocks.map((b) => b.ln_1), model.transformer.ln_f], { input: true });
  const afterAttention = capture(
    blocks.map((b) => b.ln_2),
    { input: true },
  );
  const mlpPre = capture(blocks.map((b) => b.mlp.c_fc));
  const mlpAct = capture(
    blocks.map((b) => b.mlp.gelu),
    { grad: true },
  );
  const attention = capture(
    blocks.map((b) => b.attn.attn_dropout),
    { input: true },
  );
  const wasTraining = model.training;
  model.eval();
  try {
    const run = () => model.forward(idx, { targets });
    const { logits, loss } = targets ? enableGrad(run) : noGrad(run);
    if (loss) {
      loss.backward();
      model.zeroGrad({ setToNone: true });
    }
    const each = (c: Capture<number>, n = blocks.length) => Array.from({ length: n }, (_, l) => c.values[l]!);
    return {
      residuals: each(streams, blocks.length + 1),
      afterAttention: each(afterAttention),
      mlpPre: each(mlpPre),
      mlpAct: each(mlpAct),
      attention: each(attention),
      logits,
      loss,
    };
  } finally {
    for (const probe of [streams, afterAttention, mlpPre, mlpAct, attention]) probe.remove();
    model.train(wasTraining);
  }
}

/**
 * Switch off head `head` of block `layer` until remove(): its slice of the attention's output
 * (channels head·hs to (head+1)·hs − 1, what c_proj reads from it) is zeroed (or set to its mean,
 * or a value). The same as zeroing c_proj.weight[:, head·hs:(head+1)·hs]; the fused attention
 * kernel stays in use.
 */
export function ablateHead(
  model: GPT,
  layer: number,
  head: number,
  mode: AblationMode = "zero",
): RemovableHandle {
  const { nLayer, nHead, nEmbd } = model.config;
  checkIndex("ablateHead: layer", layer, nLayer);
  checkIndex("ablateHead: head", head, nHead);
  const hs = nEmbd / nHead;
  const channels = Array.from({ length: hs }, (_, i) => head * hs + i);
  return ablate(model.transformer.h.at(layer).attn.c_proj, channels, mode, { input: true });
}

/**
 * Switch off MLP neuron `neuron` of block `layer` until remove(): its activation, as c_proj reads
 * it, is zeroed (or set to its mean, or a value), so the fused gelu(c_fc(x)) kernel stays in use.
 */
export function ablateNeuron(
  model: GPT,
  layer: number,
  neuron: number,
  mode: AblationMode = "zero",
): RemovableHandle {
  checkIndex("ablateNeuron: layer", layer, model.config.nLayer);
  checkIndex("ablateNeuron: neuron", neuron, 4 * model.config.nEmbd);
  return ablate(model.transformer.h.at(layer).mlp.c_proj, [neuron], mode, { input: true });
}

function checkIndex(what: string, i: number, n: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= n)
    throw new RangeError(`${what} must be a whole number from 0 to ${n - 1}, got ${i}`);
}
