/**
 * Lesson 9: GPT-2 (124M). Load OpenAI's weights from a Hugging Face safetensors file the learner
 * chooses, generate text from a prompt, and look at what the position embeddings learned.
 * Follows "Let's reproduce GPT-2 (124M)".
 */
import { gptFromHF, type HFGPT2Config } from "../src/io/gpt2.js";
import { loadSafetensorsBytes } from "../src/io/safetensors.js";
import type { GPT } from "../src/models/gpt.js";
import { Random } from "../src/random/index.js";
import type { Tensor } from "../src/tensor/index.js";
import { getEncoding } from "../src/tokenizer/index.js";
import { lookInside } from "./gpt-inside.js";
import type { LabContext, Lesson, LessonFile, Params } from "./lesson.js";
import { param } from "./lesson.js";

const THIS = "lessons/09-gpt2.ts";

const GPT2_VOCAB = 50257;

const WHERE_TO_GET = [
  "No weights chosen yet. GPT-2 (124M) is the file model.safetensors (548 MB) of https://huggingface.co/openai-community/gpt2 (Files and versions → model.safetensors).",
  "Download it once, then choose it with the file picker above (in the terminal: hero lesson run 9 --set weights=PATH/model.safetensors). It is read on this machine and never uploaded.",
].join(" ");

// #region load
/**
 * A GPT from a Hugging Face GPT-2 safetensors file. The file holds only tensors: the vocabulary,
 * context length, width and depth come from their shapes; the number of heads cannot (every
 * GPT-2 size uses 64 channels a head, so that is the default).
 */
export function gpt2FromSafetensors(file: LessonFile, heads = 0): GPT {
  const tensors = loadSafetensorsBytes(file.bytes, file.name);
  const get = (name: string): Tensor => {
    const t = tensors.get(name) ?? tensors.get(`transformer.${name}`);
    if (!t) throw new Error(`${file.name}: no tensor "${name}": is this a Hugging Face GPT-2 file?`);
    return t;
  };
  const [vocabSize, nEmbd] = get("wte.weight").shape as [number, number];
  const [positions] = get("wpe.weight").shape as [number];
  let nLayer = 0;
  while (tensors.has(`h.${nLayer}.ln_1.weight`) || tensors.has(`transformer.h.${nLayer}.ln_1.weight`))
    nLayer++;
  const nHead = heads > 0 ? heads : nEmbd / 64;
  if (!Number.isInteger(nHead) || nEmbd % nHead !== 0)
    throw new RangeError(
      `${file.name}: n_embd ${nEmbd} is not a multiple of 64 heads' width: set "heads" to this model's number of heads`,
    );
  const config: HFGPT2Config = {
    vocab_size: vocabSize,
    n_positions: positions,
    n_embd: nEmbd,
    n_layer: nLayer,
    n_head: nHead,
  };
  return gptFromHF(config, tensors, file.name);
}
// #endregion

/** The learner's file; in Node without one, the tiny GPT-2 of the repository's test/fixtures when it is there. */
async function chosenWeights(params: Params): Promise<{ file: LessonFile; heads: number } | null> {
  const file = param.file(params, "weights");
  const heads = param.number(params, "heads");
  if (file) return { file, heads };
  if (typeof process === "undefined" || typeof process.versions?.node !== "string") return null;
  // A path in a variable: the browser bundle must not pull in Node's modules.
  const fsName = "node:fs";
  const { existsSync, readFileSync } = (await import(/* @vite-ignore */ fsName)) as typeof import("node:fs");
  // This file runs from dist/lessons; an installed package has no test/ and so no fallback.
  const dir = new URL("../../test/fixtures/gpt2_tiny", import.meta.url).pathname;
  if (!existsSync(`${dir}/model.safetensors`)) return null;
  const config = JSON.parse(readFileSync(`${dir}/config.json`, "utf8")) as { n_head: number };
  return {
    file: {
      name: "gpt2_tiny/model.safetensors",
      bytes: new Uint8Array(readFileSync(`${dir}/model.safetensors`)),
    },
    heads: heads || config.n_head,
  };
}

