/**
 * The Tokenizer base class (minbpe's base.py): merges, vocab, special tokens, decode, and the
 * .model/.vocab file formats. Subclasses say how text becomes chunks and how they are trained.
 */
import { bytePairMerge, MAX_TOKEN_ID, NO_MERGE, pairKey, pairOf } from "./bpe.js";
import type { MergeEvent } from "./train.js";
import { concatBytes, renderToken, utf8Decode, utf8Encode } from "./utf8.js";

/** An error a user can fix: an unknown token id, a disallowed special token, a malformed file. */
export class TokenizerError extends Error {
  override name = "TokenizerError";
}

export interface TrainOptions {
  /** Print each merge, as minbpe's verbose=True does. */
  verbose?: boolean;
  /** Called after each merge (progress bars). */
  onMerge?: (event: MergeEvent) => void;
}

export abstract class Tokenizer {
  /** (left, right) as pairKey → the id of the merged token; the id is also the merge's rank. */
  protected mergeIds = new Map<number, number>();
  /** The split pattern as the .model file stores it ("" for none). */
  pattern = "";
  /** Special token text → id, in the order they were registered. */
  specialTokens = new Map<string, number>();
  /** Token id → its bytes (specials included, as UTF-8 of their text). Holes are unused ids. */
  vocab: (Uint8Array | undefined)[] = [];

  constructor() {
    this.rebuildVocab();
  }

  /** The merges in the order they were learned: [left, right, new id]. */
  get merges(): [number, number, number][] {
    return [...this.mergeIds]
      .map(([key, id]): [number, number, number] => [...pairOf(key), id])
      .sort((x, y) => x[2] - y[2]);
  }

  /** One more than the largest id, specials included. */
  get vocabSize(): number {
    return this.vocab.length;
  }

  abstract train(text: string, vocabSize: number, options?: TrainOptions): void;
  abstract encode(text: string): number[];

