/**
 * RegexTokenizer (minbpe's regex.py): the text is first cut into pieces by a split pattern (GPT-2's
 * or GPT-4's), BPE never merges across pieces, and special tokens are cut out before that.
 */

import { Tokenizer, TokenizerError, type TrainOptions } from "./base.js";
import { compileSplitPattern, GPT4_SPLIT_PATTERN } from "./patterns.js";
import { completeMerges, learnMerges, mergesFor, reporter } from "./train.js";
import { toWellFormed, utf8Encode } from "./utf8.js";

/** Which special tokens: all of them, none, or these texts. */
export type SpecialSet = "all" | "none" | Iterable<string>;

/** tiktoken's semantics for special tokens in encode. */
export interface EncodeOptions {
  /** Specials encoded as their single id ("none" by default: their text is then ordinary text). */
  allowedSpecial?: SpecialSet;
  /**
   * Specials whose text in the input is an error ("all" by default, meaning every special that is not
   * allowed). "none" encodes such text as ordinary text.
   */
  disallowedSpecial?: SpecialSet;
}

// Pieces longer than this are not cached (a long run of spaces, a base64 blob): they rarely repeat.
const CACHE_PIECE_MAX = 256;
const CACHE_ENTRIES_MAX = 1 << 17;

export class RegexTokenizer extends Tokenizer {
  private compiled: { pattern: string; regex: RegExp | null } | undefined;
  private readonly chunkCache = new Map<string, number[]>();
  private allSpecialsRegex: RegExp | null = null;

  /** `pattern`: a split pattern (minbpe/tiktoken spelling or JavaScript), "" for none. Default GPT-4's. */
  constructor(pattern: string = GPT4_SPLIT_PATTERN) {
    super();
    this.pattern = pattern;
    void this.splitter; // a pattern JavaScript cannot compile is an error now, not at the first encode
  }

  /** The compiled split pattern (null for none), recompiled if `pattern` was changed. */
  private get splitter(): RegExp | null {
    if (this.compiled?.pattern !== this.pattern) {
      this.compiled = {
        pattern: this.pattern,
        regex: this.pattern ? compileSplitPattern(this.pattern) : null,
      };
      this.chunkCache.clear();
    }
    return this.compiled.regex;
  }

  protected override onChange(): void {
    this.chunkCache.clear();
    this.allSpecialsRegex = null;
  }

  train(text: string, vocabSize: number, options: TrainOptions = {}): void {
    const numMerges = mergesFor(vocabSize);
    // Distinct pieces in order of first appearance, each with how often it occurs.
    const counts = new Map<string, number>();
    for (const piece of this.split(toWellFormed(text))) counts.set(piece, (counts.get(piece) ?? 0) + 1);
    const chunks = [...counts.keys()].map((piece) => utf8Encode(piece));
    const merges = learnMerges(chunks, [...counts.values()], numMerges, reporter(options));
    this.setMerges(completeMerges(merges, numMerges));
  }

  /** The pieces the split pattern cuts `text` into (specials are not treated here). */
  split(text: string): string[] {
    if (!this.splitter) return text.length > 0 ? [text] : [];
    const re = this.splitter;
    re.lastIndex = 0;
    const pieces: string[] = [];
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m[0].length === 0)
        re.lastIndex++; // a custom pattern that can match nothing
      else pieces.push(m[0]);
    }
    return pieces;
  }

  /** Encodes text ignoring special tokens: their text is ordinary text. */
  encodeOrdinary(text: string): number[] {
    const out: number[] = [];
    this.encodeOrdinaryInto(toWellFormed(text), out);
    return out;
  }

  /**
   * Encodes text, with tiktoken's handling of special tokens: allowed ones become their id; the text
   * of a disallowed one is an error naming it; with neither, it is ordinary text.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    text = toWellFormed(text);
    const allowed = this.specialSet(options.allowedSpecial ?? "none");
    const disallowedOption = options.disallowedSpecial ?? "all";
    const disallowed =
      disallowedOption === "all"
        ? [...this.specialTokens.keys()].filter((s) => !allowed.has(s))
        : [...this.specialSet(disallowedOption)];
    if (disallowed.length > 0) {
      const found = this.finder(disallowed).exec(text);
      if (found) throw disallowedSpecialError(found[0]);
    }
    const out: number[] = [];
    if (allowed.size === 0) {
      this.encodeOrdinaryInto(text, out);
      return out;
    }
    const re = this.finder([...allowed]);
    let start = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      this.encodeOrdinaryInto(text.slice(start, m.index), out);
      out.push(this.specialTokens.get(m[0])!);
      start = m.index + m[0].length;
    }
    this.encodeOrdinaryInto(text.slice(start), out);
    return out;
  }

  /** A regex finding any of these specials, from its start; the one for all of them is kept. */
  private finder(specials: string[]): RegExp {
    let re: RegExp;
    if (specials.length < this.specialTokens.size) re = specialsRegex(specials);
    else {
      this.allSpecialsRegex ??= specialsRegex(specials);
      re = this.allSpecialsRegex;
    }
    re.lastIndex = 0;
    return re;
  }

  private specialSet(option: SpecialSet): Set<string> {
    if (option === "all") return new Set(this.specialTokens.keys());
    if (option === "none") return new Set();
    const set = new Set(option);
    for (const s of set)
      if (!this.specialTokens.has(s))
        throw new TokenizerError(
          `${JSON.stringify(s)} is not a special token of this tokenizer (it has ${[...this.specialTokens.keys()].join(", ") || "none"})`,
        );
    return set;
  }

  /** `text` must be well formed (no lone surrogates). */
  private encodeOrdinaryInto(text: string, out: number[]): void {
    if (text.length === 0) return;
    const re = this.splitter;
    if (!re) {
      for (const id of this.encodeChunk(text)) out.push(id);
      return;
    }
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const piece = m[0];
      if (piece.length === 0) {
        re.lastIndex++;
        continue;
      }
      const ids = this.encodeChunk(piece);
      if (ids.length === 1) out.push(ids[0]!);
      else for (const id of ids) out.push(id);
    }
  }

  /** One piece → ids, remembered: most pieces of a text are words seen before. */
  protected encodeChunk(piece: string): number[] {
    const cached = this.chunkCache.get(piece);
    if (cached) return cached;
    const ids = this.encodePiece(piece);
    if (piece.length <= CACHE_PIECE_MAX) {
      if (this.chunkCache.size >= CACHE_ENTRIES_MAX) this.chunkCache.clear();
      this.chunkCache.set(piece, ids);
    }
    return ids;
  }

  protected encodePiece(piece: string): number[] {
    return this.encodeBytes(utf8Encode(piece));
  }
}

/** A regex finding any of `specials`; longer first, so one that contains another wins. */
function specialsRegex(specials: string[]): RegExp {
  const sorted = [...specials].sort((a, b) => b.length - a.length);
  return new RegExp(sorted.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "gu");
}

/** tiktoken's message for a disallowed special token, naming it. */
export function disallowedSpecialError(token: string): TokenizerError {
  const t = JSON.stringify(token);
  return new TokenizerError(
    `encountered text corresponding to disallowed special token ${t}. To encode it as the special ` +
      `token, allow it (allowedSpecial: [${t}] or "all"; CLI --allowed-special all); to encode it as ` +
      `ordinary text, disallow none (disallowedSpecial: "none"; CLI --disallowed-special none)`,
  );
}
