/**
 * Lesson 8: the GPT tokenizer (minbpe). Byte-level BPE: BasicTokenizer, RegexTokenizer (GPT-2 and
 * GPT-4 split patterns), special tokens, training, minbpe's .model/.vocab formats, and the pretrained
 * encodings gpt2 and cl100k_base, with ids identical to tiktoken's.
 *
 * Everything here works in a browser; reading and writing files is in ./fs.js (Node only).
 */
export { Tokenizer, TokenizerError, type TrainOptions } from "./base.js";
export { BasicTokenizer } from "./basic.js";
export { bytePairMerge, getStats, MinHeap, merge, pairKey, pairOf } from "./bpe.js";
export {
  compileSplitPattern,
  GPT2_SPLIT_PATTERN,
  GPT2_SPLIT_PATTERN_JS,
  GPT4_SPLIT_PATTERN,
  GPT4_SPLIT_PATTERN_JS,
  namedPatterns,
  TIKTOKEN_CL100K_PATTERN,
  TIKTOKEN_GPT2_PATTERN,
} from "./patterns.js";
export {
  type EncodingName,
  encodingFromRanks,
  encodingNames,
  encodingSpecs,
  getEncoding,
  isEncodingName,
  PretrainedTokenizer,
  parseJsTiktokenRanks,
  parseTiktokenRanks,
  type Ranks,
  recoverMerges,
} from "./pretrained.js";
export { disallowedSpecialError, type EncodeOptions, RegexTokenizer, type SpecialSet } from "./regex.js";
export { learnMerges, type MergeEvent } from "./train.js";
export { endsOnCharBoundary, renderToken, toWellFormed, utf8Decode, utf8Encode } from "./utf8.js";
