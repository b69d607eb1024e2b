/** --backend js|wasm|webgpu on the commands that compute with tensors (default: HERO_BACKEND, else wasm where SIMD runs). */

import { hasBackend } from "../backend/index.js";
import { registerNodeWebGpuBackend } from "../backend/webgpu/node.js";
import { backendNames, setBackend } from "../tensor/index.js";

export function useBackend(name: string | undefined): void {
  if (!name) return;
  if (!backendNames().includes(name)) {
    throw new Error(`unknown backend "${name}"; available: ${backendNames().join(", ")}`);
  }
  setBackend(name);
  // Benchmarks and child processes read the choice from the environment.
  process.env.HERO_BACKEND = name;
}

/**
 * webgpu needs asynchronous setup (an adapter, a device) before a command runs. Returns the
 * backend to use: webgpu once registered, else wasm (or js) with a message saying why.
 */
export async function prepareBackend(name: string | undefined): Promise<string | undefined> {
  if (name !== "webgpu" || hasBackend("webgpu")) return name;
  try {
    const backend = await registerNodeWebGpuBackend();
    if (process.env.HERO_VERBOSE_BACKEND) console.error(`webgpu: ${backend.description}`);
    return name;
  } catch (error) {
    const fallback = hasBackend("wasm") ? "wasm" : "js";
    console.error(`hero: webgpu is not available (${(error as Error).message}); using ${fallback}`);
    return fallback;
  }
}
