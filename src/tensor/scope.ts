/**
 * Deterministic freeing. `tidy(fn)` opens a scope: every buffer allocated inside belongs to it and
 * is freed when fn returns, except what the result holds (tensors anywhere in returned arrays and
 * objects, with the graph behind them so backward() still works) and grads of tensors from
 * outside. Tensors created before the scope (parameters) are never touched.
 */
import { backendMemoryStats, getBackend, type MemoryStats } from "../backend/index.js";
import { activeScope, Scope, setActiveScope, spillStats, type TensorStorage } from "./memory.js";
import { Tensor } from "./tensor.js";

/** Every storage reachable from a value: tensors, their grads, and the tape behind them. */
function collectStorages(value: unknown, into: Set<TensorStorage>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Tensor) {
    into.add(value.storage);
    if (value.grad) collectStorages(value.grad, into, seen);
    const node = value.gradFn;
    if (node?.backwardFn) {
      for (const input of node.inputs) collectStorages(input, into, seen);
      for (const saved of node.saved) collectStorages(saved, into, seen);
    }
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collectStorages(item, into, seen);
    return;
  }
  if (value instanceof Map) {
    for (const item of value.values()) collectStorages(item, into, seen);
    return;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) collectStorages(item, into, seen);
  }
}

/** Run fn and free every buffer it allocated that its result does not hold. Synchronous fn only. */
export function tidy<T>(fn: () => T): T {
  const scope = new Scope(activeScope());
  setActiveScope(scope);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    setActiveScope(scope.parent);
    for (const storage of [...scope.storages]) storage.free();
    throw error;
  }
  setActiveScope(scope.parent);
  if (result instanceof Promise) {
    throw new Error("tidy: the function must be synchronous (it returned a Promise); await outside tidy");
  }
  const kept = new Set<TensorStorage>();
  collectStorages(result, kept);
  for (const storage of [...scope.storages]) {
    if (kept.has(storage)) storage.moveTo(scope.parent);
    else storage.free();
  }
  return result;
}

/**
 * Take t out of every scope and out of automatic spilling: only garbage collection (between
 * tasks) or dispose frees it. Returns t.
 */
export function keep<T extends Tensor>(t: T): T {
  t.storage.keep();
  return t;
}

/**
 * Per backend (those used so far): live tensor buffers (`buffers`; views share one), their `bytes`
 * (torch.cuda.memory_allocated) and `peakBytes` (max_memory_allocated). Tensors spilled to JS
 * memory (docs/MEMORY.md) are not counted: the garbage collector owns them.
 */
export function memoryStats(): Record<string, MemoryStats> {
  const stats = backendMemoryStats();
  for (const [name, s] of Object.entries(stats)) {
    const peak = getBackend(name).peakBytes?.();
    if (peak !== undefined) s.peakBytes = peak;
  }
  return stats;
}

/** Start every backend's peakBytes again from the bytes live now (reset_peak_memory_stats). */
export function resetPeakMemoryStats(): void {
  for (const name of Object.keys(backendMemoryStats())) getBackend(name).resetPeak?.();
}

/** How much automatic spilling has moved: spills, bytes out and back, and the nursery now. */
export function spillMemoryStats(): ReturnType<typeof spillStats> {
  return spillStats();
}
