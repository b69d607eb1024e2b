/**
 * Files for Node: save/load minbpe .model/.vocab and read .tiktoken rank files. The rest of
 * src/tokenizer works on strings and bytes only, so it runs in a browser as well.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { type Tokenizer, TokenizerError } from "./base.js";
import { BasicTokenizer } from "./basic.js";
import {
  type EncodingName,
  encodingFromRanks,
  type PretrainedTokenizer,
  parseTiktokenRanks,
} from "./pretrained.js";
import { RegexTokenizer } from "./regex.js";

/** Writes PREFIX.model and PREFIX.vocab (minbpe's save); returns both paths. */
export function saveTokenizer(tokenizer: Tokenizer, prefix: string): [string, string] {
  const modelPath = `${prefix}.model`;
  const vocabPath = `${prefix}.vocab`;
  writeFileSync(modelPath, tokenizer.modelFile());
  writeFileSync(vocabPath, tokenizer.vocabFile());
  return [modelPath, vocabPath];
}

/**
 * Reads a .model file (give the path, or the prefix without ".model"). An empty pattern and no
 * special tokens make a BasicTokenizer, anything else a RegexTokenizer.
 */
export function loadTokenizer(path: string): BasicTokenizer | RegexTokenizer {
  const file = path.endsWith(".model") ? path : `${path}.model`;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new TokenizerError(`cannot read tokenizer model ${file}: ${(error as Error).message}`);
  }
  const lines = text.split("\n", 3);
  const tokenizer =
    lines[1]?.trim() === "" && lines[2]?.trim() === "0" ? new BasicTokenizer() : new RegexTokenizer("");
  tokenizer.loadModel(text, basename(file));
  return tokenizer;
}

/** An encoding from a .tiktoken rank file (e.g. OpenAI's cl100k_base.tiktoken). */
export function loadTiktokenFile(name: EncodingName, path: string): PretrainedTokenizer {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new TokenizerError(`cannot read rank file ${path}: ${(error as Error).message}`);
  }
  return encodingFromRanks(name, parseTiktokenRanks(text, basename(path)));
}