// #region generate
/** Sample a continuation with top-k sampling, as the lecture does (k = 50). */
async function generateText(model: GPT, prompt: string, maxNewTokens: number, seed: number) {
  const isGPT2 = model.config.vocabSize === GPT2_VOCAB;
  const encoding = isGPT2 ? await getEncoding("gpt2") : null;
  // A model with another vocabulary (the tiny test model): the prompt's bytes stand in for ids.
  const ids = encoding
    ? encoding.encode(prompt)
    : [...new TextEncoder().encode(prompt)].map((b) => b % model.config.vocabSize);
  // generateAsync reads each step's probabilities with await, so this also runs on WebGPU.
  const generated = await model.generateAsync(ids, maxNewTokens, { topK: 50, generator: new Random(seed) });
  const out = [...(await generated.data())];
  return { ids: out, prompt: ids.length, text: encoding ? encoding.decode(out) : out.join(" ") };
}
// #endregion

let loaded: { key: string; model: GPT } | undefined;

async function gpt2Experiment(params: Params, lab: LabContext): Promise<void> {
  const chosen = await chosenWeights(params);
  if (!chosen) {
    lab.emit({ type: "log", text: WHERE_TO_GET });
    lab.emit({
      type: "figure",
      figure: {
        kind: "stats",
        id: "model",
        title: "No model loaded",
        items: [
          { label: "weights", value: "none chosen" },
          { label: "get", value: "huggingface.co/openai-community/gpt2" },
          { label: "file", value: "model.safetensors (548 MB)" },
        ],
      },
    });
    return;
  }
  const started = performance.now();
  // A re-run with another prompt keeps the model: loading GPT-2 takes seconds.
  const key = `${chosen.file.name}:${chosen.file.bytes.byteLength}:${chosen.heads}`;
  if (loaded?.key !== key) loaded = { key, model: gpt2FromSafetensors(chosen.file, chosen.heads) };
  const model = loaded.model;
  const c = model.config;
  lab.emit({
    type: "figure",
    figure: {
      kind: "stats",
      id: "model",
      title: chosen.file.name,
      items: [
        { label: "parameters", value: model.numParameters().toLocaleString("en") },
        { label: "layers × heads × width", value: `${c.nLayer} × ${c.nHead} × ${c.nEmbd}` },
        { label: "vocabulary", value: String(c.vocabSize) },
        { label: "context", value: String(c.blockSize) },
        { label: "loaded in", value: `${((performance.now() - started) / 1000).toFixed(2)} s` },
      ],
    },
  });
  await lab.tick();

  // What the position embeddings learned: one row per position, one column per channel.
  const weights = await model.transformer.wpe.weight.data();
  const wpe = Array.from({ length: c.blockSize }, (_, pos) =>
    Array.from(weights.subarray(pos * c.nEmbd, (pos + 1) * c.nEmbd)),
  );
  lab.emit({
    type: "figure",
    figure: {
      kind: "heatmap",
      id: "wpe",
      title: `wpe: ${c.blockSize} positions × ${c.nEmbd} channels`,
      wide: true,
      values: wpe,
      xLabel: "channel →",
      yLabel: "position ↓",
      scheme: "diverging",
      text: false,
      caption:
        "In the trained GPT-2 the rows vary smoothly: nearby positions get similar vectors, with sinusoid-like channels the model learned by itself.",
    },
  });
  const channels = [150, 200, 250].map((ch) => Math.min(c.nEmbd - 1, Math.round((ch * c.nEmbd) / 768)));
  const names = channels.map((ch) => `channel ${ch}`);
  lab.emit({
    type: "figure",
    figure: {
      kind: "line",
      id: "wpe-columns",
      title: "A few channels of wpe along the positions",
      xLabel: "position",
      yLabel: "value",
      series: names,
    },
  });
  for (const [i, ch] of channels.entries()) {
    lab.emit({
      type: "points",
      figure: "wpe-columns",
      series: names[i]!,
      points: wpe.map((row, pos) => ({ x: pos, y: row[ch]! })),
    });
  }
  await lab.tick();

  const prompt = param.string(params, "prompt");
  if (prompt.length === 0) throw new RangeError("prompt: type the beginning of a text");
  const generated = await generateText(
    model,
    prompt,
    param.number(params, "tokens"),
    param.number(params, "seed"),
  );
  const encoding = c.vocabSize === GPT2_VOCAB ? await getEncoding("gpt2") : null;
  lab.emit({
    type: "figure",
    figure: {
      kind: "tokens",
      id: "generated",
      title: "Prompt and continuation, token by token",
      frames: [
        {
          caption: `${generated.prompt} prompt tokens, then ${generated.ids.length - generated.prompt} sampled (top-k 50).`,
          sequences: [
            {
              name: encoding ? "gpt2" : "token ids",
              tokens: generated.ids.map((id) => ({
                id,
                text: encoding ? new TextDecoder().decode(encoding.tokenBytes(id)) : `${id} `,
              })),
            },
          ],
        },
      ],
    },
  });
  lab.emit({ type: "log", text: `> ${generated.text}` });
  await lab.tick();

  // #region inside
  // Inside the model for the prompt: one forward with every block recording. The gradients need
  // a backward pass through all the weights: done for small models only (not GPT-2's 124M).
  const promptIds = generated.ids.slice(0, Math.min(generated.prompt, c.blockSize));
  const decode = (id: number) => (encoding ? new TextDecoder().decode(encoding.tokenBytes(id)) : String(id));
  await lookInside(lab, { model, ids: promptIds, decode, gradients: model.numParameters() < 20_000_000 });
  // #endregion
}

