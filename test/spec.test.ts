/**
 * The kernel spec (src/backend/spec): the files rendered from it are current, and an op code no
 * kernel knows fails loudly on every backend instead of leaving zeros or NaN behind.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { ReduceOp, UnaryOp, View } from "../src/backend/index.js";
import { JsBackend } from "../src/backend/js/index.js";
import { REDUCE_CODE, Slot, UNARY_CODE } from "../src/backend/spec/abi.js";
import { REDUCE, type ReduceSpec, type UnarySpec } from "../src/backend/spec/ops.js";
import { renderAll } from "../src/backend/spec/render.js";
import { WasmBackend, wasmAvailable } from "../src/backend/wasm/index.js";

const root = join(fileURLToPath(import.meta.url), "../../..");

test("the files rendered from the kernel spec are current (else: node scripts/gen-spec.mjs)", () => {
  for (const [path, text] of Object.entries(renderAll())) {
    assert.equal(readFileSync(join(root, path), "utf8"), text, `${path} is stale`);
  }
});

function unknownUnary(backend: JsBackend | WasmBackend): void {
  const x = backend.alloc("float32", 4);
  const out = backend.alloc("float32", 4);
  const view = (storage: typeof x): View => ({ storage, shape: [4], strides: [1], offset: 0 });
  try {
    backend.run("unary", { op: "nope" as UnaryOp, x: view(x), out: view(out) });
  } finally {
    backend.free(x);
    backend.free(out);
  }
}

test("an unknown op is an error on the js and wasm backends", () => {
  assert.throws(() => unknownUnary(new JsBackend()), /js backend: unknown unary op "nope"/);
  if (!wasmAvailable()) return;
  const wasm = new WasmBackend({ threads: 1 });
  assert.throws(() => unknownUnary(wasm), /wasm backend: unknown unary op "nope"/);
});

test("an entry of the op table without an expression for every target does not compile", () => {
  // Each line below is a compile error (tsc fails on an unused @ts-expect-error): a table entry
  // must carry what every backend needs, so no backend can lack the op. The js loops and the
  // wasm switches are rendered from the entries (the test above keeps them current; a stale js
  // file does not compile either, its switches end in a \`never\` check).
  // @ts-expect-error: no WGSL, the webgpu kernel would lack the op
  const unaryWithoutWgsl = { input: "float", f64: "Math.exp(x)" } satisfies UnarySpec;
  // @ts-expect-error: no WGSL combine
  const reduceWithoutWgsl = { input: "any", init: 0, f64: "a + b" } satisfies ReduceSpec;
  // @ts-expect-error: no start value
  const reduceWithoutInit = { input: "any", f64: "a + b", wgsl: "a + b" } satisfies ReduceSpec;
  const finalWithoutWgsl = {
    input: "float",
    init: 0,
    f64: "a + b",
    wgsl: "a + b",
    // @ts-expect-error: a final map needs every target too
    final: { f64: "a / count" },
  } satisfies ReduceSpec;
  const complete = { input: "any", init: 1, f64: "a * b", wgsl: "a * b" } satisfies ReduceSpec;
  assert.deepEqual(complete, REDUCE.prod);
  assert.ok(unaryWithoutWgsl && reduceWithoutWgsl && reduceWithoutInit && finalWithoutWgsl);
});

function unknownReduce(backend: JsBackend | WasmBackend): void {
  const x = backend.alloc("float32", 4);
  const out = backend.alloc("float32", 1);
  try {
    backend.run("reduce", {
      op: "median" as ReduceOp,
      x: { storage: x, shape: [4], strides: [1], offset: 0 },
      axes: [0],
      out: { storage: out, shape: [1], strides: [1], offset: 0 },
    });
  } finally {
    backend.free(x);
    backend.free(out);
  }
}

test("an unknown reduction is an error on the js and wasm backends", () => {
  assert.throws(() => unknownReduce(new JsBackend()), /js backend: unknown reduce op "median"/);
  if (!wasmAvailable()) return;
  assert.throws(
    () => unknownReduce(new WasmBackend({ threads: 1 })),
    /wasm backend: unknown reduce op "median"/,
  );
});

test("the wasm kernels abort on a reduction code they do not know", { skip: !wasmAvailable() }, () => {
  const wasm = new WasmBackend({ threads: 1, native: false });
  const x = wasm.alloc("float32", 4);
  const acc = wasm.alloc("float64", 1);
  const out = wasm.alloc("float32", 1);
  const internals = wasm as unknown as {
    walk(shape: number[], views: View[], strides: number[][]): number;
    args(): Int32Array;
    exports: { reduce(): void };
  };
  const views: View[] = [
    { storage: x, shape: [4], strides: [1], offset: 0 },
    { storage: acc, shape: [4], strides: [0], offset: 0 },
    { storage: out, shape: [4], strides: [0], offset: 0 },
  ];
  internals.walk([4], views, [[1], [0], [0]]);
  internals.args()[Slot.OP] = Object.keys(REDUCE_CODE).length;
  assert.throws(() => internals.exports.reduce(), /kernel aborted: unknown ReduceOp code/);
});

test("the wasm kernels abort on an op code they do not know", { skip: !wasmAvailable() }, () => {
  const wasm = new WasmBackend({ threads: 1, native: false });
  const x = wasm.alloc("int32", 4);
  const out = wasm.alloc("int32", 4);
  const view = (storage: typeof x): View => ({ storage, shape: [4], strides: [1], offset: 0 });
  // Write the block as the host does for a real op, then break the code: the kernel must refuse it.
  const internals = wasm as unknown as {
    walk(shape: number[], views: View[], strides: number[][]): number;
    args(): Int32Array;
    exports: { unary(): void };
  };
  internals.walk([4], [view(x), view(out)], [[1], [1]]);
  internals.args()[Slot.OP] = Object.keys(UNARY_CODE).length + 7;
  assert.throws(() => internals.exports.unary(), /kernel aborted: unknown UnaryOp code/);
});
