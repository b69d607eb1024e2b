/**
 * Every differentiable op against central finite differences in float64, on varied shapes,
 * broadcasting, and non-contiguous inputs (transposed, sliced, permuted leaves).
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as T from "../src/tensor/index.js";
import { Random, type Tensor } from "../src/tensor/index.js";
import { testBackends } from "./tensor-backends.js";
import { maker, opCases } from "./tensor-cases.js";

for (const backend of testBackends()) {
  describe(`gradcheck on ${backend}`, () => {
    opCases.forEach((c, i) => {
      test(c.name, () => {
        const inputs = c.inputs(maker(backend, 100 + i));
        const result = T.gradcheck(c.fn, inputs);
        assert.ok(result.ok, `${c.name}: ${result.message}`);
      });
    });

    test("gradcheck catches a wrong backward rule", () => {
      const x = T.randn([3], { dtype: "float64", backend, generator: new Random(1) }).setRequiresGrad();
      // 2·x written so that the tape sees x*1 but the value is 2x: the gradient is off by 2.
      const wrong = (t: Tensor) => T.add(t, T.mul(t, 1).detach());
      const result = T.gradcheck(wrong, [x]);
      assert.equal(result.ok, false);
      assert.match(result.message, /gradcheck failed: input 0/);
    });
  });
}
