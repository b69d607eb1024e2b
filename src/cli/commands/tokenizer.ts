/** `hero tokenizer ...` (train, encode, decode) and `hero selftest tokenizer` (ids against tiktoken). */
import { readFileSync } from "node:fs";
import { type Command, InvalidArgumentError } from "commander";
import { loadTiktokenFile, loadTokenizer, saveTokenizer } from "../../tokenizer/fs.js";
import {
  BasicTokenizer,
  type EncodeOptions,
  encodingNames,
  endsOnCharBoundary,
  getEncoding,
  isEncodingName,
  namedPatterns,
  RegexTokenizer,
  type Tokenizer,
  TokenizerError,
  toWellFormed,
  utf8Decode,
} from "../../tokenizer/index.js";
import { rangeOption } from "../options.js";
import { startProgress } from "../progress.js";

interface SourceOptions {
  model?: string;
  trustPattern?: boolean;
  encoding?: string;
  ranks?: string;
}

interface EncodeCliOptions extends SourceOptions {
  file?: string;
  format: string;
  show?: boolean;
  allowedSpecial: string;
  disallowedSpecial: string;
}

function encodingOption(value: string): string {
  if (!isEncodingName(value))
    throw new InvalidArgumentError(`unknown encoding "${value}"; known: ${encodingNames.join(", ")}`);
  return value;
}

function patternOption(value: string): string {
  if (!(value in namedPatterns))
    throw new InvalidArgumentError(
      `expected one of ${Object.keys(namedPatterns).join(", ")}, got "${value}"`,
    );
  return value;
}

function formatOption(value: string): string {
  if (value !== "json" && value !== "space")
    throw new InvalidArgumentError(`expected json or space, got "${value}"`);
  return value;
}

/** --model PREFIX or --encoding NAME (ranks from js-tiktoken, or --ranks FILE.tiktoken). */
async function openTokenizer(opts: SourceOptions): Promise<Tokenizer> {
  if (opts.model && opts.encoding) throw new Error("give --model or --encoding, not both");
  if (opts.model) return loadTokenizer(opts.model, { trustPattern: opts.trustPattern === true });
  if (!opts.encoding) throw new Error("say which tokenizer: --model PREFIX or --encoding cl100k_base|gpt2");
  if (!isEncodingName(opts.encoding)) throw new Error(`unknown encoding "${opts.encoding}"`);
  return opts.ranks ? loadTiktokenFile(opts.encoding, opts.ranks) : getEncoding(opts.encoding);
}

/** The text argument, else --file, else all of stdin. */
function readInput(argument: string | undefined, file: string | undefined): string {
  if (argument !== undefined && file)
    throw new Error("give the input as an argument or with --file, not both");
  if (argument !== undefined) return argument;
  try {
    return readFileSync(file ?? 0, "utf8");
  } catch (error) {
    throw new Error(`cannot read ${file ?? "stdin"}: ${(error as Error).message}`);
  }
}

