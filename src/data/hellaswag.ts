/**
 * HellaSwag (Zellers et al. 2019) as build-nanogpt evaluates it: each example is a context and
 * four endings, one correct; a model picks the ending it finds most likely as a completion of the
 * context. The records are the dataset's own JSONL (hellaswag_val.jsonl: ind, activity_label,
 * ctx_a, ctx_b, ctx, split, split_type, label, endings, source_id). Platform-free.
 */
import type { Random } from "../random/index.js";

export interface HellaSwagExample {
  ind: number;
  ctx: string;
  endings: string[];
  /** Index of the correct ending. */
  label: number;
  activity_label?: string;
  ctx_a?: string;
  ctx_b?: string;
  split?: string;
  split_type?: string;
  source_id?: string;
}

/** The dataset's published files: rowanz/hellaswag's data/hellaswag_{split}.jsonl. */
export const HELLASWAG_SPLITS = {
  train: { file: "hellaswag_train.jsonl", examples: 39905 },
  val: { file: "hellaswag_val.jsonl", examples: 10042 },
  test: { file: "hellaswag_test.jsonl", examples: 10003 },
} as const;

export type HellaSwagSplit = keyof typeof HELLASWAG_SPLITS;

export function hellaswagUrl(split: HellaSwagSplit): string {
  return `https://raw.githubusercontent.com/rowanz/hellaswag/master/data/${HELLASWAG_SPLITS[split].file}`;
}

/** A line that is not a HellaSwag record; the message names the file and line. */
export class HellaSwagError extends Error {
  override name = "HellaSwagError";
}

/** Every record of a JSONL file, checked: a context, four string endings, a label 0..3. */
export function parseHellaSwag(text: string, file = "<hellaswag>"): HellaSwagExample[] {
  const out: HellaSwagExample[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    const fail = (why: string): never => {
      throw new HellaSwagError(`${file}:${i + 1}: ${why}`);
    };
    let r: Record<string, unknown> = {};
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch (error) {
      fail(`not valid JSON (${(error as Error).message})`);
    }
    if (typeof r !== "object" || r === null || Array.isArray(r)) fail("not a JSON object");
    if (typeof r.ctx !== "string") fail(`"ctx" is not a string`);
    const endings = r.endings;
    if (!Array.isArray(endings) || endings.length !== 4 || !endings.every((e) => typeof e === "string"))
      fail(`"endings" is not a list of four strings`);
    if (!Number.isInteger(r.label) || (r.label as number) < 0 || (r.label as number) > 3)
      fail(`"label" must be 0, 1, 2 or 3, got ${JSON.stringify(r.label)}`);
    out.push({
      ...(r as object),
      ind: Number.isInteger(r.ind) ? (r.ind as number) : out.length,
    } as HellaSwagExample);
  }
  return out;
}

/** An example as four rows of token ids: the context, then one ending; `mask` marks the ending's tokens. */
export interface RenderedExample {
  rows: number[][];
  masks: number[][];
  label: number;
}

/**
 * build-nanogpt's render_example: the context's tokens followed by the tokens of " " + ending
 * (GPT-2's BPE attaches the space to the ending's first word).
 */
export function renderExample(
  example: HellaSwagExample,
  encode: (text: string) => number[],
): RenderedExample {
  const ctx = encode(example.ctx);
  const rows: number[][] = [];
  const masks: number[][] = [];
  for (const ending of example.endings) {
    const end = encode(` ${ending}`);
    rows.push([...ctx, ...end]);
    masks.push([...ctx.map(() => 0), ...end.map(() => 1)]);
  }
  return { rows, masks, label: example.label };
}

/**
 * A HellaSwag-shaped multiple-choice set cut from a plain text, for where HellaSwag itself is not
 * at hand (the lab offline): each context is two consecutive lines, its right ending the line that
 * follows them, and the three wrong endings lines drawn from elsewhere in the text. Lines that end
 * in ":" (a play's speaker names) or have fewer than three words are never used. Chance is 25%.
 */
export function choicesFromText(text: string, count: number, generator: Random): HellaSwagExample[] {
  const lines = text.split("\n").map((l) => l.trim());
  const usable = (l: string | undefined) => l !== undefined && !l.endsWith(":") && l.split(/\s+/).length >= 3;
  const starts: number[] = [];
  for (let i = 0; i + 2 < lines.length; i++)
    if (usable(lines[i]) && usable(lines[i + 1]) && usable(lines[i + 2])) starts.push(i);
  const endings = [...new Set(lines.filter(usable))];
  if (starts.length < count || endings.length < 4)
    throw new RangeError(
      `choicesFromText: the text has ${starts.length} runs of three lines, ${count} asked`,
    );
  const out: HellaSwagExample[] = [];
  const taken = new Set<number>();
  while (out.length < count) {
    const i = starts[generator.randint(0, starts.length)]!;
    if (taken.has(i)) continue;
    taken.add(i);
    const right = lines[i + 2]!;
    const wrong = new Set<string>();
    while (wrong.size < 3) {
      const other = endings[generator.randint(0, endings.length)]!;
      if (other !== right) wrong.add(other);
    }
    const label = generator.randint(0, 4);
    const options = [...wrong];
    options.splice(label, 0, right);
    out.push({ ind: out.length, ctx: `${lines[i]}\n${lines[i + 1]}`, endings: options, label });
  }
  return out;
}
