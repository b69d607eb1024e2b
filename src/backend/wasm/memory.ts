/**
 * The heap inside the wasm memory: a bump pointer plus free lists by size class. Tensor sizes
 * repeat from step to step in training, so exact-class reuse keeps the heap flat without
 * coalescing. Blocks are 64-byte aligned (SIMD loads, cache lines).
 */

const PAGE = 65536;
const ALIGN = 64;

/** Round up to a size class: 64-byte steps up to 4 KiB, then quarter powers of two (≤ 25% slack). */
export function sizeClass(bytes: number): number {
  if (bytes <= 4096) return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  const p = 2 ** Math.floor(Math.log2(bytes));
  const quarter = p / 4;
  return Math.ceil(bytes / quarter) * quarter;
}

export class WasmHeap {
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  /** Bytes parked in free lists. */
  cachedBytes = 0;
  private u8: Uint8Array;
  /** Bytes of the memory; it changes only here (reading memory.buffer is slow on shared memory). */
  memoryBytes: number;
  /** Counts growths, so views over the memory know when to renew. */
  growths = 0;
  /** Counts merges of the free lists (rare: only when no free block is big enough). */
  coalesces = 0;

  constructor(
    readonly memory: WebAssembly.Memory,
    heapBase: number,
    readonly maxPages: number,
  ) {
    this.top = Math.ceil(heapBase / ALIGN) * ALIGN;
    this.u8 = new Uint8Array(memory.buffer);
    this.memoryBytes = memory.buffer.byteLength;
  }

  /** A byte view of the whole memory, fresh after growth. */
  bytes(): Uint8Array {
    if (this.u8.byteLength !== this.memoryBytes) this.u8 = new Uint8Array(this.memory.buffer);
    return this.u8;
  }

  /**
   * A block of at least `bytes` (its capacity is returned too), zero-filled when `zero`. Order:
   * a free block of the same class, the bump pointer within the current memory, a split of a
   * larger free block, the same after merging neighbours, growing the memory. Merging is the last
   * resort: it dissolves the per-class lists that make a training step's allocations cheap, so
   * merging on every miss made each allocation cost a sort of the whole free list.
   */
  alloc(bytes: number, zero: boolean, describe: () => string): { ptr: number; capacity: number } {
    const capacity = sizeClass(bytes);
    const list = this.freeLists.get(capacity);
    if (list && list.length > 0) {
      const ptr = list.pop()!;
      this.cachedBytes -= capacity;
      if (zero) this.bytes().fill(0, ptr, ptr + capacity);
      return { ptr, capacity };
    }
    const have = this.memoryBytes;
    if (this.top + capacity <= have) return this.bump(capacity);
    if (this.cachedBytes >= capacity) {
      let ptr = this.takeFit(capacity);
      if (ptr === null) {
        this.coalesce();
        ptr = this.takeFit(capacity);
      }
      if (ptr !== null) {
        if (zero) this.bytes().fill(0, ptr, ptr + capacity);
        return { ptr, capacity };
      }
      if (this.top + capacity <= have) return this.bump(capacity);
    }
    const pages = Math.ceil((this.top + capacity - have) / PAGE);
    const current = have / PAGE;
    // Grow in chunks (at least 1/8 of the memory) so growth is rare.
    const want = Math.min(this.maxPages - current, Math.max(pages, Math.ceil(current / 8)));
    if (want < pages) {
      throw new RangeError(
        `wasm backend: out of memory: requested ${bytes} bytes, but only ${this.maxPages * PAGE - this.top} of the ${this.maxPages * PAGE} bytes of wasm memory are unused (${describe()})`,
      );
    }
    this.memory.grow(want);
    this.memoryBytes = this.memory.buffer.byteLength;
    this.growths++;
    return this.bump(capacity);
  }

  private bump(capacity: number): { ptr: number; capacity: number } {
    const ptr = this.top;
    this.top += capacity;
    // Fresh memory is zero already (blocks released back to the bump pointer are zeroed then).
    return { ptr, capacity };
  }

  /** Merge adjacent free blocks; a free run at the top goes back to the bump pointer. */
  private coalesce(): void {
    this.coalesces++;
    const blocks: [number, number][] = [];
    for (const [size, ptrs] of this.freeLists) for (const p of ptrs) blocks.push([p, size]);
    blocks.sort((a, b) => a[0] - b[0]);
    this.freeLists.clear();
    this.cachedBytes = 0;
    const merged: [number, number][] = [];
    for (const b of blocks) {
      const last = merged.at(-1);
      if (last && last[0] + last[1] === b[0]) last[1] += b[1];
      else merged.push([b[0], b[1]]);
    }
    const tail = merged.at(-1);
    if (tail && tail[0] + tail[1] === this.top) {
      merged.pop();
      this.bytes().fill(0, tail[0], this.top);
      this.top = tail[0];
    }
    for (const [p, size] of merged) this.free(p, size);
  }

  /** The smallest free block of at least `capacity`, split; null when none. */
  private takeFit(capacity: number): number | null {
    let best = Number.POSITIVE_INFINITY;
    for (const [size, ptrs] of this.freeLists)
      if (size >= capacity && size < best && ptrs.length > 0) best = size;
    if (best === Number.POSITIVE_INFINITY) return null;
    const ptr = this.freeLists.get(best)!.pop()!;
    this.cachedBytes -= best;
    if (best > capacity) this.free(ptr + capacity, best - capacity);
    return ptr;
  }

  free(ptr: number, capacity: number): void {
    let list = this.freeLists.get(capacity);
    if (!list) {
      list = [];
      this.freeLists.set(capacity, list);
    }
    list.push(ptr);
    this.cachedBytes += capacity;
  }

  /** Bytes from the heap base to the bump pointer. */
  get reservedBytes(): number {
    return this.top;
  }
}
