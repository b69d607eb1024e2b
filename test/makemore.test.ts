import "../src/backend/select.js";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { buildContextWindows, CharVocabulary, parseWords } from "../src/data/index.js";
import { loadText } from "../src/data/node.js";
import { CountBigram, NeuralBigram } from "../src/models/bigram.js";
import { Mlp, mlpBatchNorm, wavenet } from "../src/models/makemore.js";
import { Random } from "../src/random/index.js";
import { tensor } from "../src/tensor/index.js";
import { deepTanhNet, runDiagnostics } from "../src/train/diagnostics.js";
import { windowTensors } from "../src/train/makemore.js";
import {
  buildMakemoreModel,
  MAKEMORE_TYPES,
  makemoreDefaults,
  trainMakemore,
} from "../src/train/makemore-run.js";
import {
  batchNormBackward,
  cmp,
  compareAll,
  crossEntropyBackward,
  initNinja,
  manualBackward,
  manualTrainStep,
  ninjaForward,
  ninjaParameters,
} from "../src/train/ninja.js";
import { dataDir, repoRoot } from "./helpers.js";

const words = parseWords((await loadText("names", { dataDir, download: false })).text);
const vocab = CharVocabulary.fromWords(words);

test("lecture 2: the count bigram with +1 smoothing has NLL 2.4546 over all 228,146 bigrams", () => {
  const model = new CountBigram(vocab, words, 1);
  assert.equal(model.counts.sum().item(), 228_146);
  // The lecture prints 2.4544 from a float32 sum; the exact mean is 2.45458 (numpy agrees).
  assert.ok(Math.abs(model.nll(words) - 2.4546) < 5e-4, `nll ${model.nll(words)}`);
  const a = Array.from({ length: 5 }, (_, i) => model.sample({ generator: new Random(i) }));
  const b = Array.from({ length: 5 }, (_, i) => model.sample({ generator: new Random(i) }));
  assert.deepEqual(a, b);
  assert.ok(a.every((w) => /^[a-z]*$/.test(w)));
});

test("lecture 2: the neural bigram's one-hot matmul equals picking rows, and gradient descent lowers its loss", () => {
  const model = new NeuralBigram(vocab, { generator: new Random(2147483647) });
  const xs = tensor([0, 5, 13, 0], { dtype: "int32" });
  assert.deepEqual(model.logits(xs, { viaOneHot: true }).tolist(), model.logits(xs).tolist());
  const losses = model.train(words.slice(0, 2000), { steps: 8, lr: 50 });
  assert.ok(losses[0]! > 3.5 && losses.at(-1)! < losses[0]! - 0.5, `losses ${losses}`);
  assert.equal(model.W.numel(), 729);
});

test("parameter counts equal the lectures'", () => {
  const g = new Random(0);
  assert.equal(
    new Mlp({ vocabSize: 27, blockSize: 3, nEmbd: 10, nHidden: 200, generator: g }).numParameters(),
    11_897,
  );
  assert.equal(
    mlpBatchNorm({ vocabSize: 27, blockSize: 3, nEmbd: 10, nHidden: 200, generator: g }).numParameters(),
    12_097,
  );
  assert.equal(
    wavenet({ vocabSize: 27, blockSize: 8, nEmbd: 24, nHidden: 128, generator: g }).numParameters(),
    76_579,
  );
  const count = (p: ReturnType<typeof initNinja>) => ninjaParameters(p).reduce((n, t) => n + t.numel(), 0);
  assert.equal(
    count(initNinja({ vocabSize: 27, blockSize: 3, nEmbd: 10, nHidden: 64, generator: g })),
    4_137,
  );
  assert.equal(
    count(initNinja({ vocabSize: 27, blockSize: 3, nEmbd: 10, nHidden: 200, generator: g })),
    12_297,
  );
  const deep = deepTanhNet({
    vocabSize: 27,
    blockSize: 3,
    nEmbd: 10,
    nHidden: 100,
    depth: 5,
    batchNorm: true,
    gain: 5 / 3,
    generator: g,
  });
  assert.equal(deep.numParameters(), 47_024);
  const transformer = buildMakemoreModel(makemoreDefaults("transformer"), 27, 16, g);
  assert.ok(Math.abs(transformer.numParameters() - 200_000) < 5_000, `${transformer.numParameters()}`);
});

