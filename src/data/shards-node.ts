/**
 * Token shards on disk (Node): a corpus tokenized with GPT-2's BPE into uint16 .npy shards as
 * build-nanogpt's fineweb.py writes them (every document starts with <|endoftext|>, shard 0 is
 * the validation split, the rest are training), and the shards read back for a TokenLoader.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, join, resolve } from "node:path";
import { getEncoding } from "../tokenizer/index.js";
import { readExactly } from "./node.js";
import { NPY_PREFIX_BYTES, NpyError, npyDataStart, npyHeader, parseNpyHeader } from "./npy.js";
import { type ShardSet, TokenLoader, type TokenLoaderOptions } from "./shards.js";

function readAt(fd: number, length: number, position: number, file: string): Uint8Array {
  return readExactly(fd, length, position, (message) => new NpyError(file, message));
}

/** The tokens of a uint16 .npy file; the header is validated against the file size before any data is read. */
export function readNpyTokens(path: string): Uint16Array {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    throw new NpyError(path, `cannot open (${(error as Error).message})`);
  }
  try {
    const size = fstatSync(fd).size;
    const start = npyDataStart(readAt(fd, Math.min(size, NPY_PREFIX_BYTES), 0, path), size, path);
    const { dataStart, length } = parseNpyHeader(readAt(fd, start, 0, path), size, path);
    const bytes = readAt(fd, 2 * length, dataStart, path);
    return new Uint16Array(bytes.buffer, 0, length);
  } finally {
    closeSync(fd);
  }
}

/** Write tokens as a .npy file atomically (a temporary file beside it, fsynced, renamed). */
export function writeNpyTokens(path: string, tokens: Uint16Array): void {
  const tmp = join(resolve(path, ".."), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, npyHeader(tokens.length));
    writeSync(fd, new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength));
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

export type Split = "train" | "val";

const shardPattern = (split: Split) => new RegExp(`(^|_)${split}_\\d+\\.npy$`);

