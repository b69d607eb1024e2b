/** The character-level models of the makemore lectures, built from nn layers. */
import type { CharVocabulary } from "../data/index.js";
import {
  BatchNorm1d,
  Embedding,
  Flatten,
  FlattenConsecutive,
  Layer,
  Linear,
  parameter,
  Sequential,
  Tanh,
} from "../nn/index.js";
import { globalRandom, type Random } from "../random/index.js";
import { noGrad, randn, softmax, type Tensor, tensor, tidy } from "../tensor/index.js";

export interface MlpBatchNormConfig {
  vocabSize: number;
  blockSize: number;
  nEmbd: number;
  nHidden: number;
  /** Running-statistics momentum; the lecture's own BatchNorm uses 0.001 (PyTorch's default is 0.1). */
  momentum?: number;
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
  momentum = 0.001,
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
    new BatchNorm1d(nHidden, { momentum }),
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

export interface MlpConfig {
  vocabSize: number;
  blockSize: number;
  nEmbd: number;
  nHidden: number;
  generator?: Random;
}

/**
 * Lecture 3 (Bengio et al. 2003), written with raw tensors as in the lecture: an embedding table C,
 * a tanh hidden layer (W1, b1) over the concatenated context, and an output layer (W2, b2).
 * 27 tokens, context 3, 10-dim embeddings, 200 hidden: 11,897 parameters.
 */
export class Mlp extends Layer {
  readonly C: Tensor;
  readonly W1: Tensor;
  readonly b1: Tensor;
  readonly W2: Tensor;
  readonly b2: Tensor;

  constructor(readonly config: MlpConfig) {
    super();
    const { vocabSize, blockSize, nEmbd, nHidden, generator = globalRandom } = config;
    this.C = parameter(randn([vocabSize, nEmbd], { generator }));
    this.W1 = parameter(randn([blockSize * nEmbd, nHidden], { generator }));
    this.b1 = parameter(randn([nHidden], { generator }));
    this.W2 = parameter(randn([nHidden, vocabSize], { generator }));
    this.b2 = parameter(randn([vocabSize], { generator }));
  }

  /** The hidden activations h for a batch of contexts [B, blockSize]. */
  hidden(X: Tensor): Tensor {
    const emb = this.C.indexSelect(0, X.reshape([-1])).reshape([X.shape[0]!, -1]); // C[X] flattened
    return emb.matmul(this.W1).add(this.b1).tanh();
  }

  forward(X: Tensor): Tensor {
    return this.hidden(X).matmul(this.W2).add(this.b2);
  }
}

/**
 * Sample words from a model of context windows: start from '.'·blockSize, draw the next character
 * from softmax(logits / temperature), shift it into the context, stop at '.'.
 */
export function sampleWords(
  model: Layer,
  vocab: CharVocabulary,
  blockSize: number,
  count: number,
  {
    generator = globalRandom,
    temperature = 1,
    maxLength = 50,
  }: { generator?: Random; temperature?: number; maxLength?: number } = {},
): string[] {
  return model.inEvalMode(() =>
    Array.from({ length: count }, () => {
      const context = new Array<number>(blockSize).fill(0);
      let out = "";
      for (let i = 0; i < maxLength; i++) {
        const probs = noGrad(() =>
          tidy(() =>
            softmax(model.forward(tensor([context], { dtype: "int32" })).div(temperature), -1).dataSync(),
          ),
        );
        const ix = generator.categorical(probs);
        if (ix === 0) break;
        out += vocab.itos[ix];
        context.shift();
        context.push(ix);
      }
      return out;
    }),
  );
}
