/**
 * safetensors, platform-free: parse and validate a header, decode tensor bytes, serialize.
 *
 * Layout: u64 little-endian header length N; N bytes of UTF-8 JSON
 * {"__metadata__": {...}, name: {dtype, shape, data_offsets: [begin, end]}, ...}; then the data
 * section, offsets relative to its start. File access (streamed reads and writes) is in ./node.js.
 */
import type { DType, TypedArray } from "../backend/index.js";
import { fromValues, type Tensor } from "../tensor/index.js";

export type SafetensorsDType =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U64"
  | "U32"
  | "U16"
  | "U8"
  | "BOOL";

/** Bytes per element of each dtype this reader understands. */
export const DTYPE_SIZES: Record<SafetensorsDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/** A header longer than this is treated as corrupt (the reference implementation uses 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

export class SafetensorsError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = "SafetensorsError";
  }
}

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte range inside the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Value of the 8-byte length prefix. */
  headerLength: number;
  /** File offset of the data section (8 + headerLength). */
  dataStart: number;
  metadata: Record<string, string>;
  /** Entries in header order. */
  tensors: TensorEntry[];
}

/** A tensor's raw little-endian bytes with its dtype and shape. */
export interface RawTensor {
  dtype: SafetensorsDType;
  shape: number[];
  bytes: Uint8Array;
}

function isDType(s: unknown): s is SafetensorsDType {
  return typeof s === "string" && Object.hasOwn(DTYPE_SIZES, s);
}

/** The header length from the first 8 bytes, checked against the file size. */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, file = "<bytes>"): number {
  if (fileSize < 8 || prefix.length < 8) {
    throw new SafetensorsError(
      file,
      `truncated: ${fileSize} bytes is too short for a safetensors file (the header length alone is 8 bytes)`,
    );
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) {
    throw new SafetensorsError(
      file,
      `header length ${n} runs past the end of the file (${fileSize} bytes): truncated or not a safetensors file`,
    );
  }
  if (n > BigInt(MAX_HEADER_BYTES))
    throw new SafetensorsError(file, `header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit`);
  if (n < 2n) throw new SafetensorsError(file, `header length ${n} is too small for a JSON object`);
  return Number(n);
}

/**
 * Parse and validate the JSON header. `fileSize` bounds the data section: the tensors must cover
 * it exactly (no gap, no overlap, nothing after them), each byte span elements × dtype size.
 */
