/**
 * Loaders against mutated files (seeded, so every run tries the same 10,000+ files): safetensors,
 * minbpe .model and tiktoken rank files, .npy token shards and training checkpoints, truncated,
 * with bytes flipped, broken JSON, huge or negative lengths, offsets past the end, wrong dtypes,
 * shapes and counts. Each either loads or throws the loader's typed error with the file's name in
 * its message; nothing else escapes, nothing hangs, and no claimed huge size is allocated.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { NpyError, serializeNpy } from "../src/data/npy.js";
import { readNpyTokens } from "../src/data/shards-node.js";
import { saveCheckpoint } from "../src/io/checkpoint.js";
import { CheckpointError } from "../src/io/errors.js";
import { readSafetensors } from "../src/io/node.js";
import { loadSafetensorsBytes, SafetensorsError, serializeSafetensors } from "../src/io/safetensors.js";
import { Random } from "../src/random/index.js";
import { TokenizerError } from "../src/tokenizer/base.js";
import { loadTiktokenFile, loadTokenizer } from "../src/tokenizer/fs.js";
import { GPT2_SPLIT_PATTERN, RegexTokenizer } from "../src/tokenizer/index.js";
import { applyOverrides, GPTTrainer, presetConfig } from "../src/train/gpt.js";
import { loadTrainedGPT, trainGPT } from "../src/train/gpt-node.js";
import { mutations } from "./fuzz-mutations.js";
import { fixture, writeTinyCharData } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "herograd-fuzz-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const rng = new Random(20240516);
const { pick, byteMutation, mutateJson, breakJson, mutateSafetensors, mutateText } = mutations(rng);
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A small safetensors file with several dtypes (the real fixture is mutated too, less often). */
function baseSafetensors(): Uint8Array {
  const f32 = new Uint8Array(new Float32Array([1, -2, 3.5, 4, 5, 6]).buffer);
  return serializeSafetensors(
    {
      w: { dtype: "F32", shape: [2, 3], bytes: f32 },
      ids: { dtype: "I64", shape: [2], bytes: new Uint8Array(new BigInt64Array([3n, -4n]).buffer) },
      half: { dtype: "F16", shape: [2], bytes: new Uint8Array(new Uint16Array([0x3c00, 0xc000]).buffer) },
      mask: { dtype: "BOOL", shape: [3], bytes: new Uint8Array([1, 0, 1]) },
      empty: { dtype: "F32", shape: [0, 4], bytes: new Uint8Array(0) },
    },
    { format: "pt" },
  );
}

/** Runs `load` on each case; returns how many loaded. Anything but `isTyped` errors naming the file fails. */
function expectTyped(
  label: string,
  cases: number,
  make: (i: number) => { file: string; load: () => void },
  isTyped: (e: unknown) => boolean,
): number {
  let loaded = 0;
  const before = process.memoryUsage();
  let peak = 0;
  for (let i = 0; i < cases; i++) {
    const { file, load } = make(i);
    try {
      load();
      loaded++;
    } catch (error) {
      const e = error as Error;
      if (process.env.FUZZ_DEBUG)
        console.log(
          `${label}\t${e.message
            .replace(file, "")
            .replace(/[0-9]+/g, "N")
            .slice(0, 70)}`,
        );
      if (!isTyped(e) || !e.message.includes(file))
        assert.fail(`${label} case ${i}: ${e?.name} does not name ${file}: ${e?.message}\n${e?.stack}`);
    }
    if (i % 50 === 0) {
      const now = process.memoryUsage();
      peak = Math.max(peak, now.rss - before.rss, now.arrayBuffers - before.arrayBuffers);
    }
  }
  // A claimed size of gigabytes or more was never allocated.
  assert.ok(peak < 512 * 2 ** 20, `${label}: memory grew by ${(peak / 2 ** 20).toFixed(0)} MiB`);
  return loaded;
}

test("5,000 mutated safetensors files: SafetensorsError naming the file, or a clean load", {
  timeout: 120_000,
}, () => {
  const small = baseSafetensors();
  const real = new Uint8Array(readFileSync(fixture("gpt2_tiny/model.safetensors")));
  const isTyped = (e: unknown) => e instanceof SafetensorsError;
  const path = join(dir, "fuzz.safetensors");
  const loaded = expectTyped(
    "safetensors",
    5000,
    (i) => {
      const bytes = mutateSafetensors(i % 10 === 0 ? real : small);
      if (i % 2 === 0) {
        writeFileSync(path, bytes);
        return { file: path, load: () => void readSafetensors(path) };
      }
      const name = `memory-${i}.safetensors`;
      return { file: name, load: () => void loadSafetensorsBytes(bytes, name) };
    },
    isTyped,
  );
  // The mutations are not all fatal: some files still load.
  assert.ok(loaded > 100 && loaded < 4000, `${loaded} loaded`);
});

