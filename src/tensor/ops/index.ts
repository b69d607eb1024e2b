/** Every op, as free functions. Tensor methods call these. */
export * from "./core.js";
export * from "./creation.js";
export * from "./elementwise.js";
export * from "./indexing.js";
export * from "./linalg.js";
export * from "./nn.js";
export * from "./optim.js";
export * from "./reduce.js";
export * from "./views.js";
