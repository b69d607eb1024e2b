/** Token shards: the .npy format numpy writes, preparation as fineweb.py, and DataLoaderLite's order. */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { NpyError, npyHeader, parseNpy, serializeNpy } from "../src/data/npy.js";
import { ShardError, type ShardSet, TokenLoader } from "../src/data/shards.js";
import { listShards, prepareShards, readNpyTokens, writeNpyTokens } from "../src/data/shards-node.js";
import { getEncoding } from "../src/tokenizer/index.js";
import { applyOverrides, presetConfig } from "../src/train/gpt.js";
import { repoRoot } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "herograd-shards-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test(".npy: reads numpy's own file, writes the header numpy writes", () => {
  // test/data/numpy-uint16.npy: np.save of np.array([50256, 0, 1, 65535, 1234, 7], dtype=np.uint16)
  const numpyFile = join(repoRoot, "test", "data", "numpy-uint16.npy");
  const bytes = new Uint8Array(readFileSync(numpyFile));
  assert.deepEqual([...readNpyTokens(numpyFile)], [50256, 0, 1, 65535, 1234, 7]);
  assert.deepEqual(serializeNpy(Uint16Array.from([50256, 0, 1, 65535, 1234, 7])), bytes);
  assert.equal(npyHeader(100000).length % 64, 0);
  const path = join(dir, "round.npy");
  const tokens = Uint16Array.from({ length: 1000 }, (_, i) => (i * 7919) % 65536);
  writeNpyTokens(path, tokens);
  assert.deepEqual(readNpyTokens(path), tokens);
  assert.deepEqual(parseNpy(new Uint8Array(readFileSync(path))), tokens);
});

test(".npy: wrong dtype, two dimensions and truncation are errors naming the file", () => {
  const good = serializeNpy(Uint16Array.from([1, 2, 3]));
  const withHeader = (dict: string) => {
    const h = npyHeader(3);
    const text = dict.padEnd(h.length - 11, " ");
    const out = new Uint8Array(h.length + 6);
    out.set(h.subarray(0, 10));
    for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
    out[h.length - 1] = 0x0a;
    return out;
  };
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, good.length - 1), /3 uint16 values need 6 bytes of data, the file has 5 \(truncated\)/],
    [good.subarray(0, 4), /truncated: 4 bytes/],
    [withHeader("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }"), /dtype "<i8" is not/],
    [withHeader("{'descr': '<u2', 'fortran_order': False, 'shape': (1, 3), }"), /shape \(1, 3\) is not one/],
    [new TextEncoder().encode("not numpy at all"), /no \\x93NUMPY magic/],
  ];
  cases.forEach(([bytes, pattern], i) => {
    const path = join(dir, `bad-${i}.npy`);
    writeFileSync(path, bytes);
    assert.throws(
      () => readNpyTokens(path),
      (e: Error) => e instanceof NpyError && e.message.startsWith(path) && pattern.test(e.message),
    );
  });
});

/** Shards in memory: shard i holds the numbers 1000·i, 1000·i + 1, ... */
function memoryShards(lengths: number[]): ShardSet & { reads: number[] } {
  const reads: number[] = [];
  return {
    names: lengths.map((_, i) => `shard${i}`),
    reads,
    read(i) {
      reads.push(i);
      return Uint16Array.from({ length: lengths[i]! }, (_, k) => 1000 * i + k);
    },
  };
}

test("TokenLoader reads batches in order, moves shard by shard, wraps, and resumes from its state", () => {
  const B = 2;
  const T = 3;
  const shards = memoryShards([14, 7, 20]);
  const loader = new TokenLoader(shards, B, T);
  const first = loader.nextBatch();
  assert.deepEqual([...first.x], [0, 1, 2, 3, 4, 5]);
  assert.deepEqual([...first.y], [1, 2, 3, 4, 5, 6]);
  // 14 tokens hold two batches (positions 0 and 6: 6 + 7 <= 14), then shard 1 (one batch), then shard 2.
  const starts = [first, ...Array.from({ length: 6 }, () => loader.nextBatch())].map((b) => b.x[0]);
  assert.deepEqual(starts, [0, 6, 1000, 2000, 2006, 2012, 0]);
  assert.deepEqual(shards.reads, [0, 1, 2, 0]);
  // a state restores the same stream
  const state = loader.getState();
  const next = [loader.nextBatch(), loader.nextBatch()].map((b) => [...b.x]);
  const again = new TokenLoader(memoryShards([14, 7, 20]), B, T);
  again.setState(state);
  assert.deepEqual(
    [again.nextBatch(), again.nextBatch()].map((b) => [...b.x]),
    next,
  );
  assert.throws(
    () => again.setState({ shard: 3, position: 0 }, "state.json"),
    /state.json: shard 3 is not one of/,
  );
  assert.throws(
    () => again.setState({ shard: 1, position: 4 }),
    /leaves no whole batch of 7 tokens in shard1/,
  );
  assert.throws(
    () => new TokenLoader(memoryShards([5]), B, T),
    /shard0: 5 tokens, fewer than one batch needs/,
  );
  assert.throws(
    () => new TokenLoader(memoryShards([14]), B, T, { vocabSize: 10 }),
    (e: Error) =>
      e instanceof ShardError &&
      /token 10 at position 10 is outside the model's vocabulary of 10/.test(e.message),
  );
});

