/**
 * herograd's entry (`import { tensor, nn, optim } from "herograd"`): one namespace per layer of the
 * library. Each is also its own entry point, `herograd/tensor`, `herograd/nn`, … (the README's form;
 * src/entries/ for those that compute with tensors). Importing it registers the CPU backends and
 * picks the default one (src/backend/select.ts); the tensor package itself imports no backend.
 */
import "./backend/select.js";

export * as data from "./data/index.js";
export * as io from "./io/index.js";
export * as micrograd from "./micrograd/index.js";
export * as models from "./models/index.js";
export * as nn from "./nn/index.js";
export * as optim from "./optim/index.js";
export * as random from "./random/index.js";
export * as tensor from "./tensor/index.js";
export * as tokenizer from "./tokenizer/index.js";
