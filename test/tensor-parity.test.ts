/**
 * Backend parity: every op of the shared table, on every backend but js (read back with await),
 * gives js's outputs and gradients in float32 (odd sizes, broadcasting, non-contiguous inputs).
 * js itself is checked against PyTorch (tensor-fixtures) and finite differences (tensor-gradcheck).
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as T from "../src/tensor/index.js";
import { Random, type Tensor } from "../src/tensor/index.js";
import { close } from "./helpers.js";
import { floatDTypes, testBackends } from "./tensor-backends.js";
import { maker, opCases } from "./tensor-cases.js";

const ATOL = 1e-5;
const RTOL = 1e-4;

interface Outcome {
  output: Float64Array;
  grads: (Float64Array | null)[];
}

/** Runs the case in a scope, then reads back (asynchronously, so webgpu runs it too). */
async function run(backend: string, index: number): Promise<Outcome> {
  const c = opCases[index]!;
  const result = T.tidy(() => {
    const inputs = c.inputs(maker(backend, 100 + index, "float32"));
    const out = c.fn(...inputs);
    const upstream = T.randn(out.shape, { backend, generator: new Random(index) });
    out.backward(upstream);
    return { out, grads: inputs.map((t) => (t.requiresGrad ? (t.grad ?? T.zerosLike(t)) : null)) };
  });
  const read = async (t: Tensor) => Float64Array.from(await t.data());
  const outcome = {
    output: await read(result.out),
    grads: await Promise.all(result.grads.map((g) => (g ? read(g) : null))),
  };
  for (const t of [result.out, ...result.grads]) t?.dispose();
  return outcome;
}

function assertClose(what: string, actual: Float64Array, expected: Float64Array): void {
  assert.equal(
    actual.length,
    expected.length,
    `${what}: ${actual.length} elements, js has ${expected.length}`,
  );
  expected.forEach((e, i) => {
    assert.ok(close(actual[i]!, e, ATOL, RTOL), `${what}[${i}]: ${actual[i]} vs js ${e}`);
  });
}

for (const backend of testBackends("all").filter((name) => name !== "js")) {
  describe(`${backend} matches js (float32 outputs and gradients)`, () => {
    opCases.forEach((c, i) => {
      test(c.name, async (t) => {
        const expected = await run("js", i);
        let actual: Outcome;
        try {
          actual = await run(backend, i);
        } catch (error) {
          if (/has no float64/.test((error as Error).message) && !floatDTypes(backend).includes("float64")) {
            t.skip(`${backend} has no float64`);
            return;
          }
          throw error;
        }
        assertClose("output", actual.output, expected.output);
        expected.grads.forEach((g, k) => {
          if (g) assertClose(`grad of input ${k}`, actual.grads[k]!, g);
        });
      });
    });
  });
}
