/**
 * The native kernels (native/, C++ built by node-gyp at `npm install`): AVX-512 or AVX2 matmul and
 * attention that the wasm backend calls in Node, working in place on its WebAssembly.Memory. In a
 * browser, where the build failed, on a CPU without AVX2, or with HERO_NATIVE=0, there are none and
 * every kernel runs in wasm. HERO_NATIVE=avx2 picks the AVX2 kernels on an AVX-512 CPU (tests).
 */

export interface NativeAddon {
  context(threads: number, isa: string): { handle: unknown; isa: string };
  matmul(handle: unknown, memory: Uint8Array, args: number): boolean;
  attention(handle: unknown, memory: Uint8Array, args: number): boolean;
  attentionBackward(handle: unknown, memory: Uint8Array, args: number): boolean;
  adamw(handle: unknown, memory: Uint8Array, args: number): boolean;
  axpy(handle: unknown, memory: Uint8Array, args: number): boolean;
  layerNormBackward(handle: unknown, memory: Uint8Array, args: number): boolean;
  linear(handle: unknown, memory: Uint8Array, args: number): boolean;
  geluBackward(handle: unknown, memory: Uint8Array, args: number): boolean;
  info(): { isas: string[]; best: string | null };
  workerRuns(handle: unknown): number;
}

export interface NativeStatus {
  /** The addon, when it loaded and this CPU runs one of its instruction sets. */
  addon: NativeAddon | null;
  /** The instruction set a context uses ("avx512", "avx2"), or null. */
  isa: string | null;
  /** Why there is no addon (for the one line herograd prints about its CPU path). */
  reason: string;
}

let status: NativeStatus | undefined;

function env(name: string): string | undefined {
  return typeof process !== "undefined" ? process.env?.[name] : undefined;
}

function load(): NativeStatus {
  const setting = env("HERO_NATIVE");
  if (setting === "0") return { addon: null, isa: null, reason: "off (HERO_NATIVE=0)" };
  const p = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
  const nodeModule = p?.getBuiltinModule?.("node:module") as
    | { createRequire: (from: string) => (id: string) => unknown }
    | undefined;
  if (!nodeModule) return { addon: null, isa: null, reason: "not in Node" };
  // dist/src/backend/wasm/native.js → the repository root holds native/.
  // (Not a browser asset: Vite is told to leave it.)
  const url = new URL(/* @vite-ignore */ "../../../../native/build/Release/herograd.node", import.meta.url);
  let addon: NativeAddon;
  try {
    addon = nodeModule.createRequire(import.meta.url)(decodeURIComponent(url.pathname)) as NativeAddon;
  } catch (error) {
    const message = (error as Error).message.split("\n")[0]!;
    const missing = message.includes("Cannot find module");
    return {
      addon: null,
      isa: null,
      reason: missing ? "not built (npm install builds native/ with node-gyp)" : `failed to load: ${message}`,
    };
  }
  const { isas, best } = addon.info();
  const want = setting && setting !== "1" ? setting : best;
  if (!want) return { addon: null, isa: null, reason: "this CPU has neither AVX-512 nor AVX2 with FMA" };
  if (!isas.includes(want))
    return {
      addon: null,
      isa: null,
      reason: `HERO_NATIVE=${setting}: this CPU runs only ${isas.join(", ")}`,
    };
  return { addon, isa: want, reason: "" };
}

/** The native addon's status in this process (loaded once). */
export function nativeStatus(): NativeStatus {
  status ??= load();
  return status;
}