export function parseHeader(
  headerBytes: Uint8Array,
  headerLength: number,
  fileSize: number,
  file = "<bytes>",
): SafetensorsHeader {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes));
  } catch (error) {
    throw new SafetensorsError(file, `header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new SafetensorsError(file, "header is not a JSON object");
  const dataStart = 8 + headerLength;
  const dataSize = fileSize - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: TensorEntry[] = [];
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null || Array.isArray(value))
        throw new SafetensorsError(file, "__metadata__ is not an object");
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== "string")
          throw new SafetensorsError(file, `__metadata__.${k} is not a string (${JSON.stringify(v)})`);
        metadata[k] = v;
      }
      continue;
    }
    const e = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== "object" || e === null)
      throw new SafetensorsError(file, `tensor "${name}": entry is not an object`);
    if (!isDType(e.dtype)) {
      throw new SafetensorsError(
        file,
        `tensor "${name}": unknown dtype ${JSON.stringify(e.dtype)} (known: ${Object.keys(DTYPE_SIZES).join(", ")})`,
      );
    }
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new SafetensorsError(file, `tensor "${name}": bad shape ${JSON.stringify(e.shape)}`);
    const offs = e.data_offsets;
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      !offs.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offs[0] > offs[1]
    ) {
      throw new SafetensorsError(file, `tensor "${name}": bad data_offsets ${JSON.stringify(offs)}`);
    }
    const shape = e.shape as number[];
    const [begin, end] = offs as [number, number];
    const numel = shape.reduce((a, b) => a * b, 1);
    const expected = numel * DTYPE_SIZES[e.dtype];
    if (end - begin !== expected) {
      throw new SafetensorsError(
        file,
        `tensor "${name}": ${e.dtype} [${shape.join(", ")}] needs ${expected} bytes, data_offsets [${begin}, ${end}] give ${end - begin}`,
      );
    }
    if (end > dataSize) {
      throw new SafetensorsError(
        file,
        `truncated: tensor "${name}" ends at data byte ${end}, but the data section has only ${Math.max(0, dataSize)} bytes`,
      );
    }
    tensors.push({ name, dtype: e.dtype, shape: [...shape], begin, end });
  }
  // As the reference library: sorted by offset, the tensors tile the data section from byte 0 to
  // the end of the file, with no gap, no overlap and nothing after them.
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (let i = 0; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i]!;
    if (prev && cur.begin < prev.end) {
      throw new SafetensorsError(
        file,
        `tensors "${prev.name}" [${prev.begin}, ${prev.end}) and "${cur.name}" [${cur.begin}, ${cur.end}) overlap`,
      );
    }
    if (cur.begin > covered)
      throw new SafetensorsError(
        file,
        `gap: tensor "${cur.name}" starts at data byte ${cur.begin}, the previous one ends at ${covered}`,
      );
    covered = Math.max(covered, cur.end);
  }
  if (covered !== dataSize)
    throw new SafetensorsError(
      file,
      `the data section has ${dataSize} bytes, the tensors cover ${covered}: ${dataSize - covered} bytes after the last tensor (a header length too short, or trailing data)`,
    );
  return { headerLength, dataStart, metadata, tensors };
}

/** Parse a whole file held in memory; tensors' bytes are views into `bytes`. */
export function parseSafetensors(
  bytes: Uint8Array,
  file = "<bytes>",
): { header: SafetensorsHeader; tensors: Map<string, RawTensor> } {
  const n = readHeaderLength(bytes, bytes.length, file);
  const header = parseHeader(bytes.subarray(8, 8 + n), n, bytes.length, file);
  const tensors = new Map<string, RawTensor>();
  for (const t of header.tensors) {
    tensors.set(t.name, {
      dtype: t.dtype,
      shape: t.shape,
      bytes: bytes.subarray(header.dataStart + t.begin, header.dataStart + t.end),
    });
  }
  return { header, tensors };
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** The herograd dtype a safetensors dtype loads as. */
export function herogradDType(dtype: SafetensorsDType): DType {
  if (dtype === "F64") return "float64";
  if (dtype === "F32" || dtype === "F16" || dtype === "BF16") return "float32";
  if (dtype === "BOOL") return "bool";
  return "int32";
}

/** Decode little-endian bytes into the typed array of herogradDType(dtype). */
export function decodeValues(raw: RawTensor, name = "tensor"): TypedArray {
  const { dtype, bytes } = raw;
  const n = bytes.length / DTYPE_SIZES[dtype];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case "F32": {
      if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n).slice();
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case "F64": {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case "F16": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    }
    case "BF16": {
      const out = new Float32Array(n);
      const u = new Uint32Array(1);
      const f = new Float32Array(u.buffer);
      for (let i = 0; i < n; i++) {
        u[0] = view.getUint16(2 * i, true) << 16;
        out[i] = f[0]!;
      }
      return out;
    }
    case "BOOL":
    case "U8":
      return Uint8Array.from(bytes, (b) => (dtype === "BOOL" ? (b ? 1 : 0) : b)) as TypedArray;
    default: {
      const out = new Int32Array(n);
      const size = DTYPE_SIZES[dtype];
      for (let i = 0; i < n; i++) {
        let v: number;
        if (dtype === "I64" || dtype === "U64") {
          const big = dtype === "I64" ? view.getBigInt64(8 * i, true) : view.getBigUint64(8 * i, true);
          if (big < -2147483648n || big > 2147483647n)
            throw new RangeError(`${name}: ${dtype} value ${big} does not fit in int32`);
          v = Number(big);
        } else if (dtype === "I32") v = view.getInt32(4 * i, true);
        else if (dtype === "U32") {
          v = view.getUint32(4 * i, true);
          if (v > 2147483647) throw new RangeError(`${name}: U32 value ${v} does not fit in int32`);
        } else if (dtype === "I16") v = view.getInt16(size * i, true);
        else if (dtype === "U16") v = view.getUint16(size * i, true);
        else v = view.getInt8(i);
        out[i] = v;
      }
      return out;
    }
  }
}

/** A herograd tensor from raw safetensors data (F16/BF16 widen to float32, integers to int32). */
export function rawToTensor(raw: RawTensor, name = "tensor"): Tensor {
  const values = decodeValues(raw, name);
  const dtype = herogradDType(raw.dtype);
  // bool values are already 0/1 bytes; fromValues copies them into the backend.
  return fromValues(values, raw.shape, { dtype });
}

/** A tensor's values as raw bytes (float32 → F32, float64 → F64, int32 → I32, bool → BOOL). */
export function tensorToRaw(t: Tensor): RawTensor {
  const values = t.dataSync();
  const dtype: SafetensorsDType =
    t.dtype === "float32" ? "F32" : t.dtype === "float64" ? "F64" : t.dtype === "int32" ? "I32" : "BOOL";
  const bytes = new Uint8Array(values.byteLength);
  bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  if (!littleEndian()) throw new Error("safetensors: big-endian platforms are not supported");
  return { dtype, shape: [...t.shape], bytes };
}

let endianness: boolean | undefined;
function littleEndian(): boolean {
  endianness ??= new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  return endianness;
}

/**
 * The header bytes (length prefix + JSON padded with spaces to a multiple of 8) and the data
 * offsets for tensors laid out in the given order, with no gaps.
 */
export function buildHeader(
  tensors: Iterable<[string, { dtype: SafetensorsDType; shape: readonly number[] }]>,
  metadata: Record<string, string> = {},
): { prefix: Uint8Array; offsets: Map<string, [number, number]>; dataBytes: number } {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const offsets = new Map<string, [number, number]>();
  let pos = 0;
  for (const [name, t] of tensors) {
    if (name === "__metadata__") throw new Error(`safetensors: "__metadata__" cannot name a tensor`);
    if (offsets.has(name)) throw new Error(`safetensors: tensor "${name}" given twice`);
    const bytes = t.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZES[t.dtype];
    offsets.set(name, [pos, pos + bytes]);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [pos, pos + bytes] };
    pos += bytes;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const prefix = new Uint8Array(8 + json.length);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true);
  prefix.set(json, 8);
  return { prefix, offsets, dataBytes: pos };
}

/** A whole safetensors file in memory. */
export function serializeSafetensors(
  tensors: Map<string, RawTensor> | Record<string, RawTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  for (const [name, t] of entries) {
    const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZES[t.dtype];
    if (t.bytes.length !== expected)
      throw new Error(
        `safetensors: "${name}" has ${t.bytes.length} bytes, ${t.dtype} [${t.shape}] needs ${expected}`,
      );
  }
  const { prefix, offsets, dataBytes } = buildHeader(entries, metadata);
  const out = new Uint8Array(prefix.length + dataBytes);
  out.set(prefix);
  for (const [name, t] of entries) out.set(t.bytes, prefix.length + offsets.get(name)![0]);
  return out;
}

/** Parse to herograd tensors by name. */
export function loadSafetensorsBytes(bytes: Uint8Array, file = "<bytes>"): Map<string, Tensor> {
  const { tensors } = parseSafetensors(bytes, file);
  return new Map(
    [...tensors].map(([name, raw]) => {
      try {
        return [name, rawToTensor(raw, `tensor "${name}"`)];
      } catch (error) {
        if (error instanceof RangeError) throw new SafetensorsError(file, error.message);
        throw error;
      }
    }),
  );
}

/** Serialize herograd tensors. */
export function saveSafetensorsBytes(
  tensors: Map<string, Tensor> | Record<string, Tensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  return serializeSafetensors(new Map(entries.map(([k, t]) => [k, tensorToRaw(t)])), metadata);
}
