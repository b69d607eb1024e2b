export { type DotOptions, dotToSvg, toDot } from "./dot.js";
export { type Scalar, sum, Value } from "./engine.js";
export { README_EXAMPLE } from "./examples.js";
export { evaluate, runProgram } from "./expr.js";
export {
  decisionGrid,
  type MoonsConfig,
  type MoonsData,
  type MoonsRun,
  type MoonsStep,
  makeMoons,
  moonsDefaults,
  moonsLoss,
  setupMoons,
  trainMoons,
} from "./moons.js";
export { type Activation, Layer, MLP, type MLPOptions, Module, Neuron, type NeuronOptions } from "./nn.js";
