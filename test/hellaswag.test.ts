/**
 * HellaSwag as build-nanogpt evaluates it, on test/data/hellaswag-sample.jsonl (eight records
 * written for these tests in the dataset's own fields): records are checked as they are read,
 * examples render as context + " " + ending, the scores of the gpt2_tiny fixture equal
 * hellaswag.py's computed by PyTorch on the same token rows, and `hero gpt eval hellaswag` runs
 * on Hugging Face weights, with an offline error that names the missing file.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { HellaSwagError, parseHellaSwag, renderExample } from "../src/data/hellaswag.js";
import { hellaswagFile } from "../src/data/node.js";
import { loadHFGPT2, saveHFGPT2 } from "../src/io/node.js";
import { GPT } from "../src/models/gpt.js";
import { Random } from "../src/random/index.js";
import { currentBackendName, setBackend } from "../src/tensor/index.js";
import { getEncoding } from "../src/tokenizer/index.js";
import { utf8Encode } from "../src/tokenizer/utf8.js";
import { evaluateHellaSwag } from "../src/train/hellaswag.js";
import { close, fixture, noTorch, repoRoot, runTorchReference } from "./helpers.js";
import { webgpuUnavailable } from "./tensor-backends.js";

const sample = join(repoRoot, "test", "data", "hellaswag-sample.jsonl");
const main = join(repoRoot, "dist", "src", "cli", "main.js");
const dir = mkdtempSync(join(tmpdir(), "herograd-hellaswag-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// The gpt2_tiny fixture knows 64 tokens and 32 positions: a word-level code of its own fits the text into them.
const tinyEncode = (s: string) =>
  s
    .split(" ")
    .filter((w) => w !== "")
    .map((w) => [...utf8Encode(w)].reduce((h, b) => (h * 31 + b) % 64, 7));

/**
 * A GPT-2-vocabulary model small enough to run in a moment (random weights, `seed`), saved as
 * Hugging Face weights in `name`, and its HellaSwag result on the sample computed in process.
 */
async function smallGPT2(seed: number, name: string) {
  const model = new GPT(
    { blockSize: 64, vocabSize: 50257, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0, bias: true },
    { generator: new Random(seed) },
  );
  const weights = join(dir, name);
  saveHFGPT2(model, weights);
  const enc = await getEncoding("gpt2");
  const examples = parseHellaSwag(readFileSync(sample, "utf8"));
  return { weights, want: await evaluateHellaSwag(model, examples, (s) => enc.encodeOrdinary(s)) };
}

function hero(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [main, ...args], {
    encoding: "utf8",
    env: { ...process.env, HERO_NO_RESPAWN: "1", HERO_OFFLINE: "1", ...env },
  });
}

test("the sample reads as HellaSwag records; a bad record names its file and line", () => {
  const examples = parseHellaSwag(readFileSync(sample, "utf8"), sample);
  assert.equal(examples.length, 8);
  assert.deepEqual(
    examples.map((e) => e.label),
    [2, 0, 3, 1, 0, 2, 1, 3],
  );
  const first = examples[0]!;
  assert.equal(first.ind, 100);
  assert.equal(first.ctx, `${first.ctx_a} ${first.ctx_b}`);
  assert.equal(first.endings.length, 4);
  const bad = (line: string) => () => parseHellaSwag(`${readFileSync(sample, "utf8")}${line}\n`, "val.jsonl");
  assert.throws(
    bad('{"ctx": "a", "endings": ["x", "y", "z"], "label": 0}'),
    /val\.jsonl:9: "endings" is not a list of four/,
  );
  assert.throws(
    bad('{"ctx": "a", "endings": ["w", "x", "y", "z"], "label": 4}'),
    /val\.jsonl:9: "label" must be 0, 1, 2 or 3/,
  );
  assert.throws(
    bad("{not json"),
    (e: Error) => e instanceof HellaSwagError && /val\.jsonl:9: not valid JSON/.test(e.message),
  );
});

test("an example renders as build-nanogpt's render_example: context tokens, then those of ' ' + ending", async () => {
  const enc = await getEncoding("gpt2");
  const [ex] = parseHellaSwag(readFileSync(sample, "utf8"));
  const { rows, masks, label } = renderExample(ex!, (s) => enc.encodeOrdinary(s));
  const ctx = enc.encodeOrdinary(ex!.ctx);
  assert.equal(label, 2);
  ex!.endings.forEach((ending, i) => {
    const end = enc.encodeOrdinary(` ${ending}`);
    assert.deepEqual(rows[i], [...ctx, ...end]);
    assert.deepEqual(masks[i], [...ctx.map(() => 0), ...end.map(() => 1)]);
  });
});

