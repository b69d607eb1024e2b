/**
 * Memory without tidy on webgpu (software adapter in CI; docs/MEMORY.md): lecture 3's raw-tensor
 * loop of memory-auto.test.ts for the issue's 20,000 steps (llvmpipe: about 3 ms a step on a quiet
 * machine, up to 35 on a loaded one; the README loop: memory-auto-webgpu.test.ts, a file of its
 * own so the two run side by side). GPU memory is freed by backward (nn.Sequential's
 * intermediates) and by the FinalizationRegistry, so after each measurement every live buffer must
 * be one the test still references.
 */
import "../src/backend/select.js";
import { test } from "node:test";
import * as T from "../src/tensor/index.js";
import { lectureLoop } from "./memory-loops.js";
import { testBackends } from "./tensor-backends.js";

const STEPS = 20_000;

for (const backend of testBackends("all").filter((name) => !T.getBackend(name).synchronous)) {
  test(`${backend}: lecture 3's raw-tensor loop (p.grad = null, p -= lr * p.grad) runs ${STEPS} steps in flat memory`, () =>
    lectureLoop(backend, STEPS));
}
