/**
 * safetensors files in Node: the header is read and validated first, then each tensor is read
 * with its own positional read (a 500 MB checkpoint is never held twice); writes stream tensor by
 * tensor into a temporary file that is renamed into place.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { readExactly as readBytes } from "../data/node.js";
import { GPT, gptParameterShapes, validateGPTConfig } from "../models/gpt.js";
import { type Tensor, zeros } from "../tensor/index.js";
import {
  checkHFWeights,
  configFromHF,
  configToHF,
  type HFGPT2Config,
  hfKeyToOurs,
  loadHFStatePartial,
  ourKeyToHF,
  toHFState,
} from "./gpt2.js";
import {
  buildHeader,
  parseHeader,
  type RawTensor,
  rawToTensor,
  readHeaderLength,
  SafetensorsError,
  type SafetensorsHeader,
  tensorToRaw,
} from "./safetensors.js";

function readExactly(fd: number, length: number, position: number, file: string): Uint8Array {
  return readBytes(fd, length, position, (message) => new SafetensorsError(file, message));
}

/** An open safetensors file: validated header, tensors read on demand. Close when done. */
export class SafetensorsFile {
  readonly header: SafetensorsHeader;
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
    header: SafetensorsHeader,
  ) {
    this.fd = fd;
    this.header = header;
  }

  static open(path: string): SafetensorsFile {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (error) {
      throw new SafetensorsError(path, `cannot open (${(error as Error).message})`);
    }
    try {
      const size = fstatSync(fd).size;
      const prefix = size >= 8 ? readExactly(fd, 8, 0, path) : new Uint8Array(0);
      const n = readHeaderLength(prefix, size, path);
      const header = parseHeader(readExactly(fd, n, 8, path), n, size, path);
      return new SafetensorsFile(path, fd, header);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  get names(): string[] {
    return this.header.tensors.map((t) => t.name);
  }

  raw(name: string): RawTensor {
    if (this.fd === null) throw new Error(`${this.path}: file is closed`);
    const entry = this.header.tensors.find((t) => t.name === name);
    if (!entry) throw new SafetensorsError(this.path, `no tensor named "${name}"`);
    const bytes = readExactly(
      this.fd,
      entry.end - entry.begin,
      this.header.dataStart + entry.begin,
      this.path,
    );
    return { dtype: entry.dtype, shape: entry.shape, bytes };
  }

  tensor(name: string): Tensor {
    const raw = this.raw(name);
    try {
      return rawToTensor(raw, `tensor "${name}"`);
    } catch (error) {
      if (error instanceof RangeError) throw new SafetensorsError(this.path, error.message);
      throw error;
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** Every tensor of a file, by name, in header order. */
export function readSafetensors(path: string): {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
} {
  const f = SafetensorsFile.open(path);
  try {
    const tensors = new Map<string, Tensor>();
    for (const name of f.names) tensors.set(name, f.tensor(name));
    return { tensors, metadata: f.header.metadata };
  } finally {
    f.close();
  }
}

/**
 * Write tensors to `path` atomically: stream into a temporary file beside it, fsync, rename.
 * A crash midway leaves any previous file at `path` untouched.
 */
export function writeSafetensors(
  path: string,
  tensors: Map<string, Tensor> | Record<string, Tensor>,
  metadata: Record<string, string> = {},
): void {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const full = resolve(path);
  mkdirSync(dirname(full), { recursive: true });
  const tmp = join(dirname(full), `.${basename(full)}.${process.pid}.tmp`);
  const { prefix } = buildHeader(
    entries.map(([k, t]) => [k, { dtype: dtypeOf(t), shape: t.shape }]),
    metadata,
  );
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, prefix);
    for (const [, t] of entries) writeSync(fd, tensorToRaw(t).bytes);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(tmp, full);
}

function dtypeOf(t: Tensor) {
  return t.dtype === "float32" ? "F32" : t.dtype === "float64" ? "F64" : t.dtype === "int32" ? "I32" : "BOOL";
}

/**
 * A Hugging Face GPT-2 model: a directory with config.json and model.safetensors, or a weights
 * file with its config (default: config.json beside it).
 */
export function loadHFGPT2(weightsOrDir: string, configPath?: string): GPT {
  let weights = weightsOrDir;
  if (existsSync(weightsOrDir) && statSync(weightsOrDir).isDirectory())
    weights = join(weightsOrDir, "model.safetensors");
  // The weights first: without them a config is no help (and GPT-2's come from the Hub).
  if (!existsSync(weights))
    throw new Error(
      `${weights} does not exist: download GPT-2's weights (model.safetensors, with its config) from ` +
        "https://huggingface.co/openai-community/gpt2 and pass the file or its folder with --weights",
    );
  if (statSync(weights).isDirectory())
    throw new Error(
      `${weights} is a folder; --weights takes a model.safetensors file or the folder holding it`,
    );
  const config = configPath ?? join(dirname(weights), "config.json");
  if (!existsSync(config))
    throw new Error(`no config for ${weights}: ${config} does not exist (pass --config config.json)`);
  let hf: HFGPT2Config;
  try {
    hf = JSON.parse(readFileSync(config, "utf8")) as HFGPT2Config;
  } catch (error) {
    // V8 quotes the text around the fault, newlines included: one line.
    throw new Error(`${config}: not valid JSON (${(error as Error).message.replaceAll("\n", "\\n")})`);
  }
  const gptConfig = configFromHF(hf, config);
  const f = SafetensorsFile.open(weights);
  let model: GPT;
  try {
    // The config against the weights' header before a model of its size is allocated.
    checkHFWeights(gptConfig, new Map(f.header.tensors.map((t) => [t.name, t.shape])), config, weights);
    try {
      validateGPTConfig({ ...gptConfig });
    } catch (error) {
      throw new Error(`${config}: ${(error as Error).message}`);
    }
    model = new GPT(gptConfig, { skipInit: true });
    // Tensor by tensor, so only one extra copy is alive at a time.
    const own = new Map(model.namedParameters());
    const names = f.names.filter((n) => {
      const k = hfKeyToOurs(n);
      return k !== null && k !== "lm_head.weight";
    });
    for (const n of names) {
      if (!own.has(hfKeyToOurs(n)!)) throw new Error(`${weights}: unexpected tensor "${n}"`);
    }
    const seen = new Set<string>();
    for (const n of names) {
      loadHFStatePartial(model, n, f.tensor(n), weights);
      seen.add(hfKeyToOurs(n)!);
    }
    const missing = [...own.keys()].filter((k) => !seen.has(k));
    if (missing.length > 0)
      throw new Error(`${weights}: missing ${missing.map((k) => ourKeyToHF(k) ?? k).join(", ")}`);
  } finally {
    f.close();
  }
  return model;
}

/**
 * Write `model` as a Hugging Face GPT-2 model directory: config.json and model.safetensors with
 * GPT2LMHeadModel's names and layout (Conv1D weights [in, out], no tied lm_head, metadata
 * format "pt"), which transformers' GPT2LMHeadModel.from_pretrained(dir) loads. A model trained
 * without biases (nanoGPT's bias=False) gets zero biases, which compute the same function.
 */
export function saveHFGPT2(model: GPT, dir: string): { config: string; weights: string } {
  mkdirSync(dir, { recursive: true });
  const state = toHFState(model);
  const full = { ...model.config, bias: true };
  const tensors = new Map<string, Tensor>();
  for (const [key, shape] of gptParameterShapes(full)) {
    const hf = ourKeyToHF(key)!;
    tensors.set(hf, state.get(hf) ?? zeros(shape));
  }
  const weights = join(dir, "model.safetensors");
  writeSafetensors(weights, tensors, { format: "pt" });
  const config = join(dir, "config.json");
  const tmp = `${config}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(configToHF(model.config), null, 2)}\n`);
  renameSync(tmp, config);
  return { config, weights };
}
