/**
 * Backend registry: backends register a factory under a name; the first use instantiates it.
 * `setBackend(name)` picks the default for new tensors. It knows no backend itself: the package's
 * entries register them (src/backend/select.ts: js, and wasm where it runs; webgpu from its own
 * module). The factory is synchronous: asynchronous setup (compiling wasm, requesting a GPU
 * adapter) happens before registering.
 */
import type { Backend, MemoryStats } from "./types.js";

export * from "./types.js";

const factories = new Map<string, () => Backend>();
const instances = new Map<string, Backend>();
let currentName = "js";

export function registerBackend(name: string, factory: () => Backend): void {
  factories.set(name, factory);
  instances.delete(name);
}

export function hasBackend(name: string): boolean {
  return factories.has(name);
}

/** Names of all registered backends, in registration order. */
export function backendNames(): string[] {
  return [...factories.keys()];
}

/** The named backend (default: the current one), instantiated on first use. */
export function getBackend(name: string = currentName): Backend {
  let backend = instances.get(name);
  if (backend) return backend;
  const factory = factories.get(name);
  if (!factory) {
    if (factories.size === 0)
      throw new Error(
        `no tensor backend is registered: import herograd's entry ("herograd", "herograd/tensor"; in this repository src/backend/select.ts), or registerBackend("${name}", factory) first`,
      );
    throw new Error(`unknown backend "${name}"; registered: ${backendNames().join(", ") || "none"}`);
  }
  backend = factory();
  instances.set(name, backend);
  return backend;
}

/** Make `name` the backend of newly created tensors. */
export function setBackend(name: string): Backend {
  const backend = getBackend(name);
  currentName = name;
  return backend;
}

export function currentBackendName(): string {
  return currentName;
}

/** Live buffers and bytes per instantiated backend. */
export function backendMemoryStats(): Record<string, MemoryStats> {
  const stats: Record<string, MemoryStats> = {};
  for (const [name, backend] of instances) stats[name] = backend.memoryStats();
  return stats;
}
