/**
 * Export to Hugging Face GPT-2 (config.json + model.safetensors): the fixture (written by
 * transformers) comes back tensor for tensor, and models trained here, with and without biases,
 * give the same logits when PyTorch reads the export by hand and runs GPT2LMHeadModel's math
 * (test/reference/gpt2_torch.py; transformers itself is not installed here).
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { loadHFGPT2, readSafetensors, SafetensorsFile, saveHFGPT2 } from "../src/io/node.js";
import { GPT, type GPTConfig, gptParameterShapes } from "../src/models/gpt.js";
import { Random } from "../src/random/index.js";
import { noGrad, tensor } from "../src/tensor/index.js";
import { applyOverrides, GPTTrainer, presetConfig } from "../src/train/gpt.js";
import { close, fixture, noTorch, runTorchReference } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "herograd-hf-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("gptParameterShapes lists every parameter of the model, in order, without building it", () => {
  for (const bias of [true, false]) {
    const config: GPTConfig = {
      blockSize: 8,
      vocabSize: 11,
      nLayer: 2,
      nHead: 2,
      nEmbd: 4,
      dropout: 0,
      bias,
    };
    const model = new GPT(config, { skipInit: true });
    assert.deepEqual(
      gptParameterShapes(config),
      model.namedParameters().map(([k, p]) => [k, [...p.shape]]),
    );
  }
});

test("the gpt2_tiny fixture exports to the same tensors and config transformers wrote", () => {
  const model = loadHFGPT2(fixture("gpt2_tiny"));
  const out = join(dir, "tiny");
  saveHFGPT2(model, out);
  const theirs = SafetensorsFile.open(fixture("gpt2_tiny/model.safetensors"));
  const ours = SafetensorsFile.open(join(out, "model.safetensors"));
  try {
    assert.deepEqual(ours.names, theirs.names);
    assert.deepEqual(ours.header.metadata, { format: "pt" });
    for (const name of theirs.names) {
      const a = theirs.raw(name);
      const b = ours.raw(name);
      assert.equal(b.dtype, a.dtype, name);
      assert.deepEqual(b.shape, a.shape, name);
      assert.deepEqual(b.bytes, a.bytes, name);
    }
  } finally {
    theirs.close();
    ours.close();
  }
  const want = JSON.parse(readFileSync(fixture("gpt2_tiny/config.json"), "utf8")) as Record<string, unknown>;
  const got = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as Record<string, unknown>;
  for (const k of [
    "activation_function",
    "architectures",
    "model_type",
    "vocab_size",
    "n_positions",
    "n_ctx",
    "n_embd",
    "n_layer",
    "n_head",
    "n_inner",
    "layer_norm_epsilon",
    "tie_word_embeddings",
    "torch_dtype",
  ])
    assert.deepEqual(got[k], want[k], k);
});

/** A model after two AdamW steps on random tokens, so no parameter is at its initial value. */
function trainedModel(sets: string[], vocabSize: number): GPT {
  const config = applyOverrides(presetConfig("shakespeare-char"), [
    "n_layer=2",
    "n_head=2",
    "n_embd=8",
    "block_size=8",
    "batch_size=2",
    "dropout=0",
    "learning_rate=0.05",
    "warmup_iters=0",
    ...sets,
  ]);
  const g = new Random(3);
  const ids = Uint16Array.from({ length: 200 }, () => g.randint(0, vocabSize));
  const trainer = new GPTTrainer(config, vocabSize, { train: ids, val: ids });
  trainer.step();
  trainer.step();
  return trainer.model;
}

test("exports of trained models run the same in PyTorch (nanoGPT's bias-free char model, and GPT-2's layout)", {
  skip: noTorch(),
}, () => {
  const cases = [
    { name: "char", model: trainedModel(["bias=false", "gelu=none"], 65) },
    { name: "gpt2", model: trainedModel(["bias=true", "gelu=tanh"], 50304) },
  ];
  for (const { name, model } of cases) {
    const out = join(dir, name);
    saveHFGPT2(model, out);
    const vocab = model.config.vocabSize;
    const rows = [
      [0, 5, 9, 1, vocab - 1, 3],
      [7, 7, 2, 60, 1, 0],
    ];
    const idx = tensor(rows.flat(), { shape: [2, 6], dtype: "int32" });
    const logits = noGrad(() => model.forward(idx).logits.dataSync());
    // Read back by herograd: the same model.
    const back = noGrad(() => loadHFGPT2(out).forward(idx).logits.dataSync());
    assert.deepEqual(back, logits, `${name}: reloaded logits`);
    // Read and run by PyTorch.
    const ref = runTorchReference<{ logits: number[][][] }>("gpt2_torch.py", {
      model_dir: out,
      logits: rows,
    });
    const flat = ref.logits.flat(2);
    assert.equal(flat.length, logits.length);
    let worst = 0;
    flat.forEach((v, i) => {
      if (!close(logits[i]!, v, 1e-5, 1e-4)) worst = Math.max(worst, Math.abs(logits[i]! - v));
    });
    assert.equal(worst, 0, `${name}: logits differ from PyTorch's by up to ${worst}`);
  }
  // the bias-free model's export holds zero biases, which the reference accepted above
  const biases = readSafetensors(join(dir, "char", "model.safetensors")).tensors.get("h.0.attn.c_attn.bias")!;
  assert.ok([...biases.dataSync()].every((v) => v === 0));
});