test("gpt2_tiny's scores equal hellaswag.py's in PyTorch, for the same token rows", {
  skip: noTorch(),
}, async () => {
  const model = loadHFGPT2(fixture("gpt2_tiny"));
  const encode = tinyEncode;
  const examples = parseHellaSwag(readFileSync(sample, "utf8"));
  const ours = await evaluateHellaSwag(model, examples, encode);
  const ref = runTorchReference<{
    scores: { sum_loss: number[]; avg_loss: number[]; pred: number; pred_norm: number }[];
  }>("gpt2_torch.py", {
    model_dir: fixture("gpt2_tiny"),
    hellaswag: examples.map((e) => renderExample(e, encode)),
  });
  ours.scores.forEach((s, i) => {
    const r = ref.scores[i]!;
    for (let k = 0; k < 4; k++) {
      assert.ok(
        close(s.sumLoss[k]!, r.sum_loss[k]!, 1e-4, 1e-5),
        `${i}.${k}: ${s.sumLoss[k]} vs ${r.sum_loss[k]}`,
      );
      assert.ok(
        close(s.avgLoss[k]!, r.avg_loss[k]!, 1e-5, 1e-5),
        `${i}.${k}: ${s.avgLoss[k]} vs ${r.avg_loss[k]}`,
      );
    }
    assert.deepEqual([s.pred, s.predNorm], [r.pred, r.pred_norm], `example ${i}`);
  });
  const correct = ref.scores.filter((r, i) => r.pred === examples[i]!.label).length;
  const correctNorm = ref.scores.filter((r, i) => r.pred_norm === examples[i]!.label).length;
  assert.deepEqual([ours.correct, ours.correctNorm, ours.examples], [correct, correctNorm, 8]);
  assert.equal(ours.accNorm, correctNorm / 8);
});

test("hero gpt eval hellaswag on Hugging Face weights; errors name the missing file and the bad token", async () => {
  const { weights, want } = await smallGPT2(5, "model");
  const r = hero(["gpt", "eval", "hellaswag", "--weights", weights, "--data", sample]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(
      `8 examples, acc ${want.acc.toFixed(4)} \\(${want.correct}/8\\), acc_norm ${want.accNorm.toFixed(4)} \\(${want.correctNorm}/8\\)`,
    ),
  );
  const limited = hero(["gpt", "eval", "hellaswag", "--weights", weights, "--data", sample, "--limit", "3"]);
  assert.match(limited.stdout, /: 3 examples, acc/);
  // Offline with no file: which file, from where, and where to put it.
  const empty = join(dir, "empty");
  const missing = hero(["gpt", "eval", "hellaswag", "--weights", weights], { HERO_DATA_DIR: empty });
  assert.equal(missing.status, 1);
  assert.match(
    missing.stderr,
    /HellaSwag val not found: put hellaswag_val\.jsonl \(10042 records, from https:\/\/raw\.githubusercontent\.com\/rowanz\/hellaswag\/master\/data\/hellaswag_val\.jsonl\) in .*empty/,
  );
  await assert.rejects(hellaswagFile("val", { dataDir: empty, download: false }), /put hellaswag_val\.jsonl/);
  // The fixture's 64-token vocabulary cannot hold GPT-2 tokens: a clear error, not a crash in a kernel.
  const tiny = hero(["gpt", "eval", "hellaswag", "--weights", fixture("gpt2_tiny"), "--data", sample]);
  assert.equal(tiny.status, 1);
  assert.match(tiny.stderr, /HellaSwag example 100: token id \d+ is outside the model's vocabulary of 64/);
});

test("on webgpu the scores are wasm's, and hero gpt eval hellaswag --backend webgpu runs", {
  skip: process.env.HERO_TEST_WEBGPU === "0" || webgpuUnavailable !== null,
  timeout: 120_000,
}, async () => {
  const examples = parseHellaSwag(readFileSync(sample, "utf8"));
  const previous = currentBackendName();
  const scoreOn = async (backend: string) => {
    setBackend(backend);
    try {
      return await evaluateHellaSwag(loadHFGPT2(fixture("gpt2_tiny")), examples, tinyEncode);
    } finally {
      setBackend(previous);
    }
  };
  const wasm = await scoreOn("wasm");
  const webgpu = await scoreOn("webgpu");
  webgpu.scores.forEach((s, i) => {
    const w = wasm.scores[i]!;
    for (let k = 0; k < 4; k++)
      assert.ok(
        close(s.sumLoss[k]!, w.sumLoss[k]!, 1e-4, 1e-5),
        `${i}.${k}: ${s.sumLoss[k]} vs ${w.sumLoss[k]}`,
      );
    assert.deepEqual([s.pred, s.predNorm], [w.pred, w.predNorm], `example ${i}`);
  });
  const { weights, want } = await smallGPT2(6, "model-webgpu");
  const r = hero(["gpt", "eval", "hellaswag", "--weights", weights, "--data", sample, "--backend", "webgpu"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(`8 examples, acc ${want.acc.toFixed(4)} .*acc_norm ${want.accNorm.toFixed(4)}`),
  );
});
