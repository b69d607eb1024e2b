/**
 * The GPU side of the webgpu backend: buffers (pooled by size class), the batch of recorded
 * commands, uploads and readback. No Node or browser imports: it works on any `GPU` object
 * (navigator.gpu, or the Node `webgpu` package's).
 *
 * Kernels are recorded, not encoded: each `dispatch` appends {pipeline, buffers, meta} to the
 * batch and each `write` appends a copy from an upload arena. A flush builds one upload buffer
 * (every kernel's argument block and every written value of the batch), encodes the whole batch
 * into one command encoder and submits it. A flush happens on a read, or when the batch is long.
 * Buffers freed by the front end go back to the pool only after the submission that last could
 * use them has completed, so recorded work never sees a buffer reused under it.
 */

/** Arguments to a kernel: an int32/uint32/float32 block, bound as storage at binding 0. */
export type Meta = (number | { f32: number })[];

export interface GpuBuffer {
  readonly buffer: GPUBuffer;
  /** Bytes of the buffer (its size class). */
  readonly capacity: number;
}

type Command =
  | {
      kind: "dispatch";
      pipeline: GPUComputePipeline;
      buffers: GPUBuffer[];
      metaOffset: number;
      metaBytes: number;
      groups: [number, number, number];
    }
  | { kind: "upload"; srcOffset: number; dst: GPUBuffer; dstOffset: number; bytes: number }
  | { kind: "copy"; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; bytes: number };

const STORAGE_USAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST
const UPLOAD_USAGE = 0x80 | 0x4; // STORAGE | COPY_SRC
const READBACK_USAGE = 0x1 | 0x8; // MAP_READ | COPY_DST
const MAP_READ = 0x1;
/** Commands per submission before a flush without a read (bounds memory held by freed buffers). */
const MAX_BATCH = 400;
/** Bytes of uploads and argument blocks per submission before a flush. */
const MAX_ARENA = 64 << 20;

/** The smallest size class holding `bytes`: 256 B, then four classes per power of two. */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  const pow = 2 ** Math.floor(Math.log2(bytes - 1));
  const quarter = pow / 4;
  return pow + Math.ceil((bytes - pow) / quarter) * quarter;
}

export class GpuDevice {
  private readonly pool = new Map<number, GPUBuffer[]>();
  /** Buffers freed while batch `id` was being recorded: reusable once that batch has run. */
  private readonly pendingFree: { batch: number; buffers: GpuBuffer[] }[] = [];
  private commands: Command[] = [];
  private arena = new Uint8Array(1 << 16);
  private arenaUsed = 0;
  private batch = 0;
  private completed = -1;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private lostMessage: string | null = null;
  private firstError: string | null = null;
  liveBuffers = 0;
  liveBytes = 0;
  pooledBytes = 0;
  submissions = 0;
  /** GPU buffers created for tensors (a pool that works stops this growing). */
  buffersCreated = 0;
  /** The largest subgroup size where lane reductions use subgroup operations (the feature exists and its layout was checked), else 0. */
  subgroups = 0;

  constructor(
    readonly device: GPUDevice,
    readonly description: string,
  ) {
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
    return { buffer, capacity };
  }

  /** Back to the pool once the work recorded so far has run. */
  free(b: GpuBuffer): void {
    this.liveBuffers--;
    this.liveBytes -= b.capacity;
    // With nothing recorded yet, the last submitted batch is the last that could use it.
    const batch = this.commands.length === 0 ? this.batch - 1 : this.batch;
    const last = this.pendingFree.at(-1);
    if (last && last.batch === batch) last.buffers.push(b);
    else this.pendingFree.push({ batch, buffers: [b] });
    this.release(this.completed);
  }

  /** Pooled buffers destroyed (memory back to the driver). */
  trim(): void {
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.pool.clear();
    this.pooledBytes = 0;
  }

  private release(upTo: number): void {
    while (this.pendingFree.length > 0 && this.pendingFree[0]!.batch <= upTo) {
      for (const b of this.pendingFree.shift()!.buffers) {
        const list = this.pool.get(b.capacity);
        if (list) list.push(b.buffer);
        else this.pool.set(b.capacity, [b.buffer]);
        this.pooledBytes += b.capacity;
      }
    }
  }

  pipeline(source: string): GPUComputePipeline {
    let p = this.pipelines.get(source);
    if (!p) {
      const module = this.device.createShaderModule({ code: source });
      p = this.device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
      this.pipelines.set(source, p);
    }
    return p;
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
  dispatch(source: string, buffers: GPUBuffer[], meta: Meta, groups: [number, number, number]): void {
    this.check();
    if (groups[0] === 0 || groups[1] === 0 || groups[2] === 0) return;
    const pipeline = this.pipeline(source);
    const bytes = Math.max(meta.length, 1) * 4;
    const metaOffset = this.reserve(bytes, 256);
    const view = new DataView(this.arena.buffer, metaOffset, bytes);
    meta.forEach((v, i) => {
      if (typeof v === "number") view.setInt32(i * 4, v, true);
      else view.setFloat32(i * 4, v.f32, true);
    });
    this.commands.push({ kind: "dispatch", pipeline, buffers, metaOffset, metaBytes: bytes, groups });
    if (this.commands.length >= MAX_BATCH) this.flush();
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
    const encoder = device.createCommandEncoder();
    let pass: GPUComputePassEncoder | null = null;
    for (const c of commands) {
      if (c.kind === "dispatch") {
        pass ??= encoder.beginComputePass();
        const entries: GPUBindGroupEntry[] = [
          { binding: 0, resource: { buffer: upload!, offset: c.metaOffset, size: c.metaBytes } },
          ...c.buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } })),
        ];
        const bindGroup = device.createBindGroup({ layout: c.pipeline.getBindGroupLayout(0), entries });
        pass.setPipeline(c.pipeline);
        pass.setBindGroup(0, bindGroup);
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
    const id = this.batch++;
    device.queue.onSubmittedWorkDone().then(
      () => {
        upload?.destroy();
        this.completed = Math.max(this.completed, id);
        this.release(this.completed);
      },
      () => {},
    );
  }

  /** Flush, then copy `bytes` of `src` back to the host. */
  async read(src: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    this.check();
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({ size, usage: READBACK_USAGE });
    this.copy(src, 0, staging, 0, size);
    this.flush();
    const batch = this.batch - 1;
    try {
      await staging.mapAsync(MAP_READ);
    } catch (e) {
      this.check();
      throw e;
    }
    // The copy ran last in its batch, so everything submitted up to it has run.
    this.completed = Math.max(this.completed, batch);
    this.release(this.completed);
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    this.check();
    return out;
  }

  /** Wait until everything submitted so far has run. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.check();
  }
}
