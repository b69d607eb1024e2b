/** The lectures' models: the bigram (lecture 2), makemore's MLP, BatchNorm and WaveNet (3-6), GPT (7, 9), and probes on a GPT (gpt-probes.ts). */
export * from "./bigram.js";
export * from "./gpt.js";
export * from "./gpt-probes.js";
export * from "./makemore.js";
export * from "./sequence.js";
