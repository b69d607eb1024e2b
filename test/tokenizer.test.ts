/** The GPT tokenizer (minbpe): lecture functions, training, encode/decode, files, special tokens. */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Random } from "../src/random/index.js";
import { loadTiktokenFile, loadTokenizer, saveTokenizer } from "../src/tokenizer/fs.js";
import {
  BasicTokenizer,
  bytePairMerge,
  GPT2_SPLIT_PATTERN,
  GPT4_SPLIT_PATTERN,
  getEncoding,
  getStats,
  merge,
  pairKey,
  pairOf,
  RegexTokenizer,
  type Tokenizer,
  TokenizerError,
  utf8Encode,
} from "../src/tokenizer/index.js";
import { dataDir, repoRoot } from "./helpers.js";

const taylorswift = readFileSync(join(dataDir, "taylorswift.txt"), "utf8");
const specials = {
  "<|endoftext|>": 100257,
  "<|fim_prefix|>": 100258,
  "<|fim_middle|>": 100259,
  "<|fim_suffix|>": 100260,
  "<|endofprompt|>": 100276,
};
const identityTexts = ["", "?", "hello world!!!? (안녕하세요!) lol123 😉", taylorswift];

/** The lecture's training loop, recounting every pair each merge: the reference for the fast one. */
function naiveTrain(chunks: string[], vocabSize: number): [number, number][] {
  let ids = chunks.map((c) => Array.from(utf8Encode(c)));
  const merges: [number, number][] = [];
  for (let idx = 256; idx < vocabSize; idx++) {
    const stats = new Map<number, number>();
    for (const chunk of ids) getStats(chunk, stats);
    let best = -1;
    let bestCount = 0;
    for (const [key, count] of stats) if (count > bestCount) [best, bestCount] = [key, count];
    const pair = pairOf(best);
    ids = ids.map((chunk) => merge(chunk, pair, idx));
    merges.push(pair);
  }
  return merges;
}

/** minbpe's encode: merge the lowest-ranked pair everywhere, repeat. */
function naiveEncode(bytes: number[], mergeIds: Map<number, number>): number[] {
  let ids = bytes;
  while (ids.length >= 2) {
    let best: number | undefined;
    let bestId = Number.POSITIVE_INFINITY;
    for (const key of getStats(ids).keys()) {
      const id = mergeIds.get(key);
      if (id !== undefined && id < bestId) [best, bestId] = [key, id];
    }
    if (best === undefined) break;
    ids = merge(ids, pairOf(best), bestId);
  }
  return ids;
}

function mergeTable(tokenizer: Tokenizer): Map<number, number> {
  return new Map(tokenizer.merges.map(([a, b, id]) => [pairKey(a, b), id]));
}

const trained = {
  basic: new BasicTokenizer(),
  gpt2: new RegexTokenizer(GPT2_SPLIT_PATTERN),
  gpt4: new RegexTokenizer(GPT4_SPLIT_PATTERN),
};
for (const t of Object.values(trained)) t.train(taylorswift, 512);

test("get_stats counts pairs in first-seen order; merge replaces them left to right", () => {
  const stats = getStats([1, 2, 3, 1, 2]);
  assert.deepEqual(
    [...stats].map(([k, c]) => [...pairOf(k), c]),
    [
      [1, 2, 2],
      [2, 3, 1],
      [3, 1, 1],
    ],
  );
  assert.deepEqual(merge([1, 2, 3, 1, 2], [1, 2], 4), [4, 3, 4]);
  assert.deepEqual(merge([5, 5, 5], [5, 5], 6), [6, 5]);
});

test('"aaabdaaabac" with vocab 256+3 encodes to [258, 100, 258, 97, 99] (Basic and Regex)', () => {
  for (const tokenizer of [new BasicTokenizer(), new RegexTokenizer()]) {
    tokenizer.train("aaabdaaabac", 256 + 3);
    assert.deepEqual(tokenizer.encode("aaabdaaabac"), [258, 100, 258, 97, 99]);
    assert.deepEqual(tokenizer.merges, [
      [97, 97, 256],
      [256, 97, 257],
      [257, 98, 258],
    ]);
    assert.equal(tokenizer.decode([258, 100, 258, 97, 99]), "aaabdaaabac");
  }
});