export const lesson: Lesson = {
  id: "09-gpt2",
  number: 9,
  title: "GPT-2",
  summary:
    "OpenAI's GPT-2 weights in herograd: load a safetensors file, generate, and look at its position embeddings.",
  lecture: { title: "Let's reproduce GPT-2 (124M)", url: "https://www.youtube.com/watch?v=l8pRSuU81PU" },
  sections: [
    {
      id: "gpt2",
      title: "Loading GPT-2 and sampling from it",
      cells: [
        {
          kind: "text",
          text: "GPT-2 (124M) is lesson 7's GPT at scale: 12 layers, 12 heads, 768 channels, a context of 1,024 tokens and GPT-2's 50,257-token vocabulary. Hugging Face stores its weights in a safetensors file: a JSON header naming each tensor with its shape and offset, then the raw float32 bytes. The names map one to one onto herograd's modules; the four projection matrices are stored transposed (GPT-2's Conv1D), so they are transposed on the way in.",
        },
        {
          kind: "math",
          tex: "P(x_{t+1} \\mid x_{\\le t}) = \\operatorname{softmax}\\big(\\operatorname{LN}(h_L)\\, W_{te}^{\\top}\\big) \\quad\\text{(the output layer shares } W_{te}\\text{ with the input)}",
        },
        { kind: "code", file: THIS, region: "load" },
        {
          kind: "code",
          file: "src/io/gpt2.ts",
          symbol: "export function loadHFStatePartial",
          collapsed: true,
        },
        { kind: "code", file: THIS, region: "generate", collapsed: true },
        {
          kind: "text",
          text: "The position embeddings $W_{pe}$ ($1024 \\times 768$) are learned, not fixed sinusoids — yet each channel, plotted along the positions, comes out wavy and smooth, as the lecture shows: the model found that nearby positions should look alike.",
        },
        {
          kind: "text",
          text: "Then the prompt goes through the model once more with every block recording, as in lesson 7: a block drawn with GPT-2's real shapes ($C = 768$, 12 heads of 64, an MLP of 3,072 neurons), the residual stream's norm layer by layer, the logit lens — GPT-2's guess of the next token after each of its 12 layers — and its most active MLP neurons and heads, each a click away from its numbers and its code.",
        },
        { kind: "code", file: THIS, region: "inside", collapsed: true },
      ],
      experiment: {
        id: "gpt2",
        title: "Load GPT-2, generate, look at wpe",
        webgpu: true,
        params: {
          weights: {
            kind: "file",
            label: "GPT-2 weights (model.safetensors)",
            default: null,
            accept: ".safetensors",
            help: "Hugging Face's openai-community/gpt2 model.safetensors, or any GPT-2 size",
          },
          heads: {
            kind: "int",
            label: "heads (0: width / 64)",
            default: 0,
            min: 0,
            max: 64,
            help: "a safetensors file does not say how many attention heads; every GPT-2 size has 64 channels a head",
          },
          prompt: { kind: "text", label: "prompt", default: "Hello, I'm a language model,", rows: 2 },
          tokens: { kind: "int", label: "new tokens", default: 24, min: 1, max: 500 },
          seed: { kind: "int", label: "seed", default: 42 },
        },
        run: gpt2Experiment,
      },
    },
  ],
};
