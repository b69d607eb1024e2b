/**
 * Backend parity: every op of the shared table, on every synchronous backend, gives js's outputs
 * and gradients in float32 (odd sizes, broadcasting, non-contiguous inputs). With js alone the
 * suite checks js against itself, which keeps the harness honest until wasm registers.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as T from "../src/tensor/index.js";
import { Random, type Tensor } from "../src/tensor/index.js";
import { close } from "./helpers.js";
import { testBackends } from "./tensor-backends.js";
import { maker, opCases } from "./tensor-cases.js";

const ATOL = 1e-5;
const RTOL = 1e-4;

interface Outcome {
  output: Float64Array;
  grads: (Float64Array | null)[];
}

function run(backend: string, index: number): Outcome {
  const c = opCases[index]!;
  const inputs = c.inputs(maker(backend, 100 + index, "float32"));
  const out = c.fn(...inputs);
  const upstream = T.randn(out.shape, { backend, generator: new Random(index) });
  out.backward(upstream);
  const read = (t: Tensor) => Float64Array.from(t.dataSync());
  return {
    output: read(out),
    grads: inputs.map((t) => (t.requiresGrad ? read(t.grad ?? T.zerosLike(t)) : null)),
  };
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

for (const backend of testBackends()) {
  describe(`${backend} matches js (float32 outputs and gradients)`, () => {
    opCases.forEach((c, i) => {
      test(c.name, () => {
        const expected = T.tidy(() => run("js", i));
        const actual = T.tidy(() => run(backend, i));
        assertClose("output", actual.output, expected.output);
        expected.grads.forEach((g, k) => {
          if (g) assertClose(`grad of input ${k}`, actual.grads[k]!, g);
        });
      });
    });
  });
}
