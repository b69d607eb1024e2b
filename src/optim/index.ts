/** Optimizers and schedules (torch.optim). */
export { AdamW, type AdamWOptions } from "./adamw.js";
export { clipGradNorm } from "./clip.js";
export { Optimizer, type ParamGroup, type ParamsInput } from "./optimizer.js";
export { RMSprop, type RMSpropOptions } from "./rmsprop.js";
export { CosineWithWarmupLR, cosineWithWarmup, LRScheduler, StepLR, stepDecay } from "./schedule.js";
export { SGD, type SGDOptions } from "./sgd.js";
