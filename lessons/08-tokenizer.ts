/**
 * Lesson 8: the GPT tokenizer. Byte-pair encoding learned on a text and watched merge by merge on
 * another, then the tokenizers of GPT-2 and GPT-4 side by side on the same text.
 * Follows "Let's build the GPT Tokenizer".
 */
import {
  BasicTokenizer,
  GPT2_SPLIT_PATTERN,
  GPT4_SPLIT_PATTERN,
  getEncoding,
  merge,
  RegexTokenizer,
  type Tokenizer,
  utf8Decode,
  utf8Encode,
} from "../src/tokenizer/index.js";
import { loadDatasetText } from "./data.js";
import type { DetailFigure, LabContext, Lesson, Params, Target, TokenSpan, TokensFrame } from "./lesson.js";
import { param } from "./lesson.js";

const THIS = "lessons/08-tokenizer.ts";

const SAMPLE = "Taylor Swift's songs: the tokenizer merges what it has seen most often.";

const COMPARE_TEXT = [
  "Tokenization is at the heart of much weirdness of LLMs.",
  "127 + 677 = 804; 1275 + 6773 = 8041",
  "Egg. I have an Egg. EGG! egg",
  "만나서 반가워요. 저는 OpenAI에서 개발한 대규모 언어 모델인 ChatGPT입니다.",
  "for i in range(1, 101):",
  "    if i % 15 == 0:",
  '        print("FizzBuzz")',
].join("\n");

/** Tokens as the lab shows them: each id with its bytes decoded (a split character shows as �). */
function spans(tokenizer: Tokenizer, ids: readonly number[]): TokenSpan[] {
  return ids.map((id) => ({ id, text: utf8Decode(tokenizer.tokenBytes(id)) }));
}

// #region merges
/**
 * Learn merges on a corpus, then replay them one by one on a sample: start from its UTF-8 bytes
 * and replace each occurrence of the next merged pair by its new token, as encode() does.
 */
function replayMerges(tokenizer: Tokenizer, sample: string): TokensFrame[] {
  // The regex tokenizer merges inside each piece of the split; the basic one across the whole text.
  const pieces = tokenizer instanceof RegexTokenizer ? tokenizer.split(sample) : [sample];
  let chunks = pieces.map((piece) => [...utf8Encode(piece)]);
  const frame = (caption: string): TokensFrame => ({
    caption,
    sequences: [{ name: "", tokens: spans(tokenizer, chunks.flat()) }],
  });
  const frames = [frame(`${chunks.flat().length} bytes: every token is one byte (ids 0–255)`)];
  for (const [a, b, id] of tokenizer.merges) {
    const merged = chunks.map((ids) => merge(ids, [a, b], id));
    const before = chunks.flat().length;
    chunks = merged;
    const after = chunks.flat().length;
    if (after === before) continue; // a merge this sample never meets
    const show = (t: number) => JSON.stringify(utf8Decode(tokenizer.tokenBytes(t)));
    frames.push(
      frame(`merge ${id - 255}: ${show(a)} + ${show(b)} → ${show(id)} (id ${id}); ${after} tokens`),
    );
  }
  return frames;
}
// #endregion

async function mergesExperiment(params: Params, lab: LabContext): Promise<void> {
  const corpus = (await loadDatasetText("taylorswift")).slice(0, param.number(params, "corpusChars"));
  const kind = param.string(params, "tokenizer");
  const tokenizer: Tokenizer =
    kind === "basic"
      ? new BasicTokenizer()
      : new RegexTokenizer(kind === "gpt2" ? GPT2_SPLIT_PATTERN : GPT4_SPLIT_PATTERN);
  const vocabSize = param.number(params, "vocabSize");
  tokenizer.train(corpus, vocabSize);
  await lab.tick();
  const sample = param.string(params, "sample");
  if (sample.length === 0) throw new RangeError("sample: type a text to tokenize");
  const frames = replayMerges(tokenizer, sample);
  lab.emit({
    type: "figure",
    figure: { kind: "tokens", id: "merges", title: "The sample, merge after merge", frames, start: 0 },
  });
  lab.onSelect(
    "merges",
    (target) => lab.emit({ type: "figure", figure: tokenDetail(tokenizer, frames, target) }),
    "Click a token to see its bytes and the merges that built it.",
  );
  const corpusBytes = utf8Encode(corpus).length;
  const corpusTokens = tokenizer.encode(corpus).length;
  const sampleTokens = frames.at(-1)!.sequences[0]!.tokens.length;
  lab.emit({
    type: "figure",
    figure: {
      kind: "stats",
      id: "stats",
      title: `${vocabSize - 256} merges learned on ${corpus.length.toLocaleString("en")} characters`,
      items: [
        { label: "corpus bytes → tokens", value: `${corpusBytes} → ${corpusTokens}` },
        { label: "compression", value: `${(corpusBytes / corpusTokens).toFixed(2)}×` },
        { label: "sample bytes → tokens", value: `${utf8Encode(sample).length} → ${sampleTokens}` },
        { label: "merges the sample used", value: String(frames.length - 1) },
      ],
    },
  });
  const first = tokenizer.merges
    .slice(0, 10)
    .map(([, , id]) => JSON.stringify(utf8Decode(tokenizer.tokenBytes(id))))
    .join(" ");
  lab.emit({ type: "log", text: `the first merges: ${first}` });
}

