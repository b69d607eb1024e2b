/**
 * Storage lifetime (docs/MEMORY.md explains the rule, its costs and the alternatives).
 * A TensorStorage wraps one backend buffer and is shared by all views of it. Three owners:
 * - Scopes: storage created while a scope is open (tidy, backward) belongs to it; closing the scope
 *   frees it unless it was kept (returned from `tidy`, passed to `keep`, or adopted as a `.grad`).
 * - The nursery (synchronous backends: js, wasm): storage no scope owns. Garbage collection cannot
 *   free backend memory inside a synchronous loop (finalizers run only between tasks), but it does
 *   free JS memory at once. So at safe points (the end of backward(), a read) once the nursery holds
 *   more than a threshold, its storages are spilled: their values move into JS arrays they alone
 *   own (zero-copy on js) and the backend block is freed. A spilled tensor the user still holds
 *   keeps its values and comes back into backend memory on its next use; one nobody holds is
 *   reclaimed by the garbage collector like any JS array. When the event loop turns, the nursery
 *   hands its storages to the FinalizationRegistry instead, so asynchronous code frees without
 *   copying.
 *   Kernel views hold raw handles: code that keeps one across a read or a backward() must fetch
 *   `storage.handle` again after it (a spill frees the block; the getter brings the values back).
 * - The FinalizationRegistry: storage of asynchronous backends (webgpu), storage passed to `keep`,
 *   and nursery storage after the event loop turned. It frees the buffer after the tensor is
 *   collected, between tasks.
 */
import {
  type Backend,
  BYTES_PER_ELEMENT,
  type DType,
  type Storage,
  type TypedArray,
} from "../backend/index.js";

const registry = new FinalizationRegistry<{ backend: Backend; handle: Storage }>(({ backend, handle }) => {
  backend.free(handle);
});

export class Scope {
  readonly storages = new Set<TensorStorage>();
  constructor(readonly parent: Scope | null) {}
}

let currentScope: Scope | null = null;

export function activeScope(): Scope | null {
  return currentScope;
}

export function setActiveScope(scope: Scope | null): void {
  currentScope = scope;
}

/**
 * Storages a library forward (nn.Sequential) allocated and handed to no user code: only the tape
 * of its result references them, so backward frees them without a copy (PyTorch frees saved
 * tensors after backward the same way). See graphPrivate in autograd.ts.
 */
export class PrivateStorages {
  readonly storages = new Set<TensorStorage>();

  /** Free them all: nothing but the freed tape (or, with no tape, nothing at all) could reach them. */
  free(by: "backward" | "forward"): void {
    for (const storage of [...this.storages]) {
      storage.freedBy = by;
      storage.free();
    }
  }

  /** Hand them back to the usual owners (the nursery): something outside may reach them. */
  publishAll(): void {
    for (const storage of [...this.storages]) storage.publish();
  }
}

let currentPrivate: PrivateStorages | null = null;

export function activePrivateStorages(): PrivateStorages | null {
  return currentPrivate;
}

export function setActivePrivateStorages(owner: PrivateStorages | null): void {
  currentPrivate = owner;
}

