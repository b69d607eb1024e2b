/** BasicTokenizer (minbpe's basic.py): byte-level BPE on the whole text, no split, no specials. */
import { Tokenizer, TokenizerError, type TrainOptions } from "./base.js";
import { learnMerges, type MergeEvent } from "./train.js";
import { renderToken, toWellFormed, utf8Encode } from "./utf8.js";

export class BasicTokenizer extends Tokenizer {
  train(text: string, vocabSize: number, options: TrainOptions = {}): void {
    const numMerges = mergesFor(vocabSize);
    const merges = learnMerges([utf8Encode(toWellFormed(text))], [1], numMerges, reporter(options));
    this.setMerges(completeMerges(merges, numMerges));
  }

  encode(text: string): number[] {
    return this.encodeBytes(utf8Encode(toWellFormed(text)));
  }
}

export function mergesFor(vocabSize: number): number {
  if (!Number.isInteger(vocabSize) || vocabSize < 256)
    throw new TokenizerError(`vocab size must be an integer of at least 256 (the bytes), got ${vocabSize}`);
  return vocabSize - 256;
}

/** Numbers the merges and says so when the text ran out of pairs first. */
export function completeMerges(merges: [number, number][], wanted: number): [number, number, number][] {
  if (merges.length < wanted)
    throw new TokenizerError(
      `the text has no pairs left to merge after ${merges.length} merges (asked for ${wanted}); use a smaller vocab or more text`,
    );
  return merges.map(([a, b], i) => [a, b, 256 + i]);
}

/** minbpe's verbose line, "merge i/n: (a, b) -> id (token) had count occurrences", and the callback. */
export function reporter(options: TrainOptions): ((e: MergeEvent) => void) | undefined {
  if (!options.verbose && !options.onMerge) return undefined;
  // Token bytes during training, to print them; the tokenizer's vocab is rebuilt at the end.
  const bytes: Uint8Array[] = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
  return (e) => {
    const [a, b] = e.pair;
    const made = new Uint8Array(bytes[a]!.length + bytes[b]!.length);
    made.set(bytes[a]!);
    made.set(bytes[b]!, bytes[a]!.length);
    bytes[e.id] = made;
    if (options.verbose)
      console.log(
        `merge ${e.index + 1}/${e.total}: (${a}, ${b}) -> ${e.id} (${renderToken(made)}) had ${e.count} occurrences`,
      );
    options.onMerge?.(e);
  };
}
