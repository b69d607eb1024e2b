/** The tiny GPT-2 of test/fixtures against PyTorch: logits, loss, gradients, AdamW steps, greedy decode. */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { toHFState } from "../src/io/gpt2.js";
import { loadHFGPT2, readSafetensors, writeSafetensors } from "../src/io/node.js";
import { GPT } from "../src/models/gpt.js";
import { capture } from "../src/nn/index.js";
import { AdamW } from "../src/optim/index.js";
import { Random } from "../src/random/index.js";
import { currentBackendName, noGrad, setBackend, type Tensor, tensor, tidy } from "../src/tensor/index.js";
import { type GPT2Reference, runGPT2Selftest, type Tol } from "../src/train/gpt-selftest.js";
import { close, fixture } from "./helpers.js";
import { testBackends } from "./tensor-backends.js";

const ref = JSON.parse(readFileSync(fixture("gpt2_tiny.ref.json"), "utf8")) as GPT2Reference;
const idx = tensor(ref.idx.data, { dtype: "int32", shape: ref.idx.shape });
const targets = tensor(ref.targets.data, { dtype: "int32", shape: ref.targets.shape });

function assertClose(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tol): void {
  assert.equal(actual.length, expected.length, name);
  for (let i = 0; i < expected.length; i++) {
    if (!close(actual[i]!, expected[i]!, tol.atol, tol.rtol))
      assert.fail(`${name}[${i}]: ${actual[i]} vs ${expected[i]} (atol ${tol.atol}, rtol ${tol.rtol})`);
  }
}

test("logits, loss and every parameter gradient match PyTorch", () => {
  const model = loadHFGPT2(fixture("gpt2_tiny"));
  const { logits, loss } = model.forward(idx, { targets });
  assert.deepEqual(logits.shape, [2, 16, 64]);
  assertClose("logits", logits.dataSync(), ref.logits.data, ref.tolerance.logits);
  assertClose("loss", [loss!.item()], [ref.loss], ref.tolerance.loss);
  loss!.backward();
  const ours = toHFState(model, { grads: true });
  const expected = readSafetensors(fixture("gpt2_tiny.grads.safetensors")).tensors;
  assert.deepEqual([...ours.keys()].sort(), [...expected.keys()].sort());
  for (const [k, g] of expected)
    assertClose(`grad ${k}`, ours.get(k)!.dataSync(), g.dataSync(), ref.tolerance.grads);
});

test("10 AdamW steps give PyTorch's losses", () => {
  const model = loadHFGPT2(fixture("gpt2_tiny"));
  const t = ref.train;
  const opt = new AdamW(model.parameters(), {
    lr: t.lr,
    betas: t.betas,
    eps: t.eps,
    weightDecay: t.weight_decay,
  });
  const losses = t.losses.map(() =>
    tidy(() => {
      const { loss } = model.forward(idx, { targets });
      opt.zeroGrad();
      loss!.backward();
      opt.step();
      return loss!.item();
    }),
  );
  assertClose("losses", losses, t.losses, ref.tolerance.train_losses);
  const after = noGrad(() => model.forward(idx, { targets }).loss!.item());
  assertClose("loss after", [after], [t.loss_after_last_step], ref.tolerance.train_losses);
});

test("greedy decode is exact, with and without the KV cache", async () => {
  const model = loadHFGPT2(fixture("gpt2_tiny"));
  for (const kvCache of [true, false]) {
    const out = await model.generate(ref.greedy.prompt, ref.greedy.new_tokens.length, {
      temperature: 0,
      kvCache,
    });
    assert.deepEqual([...out.dataSync()], ref.greedy.tokens);
  }
});

for (const backend of testBackends("all")) {
  test(`the selftest runner passes every check on the fixture (${backend})`, async () => {
    const previous = currentBackendName();
    setBackend(backend);
    try {
      const checks = await runGPT2Selftest({
        model: fixture("gpt2_tiny"),
        ref: fixture("gpt2_tiny.ref.json"),
        grads: fixture("gpt2_tiny.grads.safetensors"),
      });
      assert.deepEqual(
        checks.filter((c) => !c.passed),
        [],
      );
      assert.ok(checks.length >= 40);
    } finally {
      setBackend(previous);
    }
  });
}

for (const backend of testBackends("all")) {
  test(`generate reads with await and gives the same tokens on every backend (${backend})`, async () => {
    const previous = currentBackendName();
    setBackend(backend);
    try {
      const model = loadHFGPT2(fixture("gpt2_tiny"));
      const greedy = await model.generate(ref.greedy.prompt, ref.greedy.new_tokens.length, {
        temperature: 0,
      });
      assert.deepEqual([...(await greedy.data())], ref.greedy.tokens);
      // Sampled, past the block size (the cache restarts), streamed: the same draws as on js.
      const small = { blockSize: 8, vocabSize: 11, nLayer: 2, nHead: 2, nEmbd: 8, dropout: 0, bias: true };
      const streamed: number[] = [];
      const sampled = await new GPT(small, { generator: new Random(3) }).generate([1, 2], 20, {
        generator: new Random(9),
        topK: 5,
        onToken: (id) => streamed.push(id),
      });
      setBackend("js");
      const expected = await new GPT(small, { generator: new Random(3) }).generate([1, 2], 20, {
        generator: new Random(9),
        topK: 5,
      });
      assert.deepEqual([...(await sampled.data())], [...expected.dataSync()]);
      assert.deepEqual(streamed, [...expected.dataSync()].slice(2));
    } finally {
      setBackend(previous);
    }
  });
}

