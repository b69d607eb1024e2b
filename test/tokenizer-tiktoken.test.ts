/**
 * Byte-exact with tiktoken: our cl100k_base and gpt2 against tiktoken (the Rust library compiled to
 * WebAssembly, the npm package "tiktoken") on the data sets and on test/data/tokenizer-hard-cases.txt.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { get_encoding } from "tiktoken";
import { Random } from "../src/random/index.js";
import { type EncodingName, getEncoding } from "../src/tokenizer/index.js";
import { dataDir, repoRoot } from "./helpers.js";

const files = {
  "taylorswift.txt": join(dataDir, "taylorswift.txt"),
  "tinyshakespeare.txt": join(dataDir, "tinyshakespeare.txt"),
  "tokenizer-hard-cases.txt": join(repoRoot, "test", "data", "tokenizer-hard-cases.txt"),
};

/** The index of the first difference, with a little context, or -1. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function assertSameIds(ours: number[], theirs: Uint32Array, what: string): void {
  const at = firstDifference(ours, theirs);
  assert.equal(
    at,
    -1,
    `${what}: ids differ at ${at}: ours ${ours.slice(at, at + 8).join(" ")} tiktoken ${[...theirs.slice(at, at + 8)].join(" ")}`,
  );
}

/** Characters where the split patterns are delicate: spaces of every kind, quotes, marks, surrogates. */
const fuzzAlphabet = [
  ..."  \t\n\r's'S'T'd'D'm'M'l'L'v'V're'RE aZ0123456789.,!?-_()[]{}<>/\\\"`~@#$%^&*+=|;:",
  ..."éßſİıΣσЖжאבعربى한국中文ひカ½²①😀👍🏽",
  ..."\u0301 \u0308 \u094d \u0e33 \u200d \u2640 \ufe0f \u0085 \ufeff \u00a0 \u2009 \u3000 \u2028 \u000b \u000c \u001f".split(
    " ",
  ),
  "\ud800",
  "\udc00",
  "\r\n",
];

for (const name of ["cl100k_base", "gpt2"] as EncodingName[]) {
  test(`${name}: the same ids as tiktoken on whole files, and decode gives the text back`, async () => {
    const ours = await getEncoding(name);
    const oracle = get_encoding(name);
    try {
      for (const [file, path] of Object.entries(files)) {
        const text = readFileSync(path, "utf8");
        const ids = ours.encode(text, { allowedSpecial: "all" });
        assertSameIds(ids, oracle.encode(text, "all"), `${name} ${file}`);
        assert.equal(ours.decode(ids), text);
      }
    } finally {
      oracle.free();
    }
  });

  test(`${name}: the same ids as tiktoken on each line of the hard cases, and on lone surrogates`, async () => {
    const ours = await getEncoding(name);
    const oracle = get_encoding(name);
    try {
      const text = readFileSync(files["tokenizer-hard-cases.txt"], "utf8");
      const lines = text.split(/(?<=\n)/);
      assert.ok(lines.length > 60);
      for (const [i, line] of lines.entries()) {
        assertSameIds(
          ours.encode(line, { allowedSpecial: "all" }),
          oracle.encode(line, "all"),
          `line ${i + 1}`,
        );
        assertSameIds(ours.encodeOrdinary(line), oracle.encode_ordinary(line), `line ${i + 1} (ordinary)`);
      }
      for (const s of [
        "a\uD800b",
        "\uDC00",
        "x\uD83D",
        "\uD83D\uDE00\uD83D",
        "é\uDFFF ",
        "\uDBFF\uDBFF  \uDFFF",
      ])
        assertSameIds(ours.encode(s), oracle.encode(s), JSON.stringify(s));
    } finally {
      oracle.free();
    }
  });
}

test("random strings of delicate characters: the same ids as tiktoken", async () => {
  const rng = new Random(2024);
  for (const name of ["cl100k_base", "gpt2"] as EncodingName[]) {
    const ours = await getEncoding(name);
    const oracle = get_encoding(name);
    try {
      for (let trial = 0; trial < 3000; trial++) {
        let text = "";
        for (let n = rng.randint(0, 40); n > 0; n--)
          text += fuzzAlphabet[rng.randint(0, fuzzAlphabet.length)];
        assertSameIds(ours.encode(text), oracle.encode(text), `${name} ${JSON.stringify(text)}`);
      }
    } finally {
      oracle.free();
    }
  }
});

test("long pieces (no split points): the same ids as tiktoken, via the heap merge", async () => {
  const rng = new Random(99);
  const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const texts = [
    "a".repeat(5000),
    Array.from({ length: 5000 }, () => letters[rng.randint(0, letters.length)]).join(""),
    `${" ".repeat(5000)}x`,
    "\n".repeat(3000),
    "😀".repeat(1000),
  ];
  for (const name of ["cl100k_base", "gpt2"] as EncodingName[]) {
    const ours = await getEncoding(name);
    const oracle = get_encoding(name);
    try {
      for (const text of texts)
        assertSameIds(ours.encode(text), oracle.encode(text), `${name} ${text.slice(0, 10)}…`);
    } finally {
      oracle.free();
    }
  }
});
