/** --backend js|wasm on the commands that compute with tensors (default: HERO_BACKEND, else wasm where SIMD runs). */
import { backendNames, setBackend } from "../tensor/index.js";

export function useBackend(name: string | undefined): void {
  if (!name) return;
  if (!backendNames().includes(name)) {
    throw new Error(`unknown backend "${name}"; available: ${backendNames().join(", ")}`);
  }
  setBackend(name);
  // Benchmarks and child processes read the choice from the environment.
  process.env.HERO_BACKEND = name;
}
