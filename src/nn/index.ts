/** Neural-network layers (torch.nn): `import * as nn from "herograd/nn"`, then `nn.Linear`, `nn.functional`. */
export * as functional from "./functional.js";
export {
  type BackwardHook,
  type ForwardHook,
  type ForwardPreHook,
  hasHooks,
  type RemovableHandle,
} from "./hooks.js";
export {
  BatchNorm1d,
  type BatchNormOptions,
  Dropout,
  Embedding,
  Flatten,
  FlattenConsecutive,
  GELU,
  type InitOptions,
  LayerNorm,
  type LayerNormOptions,
  Linear,
  type LinearOptions,
  ModuleList,
  ReLU,
  Sequential,
  Tanh,
} from "./layers.js";
export {
  buffer,
  isBuffer,
  isParameter,
  Layer,
  type LoadStateDictOptions,
  Module,
  parameter,
} from "./module.js";
export {
  type AblationMode,
  ablate,
  type Capture,
  type CaptureOptions,
  capture,
  type ProbeOptions,
} from "./probes.js";