/** Ids as a JSON array or separated by spaces/commas; anything else is named in the error. */
export function parseIds(text: string): number[] {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  if (trimmed.startsWith("[") && !trimmed.endsWith("]"))
    throw new Error(`${JSON.stringify(shorten(trimmed))} is not a list of token ids: no closing "]"`);
  const words = trimmed.startsWith("[") ? trimmed.slice(1, -1).split(",") : trimmed.split(/[\s,]+/);
  return words
    .map((w) => w.trim())
    .filter((w) => w !== "")
    .map((w) => {
      const id = Number(w);
      if (!/^\d+$/.test(w) || !Number.isSafeInteger(id)) throw new Error(`"${w}" is not a token id`);
      return id;
    });
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function specialOptions(
  allowed: string,
  disallowed: string,
  known: ReadonlyMap<string, number>,
): EncodeOptions {
  const set = (flag: string, v: string) => {
    if (v === "all" || v === "none") return v;
    const names = v.split(",").filter((s) => s !== "");
    const unknown = names.find((name) => !known.has(name));
    if (unknown !== undefined)
      throw new Error(
        `${flag}: ${JSON.stringify(unknown)} is not a special token of this tokenizer (it has ${[...known.keys()].join(", ") || "none"})`,
      );
    return names;
  };
  return {
    allowedSpecial: set("--allowed-special", allowed),
    disallowedSpecial: set("--disallowed-special", disallowed),
  };
}

// Bright backgrounds with black text, one per token in turn, as the tiktokenizer app shows them.
const palette = [
  [107, 64, 216],
  [104, 222, 122],
  [244, 172, 54],
  [239, 65, 70],
  [39, 181, 234],
].map(([r, g, b]) => `\x1b[48;2;${r};${g};${b}m\x1b[38;2;0;0;0m`);
const reset = "\x1b[0m";

/**
 * The text with each token on its own background colour, like the tiktokenizer web app. Tokens that
 * end inside a UTF-8 character share a colour with the next ones until the character is complete.
 */
export function showTokens(tokenizer: Tokenizer, ids: readonly number[], color = true): string {
  let out = "";
  let pending: Uint8Array[] = [];
  let group = 0;
  for (const id of ids) {
    pending.push(tokenizer.tokenBytes(id));
    const bytes = Uint8Array.from(pending.flatMap((p) => [...p]));
    if (!endsOnCharBoundary(bytes)) continue;
    const text = utf8Decode(bytes);
    out += color
      ? text
          .split("\n")
          .map((part) => (part ? `${palette[group % palette.length]}${part}${reset}` : ""))
          .join("\n")
      : `${text}|`;
    group++;
    pending = [];
  }
  if (pending.length > 0) out += utf8Decode(Uint8Array.from(pending.flatMap((p) => [...p])));
  return out;
}

export function registerTokenizer(program: Command, selftest: Command): void {
  const tokenizer = program
    .command("tokenizer")
    .description("lesson 8: the GPT tokenizer (byte-level BPE, minbpe), byte-exact with tiktoken");

  tokenizer
    .command("train")
    .description("train a BPE tokenizer (minbpe) and write PREFIX.model and PREFIX.vocab")
    .requiredOption(
      "--vocab <n>",
      "vocabulary size (256 bytes + merges)",
      rangeOption({ integer: true, min: 256, max: 1_000_000 }),
    )
    .requiredOption("--data <file>", "text file to train on")
    .requiredOption("--out <prefix>", "output prefix (writes PREFIX.model, PREFIX.vocab)")
    .option("--pattern <name>", "split pattern: gpt4, gpt2, or none (BasicTokenizer)", patternOption, "gpt4")
    .option("--special <text...>", "special tokens to register, numbered after the vocabulary")
    .option("--verbose", "print every merge, as minbpe does")
    .action(
      (opts: {
        vocab: number;
        data: string;
        out: string;
        pattern: string;
        special?: string[];
        verbose?: boolean;
      }) => {
        const text = readInput(undefined, opts.data);
        const pattern = namedPatterns[opts.pattern]!;
        const model = pattern === "" ? new BasicTokenizer() : new RegexTokenizer(pattern);
        const merges = Math.max(0, opts.vocab - 256);
        const progress = opts.verbose ? undefined : startProgress("merges", merges);
        const started = performance.now();
        try {
          model.train(text, opts.vocab, {
            verbose: opts.verbose,
            onMerge: (e) => progress?.update(e.index + 1, { count: e.count }),
          });
        } finally {
          progress?.stop();
        }
        const seconds = (performance.now() - started) / 1000;
        if (opts.special?.length) {
          if (!(model instanceof RegexTokenizer))
            throw new Error("special tokens need a split pattern (gpt2 or gpt4)");
          model.registerSpecialTokens(
            Object.fromEntries(opts.special.map((text, i) => [text, opts.vocab + i])),
          );
        }
        console.log(
          `trained ${model.constructor.name} (pattern ${opts.pattern}) to vocab ${opts.vocab} on ${text.length} characters in ${seconds.toFixed(3)} s`,
        );
        for (const path of saveTokenizer(model, opts.out)) console.log(`wrote ${path}`);
      },
    );

  tokenizer
    .command("encode")
    .description("text → token ids (text from the argument, --file or stdin)")
    .argument("[text]", "the text to encode")
    .option("--model <prefix>", "a trained tokenizer (PREFIX.model)")
    .option("--trust-pattern", "accept a --model whose split pattern is not GPT-2's or GPT-4's")
    .option("--encoding <name>", `a pretrained encoding: ${encodingNames.join(", ")}`, encodingOption)
    .option(
      "--ranks <file>",
      "with --encoding: read ranks from a .tiktoken file instead of js-tiktoken's copy",
    )
    .option("--file <file>", "read the text from a file")
    .option("--format <format>", "ids as json or space separated", formatOption, "space")
    .option("--show", "print the text with each token coloured (like the tiktokenizer app)")
    .option("--allowed-special <set>", "special tokens encoded as such: all, none, or a,b,...", "none")
    .option(
      "--disallowed-special <set>",
      "special tokens whose text is an error: all (not allowed ones), none, a,b,...",
      "all",
    )
    .action(async (text: string | undefined, opts: EncodeCliOptions) => {
      const model = await openTokenizer(opts);
      const input = readInput(text, opts.file);
      const ids =
        model instanceof RegexTokenizer
          ? model.encode(
              input,
              specialOptions(opts.allowedSpecial, opts.disallowedSpecial, model.specialTokens),
            )
          : model.encode(input);
      if (opts.show) {
        process.stdout.write(`${showTokens(model, ids, !process.env.NO_COLOR)}\n`);
        console.log(`${ids.length} tokens, ${[...input].length} characters`);
        return;
      }
      console.log(opts.format === "json" ? JSON.stringify(ids) : ids.join(" "));
    });

  tokenizer
    .command("decode")
    .description("token ids → text (ids as JSON or space separated, from the argument, --file or stdin)")
    .argument("[ids]", 'the ids, e.g. "15339 1917" or "[15339,1917]"')
    .option("--model <prefix>", "a trained tokenizer (PREFIX.model)")
    .option("--trust-pattern", "accept a --model whose split pattern is not GPT-2's or GPT-4's")
    .option("--encoding <name>", `a pretrained encoding: ${encodingNames.join(", ")}`, encodingOption)
    .option(
      "--ranks <file>",
      "with --encoding: read ranks from a .tiktoken file instead of js-tiktoken's copy",
    )
    .option("--file <file>", "read the ids from a file")
    .option("--show", "print the text with each token coloured")
    .action(async (idsText: string | undefined, opts: SourceOptions & { file?: string; show?: boolean }) => {
      const model = await openTokenizer(opts);
      const ids = parseIds(readInput(idsText, opts.file));
      if (opts.show) process.stdout.write(`${showTokens(model, ids, !process.env.NO_COLOR)}\n`);
      else process.stdout.write(model.decode(ids));
    });

  selftest
    .command("tokenizer")
    .description(
      "our ids against tiktoken's (the Rust library as WebAssembly), line by line and for the whole file",
    )
    .argument("<file>", "any UTF-8 text file")
    .requiredOption("--encoding <name>", `${encodingNames.join(" or ")}`, encodingOption)
    .option("--ranks <file>", "read our ranks from a .tiktoken file instead of js-tiktoken's copy")
    .action(async (file: string, opts: { encoding: string; ranks?: string }) => {
      const ours = await openTokenizer(opts);
      if (!(ours instanceof RegexTokenizer)) throw new TokenizerError("expected a pretrained encoding");
      const { get_encoding } = await import("tiktoken");
      const oracle = get_encoding(opts.encoding as "cl100k_base" | "gpt2");
      const text = readInput(undefined, file);
      const cases = text.split(/(?<=\n)/).map((line, i) => ({ label: `line ${i + 1}`, text: line }));
      cases.push({ label: "whole file", text });
      let passed = 0;
      let failed = 0;
      for (const c of cases) {
        const ids = ours.encode(c.text, { allowedSpecial: "all" });
        const expected = oracle.encode(c.text, "all");
        let at = -1;
        for (let i = 0; i < Math.max(ids.length, expected.length); i++)
          if (ids[i] !== expected[i]) {
            at = i;
            break;
          }
        const roundTrip = ours.decode(ids) === toWellFormed(c.text);
        if (at === -1 && roundTrip) {
          passed++;
          continue;
        }
        failed++;
        if (at !== -1)
          console.log(
            `FAIL ${c.label}: ids differ at ${at}: ours ${ids.slice(at, at + 8).join(" ")}, tiktoken ${[...expected.slice(at, at + 8)].join(" ")}`,
          );
        else console.log(`FAIL ${c.label}: decode does not give the text back`);
      }
      oracle.free();
      console.log(`${opts.encoding} on ${file}: ${cases.length - 1} lines and the whole file`);
      console.log(`${passed} passed, ${failed} failed`);
      if (failed > 0) process.exitCode = 1;
    });
}