test("lecture 5: every manual gradient of the backprop-ninja MLP is exact or approximate against autograd", () => {
  const p = initNinja({
    vocabSize: 27,
    blockSize: 3,
    nEmbd: 10,
    nHidden: 64,
    generator: new Random(2147483647),
  });
  const data = windowTensors(buildContextWindows(words.slice(0, 500), vocab, 3));
  const ix = tensor(
    Array.from({ length: 32 }, (_, i) => (i * 37) % data.X.shape[0]!),
    { dtype: "int32" },
  );
  const Xb = data.X.indexSelect(0, ix);
  const Yb = data.Y.indexSelect(0, ix);
  const f = ninjaForward(p, Xb, Yb);
  f.loss.backward();
  const results = compareAll(p, f, manualBackward(p, f, Xb, Yb));
  assert.equal(results.length, 26);
  for (const r of results) assert.ok(r.exact || r.approximate, `${r.name}: maxdiff ${r.maxdiff}`);
  assert.ok(results.find((r) => r.name === "logprobs")!.exact);
  const fusedLogits = cmp("logits", crossEntropyBackward(f.logits, Yb), f.logits);
  assert.ok(
    fusedLogits.approximate && fusedLogits.maxdiff < 1e-7,
    `fused cross-entropy maxdiff ${fusedLogits.maxdiff}`,
  );
  const dhpreact = f.hpreact.grad!;
  const fusedBn = cmp("hprebn", batchNormBackward(dhpreact, p.bngain, f.bnvarInv, f.bnraw), f.hprebn);
  assert.ok(fusedBn.approximate && fusedBn.maxdiff < 1e-7, `fused batch norm maxdiff ${fusedBn.maxdiff}`);
});

