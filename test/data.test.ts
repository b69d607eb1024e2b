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
import { embeddedNames, loadText, sha256 } from "../src/data/node.js";
import { Random } from "../src/random/index.js";
import { dataDir } from "./helpers.js";

const empty = mkdtempSync(join(tmpdir(), "hero-data-"));
after(() => rmSync(empty, { recursive: true, force: true }));

test("names.txt from HERO_DATA_DIR: 32,033 words, 27-token vocabulary, the checksum of SOURCES.md", async () => {
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

test("with no copy and no network, names falls back to the embedded stdlib lists", async () => {
  const logs: string[] = [];
  const { text, source } = await loadText("names", {
    dataDir: empty,
    download: false,
    log: (m) => logs.push(m),
  });
  assert.equal(source, "embedded:names");
  assert.match(logs[0]!, /embedded default/);
  const words = parseWords(text);
  assert.ok(words.length > 7000, `${words.length} names`);
  assert.ok(words.every((w) => /^[a-z]+$/.test(w)));
  assert.equal(new Set(words).size, words.length);
  assert.equal(CharVocabulary.fromWords(words).size, 27);
  assert.equal(embeddedNames(), text);
});

test("a data set with no copy and no embedded default names the file and where to put it", async () => {
  await assert.rejects(
    loadText("tinyshakespeare", { dataDir: empty, download: false }),
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
