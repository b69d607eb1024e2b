/**
 * Pretrained encodings from tiktoken's rank data (minbpe's GPT4Tokenizer): gpt2 and cl100k_base.
 *
 * tiktoken stores ranks, not merges: rank r is the r-th token (by byte string) and merging two
 * adjacent tokens is allowed when their concatenation has a rank, lowest rank first. Token id =
 * rank. recoverMerges rebuilds minbpe-style merges from the ranks (for the .vocab file and the
 * lecture); encoding uses the ranks, which is tiktoken's exact rule.
 *
 * The first 256 ranks are single bytes, but not in byte order (cl100k's "byte shuffle"):
 * `byteShuffle[b]` is the id of byte b, the first step of encoding a chunk.
 */
import { TokenizerError } from "./base.js";
import { bytePairMerge, MAX_TOKEN_ID, NO_MERGE, pairKey } from "./bpe.js";
import { TIKTOKEN_CL100K_PATTERN, TIKTOKEN_GPT2_PATTERN } from "./patterns.js";
import { RegexTokenizer } from "./regex.js";
import { bytesKey, keyBytes, utf8Encode } from "./utf8.js";

export type EncodingName = "gpt2" | "cl100k_base";
export const encodingNames: readonly EncodingName[] = ["cl100k_base", "gpt2"];

/** Token bytes (as a binary string, see bytesKey) → rank. */
export type Ranks = Map<string, number>;

/** What tiktoken's registry says about each encoding besides its ranks. */
export const encodingSpecs: Record<EncodingName, { pattern: string; specialTokens: Record<string, number> }> =
  {
    gpt2: { pattern: TIKTOKEN_GPT2_PATTERN, specialTokens: { "<|endoftext|>": 50256 } },
    cl100k_base: {
      pattern: TIKTOKEN_CL100K_PATTERN,
      specialTokens: {
        "<|endoftext|>": 100257,
        "<|fim_prefix|>": 100258,
        "<|fim_middle|>": 100259,
        "<|fim_suffix|>": 100260,
        "<|endofprompt|>": 100276,
      },
    },
  };

/** What a rank table implies, computed once per table and shared by every tokenizer built on it. */
interface RankTables {
  /** Rank → bytes as a binary string. */
  tokenKeys: string[];
  /** Rank → bytes (no specials). */
  vocab: Uint8Array[];
  byteShuffle: Int32Array;
}

const rankTables = new WeakMap<Ranks, RankTables>();

function tablesFor(name: string, ranks: Ranks): RankTables {
  let tables = rankTables.get(ranks);
  if (!tables) {
    const tokenKeys: string[] = [];
    const vocab: Uint8Array[] = [];
    for (const [key, rank] of ranks) {
      tokenKeys[rank] = key;
      vocab[rank] = keyBytes(key);
    }
    const byteShuffle = new Int32Array(256);
    for (let b = 0; b < 256; b++) {
      const rank = ranks.get(String.fromCharCode(b));
      if (rank === undefined) throw new TokenizerError(`${name}: the ranks have no token for byte ${b}`);
      byteShuffle[b] = rank;
    }
    tables = { tokenKeys, vocab, byteShuffle };
    rankTables.set(ranks, tables);
  }
  return tables;
}

export class PretrainedTokenizer extends RegexTokenizer {
  readonly name: string;
  /** The id of each single byte. */
  readonly byteShuffle: Int32Array;
  private readonly ranks: Ranks;
  private readonly tables: RankTables;
  /** (left, right) → rank of their concatenation, filled as pairs are met. */
  private readonly pairRanks = new Map<number, number>();
  private recovered?: [number, number, number][];

  constructor(name: string, ranks: Ranks, pattern: string, specialTokens: Record<string, number>) {
    super(pattern);
    this.name = name;
    this.ranks = ranks;
    this.tables = tablesFor(name, ranks);
    this.byteShuffle = this.tables.byteShuffle;
    this.registerSpecialTokens(specialTokens);
  }

  /** A new tokenizer on the same ranks, with empty caches. */
  fork(): PretrainedTokenizer {
    return new PretrainedTokenizer(
      this.name,
      this.ranks,
      this.pattern,
      Object.fromEntries(this.specialTokens),
    );
  }

  protected override rebuildVocab(): void {
    if (!this.tables) return; // called by the base constructor, before the ranks are set
    const vocab: (Uint8Array | undefined)[] = this.tables.vocab.slice();
    for (const [text, id] of this.specialTokens) vocab[id] = utf8Encode(text);
    this.vocab = vocab;
  }

  protected override mergedId = (a: number, b: number): number => {
    const key = pairKey(a, b);
    let rank = this.pairRanks.get(key);
    if (rank === undefined) {
      rank = this.ranks.get(this.tables.tokenKeys[a]! + this.tables.tokenKeys[b]!) ?? NO_MERGE;
      if (this.pairRanks.size >= 1 << 22) this.pairRanks.clear();
      this.pairRanks.set(key, rank);
    }
    return rank;
  };

  protected override encodePiece(piece: string): number[] {
    // An ASCII piece is its own bytes key: no UTF-8 encoding needed to look it up.
    if (isAscii(piece)) {
      const whole = this.ranks.get(piece);
      if (whole !== undefined) return [whole];
    }
    return this.encodeBytes(utf8Encode(piece));
  }

  protected override encodeBytes(bytes: Uint8Array): number[] {
    const whole = bytes.length <= 128 ? this.ranks.get(bytesKey(bytes)) : undefined;
    if (whole !== undefined) return [whole];
    const ids = new Array<number>(bytes.length);
    for (let i = 0; i < bytes.length; i++) ids[i] = this.byteShuffle[bytes[i]!]!;
    return bytePairMerge(ids, this.mergedId);
  }