// #region token
/** A token of the replay: its id, its bytes, and the tree of merges that built it from bytes. */
function tokenDetail(tokenizer: Tokenizer, frames: TokensFrame[], [f, seq, k]: Target): DetailFigure {
  const token = frames[f ?? -1]?.sequences[seq ?? -1]?.tokens[k ?? -1];
  if (!token) throw new RangeError(`no token ${k} in frame ${f}`);
  const parts = new Map(tokenizer.merges.map(([a, b, id]) => [id, [a, b] as const]));
  const text = (id: number) => JSON.stringify(utf8Decode(tokenizer.tokenBytes(id)));
  // "Swift" = ("Sw" = "S" + "w") + ("ift" = …): the merges down to the bytes.
  const tree = (id: number): string => {
    const pair = parts.get(id);
    return pair ? `(${tree(pair[0])} + ${tree(pair[1])})` : text(id);
  };
  const pair = parts.get(token.id);
  const bytes = [...tokenizer.tokenBytes(token.id)];
  return {
    kind: "detail",
    id: "detail",
    title: `Token ${text(token.id)}, id ${token.id}`,
    wide: true,
    of: { figure: "merges", target: [f!, seq!, k!] },
    values: [
      { label: "id", value: token.id },
      { label: "bytes", value: bytes.map((b) => b.toString(16).padStart(2, "0")).join(" ") },
      {
        label: "made by",
        value: pair ? `merge ${token.id - 255}: ${text(pair[0])} + ${text(pair[1])}` : "a byte (no merge)",
      },
      { label: "built from the bytes", value: tree(token.id) },
      {
        label: "in this frame",
        value: `${frames[f!]!.sequences[seq!]!.tokens.filter((t) => t.id === token.id).length} times`,
      },
    ],
    tex: pair
      ? `(${pair[0]}, ${pair[1]}) \\to 256 + ${token.id - 256} = ${token.id}`
      : `\\text{byte } ${token.id}`,
    code: {
      file: "src/tokenizer/bpe.ts",
      symbol: "export function merge(",
      line: "ids[i] === pair[0] && ids[i + 1] === pair[1]",
    },
  };
}
// #endregion

// #region compare
/** The same text through GPT-2's and GPT-4's tokenizers (tiktoken's gpt2 and cl100k_base ranks). */
async function compareEncodings(text: string) {
  const encodings = await Promise.all([getEncoding("gpt2"), getEncoding("cl100k_base")]);
  return encodings.map((encoding) => {
    const ids = encoding.encode(text, { allowedSpecial: "none", disallowedSpecial: "none" });
    return { name: encoding.name === "gpt2" ? "GPT-2 (gpt2)" : "GPT-4 (cl100k_base)", encoding, ids };
  });
}
// #endregion

async function compareExperiment(params: Params, lab: LabContext): Promise<void> {
  const text = param.string(params, "text");
  const results = await compareEncodings(text);
  lab.emit({
    type: "figure",
    figure: {
      kind: "tokens",
      id: "compare",
      title: "GPT-2 and GPT-4 on the same text",
      frames: [
        {
          caption:
            "GPT-4's tokenizer has twice the vocabulary (100,277 against 50,257), groups the spaces of indented code, and cuts numbers into at most three digits.",
          sequences: results.map((r) => ({ name: r.name, tokens: spans(r.encoding, r.ids) })),
        },
      ],
      ids: true,
    },
  });
  lab.onSelect(
    "compare",
    ([, seq, k]) => {
      const r = results[seq ?? -1];
      const id = r?.ids[k ?? -1];
      if (!r || id === undefined) throw new RangeError(`no token ${k} in tokenization ${seq}`);
      const bytes = [...r.encoding.tokenBytes(id)];
      const text = JSON.stringify(utf8Decode(r.encoding.tokenBytes(id)));
      return lab.emit({
        type: "figure",
        figure: {
          kind: "detail",
          id: "detail",
          title: `${r.name}: token ${text}, id ${id}`,
          wide: true,
          of: { figure: "compare", target: [0, seq!, k!] },
          values: [
            { label: "id", value: id },
            { label: "bytes", value: bytes.map((b) => b.toString(16).padStart(2, "0")).join(" ") },
            { label: "token of the text", value: `${k! + 1} of ${r.ids.length}` },
            { label: "in this text", value: `${r.ids.filter((t) => t === id).length} times` },
          ],
          code: { file: THIS, region: "compare", line: "const ids = encoding.encode(text" },
        },
      });
    },
    "Click a token to see its id and bytes.",
  );
  for (const r of results) lab.emit({ type: "log", text: `${r.name}: ${r.ids.length} tokens` });
}