const debug = !!(globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
  ?.HERO_DEBUG;
const MIB = 1024 * 1024;

/**
 * Unscoped storages of synchronous backends that are in backend memory and not kept: an array
 * where each knows its index (leaving swaps the last one in), not a Set. Storages enter and leave
 * it at every op; a Set reallocates its hash table every few dozen of those, and as the nursery is
 * long-lived each discarded table was first promoted to V8's old generation, garbage only a full
 * collection frees (decoding 40,000 tokens piled up 4 MB of it, +12% resident memory at 100,000).
 */
const nursery: TensorStorage[] = [];
let nurseryBytes = 0;
/** Bytes brought back from JS memory since the last spill: the working set the spill moved away. */
let restoredBytes = 0;
let minSpillBytes = 4 * MIB;
let spillBytes = minSpillBytes;
let handOffScheduled = false;
const totals = { spills: 0, spilledBytes: 0, restoredBytes: 0 };

/** Nursery storage left after the event loop turned goes to the FinalizationRegistry (no copy). */
function handOffNursery(): void {
  handOffScheduled = false;
  for (const storage of nursery) storage.watchFromNursery();
  nursery.length = 0;
  nurseryBytes = 0;
}

function scheduleHandOff(): void {
  if (handOffScheduled) return;
  handOffScheduled = true;
  const timer = setTimeout(handOffNursery, 0) as unknown as { unref?: () => void };
  timer.unref?.();
}

/**
 * Move every unscoped, unkept tensor of a synchronous backend out of backend memory into JS memory
 * now. Safe only between ops (the library calls it at the end of backward() and before reads).
 */
export function spillTemporaries(): void {
  if (nursery.length === 0) return;
  totals.spills++;
  totals.spilledBytes += nurseryBytes;
  for (const storage of nursery) storage.spill();
  nursery.length = 0;
  nurseryBytes = 0;
  // Spill less often while each spill moves a large working set away and back (params, data).
  spillBytes = Math.max(minSpillBytes, 4 * restoredBytes);
  restoredBytes = 0;
}

/** Whether the threshold was set, by the first checkpoint or by setSpillThreshold. */
let calibrated = false;

/** A point between ops: spill the nursery when it has grown past the threshold. */
export function memoryCheckpoint(): void {
  if (!calibrated) {
    // The first checkpoint (usually the first backward) sees the parameters and gradients: a
    // trainer that scopes its steps never grows past twice that, so it never pays for a spill.
    calibrated = true;
    spillBytes = Math.max(spillBytes, 2 * nurseryBytes);
  }
  if (nurseryBytes > spillBytes) spillTemporaries();
}

/**
 * The nursery size that triggers a spill at the next checkpoint (default 4 MiB, or twice the
 * nursery at the first checkpoint if more; it grows to four times the bytes a cycle had to bring
 * back). Returns the previous minimum.
 */
export function setSpillThreshold(bytes: number): number {
  if (!(bytes >= 0)) throw new RangeError(`setSpillThreshold: bytes must be ≥ 0, got ${bytes}`);
  const previous = minSpillBytes;
  minSpillBytes = bytes;
  spillBytes = bytes;
  calibrated = true;
  return previous;
}

/** Spill counts and bytes since the process started, and the nursery now (for memoryStats). */
export function spillStats(): {
  spills: number;
  spilledBytes: number;
  restoredBytes: number;
  nurseryBytes: number;
} {
  return { ...totals, nurseryBytes };
}

export class TensorStorage {
  private handleOrNull: Storage | null;
  /** Values moved to JS memory by a spill (the backend block is freed), or null. */
  private spilled: TypedArray | null = null;
  /** The scope that will free this storage, or null when a scope does not. */
  scope: Scope | null = null;
  /** Bumped by every in-place write, so autograd can tell saved values were overwritten. */
  version = 0;
  readonly dtype: DType;
  readonly size: number;
  /** The shape it was allocated for (for out-of-memory reports), when known. */
  shape: readonly number[] | null = null;
  /** Where it was allocated (HERO_DEBUG only). */
  readonly createdAt: string | null = null;
  /** Where it is in the nursery, or -1. */
  private nurseryIndex = -1;
  private watched = false;
  private kept = false;
  /** Freed by backward() as a library forward's private intermediate (for the error message). */
  /** Set when the graph rule freed it: by the backward that freed the tape, or by a forward with no tape. */
  freedBy: "backward" | "forward" | null = null;
  /** Set while only a library forward's tape references it (PrivateStorages). */
  private privateTo: PrivateStorages | null = null;

  constructor(
    readonly backend: Backend,
    handle: Storage,
  ) {
    this.handleOrNull = handle;
    this.dtype = handle.dtype;
    this.size = handle.size;
    if (debug) this.createdAt = new Error().stack?.split("\n").slice(2, 7).join("\n") ?? null;
    if (currentScope) {
      this.scope = currentScope;
      currentScope.storages.add(this);
    } else {
      if (currentPrivate) {
        this.privateTo = currentPrivate;
        currentPrivate.storages.add(this);
      }
      this.release();
    }
  }

  /** Reachable by user code from now on: never freed as private. */
  publish(): void {
    this.privateTo?.storages.delete(this);
    this.privateTo = null;
  }

  get bytes(): number {
    return this.size * BYTES_PER_ELEMENT[this.dtype];
  }

  /** No scope owns it: the nursery (synchronous backends) or garbage collection does. */
  private release(): void {
    if (this.kept || !this.backend.synchronous) this.watch();
    else this.enterNursery();
  }

  private enterNursery(): void {
    if (this.nurseryIndex >= 0 || this.watched || this.handleOrNull === null) return;
    this.nurseryIndex = nursery.length;
    nursery.push(this);
    nurseryBytes += this.bytes;
    scheduleHandOff();
  }

  private leaveNursery(): void {
    if (this.nurseryIndex < 0) return;
    const last = nursery.pop()!;
    if (last !== this) {
      nursery[this.nurseryIndex] = last;
      last.nurseryIndex = this.nurseryIndex;
    }
    this.nurseryIndex = -1;
    nurseryBytes -= this.bytes;
  }

  /** Let garbage collection free the buffer once nothing references this storage. */
  private watch(): void {
    if (this.watched || this.handleOrNull === null) return;
    this.leaveNursery();
    this.watched = true;
    registry.register(this, { backend: this.backend, handle: this.handleOrNull }, this);
  }

  /** @internal the nursery is being handed to the registry (it clears itself). */
  watchFromNursery(): void {
    this.nurseryIndex = -1;
    if (this.handleOrNull === null) return;
    this.watched = true;
    registry.register(this, { backend: this.backend, handle: this.handleOrNull }, this);
  }

  /** @internal move the values to JS memory and free the backend block (the nursery clears itself). */
  spill(): void {
    this.nurseryIndex = -1;
    const handle = this.handleOrNull;
    if (handle === null) return;
    if (this.backend.release) this.spilled = this.backend.release(handle);
    else {
      this.spilled = this.backend.readSync!(handle);
      this.backend.free(handle);
    }
    this.handleOrNull = null;
  }

  static alloc(backend: Backend, dtype: DType, size: number, shape?: readonly number[]): TensorStorage {
    let handle: Storage;
    try {
      handle = backend.alloc(dtype, size);
    } catch (error) {
      if (!isOutOfMemory(error)) throw error;
      // Allocation happens before an op builds its kernel views, so moving the nursery out is safe.
      spillTemporaries();
      try {
        handle = backend.alloc(dtype, size);
      } catch (again) {
        if (!isOutOfMemory(again)) throw again;
        throw outOfMemoryError(backend, dtype, size, shape, again as Error);
      }
    }
    const storage = new TensorStorage(backend, handle);
    if (shape) storage.shape = shape;
    return storage;
  }

  get handle(): Storage {
    const handle = this.handleOrNull;
    if (handle !== null) return handle;
    return this.restore();
  }

  /** Bring spilled values back into backend memory (the tensor is in use again). */
  private restore(): Storage {
    const values = this.spilled;
    if (values === null) {
      if (this.freedBy !== null) {
        const freed =
          this.freedBy === "backward"
            ? "only the autograd graph held, and backward() freed it with the graph"
            : "recorded no graph (noGrad, or nothing required grad), so the forward freed it as it returned";
        throw new Error(
          `this tensor was an intermediate of an nn.Sequential forward that ${freed}; to inspect intermediates, call the layers one by one`,
        );
      }
      throw new Error(
        "this tensor's storage was freed (by the end of a tidy() scope or dispose()); return the tensor from the tidy function, call keep(t) on it, or update long-lived tensors in place with assign()",
      );
    }
    const handle = this.backend.adopt
      ? this.backend.adopt(this.dtype, values)
      : TensorStorage.fill(this.backend, this.dtype, values);
    this.spilled = null;
    this.handleOrNull = handle;
    restoredBytes += this.bytes;
    totals.restoredBytes += this.bytes;
    this.release();
    return handle;
  }

  private static fill(backend: Backend, dtype: DType, values: TypedArray): Storage {
    const handle = backend.alloc(dtype, values.length);
    backend.write(handle, values);
    return handle;
  }

  get freed(): boolean {
    return this.handleOrNull === null && this.spilled === null;
  }

  /** In backend memory now (false when spilled to JS memory or freed). */
  get resident(): boolean {
    return this.handleOrNull !== null;
  }

  /** Move to another scope (null: no scope; the nursery or garbage collection frees it). */
  moveTo(scope: Scope | null): void {
    if (this.scope === scope) return;
    this.scope?.storages.delete(this);
    this.scope = scope;
    if (scope) {
      this.publish();
      this.leaveNursery();
      scope.storages.add(this);
    } else this.release();
  }

  /** Out of every scope and never spilled: only garbage collection or dispose frees it. */
  keep(): void {
    this.publish();
    this.kept = true;
    this.moveTo(null);
    this.watch();
  }

  free(): void {
    this.publish();
    this.spilled = null;
    if (this.handleOrNull === null) return;
    if (this.watched) registry.unregister(this);
    this.leaveNursery();
    this.backend.free(this.handleOrNull);
    this.handleOrNull = null;
    this.scope?.storages.delete(this);
    this.scope = null;
  }
}

function isOutOfMemory(error: unknown): boolean {
  return error instanceof RangeError && /out of memory/i.test(error.message);
}

function formatBytes(bytes: number): string {
  if (bytes >= MIB) return `${(bytes / MIB).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

function describeStorage(s: TensorStorage): string {
  const shape = s.shape ? `[${s.shape.join(", ")}]` : `${s.size} elements`;
  const where = s.createdAt ? `\n      created ${s.createdAt.trim().replace(/\n\s*/g, "\n        ")}` : "";
  return `${s.dtype} ${shape} (${formatBytes(s.bytes)})${where}`;
}

/** The storages the front end can enumerate: the nursery and every open scope. */
function enumerableStorages(backend: Backend): TensorStorage[] {
  const all = new Set<TensorStorage>();
  for (const s of nursery) if (s.backend === backend) all.add(s);
  for (let scope = currentScope; scope; scope = scope.parent)
    for (const s of scope.storages) if (s.backend === backend && s.resident) all.add(s);
  return [...all];
}

function outOfMemoryError(
  backend: Backend,
  dtype: DType,
  size: number,
  shape: readonly number[] | undefined,
  cause: Error,
): RangeError {
  const stats = backend.memoryStats();
  const largest = enumerableStorages(backend)
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 5);
  const request = `${dtype} ${shape ? `[${shape.join(", ")}]` : `${size} elements`} (${formatBytes(size * BYTES_PER_ELEMENT[dtype])})`;
  const lines = [
    `${backend.name} backend: out of memory allocating ${request}: ${stats.buffers} live tensors hold ${formatBytes(stats.bytes)}.`,
    largest.length > 0
      ? `  largest: ${largest.map(describeStorage).join("; ")}`
      : "  (no unscoped temporaries are left: the live tensors are kept, scoped or held by the model)",
    debug ? "" : "  set HERO_DEBUG=1 to see where each was created.",
    "  The way out: a smaller batch or model; wrap the step in tidy(() => ...) to free its temporaries at once; dispose() tensors you no longer need; drop keep() on tensors created every step.",
    `  (${cause.message})`,
  ];
  const error = new RangeError(lines.filter((l) => l).join("\n"));
  return error;
}