test("prepareShards: <|endoftext|> before every document, exact shard sizes, shard 0 for validation", async () => {
  const enc = await getEncoding("gpt2");
  const docs = ["First Citizen: speak.", "All: Speak, speak.", "Second Citizen: we are accounted poor."];
  const corpus = join(dir, "corpus.txt");
  writeFileSync(corpus, docs.join("\n\n"));
  const jsonl = join(dir, "corpus.jsonl");
  writeFileSync(jsonl, `${docs.map((text) => JSON.stringify({ text, id: 1 })).join("\n")}\n`);
  const expected = docs.flatMap((d) => [50256, ...enc.encodeOrdinary(d)]);
  for (const [input, separator] of [
    [corpus, "\n\n"],
    [jsonl, undefined],
  ] as const) {
    const out = join(dir, `shards-${separator ? "txt" : "jsonl"}`);
    // a stale shard of an earlier preparation goes away
    mkdirSync(out, { recursive: true });
    writeNpyTokens(join(out, "c_train_000009.npy"), Uint16Array.from([1, 2]));
    const r = await prepareShards({ inputs: [input], outDir: out, prefix: "c", shardSize: 8, separator });
    assert.equal(r.documents, 3);
    assert.equal(r.tokens, expected.length);
    assert.deepEqual(
      r.shards.map((s) => [s.split, s.tokens]),
      Array.from({ length: Math.ceil(expected.length / 8) }, (_, i) => [
        i === 0 ? "val" : "train",
        Math.min(8, expected.length - 8 * i),
      ]),
    );
    const all = [...listShards(out, "val"), ...listShards(out, "train")].flatMap((f) => [
      ...readNpyTokens(f),
    ]);
    assert.deepEqual(all, expected);
    assert.ok(!readdirSync(out).includes("c_train_000009.npy"));
  }
  await assert.rejects(
    prepareShards({ inputs: [corpus], outDir: join(dir, "one"), prefix: "c", shardSize: 1000 }),
    /make only one shard of 1000; the first shard is the validation split, so pass a shard size of at most/,
  );
  writeFileSync(join(dir, "bad.jsonl"), '{"text": "ok"}\n{"txt": 1}\n');
  await assert.rejects(
    prepareShards({ inputs: [join(dir, "bad.jsonl")], outDir: join(dir, "bad"), prefix: "b", shardSize: 4 }),
    /bad\.jsonl:2: no "text" string field/,
  );
});

test("total_batch_size sets the accumulation steps as build-nanogpt, and must divide", () => {
  const gpt2 = presetConfig("gpt2");
  assert.equal(gpt2.totalBatchSize, 524288);
  assert.equal(applyOverrides(gpt2, []).gradientAccumulationSteps, 64);
  assert.equal(applyOverrides(gpt2, ["batch_size=16"]).gradientAccumulationSteps, 32);
  const tiny = applyOverrides(gpt2, ["batch_size=2", "block_size=32", "total_batch_size=128"]);
  assert.equal(tiny.gradientAccumulationSteps, 2);
  assert.throws(
    () => applyOverrides(gpt2, ["block_size=1000"]),
    /total_batch_size 524288 is not a multiple of batch_size × block_size = 8 × 1000 = 8000/,
  );
  assert.throws(
    () => applyOverrides(gpt2, ["gradient_accumulation_steps=2"]),
    /gradient_accumulation_steps=2 contradicts total_batch_size 524288/,
  );
  assert.equal(
    applyOverrides(gpt2, ["total_batch_size=0", "gradient_accumulation_steps=2"]).gradientAccumulationSteps,
    2,
  );
});
