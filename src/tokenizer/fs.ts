/**
 * Files for Node: save/load minbpe .model/.vocab and read .tiktoken rank files. The rest of
 * src/tokenizer works on strings and bytes only, so it runs in a browser as well.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { type Tokenizer, TokenizerError } from "./base.js";
import { BasicTokenizer } from "./basic.js";
import { compileSplitPattern, isKnownPattern } from "./patterns.js";
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
  writeAtomic(modelPath, tokenizer.modelFile());
  writeAtomic(vocabPath, tokenizer.vocabFile());
  return [modelPath, vocabPath];
}

/** Through a temporary file and a rename: an interrupted save never leaves half a model. */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * Reads a .model file (give the path, or the prefix without ".model"). An empty pattern and no
 * special tokens make a BasicTokenizer, anything else a RegexTokenizer. The split pattern must be
 * GPT-2's or GPT-4's unless `trustPattern`: a regular expression from a file can take exponential time.
 */
export function loadTokenizer(
  path: string,
  options: { trustPattern?: boolean } = {},
): BasicTokenizer | RegexTokenizer {
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
  namingFile(file, () => {
    tokenizer.loadModel(text, basename(file));
    // Compile the split pattern now, so a bad one is an error about this file, not about a later encode.
    if (tokenizer.pattern !== "") {
      if (!options.trustPattern && !isKnownPattern(tokenizer.pattern))
        throw new TokenizerError(
          `${basename(file)}:2: the split pattern is not one of the known ones (GPT-2, GPT-4/cl100k); ` +
            "a pattern from a file can take exponential time: pass --trust-pattern if you trust this file",
        );
      try {
        compileSplitPattern(tokenizer.pattern);
      } catch (error) {
        throw new TokenizerError(`${basename(file)}:2: ${(error as Error).message}`);
      }
    }
  });
  return tokenizer;
}

/** Run `read`; a TokenizerError that does not name the file gets its name in front. */
function namingFile<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof TokenizerError && !error.message.includes(basename(file)))
      throw new TokenizerError(`${basename(file)}: ${error.message}`);
    if (error instanceof SyntaxError) throw new TokenizerError(`${basename(file)}: ${error.message}`);
    throw error;
  }
}

/** An encoding from a .tiktoken rank file (e.g. OpenAI's cl100k_base.tiktoken). */
export function loadTiktokenFile(name: EncodingName, path: string): PretrainedTokenizer {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new TokenizerError(`cannot read rank file ${path}: ${(error as Error).message}`);
  }
  return namingFile(path, () => encodingFromRanks(name, parseTiktokenRanks(text, basename(path))));
}
