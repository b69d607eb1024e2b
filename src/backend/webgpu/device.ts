/**
 * The GPU side of the webgpu backend: buffers (pooled by size class), the batch of recorded
 * commands, uploads and readback. No Node or browser imports: it works on any `GPU` object
 * (navigator.gpu, or the Node `webgpu` package's).
 *
 * Kernels are recorded, not encoded: each `dispatch` appends {pipeline, buffers, meta} to the
 * batch and each `write` appends a copy from an upload arena. A flush writes every kernel's
 * argument block into one persistent buffer (queue.writeBuffer: ordered after the work already
 * submitted, so rewriting it is safe), puts the batch's written values in one upload buffer,
 * encodes the whole batch into one command encoder and submits it. Argument blocks are bound at
 * a dynamic offset, so a kernel's bind group depends only on its pipeline and tensor buffers and
 * is cached: a training step, which reuses the same pooled buffers, creates none after the first.
 * A flush happens on a read, or when the batch is long.
 *
 * A buffer freed by the front end goes back to the pool at once: WebGPU runs a queue's commands
 * in order, with the barriers between them its implementation inserts, so whatever a later
 * command writes into a reused buffer lands after every earlier command has read it. Nothing
 * waits for the GPU to hand a buffer out again, and recording several steps ahead needs no more
 * memory than one.
 */

/**
 * A shader named by a short key of what generates it, its source made only the first time (a
 * dispatch then neither builds nor hashes a few KB of WGSL).
 */
export interface Shader {
  key: string;
  source: () => string;
}

/** Arguments to a kernel: an int32/uint32/float32 block, bound as storage at binding 0. */
export type Meta = (number | { f32: number })[];

export interface GpuBuffer {
  readonly buffer: GPUBuffer;
  /** Bytes of the buffer (its size class). */
  readonly capacity: number;
}

interface Pipeline {
  readonly id: number;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

type Command =
  | {
      kind: "dispatch";
      pipeline: Pipeline;
      buffers: GPUBuffer[];
      metaOffset: number;
      metaBytes: number;
      groups: [number, number, number];
    }
  | { kind: "upload"; srcOffset: number; dst: GPUBuffer; dstOffset: number; bytes: number }
  | { kind: "copy"; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; bytes: number };

const STORAGE_USAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST
const UPLOAD_USAGE = 0x4; // COPY_SRC
const ARGS_USAGE = 0x80 | 0x8; // STORAGE | COPY_DST
const READBACK_USAGE = 0x1 | 0x8; // MAP_READ | COPY_DST
const MAP_READ = 0x1;
/** Commands per submission before a flush without a read. */
const MAX_BATCH = 400;
/** With the GPU idle (after a read), the first commands go at once, not after MAX_BATCH. */
const KICK_BATCH = 32;
/** Bytes of uploads per submission before a flush. */
const MAX_ARENA = 64 << 20;
/** Cached bind groups before the cache starts over (buffers come and go as models change). */
const MAX_BIND_GROUPS = 8192;

/** The smallest size class holding `bytes`: 256 B, then four classes per power of two. */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  const pow = 2 ** Math.floor(Math.log2(bytes - 1));
  const quarter = pow / 4;
  return pow + Math.ceil((bytes - pow) / quarter) * quarter;
}

