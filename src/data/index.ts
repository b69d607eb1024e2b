/** Data sets and their preparation, token shards and their loader (platform-free; file and network access is in ./node.js and ./shards-node.js). */
export { DATASETS, type DatasetInfo, datasetInfo } from "./catalog.js";
export {
  choicesFromText,
  HELLASWAG_SPLITS,
  HellaSwagError,
  type HellaSwagExample,
  type HellaSwagSplit,
  hellaswagUrl,
  parseHellaSwag,
  type RenderedExample,
  renderExample,
} from "./hellaswag.js";
export { NpyError, npyHeader, parseNpy, parseNpyHeader, serializeNpy } from "./npy.js";
export { type LoaderState, ShardError, type ShardSet, TokenLoader } from "./shards.js";
export {
  BOUNDARY,
  batchIndices,
  buildContextWindows,
  CharVocabulary,
  type ContextWindows,
  parseWords,
  splitWords,
  type WordSplit,
} from "./words.js";
