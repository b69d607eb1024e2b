import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  batchIndices,
  buildContextWindows,
  CharVocabulary,
  parseWords,
  splitWords,
} from "../src/data/index.js";
import { loadText, localDatasetPath, sha256, shippedDataDir } from "../src/data/node.js";
import { Random } from "../src/random/index.js";
import { dataDir } from "./helpers.js";

const empty = mkdtempSync(join(tmpdir(), "hero-data-"));
after(() => rmSync(empty, { recursive: true, force: true }));

test("the shipped names.txt: 32,033 words, 27-token vocabulary, the checksum of SOURCES.md", async () => {
  const { text, source } = await loadText("names", { dataDir, download: false });
  assert.equal(source, join(dataDir, "names.txt"));
  assert.equal(sha256(text), "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d");
  const words = parseWords(text);
  assert.equal(words.length, 32_033);
  const vocab = CharVocabulary.fromWords(words);
  assert.equal(vocab.size, 27);
  assert.equal(vocab.itos.join(""), ".abcdefghijklmnopqrstuvwxyz");
  assert.equal(Math.min(...words.map((w) => w.length)), 2);
  assert.equal(Math.max(...words.map((w) => w.length)), 15);
});

test("the lecture's split: 80/10/10 of a seeded shuffle, the same for the same seed", async () => {
  const words = parseWords((await loadText("names", { dataDir, download: false })).text);
  const split = splitWords(words, new Random(42));
  assert.equal(split.train.length, 25_626);
  assert.equal(split.dev.length, 3_203);
  assert.equal(split.test.length, 3_204);
  assert.deepEqual(splitWords(words, new Random(42)).dev, split.dev);
  assert.notDeepEqual(splitWords(words, new Random(43)).dev, split.dev);
  const vocab = CharVocabulary.fromWords(words);
  const windows = buildContextWindows(split.train, vocab, 3);
  // One example per character plus the closing '.' of each word.
  assert.equal(
    windows.count,
    split.train.reduce((n, w) => n + w.length + 1, 0),
  );
});

test("context windows slide over '.'-padded words", () => {
  const vocab = CharVocabulary.fromWords(["emma"]);
  const w = buildContextWindows(["emma"], vocab, 3);
  const rows = Array.from({ length: w.count }, (_, i) => [
    vocab.decode(w.X.subarray(i * 3, i * 3 + 3)),
    vocab.decode([w.Y[i]!]),
  ]);
  assert.deepEqual(rows, [
    ["...", "e"],
    ["..e", "m"],
    [".em", "m"],
    ["emm", "a"],
    ["mma", "."],
  ]);
  assert.throws(() => vocab.encode("z"), /"z" is not in the vocabulary/);
  assert.throws(() => vocab.decode([99]), /token id 99 is out of range for a vocabulary of 4/);
  assert.throws(() => buildContextWindows(["emma"], vocab, 0), /blockSize must be >= 1/);
});

test("minibatch indices are seeded and in range", () => {
  const a = batchIndices(100, 32, new Random(1));
  assert.deepEqual(a, batchIndices(100, 32, new Random(1)));
  assert.ok(a.every((i) => i >= 0 && i < 100));
});

test("with HERO_DATA_DIR unset and no cache, every data set is the copy herograd ships, checksum and all", async () => {
  const saved = { data: process.env.HERO_DATA_DIR, home: process.env.HOME };
  delete process.env.HERO_DATA_DIR;
  process.env.HOME = empty;
  try {
    assert.equal(shippedDataDir(), dataDir);
    for (const [name, sum] of [
      ["names", "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"],
      ["tinyshakespeare", "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"],
      ["taylorswift", "c2e39cb822d4ae0caac22152cefc306d466e31217a9c5524e493ad2b76792f57"],
    ] as const) {
      const { text, source } = await loadText(name, { download: false });
      assert.equal(source, join(dataDir, `${name}.txt`));
      assert.equal(sha256(text), sum, name);
    }
    // A copy in HERO_DATA_DIR wins over the shipped one.
    writeFileSync(join(empty, "names.txt"), "ann\nbob\n");
    process.env.HERO_DATA_DIR = empty;
    assert.equal(localDatasetPath("names"), join(empty, "names.txt"));
    assert.equal(localDatasetPath("taylorswift"), join(dataDir, "taylorswift.txt"));
  } finally {
    rmSync(join(empty, "names.txt"), { force: true });
    if (saved.data === undefined) delete process.env.HERO_DATA_DIR;
    else process.env.HERO_DATA_DIR = saved.data;
    process.env.HOME = saved.home;
  }
});

test("a data set with no copy (the shipped one turned off) names the file and where to put it", async () => {
  await assert.rejects(
    loadText("tinyshakespeare", { dataDir: empty, shipped: false, download: false }),
    (e: Error) =>
      e.message.includes("tinyshakespeare.txt") &&
      e.message.includes(empty) &&
      e.message.includes("HERO_DATA_DIR"),
  );
  await assert.rejects(loadText("nope", { dataDir: empty }), /unknown data set "nope"/);
  await assert.rejects(
    loadText("names", { path: join(empty, "missing.txt") }),
    /missing\.txt does not exist/,
  );
});

test("an explicit path wins over everything", async () => {
  const path = join(empty, "mine.txt");
  writeFileSync(path, "ann\nbob\n");
  const { text, source } = await loadText("names", { path });
  assert.deepEqual(parseWords(text), ["ann", "bob"]);
  assert.equal(source, path);
});