export class GpuDevice {
  /**
   * Free buffers per size class, highest id first: alloc takes the lowest id, so a step that
   * repeats (the same sizes in the same order, from the same free set) gets the same buffers
   * each time and finds its bind groups cached.
   */
  private readonly pool = new Map<number, GPUBuffer[]>();
  private commands: Command[] = [];
  /** Values written by the batch (copied to their tensors in order with the kernels). */
  private arena = new Uint8Array(1 << 16);
  private arenaUsed = 0;
  /** Argument blocks of the batch, and the persistent buffer they go to at a flush. */
  private args = new Uint8Array(1 << 16);
  private argsUsed = 0;
  private argsBuffer: GPUBuffer | null = null;
  private readonly argsAlign: number;
  /** Nothing submitted is still running (a read or sync saw everything done since). */
  private idle = true;
  private readonly pipelines = new Map<string, Pipeline>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 0;
  private lostMessage: string | null = null;
  private firstError: string | null = null;
  liveBuffers = 0;
  liveBytes = 0;
  peakBytes = 0;
  pooledBytes = 0;
  submissions = 0;
  /** Kernels recorded (dispatches), for counting a step's work. */
  dispatches = 0;
  /** Bind groups created (the cache makes a repeated step create none). */
  bindGroupsCreated = 0;
  /** GPU buffers created for tensors (a pool that works stops this growing). */
  buffersCreated = 0;
  /** The largest subgroup size where lane reductions use subgroup operations (the feature exists and its layout was checked), else 0. */
  subgroups = 0;

  constructor(
    readonly device: GPUDevice,
    readonly description: string,
  ) {
    this.argsAlign = Math.max(256, device.limits.minStorageBufferOffsetAlignment);
    device.lost.then((info) => {
      if (info.reason === "destroyed" && this.lostMessage === null) this.lostMessage = "device destroyed";
      else this.lostMessage = `${info.reason}: ${info.message}`;
    });
    device.addEventListener("uncapturederror", (event) => {
      const message = (event as GPUUncapturedErrorEvent).error.message;
      this.firstError ??= message;
    });
  }

  /** Workgroup memory a kernel may use (16 KiB in compatibility mode; 32 KiB on most GPUs). */
  get workgroupBytes(): number {
    return this.device.limits.maxComputeWorkgroupStorageSize;
  }

  /** Throws a clear error once the device is lost or a command failed validation. */
  check(): void {
    if (this.lostMessage !== null) {
      throw new Error(
        `webgpu device lost (${this.lostMessage}); tensors on it are gone: recreate the backend or use --backend wasm`,
      );
    }
    if (this.firstError !== null) {
      const message = this.firstError;
      this.firstError = null;
      throw new Error(`webgpu error: ${message}`);
    }
  }

  get lost(): boolean {
    return this.lostMessage !== null;
  }

  alloc(bytes: number): GpuBuffer {
    this.check();
    const max = this.device.limits.maxStorageBufferBindingSize;
    if (bytes > max) {
      throw new Error(
        `webgpu: a tensor of ${bytes} bytes is larger than this adapter's largest storage binding (${max} bytes)`,
      );
    }
    const capacity = Math.min(sizeClass(Math.max(bytes, 4)), Math.floor(max / 4) * 4);
    let buffer = this.pool.get(capacity)?.pop();
    if (buffer) this.pooledBytes -= capacity;
    else {
      buffer = this.device.createBuffer({ size: capacity, usage: STORAGE_USAGE });
      this.buffersCreated++;
    }
    this.liveBuffers++;
    this.liveBytes += capacity;
    if (this.liveBytes > this.peakBytes) this.peakBytes = this.liveBytes;
    return { buffer, capacity };
  }