test("KV-cached logits equal full-sequence logits, also past the block size", async () => {
  const model = new GPT(
    { blockSize: 8, vocabSize: 11, nLayer: 2, nHead: 2, nEmbd: 8, dropout: 0, bias: true },
    { generator: new Random(3) },
  );
  model.eval();
  const ids = [1, 2, 3, 4, 5, 6, 7];
  noGrad(() => {
    const full = model.forward(tensor([ids], { dtype: "int32" })).logits;
    const cache = model.newCache();
    const parts: Tensor[] = [];
    parts.push(model.forward(tensor([ids.slice(0, 3)], { dtype: "int32" }), { cache }).logits);
    parts.push(model.forward(tensor([ids.slice(3, 5)], { dtype: "int32" }), { cache }).logits);
    for (const id of ids.slice(5))
      parts.push(model.forward(tensor([[id]], { dtype: "int32" }), { cache }).logits);
    const got = parts.flatMap((p) => [...p.dataSync()]);
    assertClose("cached logits", got, full.dataSync(), { atol: 1e-6, rtol: 1e-5 });
  });
  // 20 tokens from a block of 8: cached and uncached sampling agree token for token
  const a = await model.generate([1, 2], 20, { generator: new Random(9), topK: 5 });
  const b = await model.generate([1, 2], 20, { generator: new Random(9), topK: 5, kvCache: false });
  assert.deepEqual([...a.dataSync()], [...b.dataSync()]);
  assert.equal(a.shape[1], 22);
});

test("parameter counts, GPT-2 init, attention weights read by a hook", () => {
  const c = { blockSize: 16, vocabSize: 65, nLayer: 2, nHead: 4, nEmbd: 32, dropout: 0, bias: false };
  const model = new GPT(c, { generator: new Random(1) });
  const perLayer = 2 * 32 + 32 * 96 + 32 * 32 + 32 * 128 + 128 * 32;
  const total = 65 * 32 + 16 * 32 + 2 * perLayer + 32;
  assert.equal(model.numParameters(), total);
  assert.equal(model.numParameters({ nonEmbedding: true }), total - 16 * 32);
  const std = (t: Tensor) => {
    const d = t.dataSync();
    let s = 0;
    for (const v of d) s += v * v;
    return Math.sqrt(s / d.length);
  };
  const proj = model.transformer.h.at(0).mlp.c_proj.weight;
  assert.ok(Math.abs(std(proj) - 0.02 / Math.sqrt(4)) < 0.002, `c_proj std ${std(proj)}`);
  assert.ok(Math.abs(std(model.transformer.h.at(0).mlp.c_fc.weight) - 0.02) < 0.002);
  assert.ok(model.stateDict().has("lm_head.weight"));
  // The attention weights, read by a hook: attn_dropout's input.
  const weights = capture([model.transformer.h.at(1).attn.attn_dropout], { input: true });
  noGrad(() => model.forward(tensor([[1, 2, 3, 4]], { dtype: "int32" })));
  weights.remove();
  const w = weights.values[0]!;
  assert.deepEqual(w.shape, [1, 4, 4, 4]);
  const row = [...w.dataSync()].slice(4, 8); // head 0, query 1
  assert.ok(Math.abs(row[0]! + row[1]! - 1) < 1e-6 && row[2] === 0 && row[3] === 0);
  assert.throws(
    () => model.forward(tensor([[...Array(17).keys()]], { dtype: "int32" })),
    /17 positions, the block size is only 16/,
  );
});

test("Hugging Face variants load: transformer. prefix, attn.bias buffers, lm_head.weight; mistakes are named", () => {
  const { tensors } = readSafetensors(fixture("gpt2_tiny/model.safetensors"));
  const dir = mkdtempSync(join(tmpdir(), "herograd-hf-"));
  try {
    const variant = new Map<string, Tensor>();
    for (const [k, t] of tensors) variant.set(`transformer.${k}`, t);
    variant.set(
      "transformer.h.0.attn.bias",
      tensor([
        [1, 0],
        [1, 1],
      ]),
    );
    variant.set("transformer.h.1.attn.masked_bias", tensor([-1e4]));
    variant.set("lm_head.weight", tensors.get("wte.weight")!);
    writeSafetensors(join(dir, "model.safetensors"), variant);
    copyFileSync(fixture("gpt2_tiny/config.json"), join(dir, "config.json"));
    const model = loadHFGPT2(dir);
    const logits = noGrad(() => model.forward(idx).logits);
    assertClose("logits", logits.dataSync(), ref.logits.data, ref.tolerance.logits);

    variant.delete("transformer.ln_f.bias");
    variant.set("transformer.h.0.attn.c_proj.weight", tensor([[1, 2]]));
    writeSafetensors(join(dir, "model.safetensors"), variant);
    assert.throws(
      () => loadHFGPT2(dir),
      /"transformer\.h\.0\.attn\.c_proj\.weight" has shape \[1, 2\] \(Conv1D \[in, out\]\), the model expects \[32, 32\]/,
    );
    variant.delete("transformer.h.0.attn.c_proj.weight");
    writeSafetensors(join(dir, "model.safetensors"), variant);
    assert.throws(() => loadHFGPT2(dir), /missing h\.0\.attn\.c_proj\.weight, ln_f\.bias/);
    rmSync(join(dir, "config.json"));
    assert.throws(() => loadHFGPT2(dir), /config\.json does not exist \(pass --config config\.json\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
