import "../src/backend/select.js";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { type OpsFixtureFile, runOpsFixtures } from "../src/selftest/index.js";
import { fixture } from "./helpers.js";
import { floatDTypes, testBackends } from "./tensor-backends.js";

const file = JSON.parse(readFileSync(fixture("ops.json"), "utf8")) as OpsFixtureFile;

for (const backend of testBackends("all")) {
  describe(`ops.json on ${backend}`, () => {
    for (const floatDType of floatDTypes(backend)) {
      test(`all ${file.cases.length} cases pass in ${floatDType} (outputs, aux, every input gradient)`, async () => {
        const report = await runOpsFixtures(file, { backend, floatDType });
        const failures = report.results
          .filter((r) => !r.passed)
          .map((r) => `${r.name}: ${r.problems.join("; ")}`);
        assert.deepEqual(failures, []);
        assert.equal(report.passed, file.cases.length);
      });
    }

    test("the runner catches a wrong number, a wrong gradient and an unknown op", async () => {
      const cases = structuredClone(file.cases.slice(0, 3));
      (cases[0]!.output.data[0] as number) += 1e-3;
      (cases[1]!.grads[0]!.data[0] as number) += 1e-3;
      cases[2]!.op = "no_such_op";
      const report = await runOpsFixtures({ cases }, { backend });
      assert.equal(report.failed, 3);
      assert.match(report.results[0]!.problems[0]!, /^output: element 0/);
      assert.match(report.results[1]!.problems[0]!, /^grad\[0\]: element 0/);
      assert.match(report.results[2]!.problems[0]!, /unknown op "no_such_op"/);
      assert.ok(Math.abs(report.results[0]!.maxError - 1e-3) < 1e-6);
    });
  });
}
