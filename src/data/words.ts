/**
 * Word data sets for makemore: names as sequences of characters with '.' marking both the
 * start and the end, the character vocabulary, context windows and the 80/10/10 split.
 */
import type { Random } from "../random/index.js";

/** The boundary token: index 0, before 'a'. */
export const BOUNDARY = ".";

/** One word per line; blank lines and surrounding whitespace dropped. */
export function parseWords(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((w) => w.trim())
    .filter((w) => w.length > 0);
}

export class CharVocabulary {
  /** itos[0] is '.', then the sorted characters of the words. */
  readonly itos: string[];
  readonly stoi: Map<string, number>;

  constructor(chars: Iterable<string>) {
    const sorted = [...new Set(chars)].filter((c) => c !== BOUNDARY).sort();
    this.itos = [BOUNDARY, ...sorted];
    this.stoi = new Map(this.itos.map((c, i) => [c, i]));
  }

  static fromWords(words: readonly string[]): CharVocabulary {
    const chars = new Set<string>();
    for (const w of words) for (const c of w) chars.add(c);
    return new CharVocabulary(chars);
  }

  get size(): number {
    return this.itos.length;
  }

  encode(word: string): number[] {
    return [...word].map((c) => {
      const i = this.stoi.get(c);
      if (i === undefined) throw new RangeError(`character ${JSON.stringify(c)} is not in the vocabulary`);
      return i;
    });
  }

  decode(ids: Iterable<number>): string {
    let out = "";
    for (const i of ids) {
      const c = this.itos[i];
      if (c === undefined)
        throw new RangeError(`token id ${i} is out of range for a vocabulary of ${this.size}`);
      out += c;
    }
    return out;
  }
}

/** Context windows of `blockSize` previous characters and the character that follows. */
export interface ContextWindows {
  /** [count, blockSize], row-major. */
  X: Int32Array;
  /** [count]: the next character of each window. */
  Y: Int32Array;
  count: number;
  blockSize: number;
}

/**
 * The lecture's build_dataset: for each word, slide a window that starts as all '.', emit
 * (window → next char) for every char and the final '.', shifting the window each time.
 */
export function buildContextWindows(
  words: readonly string[],
  vocab: CharVocabulary,
  blockSize: number,
): ContextWindows {
  if (!Number.isInteger(blockSize) || blockSize < 1)
    throw new RangeError(`blockSize must be >= 1, got ${blockSize}`);
  let count = 0;
  for (const w of words) count += [...w].length + 1;
  const X = new Int32Array(count * blockSize);
  const Y = new Int32Array(count);
  const context = new Array<number>(blockSize).fill(0);
  let row = 0;
  for (const w of words) {
    context.fill(0);
    for (const ix of [...vocab.encode(w), 0]) {
      X.set(context, row * blockSize);
      Y[row] = ix;
      row++;
      context.shift();
      context.push(ix);
    }
  }
  return { X, Y, count, blockSize };
}

export interface WordSplit {
  train: string[];
  dev: string[];
  test: string[];
}

/** Shuffle with the seeded generator, then 80% train, 10% dev, 10% test (n1 = ⌊0.8n⌋, n2 = ⌊0.9n⌋). */
export function splitWords(
  words: readonly string[],
  rng: Random,
  fractions: [number, number] = [0.8, 0.9],
): WordSplit {
  const shuffled = rng.shuffle([...words]);
  const n1 = Math.floor(fractions[0] * shuffled.length);
  const n2 = Math.floor(fractions[1] * shuffled.length);
  return { train: shuffled.slice(0, n1), dev: shuffled.slice(n1, n2), test: shuffled.slice(n2) };
}

/** Row indices of a random minibatch (with replacement, like torch.randint in the lectures). */
export function batchIndices(count: number, batchSize: number, rng: Random): Int32Array {
  const ix = new Int32Array(batchSize);
  for (let i = 0; i < batchSize; i++) ix[i] = rng.randint(0, count);
  return ix;
}
