/** Data sets and their preparation (platform-free; file and network access is in ./node.js). */
export { DATASETS, type DatasetInfo, datasetInfo } from "./catalog.js";
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
