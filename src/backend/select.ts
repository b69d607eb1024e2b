/**
 * The backends' entry: importing it registers the CPU backends and makes the default current.
 * js always; wasm where WebAssembly SIMD runs, with the native kernels where the addon loaded
 * (native is a variant of the wasm backend, not a backend of its own: `hero --version` names it).
 * The default is HERO_BACKEND (js | wasm) when set, else wasm where it runs, else js. webgpu needs
 * asynchronous setup (an adapter, a device) and registers later (webgpu/node.ts, the lab's worker).
 *
 * Every entry of the package imports it: src/index.ts and src/entries/ (what `import "herograd"`
 * and `import "herograd/tensor"` load), the CLI, the benchmarks, the tests. The tensor package
 * imports no backend (test/layering.test.ts); the lab's worker chooses its own.
 */
import { hasBackend, registerBackend, setBackend } from "./index.js";
import { JsBackend } from "./js/index.js";
import { WasmBackend, wasmAvailable } from "./wasm/index.js";

/** Register js, and wasm where it runs; true when wasm is registered. */
export function registerCpuBackends(): boolean {
  if (!hasBackend("js")) registerBackend("js", () => new JsBackend());
  if (hasBackend("wasm")) return true;
  if (!wasmAvailable()) return false;
  registerBackend("wasm", () => new WasmBackend());
  return true;
}

/** The backend named by HERO_BACKEND, or wasm where it runs, or js. */
export function defaultBackendName(): string {
  const env = typeof process !== "undefined" ? process.env?.HERO_BACKEND : undefined;
  if (env) return env;
  return hasBackend("wasm") ? "wasm" : "js";
}

/** Register the CPU backends and make the default current (a name not registered yet is left for later: webgpu). */
export function selectDefaultBackend(): string {
  registerCpuBackends();
  const name = defaultBackendName();
  if (hasBackend(name)) setBackend(name);
  return name;
}

selectDefaultBackend();
