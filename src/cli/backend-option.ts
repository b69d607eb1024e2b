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

/** A backend name from --backend or HERO_BACKEND must be one that exists (webgpu is registered later). */
export function checkBackendName(name: string | undefined, from: string): void {
  if (name === undefined || name === "webgpu" || backendNames().includes(name)) return;
  throw new Error(
    `${from}: unknown backend "${name}"; available: ${[...new Set([...backendNames(), "webgpu"])].join(", ")}`,
  );
}

/** Adapters that run on the CPU (Mesa's llvmpipe and lavapipe, SwiftShader, WARP): a note says so. */
export function softwareAdapterNote(description: string): string | null {
  if (!/llvmpipe|lavapipe|swiftshader|softpipe|software|basic render/i.test(description)) return null;
  return `hero: webgpu runs on a software adapter (${description.trim()}): the CPU emulates the GPU, much slower than --backend wasm`;
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
    const note = softwareAdapterNote(backend.description);
    if (note) console.error(note);
    return name;
  } catch (error) {
    const fallback = hasBackend("wasm") ? "wasm" : "js";
    console.error(`hero: webgpu is not available (${(error as Error).message}); using ${fallback}`);
    return fallback;
  }
}
