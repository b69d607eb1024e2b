/** torch.nn.functional: the stateless forms of the layers (F.crossEntropy, F.linear, …). */
export {
  batchNorm,
  causalAttention,
  causalAttentionWeights,
  crossEntropy,
  dropout,
  embedding,
  gelu,
  layerNorm,
  linear,
  linearGelu,
  logSoftmax,
  oneHot,
  relu,
  sigmoid,
  softmax,
  tanh,
} from "../tensor/index.js";
