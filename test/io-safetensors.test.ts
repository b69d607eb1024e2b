/** safetensors: round trips, dtypes, and clear errors for truncated or malformed files. */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  loadSafetensorsBytes,
  parseSafetensors,
  SafetensorsError,
  saveSafetensorsBytes,
  serializeSafetensors,
} from "../src/io/index.js";
import { readSafetensors, SafetensorsFile, writeSafetensors } from "../src/io/node.js";
import { Random } from "../src/random/index.js";
import { randn, tensor } from "../src/tensor/index.js";
import { fixture } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "herograd-io-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A file with a hand-written header and data section. */
function rawFile(header: unknown, data: Uint8Array, lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

test("round trip in memory and through a file: float32, float64, int32, bool; metadata kept", () => {
  const g = new Random(1);
  const tensors = new Map([
    ["a.weight", randn([3, 5], { generator: g })],
    ["b", randn([2], { generator: g, dtype: "float64" })],
    ["ids", tensor([1, -2, 3], { dtype: "int32" })],
    ["mask", tensor([true, false])],
    ["empty", randn([0, 4], { generator: g })],
  ]);
  const bytes = saveSafetensorsBytes(tensors, { format: "pt" });
  const header = parseSafetensors(bytes).header;
  assert.equal(header.headerLength % 8, 0);
  assert.deepEqual(header.metadata, { format: "pt" });
  const back = loadSafetensorsBytes(bytes);
  const path = join(dir, "round.safetensors");
  writeSafetensors(path, tensors, { format: "pt" });
  const fromFile = readSafetensors(path);
  assert.deepEqual(fromFile.metadata, { format: "pt" });
  for (const loaded of [back, fromFile.tensors]) {
    assert.deepEqual([...loaded.keys()], [...tensors.keys()]);
    for (const [k, t] of tensors) {
      const u = loaded.get(k)!;
      assert.equal(u.dtype, t.dtype, k);
      assert.deepEqual(u.shape, t.shape, k);
      assert.deepEqual([...u.dataSync()], [...t.dataSync()], k);
    }
  }
});

test("F16, BF16, I64, U8 decode", () => {
  const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7c00, 0x0001]).buffer); // 1, -2, inf, 2^-24
  const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0x4049]).buffer); // 1, 3.140625
  const i64 = new Uint8Array(new BigInt64Array([-5n, 7n]).buffer);
  const u8 = new Uint8Array([200, 1]);
  const bytes = serializeSafetensors({
    h: { dtype: "F16", shape: [4], bytes: f16 },
    b: { dtype: "BF16", shape: [2], bytes: bf16 },
    l: { dtype: "I64", shape: [2], bytes: i64 },
    u: { dtype: "U8", shape: [2], bytes: u8 },
  });
  const t = loadSafetensorsBytes(bytes);
  assert.deepEqual([...t.get("h")!.dataSync()], [1, -2, Number.POSITIVE_INFINITY, 2 ** -24]);
  assert.deepEqual([...t.get("b")!.dataSync()], [1, 3.140625]);
  assert.deepEqual([...t.get("l")!.dataSync()], [-5, 7]);
  assert.equal(t.get("l")!.dtype, "int32");
  assert.deepEqual([...t.get("u")!.dataSync()], [200, 1]);
});

test("reads the gpt2_tiny fixture: 28 tensors of float32, the Conv1D layout as stored", () => {
  const f = SafetensorsFile.open(fixture("gpt2_tiny/model.safetensors"));
  try {
    assert.equal(f.names.length, 2 + 12 * 2 + 2);
    assert.deepEqual(f.header.metadata, { format: "pt" });
    assert.deepEqual(f.tensor("h.0.attn.c_attn.weight").shape, [32, 96]);
  } finally {
    f.close();
  }
});

function expectError(bytes: Uint8Array, name: string, pattern: RegExp): void {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  assert.throws(
    () => readSafetensors(path),
    (e: Error) => {
      assert.ok(e instanceof SafetensorsError, `${e}`);
      assert.ok(e.message.includes(path), `message names the file: ${e.message}`);
      assert.match(e.message, pattern);
      return true;
    },
  );
  assert.throws(() => parseSafetensors(bytes, name), pattern);
}

test("a truncated file names the file and the tensor that runs past the end", () => {
  const good = readFileSync(fixture("gpt2_tiny/model.safetensors"));
  expectError(good.subarray(0, good.length - 100), "truncated.safetensors", /truncated: tensor "ln_f\.bias"/);
  expectError(good.subarray(0, 5), "tiny.safetensors", /truncated: 5 bytes/);
  // truncate a real file on disk as well
  const path = join(dir, "cut.safetensors");
  copyFileSync(fixture("gpt2_tiny/model.safetensors"), path);
  truncateSync(path, 5000);
  assert.throws(() => readSafetensors(path), /cut\.safetensors: truncated/);
});

test("a header length past the end of the file", () => {
  const bytes = rawFile(
    { a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } },
    new Uint8Array(4),
    1_000_000n,
  );
  expectError(bytes, "long-header.safetensors", /header length 1000000 runs past the end of the file/);
});

test("overlapping offsets, unknown dtype, size mismatch, bad JSON", () => {
  const data = new Uint8Array(16);
  expectError(
    rawFile(
      {
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
      },
      data,
    ),
    "overlap.safetensors",
    /"a" \[0, 8\) and "b" \[4, 12\) overlap/,
  );
  expectError(
    rawFile({ a: { dtype: "F128", shape: [1], data_offsets: [0, 16] } }, data),
    "dtype.safetensors",
    /tensor "a": unknown dtype "F128"/,
  );
  expectError(
    rawFile({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, data),
    "size.safetensors",
    /F32 \[3\] needs 12 bytes, data_offsets \[0, 8\] give 8/,
  );
  const junk = new Uint8Array(8 + 4 + 4);
  new DataView(junk.buffer).setBigUint64(0, 4n, true);
  junk.set(new TextEncoder().encode("{nop"), 8);
  expectError(junk, "json.safetensors", /header is not valid UTF-8 JSON/);
});

test("the tensors must cover the data section exactly, as the reference library checks", () => {
  const good = new Uint8Array(readFileSync(fixture("gpt2_tiny/model.safetensors")));
  const n = Number(new DataView(good.buffer).getBigUint64(0, true));
  // A header length one byte short (the header's padding makes it still parse): every tensor would
  // load shifted by a byte.
  const short = new Uint8Array(good);
  new DataView(short.buffer).setBigUint64(0, BigInt(n - 1), true);
  expectError(short, "short-header.safetensors", /data section has \d+ bytes, the tensors cover \d+/);
  // Trailing junk after the last tensor.
  const junk = new Uint8Array([...good, 1, 2, 3]);
  expectError(junk, "junk.safetensors", /3 bytes after the last tensor/);
  const data = new Uint8Array(12);
  // A gap between two tensors, and a data section that does not start at offset 0.
  expectError(
    rawFile(
      {
        a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
        b: { dtype: "F32", shape: [1], data_offsets: [8, 12] },
      },
      data,
    ),
    "gap.safetensors",
    /gap: tensor "b" starts at data byte 8, the previous one ends at 4/,
  );
  expectError(
    rawFile({ a: { dtype: "F32", shape: [2], data_offsets: [4, 12] } }, data),
    "offset.safetensors",
    /gap: tensor "a" starts at data byte 4, the previous one ends at 0/,
  );
  // No tensors and data bytes; and the untouched file still loads.
  expectError(rawFile({}, new Uint8Array(8)), "empty.safetensors", /8 bytes after the last tensor/);
  assert.equal(loadSafetensorsBytes(good).size, 28);
});
