/** Reading and writing tensors (safetensors), Hugging Face GPT-2 checkpoints; platform-free. Files: ./node.js. */
export * from "./errors.js";
export * from "./gpt2.js";
export * from "./safetensors.js";
