/**
 * Split patterns. minbpe writes them into .model files in Python `regex` syntax; tiktoken's are in
 * Rust fancy-regex syntax. JavaScript lacks two things they use, so each has a JavaScript twin:
 *
 * - Possessive quantifiers (`?+`, `++`): here they never change a match. In `[^\r\n\p{L}\p{N}]?+\p{L}+`
 *   giving back the optional character cannot help, because it is not a letter; in
 *   ` ?[^\s\p{L}\p{N}]++[\r\n]*` the class cannot match \r or \n, so a plain `+` stops at the same place.
 * - Inline flags `(?i:...)`: the contractions are spelled out in both cases. Rust's case folding also
 *   puts ſ (U+017F, long s) with s, so `'ſ` is a contraction here as there (cl100k's ranks happen to
 *   give the same ids either way).
 *
 * `\s` also differs: JavaScript's includes U+FEFF and not U+0085; Rust's is Unicode White_Space, the
 * opposite. The twins spell Rust's class out. The tests compare the splits with tiktoken's tokens.
 */

/** minbpe's GPT-2 pattern (= tiktoken's gpt2 pattern, written shorter). */
export const GPT2_SPLIT_PATTERN = String.raw`'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

/** minbpe's GPT-4 pattern (cl100k_base). */
export const GPT4_SPLIT_PATTERN = String.raw`'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`;

/** tiktoken's spellings of the same two patterns (its registry for gpt2 and cl100k_base). */
export const TIKTOKEN_GPT2_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;
export const TIKTOKEN_CL100K_PATTERN = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

/** Unicode White_Space, Rust's `\s`. */
const WS = String.raw`\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000`;
const space = `[${WS}]`;
const notSpace = `[^${WS}]`;

/** GPT-2's pattern for JavaScript (flags "gu"). */
export const GPT2_SPLIT_PATTERN_JS = [
  "'(?:[sdmt]|ll|ve|re)",
  String.raw` ?\p{L}+`,
  String.raw` ?\p{N}+`,
  String.raw` ?[^${WS}\p{L}\p{N}]+`,
  `${space}+(?!${notSpace})`,
  `${space}+`,
].join("|");

/** GPT-4's pattern for JavaScript (flags "gu"). */
export const GPT4_SPLIT_PATTERN_JS = [
  String.raw`'(?:[sS\u017F]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE])`,
  String.raw`[^\r\n\p{L}\p{N}]?\p{L}+`,
  String.raw`\p{N}{1,3}`,
  String.raw` ?[^${WS}\p{L}\p{N}]+[\r\n]*`,
  String.raw`${space}*[\r\n]+`,
  `${space}+(?!${notSpace})`,
  `${space}+`,
].join("|");

/** Names accepted by the CLI's --pattern. */
export const namedPatterns: Record<string, string> = {
  gpt2: GPT2_SPLIT_PATTERN,
  gpt4: GPT4_SPLIT_PATTERN,
  none: "",
};

const javascriptTwins = new Map<string, string>([
  [GPT2_SPLIT_PATTERN, GPT2_SPLIT_PATTERN_JS],
  [TIKTOKEN_GPT2_PATTERN, GPT2_SPLIT_PATTERN_JS],
  [GPT4_SPLIT_PATTERN, GPT4_SPLIT_PATTERN_JS],
  [TIKTOKEN_CL100K_PATTERN, GPT4_SPLIT_PATTERN_JS],
]);

/** GPT-2's or GPT-4's (cl100k) pattern in any of its spellings: the patterns known to run in linear time. */
export function isKnownPattern(pattern: string): boolean {
  return javascriptTwins.has(pattern) || [...javascriptTwins.values()].includes(pattern);
}

/**
 * A split pattern compiled for JavaScript: a known Python/Rust pattern becomes its twin; any other
 * must already be a JavaScript regex (it is compiled with the "u" flag).
 */
export function compileSplitPattern(pattern: string): RegExp {
  const source = javascriptTwins.get(pattern) ?? pattern;
  try {
    return new RegExp(source, "gu");
  } catch (error) {
    throw new Error(
      `split pattern ${JSON.stringify(pattern)} is not a JavaScript regular expression ` +
        `(${(error as Error).message}); possessive quantifiers and (?i:...) need a JavaScript rewrite`,
    );
  }
}