test("encode/decode identity for every tokenizer, untrained and trained", async () => {
  const cl100k = await getEncoding("cl100k_base");
  const gpt2 = await getEncoding("gpt2");
  const withSpecials = new RegexTokenizer();
  withSpecials.setMerges(trained.gpt4.merges);
  withSpecials.registerSpecialTokens(specials);
  const tokenizers: [string, Tokenizer][] = [
    ["untrained Basic", new BasicTokenizer()],
    ["untrained Regex", new RegexTokenizer()],
    ["Basic 512", trained.basic],
    ["Regex gpt2 512", trained.gpt2],
    ["Regex gpt4 512", trained.gpt4],
    ["Regex gpt4 512 + specials", withSpecials],
    ["cl100k_base", cl100k],
    ["gpt2", gpt2],
  ];
  for (const [name, tokenizer] of tokenizers)
    for (const text of identityTexts)
      assert.equal(tokenizer.decode(tokenizer.encode(text)), text, `${name} on ${text.slice(0, 20)}`);
});

test("fast training gives the lecture loop's merges (ties to the pair seen first)", () => {
  const text = taylorswift.slice(0, 20000);
  const basic = new BasicTokenizer();
  basic.train(text, 320);
  assert.deepEqual(
    basic.merges.map(([a, b]) => [a, b]),
    naiveTrain([text], 320),
  );
  for (const pattern of [GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN]) {
    const regex = new RegexTokenizer(pattern);
    regex.train(text, 320);
    assert.deepEqual(
      regex.merges.map(([a, b]) => [a, b]),
      naiveTrain(regex.split(text), 320),
    );
  }
  // Many ties and overlapping pairs ("aaaa"): a small alphabet, random, seeded.
  const rng = new Random(4);
  const tiny = Array.from({ length: 3000 }, () => "ab c"[rng.randint(0, 4)]).join("");
  for (const tokenizer of [new BasicTokenizer(), new RegexTokenizer(GPT2_SPLIT_PATTERN)]) {
    tokenizer.train(tiny, 300);
    const chunks = tokenizer instanceof RegexTokenizer ? tokenizer.split(tiny) : [tiny];
    assert.deepEqual(
      tokenizer.merges.map(([a, b]) => [a, b]),
      naiveTrain(chunks, 300),
    );
  }
});

test("encode gives minbpe's encode (lowest merge first), short and long chunks alike", () => {
  const text = taylorswift.slice(0, 30000);
  const basicTable = mergeTable(trained.basic);
  assert.deepEqual(trained.basic.encode(text), naiveEncode(Array.from(utf8Encode(text)), basicTable));
  const gpt4Table = mergeTable(trained.gpt4);
  const expected = trained.gpt4
    .split(text)
    .flatMap((piece) => naiveEncode(Array.from(utf8Encode(piece)), gpt4Table));
  assert.deepEqual(trained.gpt4.encode(text), expected);
  // The scan (short chunks) and the heap (long ones) agree.
  const rng = new Random(7);
  const merged = (a: number, b: number) => basicTable.get(pairKey(a, b)) ?? 2 ** 31;
  for (let trial = 0; trial < 50; trial++) {
    const ids = Array.from({ length: 1 + rng.randint(0, 300) }, () =>
      "ets a"[rng.randint(0, 5)]!.charCodeAt(0),
    );
    assert.deepEqual(bytePairMerge(ids.slice(), merged, 0), bytePairMerge(ids.slice(), merged, 1e9));
  }
});

