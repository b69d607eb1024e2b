/**
 * The webgpu backend: WGSL kernels on a GPUDevice, in browsers (navigator.gpu) and in Node (the
 * `webgpu` package, see node.ts). This module imports nothing platform-specific: give
 * `createWebGpuBackend` a `GPU` object and register the result.
 *
 * Storage is a pooled GPUBuffer (float32 as f32, int32 as i32, bool as one u32 per element; no
 * float64). Kernels are recorded into a batch and submitted together (see device.ts); reading is
 * asynchronous only (`await t.data()`), as WebGPU allows.
 */
import type {
  Backend,
  DType,
  KernelArgs,
  KernelName,
  MemoryStats,
  OptionalKernelArgs,
  OptionalKernelName,
  Storage,
  TypedArray,
} from "../types.js";
import { GpuDevice } from "./device.js";
import { type KernelContext, type WebGpuStorage, webgpuKernels, webgpuOptionalKernels } from "./kernels.js";
import { wgslType } from "./wgsl.js";

export type { WebGpuStorage } from "./kernels.js";

/** Workgroup size and buffers the kernels need beyond WebGPU's defaults (compatibility mode: 128 invocations, 4 storage buffers). */
const NEEDED_LIMITS = {
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxStorageBuffersPerShaderStage: 8,
} as const;

export interface WebGpuOptions {
  /** "core" first, then "compatibility" (OpenGL ES adapters are compatibility-only). */
  featureLevel?: "core" | "compatibility";
  powerPreference?: GPUPowerPreference;
  /** false: never use subgroup operations, even where the adapter has them. */
  subgroups?: boolean;
  /** At most this much workgroup memory per kernel (default: the adapter's largest; tests pin 16 KiB). */
  workgroupBytes?: number;
}

export class WebGpuBackend implements Backend {
  readonly name: string = "webgpu";
  readonly synchronous = false;
  readonly dtypes: readonly DType[] = ["float32", "int32", "bool"];
  private readonly ctx: KernelContext;

  constructor(readonly device: GpuDevice) {
    this.ctx = {
      device,
      alloc: (dtype, size) => this.alloc(dtype, size),
      free: (storage) => this.free(storage),
    };
  }

  /** The adapter in words (vendor, architecture, driver), for logs and benchmarks. */
  get description(): string {
    return this.device.description;
  }

  alloc(dtype: DType, size: number): WebGpuStorage {
    wgslType(dtype); // float64 → a clear error
    return { dtype, size, gpu: this.device.alloc(size * 4), freed: false };
  }

  free(storage: Storage): void {
    const s = storage as WebGpuStorage;
    if (s.freed) return;
    s.freed = true;
    if (!this.device.lost) this.device.free(s.gpu);
  }

  write(storage: Storage, values: ArrayLike<number>, offset = 0): void {
    const s = storage as WebGpuStorage;
    let words: Float32Array | Int32Array | Uint32Array;
    if (s.dtype === "float32") words = values instanceof Float32Array ? values : Float32Array.from(values);
    else if (s.dtype === "int32") words = values instanceof Int32Array ? values : Int32Array.from(values);
    else words = Uint32Array.from(values, (v) => (v ? 1 : 0));
    this.device.upload(s.gpu.buffer, offset * 4, words);
  }

  async read(storage: Storage): Promise<TypedArray> {
    const s = storage as WebGpuStorage;
    if (s.freed) throw new Error("webgpu: read of a freed tensor");
    const bytes = await this.device.read(s.gpu.buffer, s.size * 4);
    if (s.dtype === "float32") return new Float32Array(bytes);
    if (s.dtype === "int32") return new Int32Array(bytes);
    return Uint8Array.from(new Uint32Array(bytes));
  }

  run<K extends KernelName>(kernel: K, args: KernelArgs[K]): void {
    (webgpuKernels[kernel] as (ctx: KernelContext, a: KernelArgs[K]) => void)(this.ctx, args);
  }

  supports(kernel: OptionalKernelName): boolean {
    return webgpuOptionalKernels[kernel] !== undefined;
  }

  runOptional<K extends OptionalKernelName>(kernel: K, args: OptionalKernelArgs[K]): void {
    const run = webgpuOptionalKernels[kernel];
    if (!run) throw new Error(`webgpu backend: no fused ${kernel} kernel (check supports() first)`);
    (run as (ctx: KernelContext, a: OptionalKernelArgs[K]) => void)(this.ctx, args);
  }

  /** Submit recorded work and wait until the GPU has finished it (benchmarks, tests). */
  sync(): Promise<void> {
    return this.device.sync();
  }

  /** Destroy the pooled (free) GPU buffers, returning their memory to the driver. */
  trimPool(): void {
    this.device.trim();
  }

  memoryStats(): MemoryStats {
    return { buffers: this.device.liveBuffers, bytes: this.device.liveBytes };
  }

