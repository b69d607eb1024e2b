/** The character-level models of the makemore lectures, built from nn layers. */
import {
  BatchNorm1d,
  Embedding,
  Flatten,
  FlattenConsecutive,
  Linear,
  Sequential,
  Tanh,
} from "../nn/index.js";
import { globalRandom, type Random } from "../random/index.js";
import { noGrad } from "../tensor/index.js";

export interface MlpBatchNormConfig {
  vocabSize: number;
  blockSize: number;
  nEmbd: number;
  nHidden: number;
  generator?: Random;
}

/**
 * Lecture 4's model: Embedding → Flatten → Linear (no bias: BatchNorm's shift replaces it) →
 * BatchNorm1d → Tanh → Linear. With 27 tokens, context 3, 10-dim embeddings and 200 hidden units
 * it has 12,097 parameters. The output layer starts scaled by 0.1 so the first softmax is close to
 * uniform instead of "confidently wrong" (the lecture's first fix).
 */
export function mlpBatchNorm({
  vocabSize,
  blockSize,
  nEmbd,
  nHidden,
  generator = globalRandom,
}: MlpBatchNormConfig): Sequential {
  const out = new Linear(nHidden, vocabSize, { generator });
  noGrad(() => {
    out.weight.assign(out.weight.mul(0.1));
  });
  return new Sequential(
    new Embedding(vocabSize, nEmbd, { generator }),
    new Flatten(),
    new Linear(nEmbd * blockSize, nHidden, { bias: false, generator }),
    new BatchNorm1d(nHidden),
    new Tanh(),
    out,
  );
}

export interface WaveNetConfig {
  vocabSize: number;
  /** Context length: a power of two, merged pairwise by each FlattenConsecutive(2). */
  blockSize: number;
  nEmbd: number;
  nHidden: number;
  generator?: Random;
}

/**
 * Lecture 6's hierarchical model: the context is fused two at a time, level by level, like a
 * WaveNet's dilated convolutions. With context 8, n_embd 24 and n_hidden 128: 76,579 parameters.
 */
export function wavenet({
  vocabSize,
  blockSize,
  nEmbd,
  nHidden,
  generator = globalRandom,
}: WaveNetConfig): Sequential {
  const levels = Math.log2(blockSize);
  if (!Number.isInteger(levels) || levels < 1)
    throw new RangeError(`wavenet: blockSize must be a power of two >= 2, got ${blockSize}`);
  const layers = [new Embedding(vocabSize, nEmbd, { generator })] as (
    | Embedding
    | FlattenConsecutive
    | Linear
    | BatchNorm1d
    | Tanh
  )[];
  for (let level = 0; level < levels; level++) {
    const inputWidth = (level === 0 ? nEmbd : nHidden) * 2;
    layers.push(
      new FlattenConsecutive(2),
      new Linear(inputWidth, nHidden, { bias: false, generator }),
      new BatchNorm1d(nHidden),
      new Tanh(),
    );
  }
  const out = new Linear(nHidden, vocabSize, { generator });
  noGrad(() => {
    out.weight.assign(out.weight.mul(0.1));
  });
  layers.push(out);
  return new Sequential(...layers);
}