test("training reports each merge and refuses impossible sizes", () => {
  const events: number[] = [];
  new BasicTokenizer().train(taylorswift.slice(0, 2000), 260, { onMerge: (e) => events.push(e.id) });
  assert.deepEqual(events, [256, 257, 258, 259]);
  assert.throws(() => new BasicTokenizer().train("abc", 100), /at least 256/);
  assert.throws(() => new BasicTokenizer().train("abcd", 300), /no pairs left to merge after 3 merges/);
});

test(".model and .vocab are minbpe's formats", () => {
  const t = new RegexTokenizer(GPT4_SPLIT_PATTERN);
  t.train("aaabdaaabac", 259);
  t.registerSpecialTokens({ "<|endoftext|>": 259 });
  assert.equal(
    t.modelFile(),
    `minbpe v1\n${GPT4_SPLIT_PATTERN}\n1\n<|endoftext|> 259\n97 97\n256 97\n257 98\n`,
  );
  const vocab = t.vocabFile().split("\n");
  assert.equal(vocab[0], "[\\u0000] 0");
  assert.equal(vocab[97], "[a] 97");
  assert.equal(vocab[200], "[\uFFFD] 200");
  assert.equal(vocab[256], "[a][a] -> [aa] 256");
  assert.equal(vocab[258], "[aaa][b] -> [aaab] 258");
  assert.equal(vocab[259], "[<|endoftext|>] 259");
});

