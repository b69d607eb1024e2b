import "../src/backend/select.js";
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildContextWindows, CharVocabulary, parseWords, splitWords } from "../src/data/index.js";
import { loadText } from "../src/data/node.js";
import { mlpBatchNorm } from "../src/models/makemore.js";
import { SGD } from "../src/optim/index.js";
import { Random } from "../src/random/index.js";
import { memoryStats } from "../src/tensor/index.js";
import { evaluateLoss, trainStep, windowTensors } from "../src/train/makemore.js";
import { dataDir } from "./helpers.js";

const words = parseWords((await loadText("names", { dataDir, download: false })).text);
const vocab = CharVocabulary.fromWords(words);
const split = splitWords(words, new Random(42));
const train = windowTensors(buildContextWindows(split.train, vocab, 3));
const dev = windowTensors(buildContextWindows(split.dev, vocab, 3));

function run(steps: number, seed: number): { losses: number[]; model: ReturnType<typeof mlpBatchNorm> } {
  const model = mlpBatchNorm({
    vocabSize: vocab.size,
    blockSize: 3,
    nEmbd: 10,
    nHidden: 200,
    generator: new Random(seed),
  });
  const optimizer = new SGD(model.parameters(), { lr: 0.1 });
  const batches = new Random(seed + 1);
  const losses = Array.from({ length: steps }, () => trainStep(model, optimizer, train, 32, batches));
  return { losses, model };
}

test("lecture 4's model (12,097 parameters) trains on names.txt: loss from about 3.3 to below 2.6 in 1,000 steps", () => {
  const { losses, model } = run(1000, 2147483647);
  assert.equal(model.numParameters(), 12_097);
  assert.ok(losses[0]! > 3.1 && losses[0]! < 3.5, `first loss ${losses[0]}`);
  const last100 = losses.slice(-100).reduce((a, b) => a + b, 0) / 100;
  assert.ok(last100 < 2.6, `mean of the last 100 minibatch losses ${last100}`);
  const devLoss = evaluateLoss(model, dev);
  assert.ok(devLoss < 2.6, `dev loss ${devLoss}`);
});

test("two training runs with the same seed give bit-identical losses", () => {
  const a = run(60, 7);
  const b = run(60, 7);
  assert.deepEqual(b.losses, a.losses);
  assert.notDeepEqual(run(5, 8).losses, a.losses.slice(0, 5));
});

test("training steps leave memoryStats flat", () => {
  const model = mlpBatchNorm({
    vocabSize: vocab.size,
    blockSize: 3,
    nEmbd: 10,
    nHidden: 200,
    generator: new Random(1),
  });
  const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  const batches = new Random(2);
  for (let i = 0; i < 5; i++) trainStep(model, optimizer, train, 32, batches);
  const before = JSON.stringify(memoryStats());
  for (let i = 0; i < 200; i++) trainStep(model, optimizer, train, 32, batches);
  assert.equal(JSON.stringify(memoryStats()), before);
});
