/** `hero tokenizer ...` and `hero selftest tokenizer`, run as a user would. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { getEncoding } from "../src/tokenizer/index.js";
import { dataDir, repoRoot } from "./helpers.js";

const main = join(repoRoot, "dist", "src", "cli", "main.js");
const hardCases = join(repoRoot, "test", "data", "tokenizer-hard-cases.txt");
const dir = mkdtempSync(join(tmpdir(), "herograd-tokenizer-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function hero(args: string[], input?: string, env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, [main, ...args], {
    input,
    encoding: "utf8",
    env: { ...process.env, HERO_NO_RESPAWN: "1", ...env },
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

test("train writes .model/.vocab; encode and decode with --model give the text back", () => {
  const data = join(dir, "data.txt");
  const text = readFileSync(join(dataDir, "taylorswift.txt"), "utf8").slice(0, 30000);
  writeFileSync(data, text);
  const prefix = join(dir, "ts");
  const trained = hero([
    "tokenizer",
    "train",
    "--vocab",
    "300",
    "--data",
    data,
    "--out",
    prefix,
    "--pattern",
    "gpt2",
  ]);
  assert.equal(trained.status, 0, trained.stderr);
  assert.ok(existsSync(`${prefix}.model`) && existsSync(`${prefix}.vocab`));
  assert.match(readFileSync(`${prefix}.model`, "utf8"), /^minbpe v1\n'\(\?:\[sdmt\]/);
  const encoded = hero(["tokenizer", "encode", "--model", prefix, "--file", data, "--format", "json"]);
  assert.equal(encoded.status, 0, encoded.stderr);
  const ids = JSON.parse(encoded.stdout) as number[];
  assert.ok(ids.length < text.length && Math.max(...ids) === 299);
  const decoded = hero(["tokenizer", "decode", "--model", prefix], encoded.stdout);
  assert.equal(decoded.stdout, text);

  const withSpecial = hero([
    "tokenizer",
    "train",
    "--vocab",
    "260",
    "--data",
    data,
    "--out",
    prefix,
    "--special",
    "<|endoftext|>",
    "<|pad|>",
  ]);
  assert.equal(withSpecial.status, 0, withSpecial.stderr);
  assert.match(readFileSync(`${prefix}.model`, "utf8"), /\n2\n<\|endoftext\|> 260\n<\|pad\|> 261\n/);
  const special = hero(["tokenizer", "encode", "--model", prefix, "--allowed-special", "all", "a<|pad|>"]);
  assert.equal(special.stdout, "97 261\n");
});

test("encode/decode with a pretrained encoding: argument, stdin, JSON or spaces", () => {
  assert.equal(
    hero(["tokenizer", "encode", "--encoding", "cl100k_base", "hello world"]).stdout,
    "15339 1917\n",
  );
  assert.equal(
    hero(["tokenizer", "encode", "--encoding", "gpt2", "--format", "json"], "hello world").stdout,
    "[31373,995]\n",
  );
  assert.equal(
    hero(["tokenizer", "decode", "--encoding", "cl100k_base", "[15339, 1917]"]).stdout,
    "hello world",
  );
  const special = hero([
    "tokenizer",
    "encode",
    "--encoding",
    "cl100k_base",
    "--allowed-special",
    "all",
    "<|endoftext|>hello world",
  ]);
  assert.equal(special.stdout, "100257 15339 1917\n");
});

test("bad input is a clear error and a non-zero exit", () => {
  const disallowed = hero(["tokenizer", "encode", "--encoding", "cl100k_base", "a <|endoftext|>"]);
  assert.equal(disallowed.status, 1);
  assert.match(disallowed.stderr, /disallowed special token "<\|endoftext\|>"/);
  const unknown = hero(["tokenizer", "decode", "--encoding", "gpt2", "31373 50257"]);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /unknown token id 50257/);
  assert.match(
    hero(["tokenizer", "decode", "--encoding", "gpt2", "1 two"]).stderr,
    /"two" is not a token id/,
  );
  assert.match(hero(["tokenizer", "encode", "x"]).stderr, /--model PREFIX or --encoding/);
  assert.match(
    hero(["tokenizer", "encode", "--model", join(dir, "none"), "x"]).stderr,
    /cannot read tokenizer model/,
  );
});

test("--show colours each token; NO_COLOR marks the boundaries instead", () => {
  const shown = hero(["tokenizer", "encode", "--encoding", "cl100k_base", "--show", "hello world 😉"]);
  assert.equal(shown.status, 0, shown.stderr);
  assert.ok(shown.stdout.includes("\x1b[48;2;"), "ANSI background colours");
  assert.match(shown.stdout, /3 tokens, 13 characters/);
  const plain = hero(
    ["tokenizer", "encode", "--encoding", "cl100k_base", "--show", "hello world 😉"],
    undefined,
    {
      NO_COLOR: "1",
    },
  );
  assert.equal(plain.stdout.split("\n")[0], "hello| world| 😉|");
});

test("selftest tokenizer ends with 'N passed, N failed' and fails on wrong ranks", async () => {
  const ok = hero(["selftest", "tokenizer", "--encoding", "cl100k_base", hardCases]);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  const lines = readFileSync(hardCases, "utf8").split(/(?<=\n)/).length;
  assert.equal(ok.stdout.trim().split("\n").at(-1), `${lines + 1} passed, 0 failed`);

  // A .tiktoken file for gpt2 with two ranks swapped: " the" and " of" trade ids.
  const gpt2 = await getEncoding("gpt2");
  const swap = new Map([
    [262, 286],
    [286, 262],
  ]);
  let tiktoken = "";
  gpt2.vocab.forEach((bytes, id) => {
    if (id < 50256) tiktoken += `${Buffer.from(bytes!).toString("base64")} ${swap.get(id) ?? id}\n`;
  });
  const ranks = join(dir, "gpt2-swapped.tiktoken");
  writeFileSync(ranks, tiktoken);
  const bad = hero(["selftest", "tokenizer", "--encoding", "gpt2", "--ranks", ranks, hardCases]);
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /FAIL line \d+: ids differ/);
  assert.match(bad.stdout.trim().split("\n").at(-1)!, /^\d+ passed, [1-9]\d* failed$/);
});
