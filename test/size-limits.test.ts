/**
 * Sizes from files and flags are checked before anything is allocated: a makemore checkpoint's
 * config against its weights, a Hugging Face config.json against model.safetensors, a block size
 * against the data and the limits, a token count against memory. Each error names the file or
 * flag, the field, the value and the limit (the lies below once allocated gigabytes).
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createProgram } from "../src/cli/program.js";
import { saveCheckpoint } from "../src/io/checkpoint.js";
import { loadHFGPT2 } from "../src/io/node.js";
import { GPT } from "../src/models/gpt.js";
import { Random } from "../src/random/index.js";
import { applyOverrides, presetConfig } from "../src/train/gpt.js";
import { trainGPT } from "../src/train/gpt-node.js";
import { trainMakemore } from "../src/train/makemore-run.js";
import { fixture } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "herograd-sizes-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const hero = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

/** Resident memory grows by less than `mb` while fn runs (a lie was not allocated). */
async function bounded(mb: number, fn: () => Promise<unknown>): Promise<unknown> {
  const before = process.memoryUsage().rss;
  try {
    return await fn();
  } finally {
    const grew = (process.memoryUsage().rss - before) / 2 ** 20;
    assert.ok(grew < mb, `memory grew by ${grew.toFixed(0)} MB`);
  }
}

/** A regular expression matching `text` literally. */
function escaped(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
}

async function rejects(fn: () => unknown, ...patterns: RegExp[]): Promise<void> {
  const error = await bounded(300, async () => {
    try {
      await fn();
    } catch (e) {
      return e;
    }
    assert.fail("expected an error");
  });
  const message = (error as Error).message;
  for (const p of patterns) assert.match(message, p);
  assert.ok(!message.includes("\n"), `one line: ${message}`);
}

test("a makemore checkpoint whose config claims a bigger model than its weights: an error naming state.json and the field", async () => {
  const words = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper"];
  const config = { type: "mlp" as const, steps: 2, batchSize: 4, evalInterval: 10, samples: 0, nHidden: 16 };
  const result = trainMakemore(words, config);
  const out = join(dir, "makemore");
  const state = {
    kind: "makemore",
    config: result.config,
    vocab: result.data.vocab.itos,
    sequenceBlock: result.data.sequenceBlock,
  };
  const sample = (ck: string) =>
    createProgram().parseAsync(["node", "hero", "makemore", "sample", "--checkpoint", ck, "--count", "2"]);
  for (const [field, value, pattern] of [
    ["nEmbd", 2000, /config\.nEmbd 2000.*\d+ parameters.*model\.safetensors holds \d+/],
    ["nEmbd", 1e7, /config\.nEmbd must be an integer in \[0, 65536\], got 10000000/],
    ["nHidden", -3, /config\.nHidden must be an integer in \[0, 65536\], got -3/],
    ["blockSize", 1e9, /config\.blockSize must be an integer in \[0, 1024\], got 1000000000/],
  ] as const) {
    const ck = saveCheckpoint(join(out, `${field}-${value}`), {
      weights: result.model.stateDict(),
      state: { ...state, config: { ...result.config, [field]: value } },
    });
    await rejects(() => sample(ck), escaped(`${ck}/state.json`), pattern);
  }
  const lying = saveCheckpoint(join(out, "sequence"), {
    weights: result.model.stateDict(),
    state: { ...state, sequenceBlock: 5e8 },
  });
  await rejects(
    () => sample(lying),
    /state\.json/,
    /sequenceBlock must be an integer in \[1, 1024\], got 500000000/,
  );
});