  peakBytes(): number {
    return this.device.peakBytes;
  }

  resetPeak(): void {
    this.device.peakBytes = this.device.liveBytes;
  }
}

function describe(adapter: GPUAdapter): string {
  const info = adapter.info;
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => s);
  return [...new Set(parts)].join(" ") || "unknown adapter";
}

/** An adapter: the requested feature level, else compatibility (what OpenGL ES gives). */
export async function requestWebGpuAdapter(
  gpu: GPU,
  options: WebGpuOptions = {},
): Promise<GPUAdapter | null> {
  const levels = options.featureLevel === "compatibility" ? ["compatibility"] : ["core", "compatibility"];
  for (const featureLevel of levels) {
    const adapter = await gpu.requestAdapter({
      featureLevel,
      ...(options.powerPreference ? { powerPreference: options.powerPreference } : {}),
    } as GPURequestAdapterOptions);
    if (adapter) return adapter;
  }
  return null;
}

/**
 * The backend on `gpu` (navigator.gpu in a browser), or null when no adapter exists.
 * Register it with `registerBackend("webgpu", () => backend)`.
 */
export async function createWebGpuBackend(
  gpu: GPU,
  options: WebGpuOptions = {},
): Promise<WebGpuBackend | null> {
  const adapter = await requestWebGpuAdapter(gpu, options);
  if (!adapter) return null;
  const requiredLimits: Record<string, number> = {};
  for (const [name, want] of Object.entries(NEEDED_LIMITS)) {
    const has = (adapter.limits as unknown as Record<string, number>)[name]!;
    if (has < want)
      throw new Error(`webgpu: the adapter (${describe(adapter)}) allows ${name} = ${has}; need ${want}`);
    requiredLimits[name] = want;
  }
  // Large tensors (GPT-2's 154 MB embedding) need the adapter's full buffer sizes.
  requiredLimits.maxStorageBufferBindingSize = adapter.limits.maxStorageBufferBindingSize;
  requiredLimits.maxBufferSize = adapter.limits.maxBufferSize;
  // Larger matmul steps where the adapter allows (16 KiB is the compatibility-mode default).
  requiredLimits.maxComputeWorkgroupStorageSize = Math.min(
    adapter.limits.maxComputeWorkgroupStorageSize,
    options.workgroupBytes ?? Number.POSITIVE_INFINITY,
  );
  // Subgroups of at most 64 invocations (one lane workgroup holds whole subgroups).
  const maxSubgroup = (adapter.info as { subgroupMaxSize?: number }).subgroupMaxSize || 64;
  const wantSubgroups = options.subgroups !== false && adapter.features.has("subgroups") && maxSubgroup <= 64;
  let device: GPUDevice | null = null;
  if (wantSubgroups) {
    device = await adapter
      .requestDevice({ requiredLimits, requiredFeatures: ["subgroups" as GPUFeatureName] })
      .catch(() => null);
  }
  const subgroups = device !== null;
  device ??= await adapter.requestDevice({ requiredLimits });
  const gpuDevice = new GpuDevice(device, describe(adapter));
  gpuDevice.subgroups = subgroups && (await contiguousSubgroups(gpuDevice)) ? maxSubgroup : 0;
  return new WebGpuBackend(gpuDevice);
}

/**
 * Whether subgroup i of a workgroup is invocations [i·size, (i + 1)·size), which the lane
 * reductions assume (every GPU lays them out so, but WGSL does not promise it): one dispatch of
 * 64 and one of 256 invocations check it.
 */
async function contiguousSubgroups(gpu: GpuDevice): Promise<boolean> {
  // A compiler that refuses the probe says no here, not as an error at the first real kernel.
  gpu.device.pushErrorScope("validation");
  const out = gpu.device.createBuffer({ size: 4 * 320, usage: 0x80 | 0x4 }); // STORAGE | COPY_SRC
  for (const [wg, at] of [
    [64, 0],
    [256, 64],
  ] as const) {
    const source = `enable subgroups;
@group(0) @binding(0) var<storage, read> args: array<u32>;
@group(0) @binding(1) var<storage, read_write> ok: array<u32>;
@compute @workgroup_size(${wg})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sid: u32,
        @builtin(subgroup_size) size: u32) {
  let first = subgroupBroadcastFirst(lid);
  ok[${at}u + args[0] + lid] = select(0u, 1u, first == lid - sid && first % size == 0u && ${wg}u % size == 0u);
}`;
    gpu.dispatch(source, [out], [0], [1, 1, 1]);
  }
  gpu.flush();
  if (await gpu.device.popErrorScope()) {
    out.destroy();
    return false;
  }
  try {
    const flags = new Uint32Array(await gpu.read(out, 4 * 320));
    return flags.every((f) => f === 1);
  } catch {
    return false;
  } finally {
    out.destroy();
  }
}
