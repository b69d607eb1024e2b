/**
 * Memory without tidy on webgpu (software adapter in CI; docs/MEMORY.md): lecture 3's raw-tensor
 * loop of memory-auto.test.ts, shorter, as llvmpipe takes 10 to 35 ms a step on a loaded machine
 * (the README loop: memory-auto-webgpu.test.ts, a file of its own to keep each under a minute). GPU
 * memory is freed by backward (nn.Sequential's intermediates) and by the FinalizationRegistry, so
 * after each measurement every live buffer must be one the test still references.
 */
import { test } from "node:test";
import * as T from "../src/tensor/index.js";
import { lectureLoop } from "./memory-loops.js";
import { testBackends } from "./tensor-backends.js";

const STEPS = 1_500;

for (const backend of testBackends("all").filter((name) => !T.getBackend(name).synchronous)) {
  test(`${backend}: lecture 3's raw-tensor loop (p.grad = null, p -= lr * p.grad) runs ${STEPS} steps in flat memory`, () =>
    lectureLoop(backend, STEPS));
}