test("save/load round trip, with and without special tokens", () => {
  const dir = mkdtempSync(join(tmpdir(), "herograd-tokenizer-"));
  try {
    const withSpecials = new RegexTokenizer();
    withSpecials.setMerges(trained.gpt4.merges);
    withSpecials.registerSpecialTokens(specials);
    const text = `${taylorswift.slice(0, 5000)}<|endoftext|>hello<|fim_prefix|>`;
    for (const [name, tokenizer] of [
      ["basic", trained.basic],
      ["gpt2", trained.gpt2],
      ["gpt4", trained.gpt4],
      ["specials", withSpecials],
    ] as const) {
      const prefix = join(dir, name);
      saveTokenizer(tokenizer, prefix);
      const loaded = loadTokenizer(prefix);
      assert.equal(loaded.constructor, tokenizer.constructor, name);
      assert.equal(loaded.pattern, tokenizer.pattern);
      assert.deepEqual(loaded.merges, tokenizer.merges);
      assert.deepEqual([...loaded.specialTokens], [...tokenizer.specialTokens]);
      assert.deepEqual(loaded.vocab, tokenizer.vocab);
      const encode = (t: Tokenizer) =>
        t instanceof RegexTokenizer ? t.encode(text, { allowedSpecial: "all" }) : t.encode(text);
      assert.deepEqual(encode(loaded), encode(tokenizer));
      assert.equal(readFileSync(`${prefix}.vocab`, "utf8"), tokenizer.vocabFile());
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a malformed .model file is an error naming the file and line", () => {
  const dir = mkdtempSync(join(tmpdir(), "herograd-tokenizer-"));
  try {
    const cases: [string, RegExp][] = [
      ["minbpe v2\n\n0\n", /bad\.model:1: expected "minbpe v1"/],
      ["minbpe v1\n\nx\n", /bad\.model:3: expected the number of special tokens/],
      ["minbpe v1\n\n1\n<|eot|>\n", /bad\.model:4: expected "<special> <id>"/],
      ["minbpe v1\n\n0\n97 97\n256 x\n", /bad\.model:5: expected "<id> <id>"/],
      [
        "minbpe v1\n\n0\n97 97\n256 300\n",
        /bad\.model:5: merge 256 300 uses a token that does not exist yet/,
      ],
    ];
    for (const [text, message] of cases) {
      writeFileSync(join(dir, "bad.model"), text);
      assert.throws(() => loadTokenizer(join(dir, "bad.model")), message);
    }
    assert.throws(() => loadTokenizer(join(dir, "missing")), /cannot read tokenizer model .*missing\.model/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("special tokens follow tiktoken: allowed all/none/set, disallowed text is an error naming it", async () => {
  const enc = await getEncoding("cl100k_base");
  const text = "<|endoftext|>hello world";
  assert.deepEqual(enc.encode(text, { allowedSpecial: "all" }), [100257, 15339, 1917]);
  assert.throws(
    () => enc.encode(text),
    (e: Error) => e instanceof TokenizerError && /"<\|endoftext\|>"/.test(e.message),
  );
  const ordinary = enc.encodeOrdinary(text);
  assert.deepEqual(ordinary.slice(-2), [15339, 1917]);
  assert.ok(ordinary.length > 3);
  assert.deepEqual(enc.encode(text, { disallowedSpecial: "none" }), ordinary);
  const mixed = "a<|fim_prefix|>b<|endoftext|>";
  assert.throws(
    () => enc.encode(mixed, { allowedSpecial: ["<|fim_prefix|>"] }),
    /disallowed special token "<\|endoftext\|>"/,
  );
  const partly = enc.encode(mixed, { allowedSpecial: ["<|fim_prefix|>"], disallowedSpecial: "none" });
  assert.deepEqual(partly.slice(0, 3), [64, 100258, 65]);
  assert.deepEqual(partly.slice(3), enc.encodeOrdinary("<|endoftext|>"));
  assert.throws(
    () => enc.encode("x", { allowedSpecial: ["<|nope|>"] }),
    /"<\|nope\|>" is not a special token/,
  );
  // minbpe's RegexTokenizer with specials registered behaves the same way.
  const t = new RegexTokenizer();
  t.registerSpecialTokens({ "<|endoftext|>": 300 });
  assert.deepEqual(t.encode("a<|endoftext|>", { allowedSpecial: "all" }), [97, 300]);
  assert.throws(() => t.encode("a<|endoftext|>"), /disallowed special token "<\|endoftext\|>"/);
});

test("the GPT-4 examples of the lecture", async () => {
  const enc = await getEncoding("cl100k_base");
  assert.deepEqual(
    enc.encode("hello123!!!? (안녕하세요!) 😉"),
    [15339, 4513, 12340, 30, 320, 31495, 230, 75265, 243, 92245, 16715, 57037],
  );
  for (const [text, id] of Object.entries(specials)) {
    assert.equal(enc.specialTokens.get(text), id);
    assert.deepEqual(enc.encode(text, { allowedSpecial: "all" }), [id]);
  }
  // The first 256 ranks are a permutation of the bytes (the byte shuffle).
  assert.deepEqual(
    [...enc.byteShuffle].sort((a, b) => a - b),
    Array.from({ length: 256 }, (_, i) => i),
  );
  assert.notDeepEqual(
    [...enc.byteShuffle],
    Array.from({ length: 256 }, (_, i) => i),
  );
});

test("recovered merges re-encode like the ranks (minbpe's GPT4Tokenizer route)", async () => {
  const enc = await getEncoding("gpt2");
  const merges = enc.merges;
  assert.equal(merges.length, 50256 - 256);
  const table = new Map(merges.map(([a, b, id]) => [pairKey(a, b), id]));
  const text = taylorswift.slice(0, 20000);
  const viaMerges = enc.split(text).flatMap((piece) =>
    naiveEncode(
      Array.from(utf8Encode(piece), (b) => enc.byteShuffle[b]!),
      table,
    ),
  );
  assert.deepEqual(viaMerges, enc.encodeOrdinary(text));
});

test("decode replaces invalid UTF-8 like Python's errors='replace'; unknown ids are errors", async () => {
  const enc = await getEncoding("cl100k_base");
  const bytes = (...bs: number[]) => bs.map((b) => enc.byteShuffle[b]!);
  assert.equal(enc.decode(bytes(0xf0, 0x9f, 0x98)), "\uFFFD"); // a truncated 4-byte sequence: one
  assert.equal(enc.decode(bytes(0xe2, 0x28, 0xa1)), "\uFFFD(\uFFFD");
  assert.equal(enc.decode(bytes(0xc0, 0x80)), "\uFFFD\uFFFD");
  assert.equal(enc.decode(bytes(0xed, 0xa0, 0x80)), "\uFFFD\uFFFD\uFFFD"); // an encoded surrogate
  assert.equal(enc.decode(bytes(0x61, 0xff, 0x62)), "a\uFFFDb");
  assert.equal(enc.decode(enc.encode("\uFEFFhi")), "\uFEFFhi"); // a leading BOM is kept
  assert.throws(() => enc.decode([15339, 100256]), /unknown token id 100256/);
  assert.throws(() => trained.basic.decode([512]), /unknown token id 512 \(vocabulary ids 0\.\.511\)/);
  assert.throws(() => trained.basic.decode([-1]), /unknown token id -1/);
});

test("lone surrogates encode as U+FFFD, as tiktoken does", async () => {
  for (const tokenizer of [await getEncoding("cl100k_base"), trained.gpt4, trained.basic]) {
    assert.deepEqual(tokenizer.encode("a\uD800b"), tokenizer.encode("a\uFFFDb"));
    assert.deepEqual(tokenizer.encode("\uDC00\uD83D\uDE00\uD83D"), tokenizer.encode("\uFFFD😀\uFFFD"));
  }
});

test("ranks from a .tiktoken file give the same encoding; a malformed one names file and line", async () => {
  const gpt2 = await getEncoding("gpt2");
  const dir = mkdtempSync(join(tmpdir(), "herograd-tokenizer-"));
  try {
    let file = "";
    gpt2.vocab.forEach((bytes, id) => {
      if (id < 50256) file += `${Buffer.from(bytes!).toString("base64")} ${id}\n`;
    });
    writeFileSync(join(dir, "gpt2.tiktoken"), file);
    const fromFile = loadTiktokenFile("gpt2", join(dir, "gpt2.tiktoken"));
    const text = taylorswift.slice(0, 20000);
    assert.deepEqual(fromFile.encode(text), gpt2.encode(text));
    writeFileSync(join(dir, "bad.tiktoken"), "IQ== 0\nIg== one\n");
    assert.throws(
      () => loadTiktokenFile("gpt2", join(dir, "bad.tiktoken")),
      /bad\.tiktoken:2: expected "<base64 bytes> <rank>"/,
    );
    writeFileSync(join(dir, "short.tiktoken"), "IQ== 0\n");
    assert.throws(() => loadTiktokenFile("gpt2", join(dir, "short.tiktoken")), /no token for byte 0/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("src/tokenizer runs in a browser: only fs.ts imports node: modules", () => {
  const folder = join(repoRoot, "src", "tokenizer");
  for (const file of readdirSync(folder).filter((f) => f.endsWith(".ts") && f !== "fs.ts")) {
    const source = readFileSync(join(folder, file), "utf8");
    assert.doesNotMatch(source, /from "node:|require\(|\bBuffer\b|\bprocess\./, file);
  }
});

test("changing merges, specials or the pattern is seen by the next encode (no stale chunk cache)", () => {
  const t = new RegexTokenizer(GPT4_SPLIT_PATTERN);
  const text = "hello hello world's";
  const before = t.encode(text);
  t.setMerges(trained.gpt4.merges);
  assert.deepEqual(t.encode(text), trained.gpt4.encode(text));
  assert.notDeepEqual(t.encode(text), before);
  t.pattern = "";
  assert.deepEqual(t.encode("ab cd"), naiveEncode(Array.from(utf8Encode("ab cd")), mergeTable(t)));
  t.registerSpecialTokens({ "<|x|>": 600 });
  assert.deepEqual(t.encode("<|x|>", { allowedSpecial: "all" }), [600]);
  assert.throws(() => new RegexTokenizer(String.raw`\p{L}++`), /is not a JavaScript regular expression/);
});