/** The .npy shards of a split in `dir`, sorted by name (as DataLoaderLite lists them). */
export function listShards(dir: string, split: Split): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .filter((f) => shardPattern(split).test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** True when `dir` holds .npy token shards of both splits. */
export function hasShards(dir: string): boolean {
  return listShards(dir, "train").length > 0 && listShards(dir, "val").length > 0;
}

/** The shards of a split as a ShardSet (each shard read from disk when the loader moves to it). */
export function shardSet(dir: string, split: Split): ShardSet {
  const names = listShards(dir, split);
  if (names.length === 0)
    throw new NpyError(
      dir,
      `no ${split} shards (*_${split}_NNNNNN.npy): run "hero gpt prepare <corpus> --shard-size N" first`,
    );
  return { names, read: (i) => readNpyTokens(names[i]!) };
}

/** A DataLoaderLite over the shards of one split of `dir`. */
export function openTokenLoader(
  dir: string,
  split: Split,
  batchSize: number,
  blockSize: number,
  options: TokenLoaderOptions = {},
): TokenLoader {
  return new TokenLoader(shardSet(dir, split), batchSize, blockSize, options);
}

export interface PrepareShardsOptions {
  /** Text files: .jsonl files hold one JSON object per line with a "text" field (FineWeb's form). */
  inputs: string[];
  /** Where the shards go (created if needed). */
  outDir: string;
  /** File name prefix: PREFIX_val_000000.npy, PREFIX_train_000001.npy, ... */
  prefix: string;
  /** Tokens per shard (build-nanogpt: 1e8). */
  shardSize: number;
  /** Split plain text into documents at this separator (default: each file is one document). */
  separator?: string;
  /** Called as documents are tokenized. */
  onProgress?: (p: { bytes: number; totalBytes: number; documents: number; tokens: number }) => void;
}

export interface PreparedShard {
  path: string;
  split: Split;
  tokens: number;
}

export interface PrepareShardsResult {
  shards: PreparedShard[];
  documents: number;
  tokens: number;
}

/** The documents of one input file with their sizes in bytes (for progress). */
function* documentsOf(path: string, separator: string | undefined): Generator<[string, number]> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read corpus ${path} (${(error as Error).message})`);
  }
  if (path.endsWith(".jsonl")) {
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.trim() === "") continue;
      let doc: unknown;
      try {
        doc = JSON.parse(line);
      } catch (error) {
        throw new Error(`${path}:${i + 1}: not valid JSON (${(error as Error).message})`);
      }
      const t = (doc as { text?: unknown } | null)?.text;
      if (typeof t !== "string") throw new Error(`${path}:${i + 1}: no "text" string field`);
      yield [t, Buffer.byteLength(line) + 1];
    }
    return;
  }
  if (!separator) {
    yield [text, Buffer.byteLength(text)];
    return;
  }
  for (const part of text.split(separator)) {
    const bytes = Buffer.byteLength(part) + Buffer.byteLength(separator);
    if (part.trim() !== "") yield [part, bytes];
  }
}

/**
 * Tokenize documents into shards as fineweb.py does: [<|endoftext|>, ...encode_ordinary(doc)] per
 * document, packed into shards of exactly shardSize tokens (a document runs on into the next
 * shard), the last shard holding the rest. Shard 0 is "val", the others "train"; there must be at
 * least one of each. Old shards of the same prefix in outDir are removed.
 */
export async function prepareShards(options: PrepareShardsOptions): Promise<PrepareShardsResult> {
  const { inputs, outDir, prefix, shardSize, separator, onProgress } = options;
  if (!Number.isInteger(shardSize) || shardSize < 2)
    throw new RangeError(`shard size must be an integer of at least 2 tokens, got ${shardSize}`);
  if (inputs.length === 0) throw new Error("prepareShards: no input files");
  for (const f of inputs) if (!existsSync(f)) throw new Error(`corpus ${f} does not exist`);
  const enc = await getEncoding("gpt2");
  const eot = enc.specialTokens.get("<|endoftext|>")!;
  const totalBytes = inputs.reduce((a, f) => a + statSync(f).size, 0);
  mkdirSync(outDir, { recursive: true });

  const shards: PreparedShard[] = [];
  const buffer = new Uint16Array(shardSize);
  let filled = 0;
  let bytes = 0;
  let documents = 0;
  let tokens = 0;
  const shardPath = (index: number, split: Split) =>
    join(outDir, `${prefix}_${split}_${String(index).padStart(6, "0")}.npy`);
  const flush = (count: number) => {
    const index = shards.length;
    const split: Split = index === 0 ? "val" : "train";
    const path = shardPath(index, split);
    writeNpyTokens(path, buffer.subarray(0, count));
    shards.push({ path, split, tokens: count });
  };
  for (const input of inputs) {
    for (const [doc, size] of documentsOf(input, separator)) {
      const ids = enc.encodeOrdinary(doc);
      ids.unshift(eot);
      let at = 0;
      while (at < ids.length) {
        const take = Math.min(shardSize - filled, ids.length - at);
        for (let k = 0; k < take; k++) buffer[filled + k] = ids[at + k]!;
        filled += take;
        at += take;
        if (filled === shardSize) {
          flush(filled);
          filled = 0;
        }
      }
      documents++;
      tokens += ids.length;
      bytes += size;
      onProgress?.({ bytes: Math.min(bytes, totalBytes), totalBytes, documents, tokens });
      // Let a progress bar redraw.
      if (documents % 256 === 0) await new Promise((r) => setImmediate(r));
    }
  }
  if (shards.length === 0 || (shards.length === 1 && filled === 0)) {
    rmSync(shardPath(0, "val"), { force: true });
    throw new Error(
      `${inputs.join(", ")}: ${tokens} tokens make only one shard of ${shardSize}; the first shard is the ` +
        `validation split, so pass a shard size of at most ${Math.floor(tokens / 2)} to have training data too`,
    );
  }
  if (filled > 0) flush(filled);
  // Shards of an earlier preparation with more shards would otherwise be mixed in.
  const written = new Set(shards.map((s) => basename(s.path)));
  const ours = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}_(train|val)_\\d+\\.npy$`);
  for (const f of readdirSync(outDir)) if (ours.test(f) && !written.has(f)) rmSync(join(outDir, f));
  return { shards, documents, tokens };
}