test("lecture 5: training with the manual gradients alone lowers the loss", () => {
  const p = initNinja({ vocabSize: 27, blockSize: 3, nEmbd: 10, nHidden: 64, generator: new Random(1) });
  const data = windowTensors(buildContextWindows(words.slice(0, 3000), vocab, 3));
  const g = new Random(2);
  const losses: number[] = [];
  for (let i = 0; i < 150; i++) {
    const ix = tensor(
      Array.from({ length: 32 }, () => g.randint(0, data.X.shape[0]!)),
      { dtype: "int32" },
    );
    losses.push(manualTrainStep(p, data.X.indexSelect(0, ix), data.Y.indexSelect(0, ix), 0.1));
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(
    mean(losses.slice(-20)) < mean(losses.slice(0, 20)) - 0.4,
    `losses from ${mean(losses.slice(0, 20))} to ${mean(losses.slice(-20))}`,
  );
});

test("lecture 4 diagnostics: with BatchNorm and gain 5/3 a few percent of tanh units saturate; update:data is recorded", () => {
  const data = windowTensors(buildContextWindows(words.slice(0, 3000), vocab, 3));
  const report = runDiagnostics(
    { ...data, vocabSize: 27, blockSize: 3 },
    { batchNorm: true, gain: 5 / 3, depth: 5, steps: 20, lr: 0.1, seed: 1 },
  );
  assert.equal(report.activations.length, 5);
  for (const a of report.activations) {
    assert.ok(a.saturated < 10, `${a.name} saturated ${a.saturated}%`);
    assert.ok(a.std > 0.5 && a.std < 0.8, `${a.name} std ${a.std}`);
    const area = a.histogram.density.reduce((s, d) => s + d, 0) * (a.histogram.x[1]! - a.histogram.x[0]!);
    assert.ok(Math.abs(area - 1) < 1e-9);
  }
  assert.equal(report.gradients.length, 5);
  assert.equal(Object.values(report.updateRatios)[0]!.length, 20);
  // Without BatchNorm and with a large gain, the tanh units saturate.
  const saturated = runDiagnostics(
    { ...data, vocabSize: 27, blockSize: 3 },
    { batchNorm: false, gain: 3, depth: 5, steps: 1, lr: 0.1, seed: 1 },
  );
  assert.ok(saturated.activations.at(-1)!.saturated > 20, `${saturated.activations.at(-1)!.saturated}%`);
});

for (const type of MAKEMORE_TYPES) {
  test(`makemore ${type}: the loss falls, and the same seed gives the same samples`, () => {
    // Short runs of small versions: the full-size runs are in bench/reproduce-makemore.
    const steps = type === "transformer" ? 15 : type === "gru" || type === "rnn" ? 25 : 60;
    const config = {
      type,
      steps,
      evalInterval: 0,
      evalWords: 100,
      samples: 3,
      ...(type === "bigram" ? { lr: 0.1 } : {}),
      ...(type === "transformer" ? { lr: 3e-3, nEmbd: 32 } : {}),
      ...(type === "wavenet" ? { nHidden: 32 } : {}),
    };
    const subset = words.slice(0, 2000);
    const run = trainMakemore(subset, config);
    const first = run.losses.slice(0, 3).reduce((a, b) => a + b, 0) / 3;
    const last = run.losses.slice(-3).reduce((a, b) => a + b, 0) / 3;
    assert.ok(last < first - 0.1, `${type}: ${first} → ${last}`);
    assert.ok(run.evals.at(-1)!.val < first, `${type}: val ${run.evals.at(-1)!.val}, first loss ${first}`);
    assert.equal(run.samples.length, 3);
    const again = trainMakemore(subset, { ...config, steps: 2 });
    const again2 = trainMakemore(subset, { ...config, steps: 2 });
    assert.deepEqual(again.samples, again2.samples);
    assert.deepEqual(again.losses, again2.losses);
  });
}

const home = mkdtempSync(join(tmpdir(), "hero-home-"));
after(() => rmSync(home, { recursive: true, force: true }));

test("hero makemore train works offline with HERO_DATA_DIR unset and no cache: the shipped names.txt, then a checkpoint to sample from", () => {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, HERO_OFFLINE: "1" };
  delete env.HERO_DATA_DIR;
  const hero = join(repoRoot, "dist", "src", "cli", "main.js");
  const out = join(home, "ckpt");
  const train = spawnSync(
    process.execPath,
    [hero, "makemore", "train", "--type", "bigram", "--steps", "30", "--eval-words", "200", "--out", out],
    {
      encoding: "utf8",
      env,
    },
  );
  assert.equal(train.status, 0, train.stderr);
  assert.match(train.stdout, /names\.txt/);
  assert.match(train.stdout, /729 parameters; final train \d\.\d+, val \d\.\d+/);
  const sample = spawnSync(
    process.execPath,
    [hero, "makemore", "sample", "--checkpoint", out, "--count", "4", "--seed", "1"],
    {
      encoding: "utf8",
      env,
    },
  );
  assert.equal(sample.status, 0, sample.stderr);
  assert.equal(sample.stdout.trim().split("\n").length, 4);
  const again = spawnSync(
    process.execPath,
    [hero, "makemore", "sample", "--checkpoint", out, "--count", "4", "--seed", "1"],
    {
      encoding: "utf8",
      env,
    },
  );
  assert.equal(again.stdout, sample.stdout);
  const bad = spawnSync(process.execPath, [hero, "makemore", "train", "--type", "lstm"], {
    encoding: "utf8",
    env,
  });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /unknown --type "lstm"/);
});