  /** Back to the pool (see the module comment for why at once). */
  free(b: GpuBuffer): void {
    this.liveBuffers--;
    this.liveBytes -= b.capacity;
    this.pooledBytes += b.capacity;
    const list = this.pool.get(b.capacity);
    if (!list) {
      this.pool.set(b.capacity, [b.buffer]);
      return;
    }
    // Highest id first.
    const id = this.bufferId(b.buffer);
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.bufferId(list[mid]!) > id) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, b.buffer);
  }

  /** Pooled buffers destroyed (memory back to the driver). */
  trim(): void {
    // Recorded commands may still name a pooled buffer: submit them first (destroy waits for
    // submitted work).
    this.flush();
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.pool.clear();
    this.pooledBytes = 0;
    this.bindGroups.clear();
  }

  /**
   * The pipeline of a shader, with its layout: binding 0 (the argument block) at a dynamic offset,
   * then each binding read-only or read-write as the source declares it.
   */
  pipeline(source: string | Shader): Pipeline {
    const key = typeof source === "string" ? source : source.key;
    let p = this.pipelines.get(key);
    if (!p) {
      if (typeof source !== "string") source = source.source();
      const { device } = this;
      const entries: GPUBindGroupLayoutEntry[] = [];
      for (const [, binding, access] of source.matchAll(
        /@binding\((\d+)\) var<storage, (read_write|read)>/g,
      )) {
        const index = Number(binding);
        entries.push({
          binding: index,
          visibility: 0x4, // COMPUTE
          buffer: {
            type: access === "read_write" ? "storage" : "read-only-storage",
            hasDynamicOffset: index === 0,
          },
        });
      }
      const layout = device.createBindGroupLayout({ entries });
      const module = device.createShaderModule({ code: source });
      const pipeline = device.createComputePipeline({
        layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: "main" },
      });
      p = { id: this.pipelines.size, pipeline, layout };
      this.pipelines.set(key, p);
    }
    return p;
  }

  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) {
      id = this.nextBufferId++;
      this.bufferIds.set(b, id);
    }
    return id;
  }

  /** The bind group of a dispatch (cached by pipeline, argument size and buffers). */
  private bindGroup(c: Extract<Command, { kind: "dispatch" }>, args: GPUBuffer): GPUBindGroup {
    let key = `${c.pipeline.id}:${c.metaBytes}`;
    for (const b of c.buffers) key += `:${this.bufferId(b)}`;
    let group = this.bindGroups.get(key);
    if (!group) {
      if (this.bindGroups.size >= MAX_BIND_GROUPS) this.bindGroups.clear();
      group = this.device.createBindGroup({
        layout: c.pipeline.layout,
        entries: [
          { binding: 0, resource: { buffer: args, offset: 0, size: c.metaBytes } },
          ...c.buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } })),
        ],
      });
      this.bindGroups.set(key, group);
      this.bindGroupsCreated++;
    }
    return group;
  }

  private reserve(bytes: number, align: number): number {
    const offset = Math.ceil(this.arenaUsed / align) * align;
    if (offset + bytes > this.arena.length) {
      const grown = new Uint8Array(Math.max(this.arena.length * 2, offset + bytes));
      grown.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = grown;
    }
    this.arenaUsed = offset + bytes;
    return offset;
  }

  /** Record a kernel: buffers bind at 1.. in order, the meta block at 0. */
  dispatch(
    source: string | Shader,
    buffers: GPUBuffer[],
    meta: Meta,
    groups: [number, number, number],
  ): void {
    this.check();
    if (groups[0] === 0 || groups[1] === 0 || groups[2] === 0) return;
    const pipeline = this.pipeline(source);
    const bytes = Math.max(meta.length, 1) * 4;
    const metaOffset = Math.ceil(this.argsUsed / this.argsAlign) * this.argsAlign;
    if (metaOffset + bytes > this.args.length) {
      const grown = new Uint8Array(Math.max(this.args.length * 2, metaOffset + bytes));
      grown.set(this.args.subarray(0, this.argsUsed));
      this.args = grown;
    }
    this.argsUsed = metaOffset + bytes;
    const view = new DataView(this.args.buffer, metaOffset, bytes);
    meta.forEach((v, i) => {
      if (typeof v === "number") view.setInt32(i * 4, v, true);
      else view.setFloat32(i * 4, v.f32, true);
    });
    this.commands.push({ kind: "dispatch", pipeline, buffers, metaOffset, metaBytes: bytes, groups });
    this.dispatches++;
    if (this.commands.length >= (this.idle ? KICK_BATCH : MAX_BATCH)) this.flush();
  }

  /** Record a write of 4-byte words into `dst` at byte `dstOffset`. */
  upload(dst: GPUBuffer, dstOffset: number, words: Uint32Array | Int32Array | Float32Array): void {
    this.check();
    if (words.length === 0) return;
    const offset = this.reserve(words.byteLength, 4);
    this.arena.set(new Uint8Array(words.buffer, words.byteOffset, words.byteLength), offset);
    this.commands.push({ kind: "upload", srcOffset: offset, dst, dstOffset, bytes: words.byteLength });
    // Loading a model writes hundreds of MB: submit as it goes rather than hold it all twice.
    if (this.arenaUsed >= MAX_ARENA) this.flush();
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (bytes > 0) this.commands.push({ kind: "copy", src, srcOffset, dst, dstOffset, bytes });
  }

  /** The persistent argument buffer, large enough for this batch (a new one drops the cached bind groups). */
  private argsBufferFor(bytes: number): GPUBuffer {
    if (!this.argsBuffer || this.argsBuffer.size < bytes) {
      // Destroyed once the work already submitted with it has run.
      this.argsBuffer?.destroy();
      this.bindGroups.clear();
      const size = 2 ** Math.ceil(Math.log2(Math.max(bytes, 1 << 16)));
      this.argsBuffer = this.device.createBuffer({ size, usage: ARGS_USAGE });
    }
    return this.argsBuffer;
  }

  /** Encode and submit the recorded batch. */
  flush(): void {
    this.check();
    if (this.commands.length === 0) return;
    const { device } = this;
    const commands = this.commands;
    this.commands = [];
    let upload: GPUBuffer | null = null;
    if (this.arenaUsed > 0) {
      upload = device.createBuffer({
        size: Math.ceil(this.arenaUsed / 4) * 4,
        usage: UPLOAD_USAGE,
        mappedAtCreation: true,
      });
      new Uint8Array(upload.getMappedRange()).set(this.arena.subarray(0, this.arenaUsed));
      upload.unmap();
    }
    this.arenaUsed = 0;
    let args: GPUBuffer | null = null;
    if (this.argsUsed > 0) {
      args = this.argsBufferFor(this.argsUsed);
      device.queue.writeBuffer(args, 0, this.args, 0, Math.ceil(this.argsUsed / 4) * 4);
    }
    this.argsUsed = 0;
    const encoder = device.createCommandEncoder();
    let pass: GPUComputePassEncoder | null = null;
    let current: Pipeline | null = null;
    for (const c of commands) {
      if (c.kind === "dispatch") {
        if (!pass) {
          pass = encoder.beginComputePass();
          current = null;
        }
        if (c.pipeline !== current) {
          pass.setPipeline(c.pipeline.pipeline);
          current = c.pipeline;
        }
        pass.setBindGroup(0, this.bindGroup(c, args!), [c.metaOffset]);
        pass.dispatchWorkgroups(c.groups[0], c.groups[1], c.groups[2]);
      } else {
        if (pass) {
          pass.end();
          pass = null;
        }
        if (c.kind === "upload")
          encoder.copyBufferToBuffer(upload!, c.srcOffset, c.dst, c.dstOffset, c.bytes);
        else encoder.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.bytes);
      }
    }
    pass?.end();
    device.queue.submit([encoder.finish()]);
    this.submissions++;
    this.idle = false;
    // Freed once the work just submitted has used it.
    upload?.destroy();
  }

  /** Flush, then copy `bytes` of `src` back to the host. */
  async read(src: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    this.check();
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({ size, usage: READBACK_USAGE });
    this.copy(src, 0, staging, 0, size);
    this.flush();
    const submitted = this.submissions;
    try {
      await staging.mapAsync(MAP_READ);
    } catch (e) {
      this.check();
      throw e;
    }
    // The copy was the last command submitted: unless more went since, the GPU is idle.
    if (this.submissions === submitted) this.idle = true;
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    this.check();
    return out;
  }

  /** Wait until everything submitted so far has run. */
  async sync(): Promise<void> {
    this.flush();
    const submitted = this.submissions;
    await this.device.queue.onSubmittedWorkDone();
    if (this.submissions === submitted) this.idle = true;
    this.check();
  }
}