  /** The merges recovered from the ranks (computed on first use: about a second for cl100k). */
  override get merges(): [number, number, number][] {
    this.recovered ??= recoverMerges(this.tables.tokenKeys, this.byteShuffle, this.mergedId);
    return this.recovered;
  }

  override train(): void {
    throw new TokenizerError(`${this.name} is pretrained; train a BasicTokenizer or RegexTokenizer instead`);
  }

  override setMerges(): void {
    throw new TokenizerError(`${this.name} is defined by its ranks; its merges cannot be replaced`);
  }

  override loadModel(): void {
    throw new TokenizerError(`${this.name} is defined by its ranks; load a .model into a RegexTokenizer`);
  }

  /** minbpe's GPT4Tokenizer cannot be saved either: a .model file has no place for the byte shuffle. */
  override modelFile(): string {
    throw new TokenizerError(
      `${this.name} cannot be written as a minbpe .model (it has no place for the byte shuffle); its .vocab can`,
    );
  }
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * minbpe's recover_merges: for each token, run BPE on its bytes using only lower ranks; the two
 * parts left are the pair whose merge made it.
 */
export function recoverMerges(
  tokenKeys: readonly string[],
  byteShuffle: Int32Array,
  mergedId: (a: number, b: number) => number,
): [number, number, number][] {
  const merges: [number, number, number][] = [];
  tokenKeys.forEach((key, rank) => {
    if (key.length < 2) return;
    const ids = Array.from(key, (ch) => byteShuffle[ch.charCodeAt(0)]!);
    const below = (a: number, b: number) => {
      const r = mergedId(a, b);
      return r < rank ? r : NO_MERGE;
    };
    const parts = bytePairMerge(ids, below);
    if (parts.length !== 2)
      throw new TokenizerError(`token ${rank} cannot be made by merging two lower-ranked tokens`);
    merges.push([parts[0]!, parts[1]!, rank]);
  });
  return merges;
}

/** Parses a .tiktoken file: one "base64-bytes rank" per line. `name` is used in error messages. */
export function parseTiktokenRanks(text: string, name = "ranks"): Ranks {
  const ranks: Ranks = new Map();
  // Line of each rank, to name both lines of a rank given twice.
  const lineOf = new Map<number, number>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    const [b64, rankText, extra] = line.split(" ");
    const rank = Number(rankText);
    if (extra !== undefined || !Number.isInteger(rank) || rank < 0)
      throw new TokenizerError(
        `${name}:${i + 1}: expected "<base64 bytes> <rank>", got ${JSON.stringify(line)}`,
      );
    let key: string;
    try {
      key = atob(b64!);
    } catch {
      throw new TokenizerError(`${name}:${i + 1}: ${JSON.stringify(b64)} is not base64`);
    }
    // Ranks are token ids: below the id limit, each given once, so a file cannot claim a huge table.
    if (rank >= MAX_TOKEN_ID)
      throw new TokenizerError(`${name}:${i + 1}: rank ${rank} is over the limit of ${MAX_TOKEN_ID - 1}`);
    if (lineOf.has(rank))
      throw new TokenizerError(
        `${name}:${i + 1}: rank ${rank} was already given on line ${lineOf.get(rank)}`,
      );
    if (ranks.has(key))
      throw new TokenizerError(`${name}:${i + 1}: the token of rank ${rank} is listed twice`);
    lineOf.set(rank, i + 1);
    ranks.set(key, rank);
  }
  return ranks;
}

/** js-tiktoken's compact form: lines of "<anything> <first rank> <base64> <base64> ...". */
export function parseJsTiktokenRanks(bpeRanks: string): Ranks {
  const ranks: Ranks = new Map();
  for (const line of bpeRanks.split("\n")) {
    if (line === "") continue;
    const fields = line.split(" ");
    const offset = Number(fields[1]);
    for (let i = 2; i < fields.length; i++) ranks.set(atob(fields[i]!), offset + i - 2);
  }
  return ranks;
}

const shippedRanks = new Map<EncodingName, Ranks>();

/**
 * A pretrained encoding with ranks shipped in the npm package js-tiktoken (offline; the same data
 * as OpenAI's .tiktoken files). Parsed ranks are kept, so later calls only build the tokenizer.
 */
export async function getEncoding(name: EncodingName): Promise<PretrainedTokenizer> {
  let ranks = shippedRanks.get(name);
  if (!ranks) {
    const data =
      name === "cl100k_base"
        ? (await import("js-tiktoken/ranks/cl100k_base")).default
        : name === "gpt2"
          ? (await import("js-tiktoken/ranks/gpt2")).default
          : undefined;
    if (!data) throw new TokenizerError(`unknown encoding "${name}"; known: ${encodingNames.join(", ")}`);
    ranks = parseJsTiktokenRanks(data.bpe_ranks);
    shippedRanks.set(name, ranks);
  }
  return encodingFromRanks(name, ranks);
}

/** A pretrained encoding from ranks you supply (a .tiktoken file read with parseTiktokenRanks). */
export function encodingFromRanks(name: EncodingName, ranks: Ranks): PretrainedTokenizer {
  const spec = encodingSpecs[name];
  if (!spec) throw new TokenizerError(`unknown encoding "${name}"; known: ${encodingNames.join(", ")}`);
  return new PretrainedTokenizer(name, ranks, spec.pattern, spec.specialTokens);
}

export function isEncodingName(name: string): name is EncodingName {
  return (encodingNames as readonly string[]).includes(name);
}