test("an HF config.json that disagrees with model.safetensors, or past the limits: an error naming config.json, the field and the value", () => {
  const model = join(dir, "gpt2");
  cpSync(fixture("gpt2_tiny"), model, { recursive: true });
  const configFile = join(model, "config.json");
  const original = JSON.parse(readFileSync(configFile, "utf8"));
  const lie = (fields: Record<string, unknown>) =>
    writeFileSync(configFile, JSON.stringify({ ...original, ...fields }));
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ n_layer: 500 }, /n_layer 500.*model\.safetensors holds 2 layers/],
    [{ n_embd: 64, n_head: 4 }, /n_embd 64.*model\.safetensors.*"wte\.weight" is \[64, 32\]/],
    [{ n_positions: 4096, n_ctx: 4096 }, /n_positions 4096.*"wpe\.weight" is \[32, 32\]/],
    [{ n_layer: 100000 }, /n_layer must be an integer in \[1, 1024\], got 100000/],
    [{ vocab_size: 5e9 }, /vocab_size must be an integer in \[1, 1048576\], got 5000000000/],
  ];
  for (const [fields, pattern] of cases) {
    lie(fields);
    const before = process.memoryUsage().rss;
    assert.throws(
      () => loadHFGPT2(model),
      (e: Error) => {
        assert.ok(e.message.startsWith(configFile), e.message);
        assert.match(e.message, pattern);
        return true;
      },
    );
    assert.ok(process.memoryUsage().rss - before < 300 * 2 ** 20, `${JSON.stringify(fields)} allocated`);
  }
  lie({});
  assert.equal(loadHFGPT2(model).config.nLayer, 2);
});

test("--set block_size past the limit or longer than the data: an error naming the setting and the data before a model is built", async () => {
  assert.throws(
    () => applyOverrides(presetConfig("shakespeare-char-cpu"), ["block_size=2000000"]),
    /block_size must be an integer in \[1, 65536\], got 2000000/,
  );
  const data = join(dir, "chars");
  mkdirSync(join(data, "shakespeare_char"), { recursive: true });
  const ids = Uint16Array.from({ length: 300 }, (_, i) => i % 5);
  writeFileSync(join(data, "shakespeare_char", "train.bin"), new Uint8Array(ids.buffer));
  writeFileSync(join(data, "shakespeare_char", "val.bin"), new Uint8Array(ids.buffer.slice(0, 200)));
  writeFileSync(
    join(data, "shakespeare_char", "meta.json"),
    JSON.stringify({
      vocab_size: 5,
      itos: { 0: "a", 1: "b", 2: "c", 3: "d", 4: "e" },
      stoi: { a: 0, b: 1, c: 2, d: 3, e: 4 },
    }),
  );
  const config = applyOverrides(presetConfig("shakespeare-char"), [
    "n_layer=1",
    "n_head=1",
    "n_embd=8",
    "batch_size=2",
    "max_iters=1",
    "sample_tokens=0",
  ]);
  const out = join(dir, "block");
  await rejects(
    () => trainGPT({ config: { ...config, blockSize: 200 }, outDir: out, dataDir: data }),
    /block_size 200 needs more than 201 tokens, .*val\.bin holds 100/,
  );
});

test("--tokens past the limit: an error naming the flag and the limit, before the model is read; generate() checks it too", async () => {
  const r = spawnSync(
    process.execPath,
    [hero, "gpt", "sample", "--checkpoint", join(dir, "none"), "--tokens", "1e12"],
    {
      encoding: "utf8",
      timeout: 60_000,
    },
  );
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /--tokens.*1e12.*an integer in \[1, 10000000\]/);
  const model = new GPT({
    blockSize: 4,
    vocabSize: 5,
    nLayer: 1,
    nHead: 1,
    nEmbd: 4,
    dropout: 0,
    bias: true,
  });
  await assert.rejects(
    model.generate([1], 1e12, { generator: new Random(1) }),
    /\[0, 10000000\], got 1000000000000/,
  );
});

test("the sizes computed without building agree with the built models: every makemore type, GPT with and without biases", async () => {
  const { buildMakemoreModel, makemoreDefaults, makemoreStateSize, MAKEMORE_TYPES } = await import(
    "../src/train/makemore-run.js"
  );
  const { gptParameterCount } = await import("../src/models/gpt.js");
  for (const type of MAKEMORE_TYPES) {
    const config = {
      ...makemoreDefaults(type),
      nEmbd: 8,
      nHidden: 12,
      blockSize: type === "wavenet" ? 8 : 3,
    };
    const model = buildMakemoreModel(config, 7, 9, new Random(1));
    let elements = 0;
    for (const t of model.stateDict().values()) elements += t.numel();
    assert.equal(makemoreStateSize(config, 7, 9), elements, type);
  }
  for (const bias of [true, false]) {
    const c = { blockSize: 5, vocabSize: 11, nLayer: 3, nHead: 2, nEmbd: 8, dropout: 0, bias };
    assert.equal(gptParameterCount(c), new GPT(c).numParameters(), `bias ${bias}`);
  }
});