export const lesson: Lesson = {
  id: "08-tokenizer",
  number: 8,
  title: "tokenizer",
  summary:
    "Byte-pair encoding: merges learned from text, watched one by one, and GPT-2's and GPT-4's tokenizers side by side.",
  lecture: { title: "Let's build the GPT Tokenizer", url: "https://www.youtube.com/watch?v=zduSFxRajkE" },
  sections: [
    {
      id: "bpe",
      title: "Byte-pair encoding, merge by merge",
      cells: [
        {
          kind: "text",
          text: "A language model reads integers. Text becomes UTF-8 bytes (256 possible tokens), and byte-pair encoding shortens the sequence: find the most frequent pair of adjacent tokens in the training text, mint a new token for it, replace every occurrence, repeat. Each merge adds one token to the vocabulary; encoding new text replays the merges in the order they were learned. GPT-2's and GPT-4's tokenizers first split the text with a regex (words, numbers, punctuation, spaces) so merges never cross those pieces.",
        },
        {
          kind: "math",
          tex: "(a, b) = \\arg\\max_{(a,b)} \\operatorname{count}(a\\,b), \\qquad a\\,b \\;\\to\\; 256 + k \\quad (k\\text{-th merge})",
        },
        { kind: "code", file: "src/tokenizer/basic.ts", symbol: "export class BasicTokenizer" },
        { kind: "code", file: "src/tokenizer/bpe.ts", symbol: "export function merge(", collapsed: true },
        { kind: "code", file: THIS, region: "merges", caption: "The replay", collapsed: true },
        {
          kind: "text",
          text: "A tokenizer has no neurons, but its tokens are what a model's first layer sees: each id picks one row of the embedding table. Click a token to see its bytes and the merges that built it, down to the bytes.",
        },
        { kind: "code", file: THIS, region: "token", caption: "what a click shows", collapsed: true },
      ],
      experiment: {
        id: "merges",
        title: "Train on Taylor Swift's Wikipedia article, watch the merges on a text",
        params: {
          vocabSize: { kind: "int", label: "vocabulary size", default: 356, min: 257, max: 2000 },
          corpusChars: {
            kind: "int",
            label: "training characters",
            default: 40_000,
            min: 100,
            max: 200_000,
          },
          tokenizer: {
            kind: "select",
            label: "tokenizer",
            default: "gpt4",
            options: [
              { value: "basic", label: "basic (no split)" },
              { value: "gpt2", label: "regex, GPT-2 split" },
              { value: "gpt4", label: "regex, GPT-4 split" },
            ],
          },
          sample: { kind: "text", label: "sample text", default: SAMPLE, rows: 2 },
        },
        run: mergesExperiment,
      },
    },
    {
      id: "gpt2-gpt4",
      title: "GPT-2 and GPT-4 side by side",
      cells: [
        {
          kind: "text",
          text: "The pretrained tokenizers are the same algorithm with merges learned on far more text. Their ranks ship with tiktoken; herograd reads them and encodes byte for byte as tiktoken does. Type anything: code, arithmetic, another language, and compare how many tokens each needs — the context window is counted in them.",
        },
        { kind: "code", file: THIS, region: "compare" },
        {
          kind: "code",
          file: "src/tokenizer/patterns.ts",
          symbol: "export const GPT4_SPLIT_PATTERN_JS",
          collapsed: true,
        },
      ],
      experiment: {
        id: "compare",
        title: "Tokenize a text with GPT-2 and GPT-4",
        params: { text: { kind: "text", label: "text", default: COMPARE_TEXT, rows: 7 } },
        run: compareExperiment,
      },
    },
  ],
};