test("3,000 mutated tokenizer files (.model, .tiktoken): TokenizerError naming the file, or a working tokenizer", {
  timeout: 120_000,
}, () => {
  const trained = new RegexTokenizer(GPT2_SPLIT_PATTERN);
  trained.train(
    "hello world, the quick brown fox jumps over the lazy dog; hello hello world 123 123",
    256 + 24,
  );
  trained.registerSpecialTokens({ "<|endoftext|>": 280 });
  const modelText = trained.modelFile();
  // A rank file: the tokens of that tokenizer by id (its bytes in base64), as tiktoken stores ranks.
  const ranksText = trained.vocab
    .slice(0, 256 + 24)
    .map((bytes, id) => `${btoa(String.fromCharCode(...bytes!))} ${id}`)
    .join("\n");
  const modelPath = join(dir, "fuzz.model");
  const ranksPath = join(dir, "fuzz.tiktoken");
  const use = (t: { encode(s: string): number[]; decode(ids: number[]): string }) => {
    t.decode(t.encode("hello world 123 ñ"));
  };
  expectTyped(
    "tokenizer",
    3000,
    (i) => {
      if (i % 2 === 0) {
        writeFileSync(modelPath, mutateText(modelText));
        return { file: "fuzz.model", load: () => use(loadTokenizer(modelPath)) };
      }
      writeFileSync(ranksPath, mutateText(ranksText));
      return { file: "fuzz.tiktoken", load: () => use(loadTiktokenFile("gpt2", ranksPath)) };
    },
    (e) => e instanceof TokenizerError,
  );
});

test("1,000 mutated .npy token shards: NpyError naming the file, or the tokens", { timeout: 60_000 }, () => {
  const base = serializeNpy(Uint16Array.from({ length: 300 }, (_, i) => (i * 31) % 50257));
  const headerEnd = base.indexOf(0x0a) + 1;
  const path = join(dir, "fuzz_train_000001.npy");
  expectTyped(
    "npy",
    1000,
    () => {
      let bytes: Uint8Array;
      if (rng.random() < 0.5) bytes = byteMutation(base);
      else {
        const header = dec.decode(base.subarray(10, headerEnd));
        const mutated = header.replace(
          pick([/'<u2'/, /\(300,\)/, /False/, /\{/]),
          pick(["'<i8'", "(-1,)", "(99999999999999,)", "(300, 2)", "()", "True", "'|u1'", "{'a': 1,"]),
        );
        const text = enc.encode(mutated);
        bytes = new Uint8Array(10 + text.length + base.length - headerEnd);
        bytes.set(base.subarray(0, 10));
        new DataView(bytes.buffer).setUint16(8, pick([text.length, text.length, 0xffff, 0, 3]), true);
        bytes.set(text, 10);
        bytes.set(base.subarray(headerEnd), 10 + text.length);
      }
      writeFileSync(path, bytes);
      return { file: path, load: () => void readNpyTokens(path) };
    },
    (e) => e instanceof NpyError,
  );
});

test("1,500 mutated training checkpoints: CheckpointError or SafetensorsError naming the checkpoint, on load and on resume", {
  timeout: 180_000,
}, async () => {
  // A character data set as `hero gpt prepare` writes it, and a run with one checkpoint.
  const data = join(dir, "ckdata");
  const { chars, ids, meta } = writeTinyCharData(data);
  const config = applyOverrides(presetConfig("shakespeare-char"), [
    "n_layer=1",
    "n_head=2",
    "n_embd=8",
    "block_size=8",
    "batch_size=2",
    "max_iters=1",
    "eval_iters=1",
    "sample_tokens=0",
  ]);
  // Resuming with max_iters 0 restores everything and trains nothing, whatever iteration the state claims.
  const resumeConfig = { ...config, maxIters: 0 };
  const trainer = new GPTTrainer(config, chars.length, { train: ids, val: ids });
  trainer.step();
  const out = join(dir, "ck");
  const contents = trainer.checkpointContents();
  const saved = saveCheckpoint(out, { ...contents, state: { ...contents.state, meta } as never });
  const files = ["checkpoint.json", "state.json", "model.safetensors", "optimizer.safetensors"].map((f) =>
    f === "checkpoint.json" ? join(out, f) : join(saved, f),
  );
  const originals = files.map((f) => new Uint8Array(readFileSync(f)));
  // Sanity: the untouched checkpoint loads both ways.
  await loadTrainedGPT(out, data, "last");
  await trainGPT({ config: resumeConfig, outDir: out, dataDir: data, resume: true });

  const cases = 1500;
  let loaded = 0;
  const before = process.memoryUsage().rss;
  for (let i = 0; i < cases; i++) {
    const k = rng.randint(0, files.length);
    let bytes: Uint8Array;
    if (k < 2) {
      const text = dec.decode(originals[k]);
      bytes = enc.encode(rng.random() < 0.3 ? breakJson(text) : JSON.stringify(mutateJson(JSON.parse(text))));
    } else bytes = mutateSafetensors(originals[k]!);
    writeFileSync(files[k]!, bytes);
    try {
      if (i % 2 === 0) await loadTrainedGPT(out, data, "last");
      else await trainGPT({ config: resumeConfig, outDir: out, dataDir: data, resume: true });
      loaded++;
    } catch (error) {
      const e = error as Error;
      if (process.env.FUZZ_DEBUG)
        console.log(
          `checkpoint\t${e.message
            .replace(out, "")
            .replace(/[0-9]+/g, "N")
            .slice(0, 90)}`,
        );
      if (!(e instanceof CheckpointError || e instanceof SafetensorsError) || !e.message.includes(out))
        assert.fail(`checkpoint case ${i} (${files[k]}): ${e?.name}: ${e?.message}\n${e?.stack}`);
    }
    writeFileSync(files[k]!, originals[k]!);
  }
  assert.ok(process.memoryUsage().rss - before < 512 * 2 ** 20, "memory stayed bounded");
  assert.ok(loaded < cases, `${loaded} of ${cases} loaded`);
});
