/**
 * herograd's entry (`import { tensor, nn, optim } from "herograd"`): one namespace per layer of the
 * library. Each is also its own entry point, `herograd/tensor`, `herograd/nn`, … (the README's form).
 */
export * as data from "./data/index.js";
export * as io from "./io/index.js";
export * as micrograd from "./micrograd/index.js";
export * as models from "./models/index.js";
export * as nn from "./nn/index.js";
export * as optim from "./optim/index.js";
export * as random from "./random/index.js";
export * as tensor from "./tensor/index.js";
export * as tokenizer from "./tokenizer/index.js";
