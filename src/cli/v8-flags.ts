/**
 * The V8 flags `hero` runs a command with (main.ts re-executes itself with them).
 * - Relaxed SIMD (fused multiply-add in the wasm matmul) is behind a flag in Node 20.
 * - A larger young generation for commands that train: autograd graphs are many short-lived
 *   objects, and the default size makes the garbage collector copy each graph several times.
 * - Generation builds no graph (it decodes under noGrad) and frees every tensor a token makes, so
 *   its live JS heap is flat (13.2 MB after a full collection at 1,000 tokens, 13.3 MB at 100,000
 *   on the shakespeare-char model). What grew was V8's heap around it. Past the block size each
 *   token is a forward over the whole window: several MB of short-lived JS objects. A young
 *   generation left to grow doubles with the run (resident 109 MB at 1,000 tokens, 131 MB at
 *   30,000); one smaller than a step's objects promotes them to the old generation as garbage (4 MB:
 *   146 MB at 100,000 tokens, the peak before the first full collection). A fixed 16 MB young
 *   generation holds a step's objects until they die, and the heap keeps one size from the first
 *   token (`hero bench gpt-sample-memory`: 145 MB at 1,000 tokens, 140 MB at 100,000).
 */
const GENERATING = [
  ["gpt", "sample"],
  ["gpt2", "generate"],
];

export function v8Flags(args: readonly string[]): string[] {
  const generating = GENERATING.some(([command, sub]) => args[0] === command && args[1] === sub);
  return generating
    ? ["--min-semi-space-size=16", "--max-semi-space-size=16", "--experimental-wasm-relaxed-simd"]
    : ["--max-semi-space-size=64", "--experimental-wasm-relaxed-simd"];
}
