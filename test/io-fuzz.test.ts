/**
 * Loaders against mutated files (seeded, so every run tries the same 10,000+ files): safetensors,
 * minbpe .model and tiktoken rank files, .npy token shards and training checkpoints, truncated,
 * with bytes flipped, broken JSON, huge or negative lengths, offsets past the end, wrong dtypes,
 * shapes and counts. Each either loads or throws the loader's typed error with the file's name in
 * its message; nothing else escapes, nothing hangs, and no claimed huge size is allocated.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
import { fixture } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "herograd-fuzz-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const rng = new Random(20240516);
const pick = <T>(xs: readonly T[]): T => xs[rng.randint(0, xs.length)]!;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Values a mutated field takes: wrong types, negative, huge, fractional, past the ends. */
const WILD: unknown[] = [
  -1,
  -(2 ** 31),
  0,
  1,
  3,
  2 ** 31,
  2 ** 32 + 1,
  2 ** 53,
  2 ** 62,
  1e300,
  -1e300,
  0.5,
  Number.MAX_SAFE_INTEGER,
  "12",
  "",
  "F32",
  null,
  true,
  [],
  [1, 2],
  [-1],
  [2 ** 40, 2 ** 40],
  [1e9, 1e9, 1e9],
  {},
  { s: [1, 2, 3, 4] },
];

function byteMutation(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes);
  const kind = rng.randint(0, 5);
  if (kind === 0) return bytes.subarray(0, rng.randint(0, bytes.length)); // truncate
  if (kind === 1) {
    for (let k = rng.randint(1, 8); k > 0; k--) out[rng.randint(0, out.length)] = rng.randint(0, 256);
    return out;
  }
  if (kind === 2) {
    // overwrite a run near the start (length prefixes, magic, header)
    const at = rng.randint(0, Math.min(out.length, 64));
    for (let k = 0; k < 8 && at + k < out.length; k++) out[at + k] = pick([0, 0xff, 0x7f, 0x80, 0x22, 0x7b]);
    return out;
  }
  if (kind === 3) return new Uint8Array([...bytes, ...bytes.subarray(0, rng.randint(0, 64))]); // junk appended
  // a block copied over another place
  const to = rng.randint(0, out.length);
  const from = rng.randint(0, out.length);
  out.set(bytes.slice(from, from + Math.min(out.length - to, rng.randint(1, 64))), to);
  return out;
}

/** Mutate a random field somewhere in a JSON value (in place). */
function mutateJson(value: unknown, depth = 0): unknown {
  if (typeof value !== "object" || value === null || depth > 4 || rng.random() < 0.15) return pick(WILD);
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 0 || rng.random() < 0.05) {
    obj[pick(["extra", "__metadata__", "0", "dtype"])] = pick(WILD);
    return obj;
  }
  const k = pick(keys);
  if (rng.random() < 0.1) delete obj[k];
  else obj[k] = mutateJson(obj[k], depth + 1);
  return obj;
}

/** A JSON text broken in one of a few ways. */
function breakJson(text: string): string {
  const kind = rng.randint(0, 4);
  if (kind === 0) return text.slice(0, rng.randint(0, text.length));
  if (kind === 1) {
    const at = rng.randint(0, text.length);
    return (
      text.slice(0, at) +
      pick(["{", "}", '"', ",", "\\", "\u0000", "]", "[[[[[[[[", "1e999"]) +
      text.slice(at)
    );
  }
  if (kind === 2) return "[".repeat(rng.randint(1, 100_000));
  return text.replace(/\d+/, pick(["-5", "1e400", "99999999999999999999", "0x10"]));
}

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

function mutateSafetensors(base: Uint8Array): Uint8Array {
  const kind = rng.randint(0, 4);
  if (kind === 0) return byteMutation(base);
  const n = Number(new DataView(base.buffer, base.byteOffset).getBigUint64(0, true));
  const headerText = dec.decode(base.subarray(8, 8 + n));
  const data = base.subarray(8 + n);
  let header = headerText;
  if (kind === 1) header = breakJson(headerText);
  else if (kind === 2) header = JSON.stringify(mutateJson(JSON.parse(headerText)));
  const json = enc.encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  // The length prefix: right, or huge, "negative", off by a little, or past the end.
  const lengths = [
    BigInt(json.length),
    BigInt(json.length),
    2n ** 64n - 1n,
    2n ** 63n,
    BigInt(json.length) + 7n,
    BigInt(json.length) - 3n,
    BigInt(out.length),
    0n,
  ];
  const length = kind === 3 ? pick(lengths) : BigInt(json.length);
  new DataView(out.buffer).setBigUint64(0, length < 0n ? 0n : length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
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

/** A text file mutated line by line or byte by byte. */
function mutateText(text: string): string {
  const lines = text.split("\n");
  const kind = rng.randint(0, 7);
  const at = rng.randint(0, lines.length);
  if (kind === 0) lines.splice(at, 1);
  else if (kind === 1) lines.splice(at, 0, lines[rng.randint(0, lines.length)]!);
  else if (kind === 2) {
    const other = rng.randint(0, lines.length);
    [lines[at], lines[other]] = [lines[other]!, lines[at]!];
  } else if (kind === 3)
    lines[at] = lines[at]!.replace(
      /-?\d+/,
      pick(["-1", "99999999999999", "1e9", "4294967296", "NaN", "", "0", "256", "1000000000"]),
    );
  else if (kind === 4)
    lines[at] = pick(["", "   ", "a b c", "\u0000", "==== 1", "!!!! -3", `${lines[at]} 7`]);
  else if (kind === 5) return text.slice(0, rng.randint(0, text.length));
  else return dec.decode(byteMutation(enc.encode(text)));
  return lines.join("\n");
}

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
  const chars = "abcdefgh\n ".split("");
  const ids = Uint16Array.from({ length: 400 }, (_, i) => (i * 7) % chars.length);
  mkdirSync(join(data, "shakespeare_char"), { recursive: true });
  writeFileSync(join(data, "shakespeare_char", "train.bin"), new Uint8Array(ids.buffer));
  writeFileSync(join(data, "shakespeare_char", "val.bin"), new Uint8Array(ids.buffer));
  const meta = {
    vocab_size: chars.length,
    itos: Object.fromEntries(chars.map((c, i) => [String(i), c])),
    stoi: Object.fromEntries(chars.map((c, i) => [c, i])),
  };
  writeFileSync(join(data, "shakespeare_char", "meta.json"), JSON.stringify(meta));
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
