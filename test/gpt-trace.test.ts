/** traceGPT and GPT.logitLens: the internals the lab's neuron views read, through hooks taken off again. */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { test } from "node:test";
import { GPT } from "../src/models/gpt.js";
import { traceGPT } from "../src/models/gpt-probes.js";
import { hasHooks } from "../src/nn/index.js";
import { Random } from "../src/random/index.js";
import { gelu, noGrad, tensor } from "../src/tensor/index.js";
import { close } from "./helpers.js";

const config = { blockSize: 8, vocabSize: 11, nLayer: 2, nHead: 2, nEmbd: 8, dropout: 0, bias: true };

function allClose(a: ArrayLike<number>, b: ArrayLike<number>, what: string, tol = 1e-5): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++)
    assert.ok(close(a[i]!, b[i]!, tol, tol), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

test("traceGPT reads the residual stream, the MLPs and the attention of one forward pass", () => {
  const model = new GPT(config, { generator: new Random(1) });
  const idx = tensor([[1, 4, 2, 7, 3]], { dtype: "int32" });
  const trace = traceGPT(model, idx);
  assert.equal(trace.residuals.length, config.nLayer + 1);
  for (const r of trace.residuals) assert.deepEqual(r.shape, [1, 5, 8]);
  for (const a of trace.mlpAct) assert.deepEqual(a.shape, [1, 5, 32]);
  for (const w of trace.attention) assert.deepEqual(w.shape, [1, 2, 5, 5]);
  assert.equal(trace.loss, null);
  // The MLP's activations are GELU of its pre-activations; the last residual through the lens is the output.
  trace.mlpAct.forEach((a, l) => {
    allClose(a.dataSync(), gelu(trace.mlpPre[l]!, "tanh").dataSync(), `mlp ${l}`);
  });
  allClose(
    model.logitLens(trace.residuals.at(-1)!).dataSync(),
    trace.logits.dataSync(),
    "lens of the last layer",
  );
  allClose(trace.logits.dataSync(), model.forward(idx).logits.dataSync(), "trace's logits = forward's");
  // Each query spreads a weight of 1 over the keys.
  const rows = trace.attention[0]!.tolist() as number[][][][];
  for (const row of rows[0]![1]!)
    assert.ok(
      close(
        row.reduce((s, v) => s + v, 0),
        1,
        1e-5,
        0,
      ),
    );
  // Every hook is off again: the model computes bit for bit what a model never traced does.
  for (const m of model.modules()) assert.equal(hasHooks(m), false, m.constructor.name);
  const untraced = new GPT(config, { generator: new Random(1) });
  const longer = tensor([[1, 4, 2, 7, 3, 9, 0, 5]], { dtype: "int32" });
  assert.deepEqual(
    noGrad(() => model.forward(longer).logits.dataSync()),
    noGrad(() => untraced.forward(longer).logits.dataSync()),
  );
  // The residual stream after block 0 is block 0's own output, and the attention weights are
  // softmax(q·kᵀ/√hs), masked: the tensors the modules compute, not recomputed copies.
  const block0 = model.transformer.h.at(0);
  allClose(
    trace.residuals[1]!.dataSync(),
    noGrad(() => block0.forward(trace.residuals[0]!).x.dataSync()),
    "block 0's output",
  );
  allClose(
    trace.afterAttention[0]!.dataSync(),
    noGrad(() =>
      trace.residuals[0]!.add(block0.attn.forward(block0.ln_1.forward(trace.residuals[0]!)).y).dataSync(),
    ),
    "after block 0's attention",
  );
});

test("traceGPT with targets backpropagates: d loss / d activation, no parameter gradients left", () => {
  const model = new GPT(config, { generator: new Random(2) });
  model.train();
  const idx = tensor([[1, 4, 2, 7]], { dtype: "int32" });
  const trace = traceGPT(model, idx, { targets: tensor([[4, 2, 7, -1]], { dtype: "int32" }) });
  assert.ok(trace.loss && Number.isFinite(trace.loss.item()));
  const grad = trace.mlpAct[1]!.grad!.tolist() as number[][][];
  // The last position predicts nothing (target −1): nothing flows back to it.
  assert.ok(grad[0]![3]!.every((g) => g === 0));
  assert.ok(grad[0]![0]!.some((g) => g !== 0));
  for (const p of model.parameters()) assert.equal(p.grad, null);
  assert.equal(model.training, true, "the mode is restored");
  for (const m of model.modules()) assert.equal(hasHooks(m), false, m.constructor.name);
});