  /** Token ids → bytes. An unknown id is an error that names it. */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    const parts: Uint8Array[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) parts[i] = this.tokenBytes(ids[i]!);
    return concatBytes(parts);
  }

  /** Token ids → text; invalid UTF-8 becomes U+FFFD as Python's errors="replace" does. */
  decode(ids: ArrayLike<number>): string {
    return utf8Decode(this.decodeBytes(ids));
  }

  tokenBytes(id: number): Uint8Array {
    const bytes = Number.isInteger(id) ? this.vocab[id] : undefined;
    if (!bytes) throw new TokenizerError(`unknown token id ${id} (vocabulary ids 0..${this.vocabSize - 1})`);
    return bytes;
  }

  /** Installs merges (in order) and special tokens, and rebuilds the vocab (minbpe's _build_vocab). */
  setMerges(merges: readonly (readonly [number, number, number])[]): void {
    this.mergeIds = new Map();
    for (const [a, b, id] of merges) this.mergeIds.set(pairKey(a, b), id);
    this.rebuildVocab();
    this.onChange();
  }

  registerSpecialTokens(specialTokens: Map<string, number> | Record<string, number>): void {
    const entries = specialTokens instanceof Map ? [...specialTokens] : Object.entries(specialTokens);
    for (const [text, id] of entries) {
      if (!Number.isInteger(id) || id < 0 || id >= MAX_TOKEN_ID)
        throw new TokenizerError(`special token ${JSON.stringify(text)} has an invalid id ${id}`);
      if (text.length === 0) throw new TokenizerError("a special token cannot be empty");
    }
    this.specialTokens = new Map(entries);
    this.rebuildVocab();
    this.onChange();
  }

  protected rebuildVocab(): void {
    const vocab: (Uint8Array | undefined)[] = [];
    for (let b = 0; b < 256; b++) vocab[b] = Uint8Array.of(b);
    for (const [a, b, id] of this.merges) vocab[id] = concatBytes([vocab[a]!, vocab[b]!]);
    for (const [text, id] of this.specialTokens) vocab[id] = utf8Encode(text);
    this.vocab = vocab;
  }

  /** BPE on one chunk of bytes: lowest merge first (see bytePairMerge). */
  protected encodeBytes(bytes: Uint8Array): number[] {
    return bytePairMerge(Array.from(bytes), this.mergedId);
  }

  protected mergedId = (a: number, b: number): number => this.mergeIds.get(pairKey(a, b)) ?? NO_MERGE;

  /** The .model file (minbpe v1): version, pattern, specials, then one "left right" line per merge. */
  modelFile(): string {
    const lines = ["minbpe v1", this.pattern, String(this.specialTokens.size)];
    for (const [text, id] of this.specialTokens) lines.push(`${text} ${id}`);
    for (const [a, b] of this.merges) lines.push(`${a} ${b}`);
    return `${lines.join("\n")}\n`;
  }

  /** The .vocab file, for people: "[left][right] -> [token] id" for merges, "[token] id" otherwise. */
  vocabFile(): string {
    const madeBy = new Map<number, [number, number]>();
    for (const [a, b, id] of this.merges) madeBy.set(id, [a, b]);
    let out = "";
    this.vocab.forEach((bytes, id) => {
      if (!bytes) return;
      const pair = madeBy.get(id);
      const s = renderToken(bytes);
      out += pair
        ? `[${renderToken(this.vocab[pair[0]]!)}][${renderToken(this.vocab[pair[1]]!)}] -> [${s}] ${id}\n`
        : `[${s}] ${id}\n`;
    });
    return out;
  }

  /**
   * Reads a .model file's text (minbpe's load). `name` is used in error messages. Merge ids are
   * 256, 257, ... in file order; each merge may only use tokens made before it.
   */
  loadModel(text: string, name = "model"): void {
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    const fail = (line: number, why: string): never => {
      throw new TokenizerError(`${name}:${line}: ${why}`);
    };
    if (lines[0]?.trim() !== "minbpe v1")
      fail(1, `expected "minbpe v1", got ${JSON.stringify(lines[0] ?? "")}`);
    if (lines.length < 3) fail(lines.length + 1, "file ends before the number of special tokens");
    const pattern = lines[1]!.trim();
    const numSpecial = Number(lines[2]!.trim());
    if (!Number.isInteger(numSpecial) || numSpecial < 0 || lines[2]!.trim() === "")
      fail(3, `expected the number of special tokens, got ${JSON.stringify(lines[2])}`);
    const specials = new Map<string, number>();
    let at = 3;
    for (let i = 0; i < numSpecial; i++, at++) {
      const parts = (lines[at] ?? "").trim().split(/\s+/);
      const id = Number(parts[1]);
      if (lines[at] === undefined) fail(at + 1, `file ends before special token ${i + 1} of ${numSpecial}`);
      if (parts.length !== 2 || !Number.isInteger(id) || id < 0)
        fail(at + 1, `expected "<special> <id>", got ${JSON.stringify(lines[at])}`);
      specials.set(parts[0]!, id);
    }
    const merges: [number, number, number][] = [];
    // Line of each pair: a pair merged twice would leave the first id without bytes.
    const pairLine = new Map<number, number>();
    for (; at < lines.length; at++) {
      const line = lines[at]!.trim();
      if (line === "") continue;
      const parts = line.split(/\s+/);
      const a = Number(parts[0]);
      const b = Number(parts[1]);
      const id = 256 + merges.length;
      if (parts.length !== 2 || !Number.isInteger(a) || !Number.isInteger(b))
        fail(at + 1, `expected "<id> <id>", got ${JSON.stringify(lines[at])}`);
      if (a < 0 || b < 0 || a >= id || b >= id)
        fail(at + 1, `merge ${a} ${b} uses a token that does not exist yet (this merge makes ${id})`);
      const key = pairKey(a, b);
      if (pairLine.has(key)) fail(at + 1, `merge ${a} ${b} was already given on line ${pairLine.get(key)}`);
      pairLine.set(key, at + 1);
      merges.push([a, b, id]);
    }
    this.pattern = pattern;
    this.specialTokens = specials;
    this.setMerges(merges);
  }

  /** Merges or special tokens changed: subclasses drop what they derived from them (caches). */
  protected onChange(): void {}
}
