/**
 * The kernel spec (src/backend/spec): the files rendered from it are current, and an op code no
 * kernel knows fails loudly on every backend instead of leaving zeros or NaN behind.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { UnaryOp, View } from "../src/backend/index.js";
import { JsBackend } from "../src/backend/js/index.js";
import { Slot, UNARY_CODE } from "../src/backend/spec/abi.js";
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
