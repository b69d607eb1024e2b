/**
 * Memory without tidy on webgpu (software adapter in CI; docs/MEMORY.md): the README loop of
 * memory-auto.test.ts for the issue's 20,000 steps (llvmpipe: about 3 ms a step on a quiet
 * machine, up to 35 on a loaded one; lecture 3's loop: memory-auto-webgpu-lecture.test.ts, a file
 * of its own so the two run side by side). GPU memory is freed by backward (nn.Sequential's
 * intermediates) and by the FinalizationRegistry, so after each measurement every live buffer must
 * be one the test still references.
 */
import "../src/backend/select.js";
import { test } from "node:test";
import * as T from "../src/tensor/index.js";
import { readmeLoop } from "./memory-loops.js";
import { testBackends } from "./tensor-backends.js";

const STEPS = 20_000;

for (const backend of testBackends("all").filter((name) => !T.getBackend(name).synchronous)) {
  test(`${backend}: the README's nn/optim loop without tidy runs ${STEPS} steps in flat memory`, () =>
    readmeLoop(backend, STEPS));
}
