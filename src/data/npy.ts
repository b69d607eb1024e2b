/**
 * NumPy .npy files of uint16 token ids, the shard format of build-nanogpt (fineweb.py writes them
 * with np.save, its DataLoaderLite reads them with np.load), so shards move between the two.
 *
 * Layout: "\x93NUMPY", major and minor version bytes, the header length (u16 little-endian for
 * version 1, u32 for 2 and 3), an ASCII (3: UTF-8) Python dict literal
 * {'descr': '<u2', 'fortran_order': False, 'shape': (N,), } padded with spaces and ending in "\n"
 * so that the data starts at a multiple of 64 bytes, then the N values. Platform-free; file access
 * is in ./shards-node.js.
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** A malformed or unsuitable .npy file; the message starts with the file's name. */
export class NpyError extends Error {
  override name = "NpyError";
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

export interface NpyHeader {
  /** Byte offset of the data. */
  dataStart: number;
  /** Number of uint16 values. */
  length: number;
}

/** Bytes the fixed part of the header needs before the length of the dict is known. */
export const NPY_PREFIX_BYTES = 12;

/**
 * Where the data of a .npy file starts, from its first NPY_PREFIX_BYTES bytes (fewer for a
 * shorter file): the magic and version are checked and the header must fit in `fileSize`.
 */
export function npyDataStart(prefix: Uint8Array, fileSize: number, file = "<bytes>"): number {
  if (fileSize < 10 || prefix.length < 10)
    throw new NpyError(file, `truncated: ${fileSize} bytes is too short for a .npy file`);
  for (let i = 0; i < MAGIC.length; i++)
    if (prefix[i] !== MAGIC[i]) throw new NpyError(file, "not a .npy file (no \\x93NUMPY magic)");
  const major = prefix[6]!;
  if (major < 1 || major > 3) throw new NpyError(file, `unsupported .npy version ${major}.${prefix[7]}`);
  const fixed = major === 1 ? 10 : 12;
  if (prefix.length < fixed || fileSize < fixed)
    throw new NpyError(file, `truncated: ${fileSize} bytes is too short for a version ${major} header`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (fixed + headerLength > fileSize)
    throw new NpyError(
      file,
      `truncated: the header claims ${headerLength} bytes, the file has ${fileSize - fixed} after the prefix`,
    );
  return fixed + headerLength;
}

/**
 * Parse and validate the header of a 1-D little-endian uint16 .npy file. `prefix` holds at least
 * the file's first npyDataStart() bytes; `fileSize` bounds everything, so a header that claims
 * more than the file holds is an error before anything is allocated.
 */
export function parseNpyHeader(prefix: Uint8Array, fileSize: number, file = "<bytes>"): NpyHeader {
  const dataStart = npyDataStart(prefix, fileSize, file);
  if (prefix.length < dataStart) throw new RangeError(`${file}: parseNpyHeader needs the whole header`);
  const major = prefix[6]!;
  const fixed = major === 1 ? 10 : 12;
  const bytes = prefix.subarray(fixed, dataStart);
  let text: string;
  try {
    text = new TextDecoder(major === 3 ? "utf-8" : "latin1", { fatal: true }).decode(bytes);
  } catch {
    throw new NpyError(file, "header is not valid text");
  }
  const descr = /^\s*\{.*'descr'\s*:\s*'([^']*)'/s.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined || !/\}\s*$/.test(text))
    throw new NpyError(file, `header is not a dict with descr, fortran_order and shape: ${clip(text)}`);
  if (descr !== "<u2")
    throw new NpyError(file, `dtype ${JSON.stringify(descr)} is not little-endian uint16 ("<u2")`);
  const dims = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (dims.length !== 1 || !/^\d{1,15}$/.test(dims[0]!))
    throw new NpyError(file, `shape (${shapeText}) is not one dimension of token ids`);
  const length = Number(dims[0]);
  if (fileSize - dataStart !== 2 * length)
    throw new NpyError(
      file,
      `${length} uint16 values need ${2 * length} bytes of data, the file has ${fileSize - dataStart}` +
        (fileSize - dataStart < 2 * length ? " (truncated)" : ""),
    );
  return { dataStart, length };
}

function clip(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

/** The header of a version 1.0 .npy file of `length` uint16 values, padded as numpy pads it (64 bytes). */
export function npyHeader(length: number): Uint8Array {
  const dict = `{'descr': '<u2', 'fortran_order': False, 'shape': (${length},), }`;
  const unpadded = 10 + dict.length + 1;
  const total = Math.ceil(unpadded / 64) * 64;
  const text = `${dict}${" ".repeat(total - unpadded)}\n`;
  const out = new Uint8Array(total);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, text.length, true);
  for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
  return out;
}

/** A whole .npy file in memory. */
export function serializeNpy(tokens: Uint16Array): Uint8Array {
  const header = npyHeader(tokens.length);
  const out = new Uint8Array(header.length + tokens.byteLength);
  out.set(header);
  out.set(new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength), header.length);
  return out;
}

/** The tokens of a .npy file held in memory (validated). */
export function parseNpy(bytes: Uint8Array, file = "<bytes>"): Uint16Array {
  const { dataStart, length } = parseNpyHeader(bytes, bytes.length, file);
  const out = new Uint16Array(length);
  new Uint8Array(out.buffer).set(bytes.subarray(dataStart, dataStart + 2 * length));
  return out;
}
