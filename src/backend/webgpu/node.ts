/**
 * Node's GPU: the `webgpu` package (Dawn). Only Node code imports this module; browsers pass
 * navigator.gpu to createWebGpuBackend directly.
 *
 * Dawn tries Vulkan first (a real GPU, or Mesa's lavapipe) and then OpenGL ES, which on a
 * machine without a GPU is Mesa's llvmpipe through surfaceless EGL: a compatibility-level
 * adapter, slow but complete enough to test every kernel.
 */
import { registerBackend } from "../index.js";
import { createWebGpuBackend, type WebGpuBackend, type WebGpuOptions } from "./index.js";

export interface NodeWebGpuOptions extends WebGpuOptions {
  /** Dawn backend: "vulkan", "opengles", or undefined to try Vulkan and then OpenGL ES. */
  dawnBackend?: "vulkan" | "opengles";
}

type DawnModule = { create(flags: string[]): GPU };

const instances: GPU[] = [];
let dawn: Promise<DawnModule | null> | null = null;

async function loadDawn(): Promise<DawnModule | null> {
  try {
    return (await import("webgpu")) as unknown as DawnModule;
  } catch {
    return null;
  }
}

export class NoAdapterError extends Error {}

/**
 * The backend on Node's GPU. Throws NoAdapterError (with what was tried) when the `webgpu`
 * package is missing or no adapter exists.
 */
export async function createNodeWebGpuBackend(options: NodeWebGpuOptions = {}): Promise<WebGpuBackend> {
  dawn ??= loadDawn();
  const module = await dawn;
  if (!module) throw new NoAdapterError("the `webgpu` package (Dawn for Node) is not installed");
  const env = process.env.HERO_WEBGPU_BACKEND;
  const wanted = options.dawnBackend ?? (env === "vulkan" || env === "opengles" ? env : undefined);
  const tries: { flags: string[]; level?: "compatibility" }[] = [];
  if (wanted !== "opengles") tries.push({ flags: ["backend=vulkan"] });
  if (wanted !== "vulkan") tries.push({ flags: ["backend=opengles"], level: "compatibility" });
  // Dawn's OpenGL ES backend needs EGL without a display. Set only while Dawn opens EGL, so that
  // processes started later (a browser driven by a test) get the environment they had.
  const eglPlatform = process.env.EGL_PLATFORM;
  process.env.EGL_PLATFORM ??= "surfaceless";
  try {
    for (const t of tries) {
      const gpu = module.create(t.flags);
      // Dawn instances live as long as the process: collecting one (even one that found no
      // adapter) tears down its threads under a running device and aborts the process.
      instances.push(gpu);
      const backend = await createWebGpuBackend(gpu, {
        ...options,
        featureLevel: t.level ?? options.featureLevel,
      });
      if (backend) return backend;
    }
  } finally {
    if (eglPlatform === undefined) delete process.env.EGL_PLATFORM;
  }
  throw new NoAdapterError(
    `no WebGPU adapter (tried Dawn ${tries.map((t) => t.flags[0]!.slice(8)).join(", ")}; ` +
      "without a GPU, install Mesa: apt-get install mesa-vulkan-drivers libegl-mesa0)",
  );
}

let registered: Promise<WebGpuBackend> | null = null;

/** Create the backend once and register it as "webgpu". */
export function registerNodeWebGpuBackend(options: NodeWebGpuOptions = {}): Promise<WebGpuBackend> {
  registered ??= createNodeWebGpuBackend(options).then((backend) => {
    registerBackend("webgpu", () => backend);
    return backend;
  });
  return registered;
}
