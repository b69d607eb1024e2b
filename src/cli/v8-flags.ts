/**
 * The V8 flags `hero` runs a command with (main.ts re-executes itself with them).
 * - Relaxed SIMD (fused multiply-add in the wasm matmul) is behind a flag in Node 20.
 * - A larger young generation for commands that train: autograd graphs are many short-lived
 *   objects, and the default size makes the garbage collector copy each graph several times.
 * - Generation builds no graph (it decodes under noGrad) and frees every tensor a token makes, so
 *   its live JS heap is flat (7.7 MB after a full collection at every 2,000 tokens to 12,000 on the
 *   shakespeare-char model). But each token leaves ~200 KB of short-lived JS objects, and at that
 *   rate V8 keeps doubling the young generation (semi-spaces of 4, 8, then 16 MB by 50,000 tokens)
 *   and lets promoted garbage pile up in the old one: resident memory rose from 111 MB at 5,000
 *   tokens to 148 MB at 90,000 with no object leaked. The young generation is held at 4 MB, the
 *   size it reaches in the first thousand tokens: 102 MB at 5,000 and 101 MB at 10,000.
 */
const GENERATING = [
  ["gpt", "sample"],
  ["gpt2", "generate"],
];

export function v8Flags(args: readonly string[]): string[] {
  const generating = GENERATING.some(([command, sub]) => args[0] === command && args[1] === sub);
  return generating
    ? ["--max-semi-space-size=4", "--experimental-wasm-relaxed-simd"]
    : ["--max-semi-space-size=64", "--experimental-wasm-relaxed-simd"];
}
