/** BasicTokenizer (minbpe's basic.py): byte-level BPE on the whole text, no split, no specials. */
import { Tokenizer, type TrainOptions } from "./base.js";
import { completeMerges, learnMerges, mergesFor, reporter } from "./train.js";
import { toWellFormed, utf8Encode } from "./utf8.js";

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
