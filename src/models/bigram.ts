/**
 * Lecture 2: bigram language models of names. The counting model: N[a, b] = how often b follows a,
 * normalised to probabilities with +k smoothing. The neural model: one linear layer W (27×27) on
 * one-hot inputs, trained by gradient descent to the same answer (logits = log-counts).
 */
import type { CharVocabulary } from "../data/index.js";
import { parameter } from "../nn/index.js";
import { globalRandom, type Random } from "../random/index.js";
import { crossEntropy, noGrad, oneHot, randn, softmax, type Tensor, tensor, tidy } from "../tensor/index.js";

/** All (previous char, next char) pairs of the words, with '.' before and after each word. */
export function bigramPairs(
  words: readonly string[],
  vocab: CharVocabulary,
): { xs: Int32Array; ys: Int32Array } {
  let n = 0;
  for (const w of words) n += [...w].length + 1;
  const xs = new Int32Array(n);
  const ys = new Int32Array(n);
  let k = 0;
  for (const w of words) {
    const ids = [0, ...vocab.encode(w), 0];
    for (let i = 0; i + 1 < ids.length; i++) {
      xs[k] = ids[i]!;
      ys[k] = ids[i + 1]!;
      k++;
    }
  }
  return { xs, ys };
}

/** Sample a word one character at a time from next-character probabilities, until '.'. */
export function sampleWord(
  nextProbs: (previous: number) => ArrayLike<number>,
  vocab: CharVocabulary,
  { generator = globalRandom, maxLength = 100 }: { generator?: Random; maxLength?: number } = {},
): string {
  let out = "";
  let ix = 0;
  for (let i = 0; i < maxLength; i++) {
    ix = generator.categorical(nextProbs(ix));
    if (ix === 0) break;
    out += vocab.itos[ix];
  }
  return out;
}

export class CountBigram {
  /** N[a, b]: how often b follows a (int32, vocab × vocab). */
  readonly counts: Tensor;
  /** P[a, b] = (N[a, b] + smoothing) / Σ_b (N[a, b] + smoothing). */
  readonly probs: Tensor;

  constructor(
    readonly vocab: CharVocabulary,
    words: readonly string[],
    readonly smoothing = 1,
  ) {
    const V = vocab.size;
    const { xs, ys } = bigramPairs(words, vocab);
    const N = new Int32Array(V * V);
    for (let i = 0; i < xs.length; i++) N[xs[i]! * V + ys[i]!]!++;
    this.counts = tensor(N, { shape: [V, V], dtype: "int32" });
    const P = this.counts.float().add(smoothing);
    this.probs = P.div(P.sum(1, true));
  }

  /** Average negative log-likelihood of the words' bigrams (2.4546 on names.txt with +1 smoothing; the lecture prints 2.4544 from a float32 sum). */
  nll(words: readonly string[]): number {
    const { xs, ys } = bigramPairs(words, this.vocab);
    const P = this.probs.dataSync();
    const V = this.vocab.size;
    let logLikelihood = 0;
    for (let i = 0; i < xs.length; i++) logLikelihood += Math.log(P[xs[i]! * V + ys[i]!]!);
    return -logLikelihood / xs.length;
  }

  sample(options: { generator?: Random; temperature?: number } = {}): string {
    const V = this.vocab.size;
    const P = this.probs.dataSync();
    const t = options.temperature ?? 1;
    return sampleWord(
      (prev) => {
        const row = P.subarray(prev * V, prev * V + V);
        return t === 1 ? row : row.map((p) => p ** (1 / t));
      },
      this.vocab,
      options,
    );
  }
}

export interface NeuralBigramOptions {
  generator?: Random;
  /** Weight of the 0.01·mean(W²) regularisation (pulls toward uniform, like count smoothing). */
  regularization?: number;
}

/** logits = one_hot(x) @ W: W's row for the previous character, trained to match the counts. */
export class NeuralBigram {
  readonly W: Tensor;
  readonly regularization: number;

  constructor(
    readonly vocab: CharVocabulary,
    { generator = globalRandom, regularization = 0.01 }: NeuralBigramOptions = {},
  ) {
    this.W = parameter(randn([vocab.size, vocab.size], { generator }));
    this.regularization = regularization;
  }

  /**
   * logits = one_hot(xs) @ W, as the lecture writes it. Multiplying by a one-hot row just picks a
   * row of W, so by default the rows are picked directly (the same numbers, 27× less work).
   */
  logits(xs: Tensor, { viaOneHot = false }: { viaOneHot?: boolean } = {}): Tensor {
    if (viaOneHot) return oneHot(xs, this.vocab.size).float().matmul(this.W);
    return this.W.indexSelect(0, xs);
  }

  /** The lecture's loss: mean NLL plus regularization·mean(W²). */
  loss(xs: Tensor, ys: Tensor): Tensor {
    return crossEntropy(this.logits(xs), ys).add(this.W.square().mean().mul(this.regularization));
  }

  /** Full-batch gradient descent on all pairs (the lecture uses lr 50); returns the loss per step. */
  train(
    words: readonly string[],
    {
      steps = 100,
      lr = 50,
      onStep,
    }: { steps?: number; lr?: number; onStep?: (step: number, loss: number) => void } = {},
  ): number[] {
    const { xs, ys } = bigramPairs(words, this.vocab);
    const x = tensor(xs, { dtype: "int32" });
    const y = tensor(ys, { dtype: "int32" });
    const losses: number[] = [];
    for (let k = 0; k < steps; k++) {
      const loss = tidy(() => {
        const l = this.loss(x, y);
        this.W.grad = null;
        l.backward();
        noGrad(() => this.W.assign(this.W.sub(this.W.grad!.mul(lr))));
        return l.item();
      });
      losses.push(loss);
      onStep?.(k, loss);
    }
    return losses;
  }

  /** Mean NLL of the words' bigrams, without the regularisation term. */
  nll(words: readonly string[]): number {
    const { xs, ys } = bigramPairs(words, this.vocab);
    return noGrad(() =>
      tidy(() => {
        const logits = oneHot(tensor(xs, { dtype: "int32" }), this.vocab.size)
          .float()
          .matmul(this.W);
        return crossEntropy(logits, tensor(ys, { dtype: "int32" })).item();
      }),
    );
  }

  sample(options: { generator?: Random; temperature?: number } = {}): string {
    const probs = noGrad(() => softmax(this.W.div(options.temperature ?? 1), 1)).dataSync();
    const V = this.vocab.size;
    return sampleWord((prev) => probs.subarray(prev * V, prev * V + V), this.vocab, options);
  }
}
