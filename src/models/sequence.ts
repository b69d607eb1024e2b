/**
 * The models of makemore.py that read a whole name at once: token 0 marks the start and the end,
 * each position predicts the next character, and positions past the end are ignored (-1).
 * Bigram (a table of logits), RNN and GRU (a cell applied along the name), BoW (a causal average
 * of the previous characters) and the Transformer (a small GPT).
 */
import type { CharVocabulary } from "../data/index.js";
import { Embedding, Layer, Linear, Module, parameter } from "../nn/index.js";
import { globalRandom, type Random } from "../random/index.js";
import {
  cat,
  causalAttentionWeights,
  crossEntropy,
  noGrad,
  softmax,
  stack,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from "../tensor/index.js";
import { GPT } from "./gpt.js";

/** Names as makemore.py encodes them: x = [0, w…, 0-padding], y = [w…, 0, -1-padding]. */
export interface SequenceData {
  X: Tensor;
  Y: Tensor;
  blockSize: number;
}

export function encodeSequences(
  words: readonly string[],
  vocab: CharVocabulary,
  blockSize: number,
): SequenceData {
  const X = new Int32Array(words.length * blockSize);
  const Y = new Int32Array(words.length * blockSize).fill(-1);
  words.forEach((w, r) => {
    const ids = vocab.encode(w);
    if (ids.length + 1 > blockSize) {
      throw new RangeError(`"${w}" has ${ids.length} characters: too long for block size ${blockSize}`);
    }
    ids.forEach((id, i) => {
      X[r * blockSize + i + 1] = id;
      Y[r * blockSize + i] = id;
    });
    Y[r * blockSize + ids.length] = 0;
  });
  return {
    X: tensor(X, { shape: [words.length, blockSize], dtype: "int32" }),
    Y: tensor(Y, { shape: [words.length, blockSize], dtype: "int32" }),
    blockSize,
  };
}

/** A model from token ids [B, T] to next-token logits [B, T, V]. */
export abstract class SequenceModel extends Layer {
  abstract readonly blockSize: number;
}

export interface SequenceConfig {
  vocabSize: number;
  blockSize: number;
  /** Embedding width (makemore.py's n_embd, default 64). */
  nEmbd: number;
  /** Hidden width (makemore.py's n_embd2, default 64). */
  nEmbd2: number;
  generator?: Random;
}

/** makemore.py's Bigram: a [V, V] table of logits indexed by the previous token. */
export class BigramTable extends SequenceModel {
  readonly logits: Tensor;
  readonly blockSize: number;

  constructor({ vocabSize, blockSize }: SequenceConfig) {
    super();
    this.blockSize = blockSize;
    this.logits = parameter(zeros([vocabSize, vocabSize]));
  }

  forward(idx: Tensor): Tensor {
    return this.logits.index(idx);
  }
}

/** h_t = tanh(W [x_t, h_{t-1}] + b). */
export class RNNCell extends Module {
  readonly xhToH: Linear;

  constructor(nEmbd: number, nEmbd2: number, generator: Random) {
    super();
    this.xhToH = new Linear(nEmbd + nEmbd2, nEmbd2, { generator });
  }

  step(xt: Tensor, hprev: Tensor): Tensor {
    return this.xhToH.forward(cat([xt, hprev], 1)).tanh();
  }
}

/** The GRU: a reset gate r picks what of h to read, an update gate z how much of h to replace. */
export class GRUCell extends Module {
  readonly xhToZ: Linear;
  readonly xhToR: Linear;
  readonly xhToHbar: Linear;

  constructor(nEmbd: number, nEmbd2: number, generator: Random) {
    super();
    this.xhToZ = new Linear(nEmbd + nEmbd2, nEmbd2, { generator });
    this.xhToR = new Linear(nEmbd + nEmbd2, nEmbd2, { generator });
    this.xhToHbar = new Linear(nEmbd + nEmbd2, nEmbd2, { generator });
  }

  step(xt: Tensor, hprev: Tensor): Tensor {
    const xh = cat([xt, hprev], 1);
    const r = this.xhToR.forward(xh).sigmoid();
    const hbar = this.xhToHbar.forward(cat([xt, r.mul(hprev)], 1)).tanh();
    const z = this.xhToZ.forward(xh).sigmoid();
    return z.rsub(1).mul(hprev).add(z.mul(hbar));
  }
}

/** An RNN or GRU over the sequence, from a learned start state, then a linear read-out per step. */
export class RecurrentModel extends SequenceModel {
  readonly start: Tensor;
  readonly wte: Embedding;
  readonly cell: RNNCell | GRUCell;
  readonly lmHead: Linear;
  readonly blockSize: number;

  constructor(
    kind: "rnn" | "gru",
    { vocabSize, blockSize, nEmbd, nEmbd2, generator = globalRandom }: SequenceConfig,
  ) {
    super();
    this.blockSize = blockSize;
    this.start = parameter(zeros([1, nEmbd2]));
    this.wte = new Embedding(vocabSize, nEmbd, { generator });
    this.cell =
      kind === "rnn" ? new RNNCell(nEmbd, nEmbd2, generator) : new GRUCell(nEmbd, nEmbd2, generator);
    this.lmHead = new Linear(nEmbd2, vocabSize, { generator });
  }

  forward(idx: Tensor): Tensor {
    const [B, T] = idx.shape as [number, number];
    const emb = this.wte.forward(idx);
    let h = this.start.expand([B, this.start.shape[1]!]);
    const hiddens: Tensor[] = [];
    for (let t = 0; t < T; t++) {
      h = this.cell.step(emb.select(1, t), h);
      hiddens.push(h);
    }
    return this.lmHead.forward(stack(hiddens, 1));
  }
}

/** Each position gets the plain average of itself and the positions before it (a causal "bag of words"). */
export class BoW extends SequenceModel {
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly cFc: Linear;
  readonly cProj: Linear;
  readonly lmHead: Linear;
  readonly blockSize: number;

  constructor({ vocabSize, blockSize, nEmbd, nEmbd2, generator = globalRandom }: SequenceConfig) {
    super();
    this.blockSize = blockSize;
    this.wte = new Embedding(vocabSize, nEmbd, { generator });
    this.wpe = new Embedding(blockSize, nEmbd, { generator });
    this.cFc = new Linear(nEmbd, nEmbd2, { generator });
    this.cProj = new Linear(nEmbd2, nEmbd, { generator });
    this.lmHead = new Linear(nEmbd, vocabSize, { generator });
  }

  forward(idx: Tensor): Tensor {
    const [B, T] = idx.shape as [number, number];
    const pos = tensor(
      Array.from({ length: T }, (_, i) => i),
      { dtype: "int32" },
    );
    let x = this.wte.forward(idx).add(this.wpe.forward(pos));
    // Uniform causal attention: all-zero scores, masked and softmaxed, average the past.
    const att = noGrad(() => causalAttentionWeights(zeros([B, T, 1]), zeros([B, T, 1]), 1));
    x = x.add(att.matmul(x));
    x = x.add(this.cProj.forward(this.cFc.forward(x).tanh()));
    return this.lmHead.forward(x);
  }
}

/** makemore.py's Transformer: a GPT (4 layers, 4 heads, n_embd 64 by default), no dropout. */
export class TransformerModel extends SequenceModel {
  readonly gpt: GPT;
  readonly blockSize: number;

  constructor(
    { vocabSize, blockSize, nEmbd, generator = globalRandom }: SequenceConfig,
    { nLayer = 4, nHead = 4 } = {},
  ) {
    super();
    this.blockSize = blockSize;
    this.gpt = new GPT(
      { vocabSize, blockSize, nLayer, nHead, nEmbd, dropout: 0, bias: true, gelu: "tanh" },
      { generator },
    );
  }

  forward(idx: Tensor): Tensor {
    return this.gpt.forward(idx).logits;
  }
}

/** Mean cross-entropy of next-token logits, ignoring the -1 padding. */
export function sequenceLoss(model: SequenceModel, X: Tensor, Y: Tensor): Tensor {
  const logits = model.forward(X);
  const V = logits.shape.at(-1)!;
  return crossEntropy(logits.reshape([-1, V]), Y.reshape([-1]), { ignoreIndex: -1 });
}

/** Sample names: start from token 0, feed the sequence so far, draw from the last position, stop at 0. */
export function sampleSequences(
  model: SequenceModel,
  vocab: CharVocabulary,
  count: number,
  {
    generator = globalRandom,
    temperature = 1,
    topK = null,
  }: { generator?: Random; temperature?: number; topK?: number | null } = {},
): string[] {
  return model.inEvalMode(() =>
    Array.from({ length: count }, () => {
      const ids = [0];
      while (ids.length < model.blockSize) {
        const probs = noGrad(() =>
          tidy(() => {
            const logits = model
              .forward(tensor([ids], { dtype: "int32" }))
              .select(1, ids.length - 1)
              .div(temperature);
            return softmax(logits, -1).dataSync();
          }),
        );
        if (topK !== null && topK < probs.length) {
          const cutoff = [...probs].sort((a, b) => b - a)[topK - 1]!;
          for (let i = 0; i < probs.length; i++) if (probs[i]! < cutoff) probs[i] = 0;
        }
        const next = generator.categorical(probs);
        if (next === 0) break;
        ids.push(next);
      }
      return vocab.decode(ids.slice(1));
    }),
  );
}
