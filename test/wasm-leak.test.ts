/**
 * 10,000 training steps on the wasm backend (a small makemore MLP with BatchNorm, AdamW): the live
 * buffers and bytes are the same after the last step as after the first ones, and the heap stops
 * growing once the step's sizes have been seen.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { test } from "node:test";
import { type WasmBackend, wasmAvailable } from "../src/backend/wasm/index.js";
import { buildContextWindows, CharVocabulary } from "../src/data/index.js";
import { mlpBatchNorm } from "../src/models/makemore.js";
import { AdamW } from "../src/optim/index.js";
import { Random } from "../src/random/index.js";
import { getBackend, memoryStats, setBackend } from "../src/tensor/index.js";
import { trainStep, windowTensors } from "../src/train/makemore.js";

test("wasm: 10,000 training steps leave memoryStats and the heap flat", {
  skip: !wasmAvailable() && "no WebAssembly SIMD",
}, () => {
  setBackend("wasm");
  const words = [
    "emma",
    "olivia",
    "ava",
    "isabella",
    "sophia",
    "mia",
    "charlotte",
    "amelia",
    "harper",
    "evelyn",
  ];
  const vocab = CharVocabulary.fromWords(words);
  const data = windowTensors(buildContextWindows(words, vocab, 3));
  const model = mlpBatchNorm({
    vocabSize: vocab.size,
    blockSize: 3,
    nEmbd: 4,
    nHidden: 16,
    generator: new Random(1),
  });
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
  const g = new Random(2);
  const backend = getBackend("wasm") as WasmBackend;
  let first = 0;
  for (let step = 0; step < 100; step++) first = trainStep(model, optimizer, data, 16, g);
  const stats = JSON.stringify(memoryStats().wasm);
  const heapTop = backend.heapStats().heapTop;
  let last = first;
  for (let step = 100; step < 10_000; step++) {
    last = trainStep(model, optimizer, data, 16, g);
    if (step % 1000 === 0)
      assert.equal(JSON.stringify(memoryStats().wasm), stats, `live memory at step ${step}`);
  }
  assert.equal(JSON.stringify(memoryStats().wasm), stats, "live memory after 10,000 steps");
  assert.equal(backend.heapStats().heapTop, heapTop, "the heap did not grow");
  assert.ok(last < first, `the loss fell: ${first} → ${last}`);
});
