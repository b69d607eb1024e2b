/**
 * The backends the tensor suites run on: every registered backend, or those named in
 * HERO_TEST_BACKENDS (comma-separated). A new backend registers by being imported here; the same
 * suites then test it. Suites that read values synchronously ask for synchronous backends only.
 *
 * webgpu registers when a WebGPU adapter exists (in CI: Mesa's llvmpipe through Dawn's OpenGL ES
 * backend). Where none exists, `webgpuUnavailable` says why and test/webgpu.test.ts fails, unless
 * HERO_TEST_WEBGPU=0 says this machine is not expected to have one.
 */
import "../src/backend/select.js";
import { hasBackend, registerBackend } from "../src/backend/index.js";
import { WasmBackend, wasmAvailable } from "../src/backend/wasm/index.js";
import { nativeStatus } from "../src/backend/wasm/native.js";
import { registerNodeWebGpuBackend } from "../src/backend/webgpu/node.js";
import { backendNames, getBackend } from "../src/tensor/index.js";

// Where the native addon runs wasm's matmul, attention, AdamW and layer norm backward, "wasm-only"
// is the wasm backend without it (every kernel in wasm, as browsers run it), so both are tested.
if (wasmAvailable() && nativeStatus().addon && !hasBackend("wasm-only")) {
  registerBackend("wasm-only", () => new WasmBackend({ native: false, name: "wasm-only" }));
}

function wantedBackends(): string[] | undefined {
  return process.env.HERO_TEST_BACKENDS?.split(",").map((s) => s.trim());
}

export let webgpuUnavailable: string | null = null;
if (process.env.HERO_TEST_WEBGPU !== "0" && (wantedBackends()?.includes("webgpu") ?? true)) {
  try {
    await registerNodeWebGpuBackend();
  } catch (error) {
    webgpuUnavailable = (error as Error).message;
  }
}

export function testBackends(kind: "all" | "synchronous" = "synchronous"): string[] {
  const wanted = wantedBackends();
  return backendNames().filter(
    (name) => (!wanted || wanted.includes(name)) && (kind === "all" || getBackend(name).synchronous),
  );
}

/** The float dtypes a backend stores (webgpu has no float64). */
export function floatDTypes(backend: string): ("float32" | "float64")[] {
  const dtypes = getBackend(backend).dtypes;
  return dtypes && !dtypes.includes("float64") ? ["float32"] : ["float32", "float64"];
}
