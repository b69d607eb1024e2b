/**
 * The V8 flags `hero` runs a command with (main.ts re-executes itself with them).
 * - Relaxed SIMD (fused multiply-add in the wasm matmul) is behind a flag in Node 20.
 * - A larger young generation for commands that train: autograd graphs are many short-lived
 *   objects, and the default size makes the garbage collector copy each graph several times.
 *   Generation builds no graph (it decodes under noGrad), and there the larger young generation
 *   would only grow resident memory as a long decode goes on (151 MB at 20k tokens against 134 MB
 *   at 1k; 124 MB at 20k without it, at the same speed).
 */
const GENERATING = [
  ["gpt", "sample"],
  ["gpt2", "generate"],
];

export function v8Flags(args: readonly string[]): string[] {
  const generating = GENERATING.some(([command, sub]) => args[0] === command && args[1] === sub);
  return generating
    ? ["--experimental-wasm-relaxed-simd"]
    : ["--max-semi-space-size=64", "--experimental-wasm-relaxed-simd"];
}
