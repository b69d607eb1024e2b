/**
 * Registers the wasm backend where WebAssembly SIMD runs, and picks the default backend:
 * HERO_BACKEND (js | wasm) when set, else wasm where available, else js.
 */
import { hasBackend, registerBackend, setBackend } from "../index.js";
import { WasmBackend, wasmAvailable } from "./index.js";

export function registerWasmBackend(): boolean {
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

/** Register wasm and make the default backend current (a name not registered yet is left for later). */
export function selectDefaultBackend(): string {
  registerWasmBackend();
  const name = defaultBackendName();
  if (hasBackend(name)) setBackend(name);
  return name;
}
