/**
 * Lesson 9 in Node: the small GPT-2 trains on Shakespeare with build-nanogpt's recipe and nothing
 * to download (the loss falls far below ln 50,257, the samples are Shakespeare's words, the
 * inside-the-block views answer clicks); a `hero gpt export` model (vocabulary padded to 50,304)
 * is read as GPT-2; the multiple-choice set cut from a text; the terminal runs the lesson.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { findLesson } from "../lessons/index.js";
import { collectingContext, type Figure, type LabEvent, parseParams } from "../lessons/lesson.js";
import { choicesFromText } from "../src/data/hellaswag.js";
import { configToHF, saveSafetensorsBytes, toHFState } from "../src/io/index.js";
import { GPT } from "../src/models/gpt.js";
import { Random } from "../src/random/index.js";
import { getEncoding } from "../src/tokenizer/index.js";
import { dataDir, fixture, repoRoot } from "./helpers.js";

async function run(section: string, input: Record<string, unknown>): Promise<LabEvent[]> {
  const experiment = (await findLesson("9")!.load()).sections.find((s) => s.id === section)!.experiment!;
  const context = collectingContext();
  await experiment.run(parseParams(experiment.params, input), context);
  return context.events;
}

function figures(events: LabEvent[]): Map<string, Figure> {
  const byId = new Map<string, Figure>();
  for (const e of events) if (e.type === "figure") byId.set(e.figure.id, e.figure);
  return byId;
}

function points(events: LabEvent[], figure: string, series: string): { x: number; y: number }[] {
  return events.flatMap((e) =>
    e.type === "points" && e.figure === figure && e.series === series ? e.points : [],
  );
}

const shakespeareWords = () =>
  new Set(
    (readFileSync(join(dataDir, "tinyshakespeare.txt"), "utf8").match(/[A-Za-z']+/g) ?? []).map((w) =>
      w.toLowerCase(),
    ),
  );

test("lesson 9 trains a small GPT-2 on Shakespeare: the loss falls, the samples are words, the inside views answer", {
  timeout: 240_000,
}, async () => {
  const { knownWordShare } = await import("../lessons/09-gpt2.js");
  const experiment = (await findLesson("9")!.load()).sections.find((s) => s.id === "train")!.experiment!;
  const context = collectingContext();
  const steps = 30;
  await experiment.run(
    parseParams(experiment.params, {
      steps: String(steps),
      nEmbd: "32",
      blockSize: "32",
      choices: "8",
      sampleTokens: "30",
      prompt: "ROMEO:",
    }),
    context,
  );
  const byId = figures(context.events);
  const train = points(context.events, "loss", "train");
  assert.equal(train.length, steps);
  // An untrained model spreads its bets over GPT-2's vocabulary: ln 50,257 = 10.82.
  assert.ok(train[0]!.y > 10.3 && train[0]!.y < 11.3, `first loss ${train[0]!.y}`);
  const lastFive = train.slice(-5).reduce((a, p) => a + p.y, 0) / 5;
  assert.ok(lastFive < 8, `mean train loss of the last 5 steps ${lastFive}, expected below 8`);
  const val = points(context.events, "loss", "val");
  assert.ok(val.length >= 5 && val.at(-1)!.y < 8, `val ${JSON.stringify(val)}`);
  // Warmup to the max rate, then cosine down to a tenth of it.
  const lr = points(context.events, "lr", "lr").map((p) => p.y);
  assert.ok(Math.abs(lr[10]! - 6e-3) < 1e-9, `lr after 10 warmup steps ${lr[10]}`);
  assert.ok(lr[0]! < lr[9]! && lr[9]! < lr[10]! && lr.at(-1)! < lr[11]! && lr.at(-1)! >= 6e-4);
  const choices = points(context.events, "choices", "acc_norm");
  assert.ok(choices.length >= 5 && choices.every((p) => p.y >= 0 && p.y <= 1));
  const model = byId.get("model");
  assert.ok(model?.kind === "stats");
  assert.match(JSON.stringify(model.items), /50,304 \(GPT-2's 50,257, padded\)/);
  assert.match(JSON.stringify(model.items), /\(0\.9, 0\.95\), 1/);

  // Samples: GPT-2 tokens, made of words Shakespeare's text has (a check random tokens fail).
  const encoding = await getEncoding("gpt2");
  const samples = byId.get("samples");
  assert.ok(samples?.kind === "tokens");
  const vocabulary = shakespeareWords();
  for (const sequence of samples.frames[0]!.sequences) {
    assert.ok(sequence.tokens.every((t) => t.id < 50257));
    const text = encoding.decode(sequence.tokens.slice(3).map((t) => t.id));
    const share = knownWordShare(text, vocabulary);
    assert.ok(share >= 0.7, `${Math.round(share * 100)}% of "${text}" are Shakespeare's words`);
  }
  const generator = new Random(3);
  const noise = encoding.decode(Array.from({ length: 40 }, () => generator.randint(0, 50257)));
  assert.ok(knownWordShare(noise, vocabulary) < 0.5, `random tokens: "${noise}"`);

  // The inside views on the trained model: the logit lens names GPT-2 tokens; a neuron answers a click.
  const lens = byId.get("logit-lens");
  assert.ok(lens?.kind === "heatmap" && lens.cellText && lens.values.length === 3);
  const detail = (await context.select("mlp-neurons", [1, 0])).find(
    (e) => e.type === "figure" && e.figure.kind === "detail",
  );
  assert.ok(detail?.type === "figure" && detail.figure.kind === "detail");
  assert.ok(detail.figure.values.length > 3);
});

test("lesson 9 opens as the lecture does: the loss at init is near ln 50,257, then one batch is overfit and recited", {
  timeout: 120_000,
}, async () => {
  const events = await run("init", {});
  const byId = figures(events);
  const stats = byId.get("stats");
  assert.ok(stats?.kind === "stats");
  const value = (label: string) => stats.items.find((i) => i.label === label)?.value ?? "";
  // Untrained: every token about equally likely, so the loss is close to ln 50,257 = 10.82.
  const initial = Number(value("loss at initialization"));
  assert.ok(Math.abs(initial - Math.log(50257)) < 0.3, `loss at init ${initial}`);
  assert.equal(value("step"), "50 / 50");
  // The same batch 50 times: memorized, the loss near zero (0.047 when this was written).
  const loss = points(events, "overfit", "loss");
  assert.equal(loss.length, 50);
  assert.ok(loss.at(-1)!.y < 0.1, `loss on the batch after 50 steps ${loss.at(-1)!.y}`);
  assert.ok(loss[0]!.y > loss.at(-1)!.y);
  // The untrained model writes tokens from anywhere in GPT-2's vocabulary, never a padded id.
  const untrained = byId.get("untrained");
  assert.ok(untrained?.kind === "tokens");
  const sampled = untrained.frames[0]!.sequences[0]!.tokens;
  const encoding = await getEncoding("gpt2");
  const prompt = encoding.encode("Hello, I'm a language model,");
  assert.deepEqual(
    sampled.slice(0, prompt.length).map((t) => t.id),
    prompt,
  );
  assert.equal(sampled.length, prompt.length + 16);
  assert.ok(sampled.every((t) => t.id < 50257));
  // Overfit: greedy decoding from the batch's first 4 tokens recites the rest of its first row.
  const recited = byId.get("recited");
  assert.ok(recited?.kind === "tokens");
  const [said, batch] = recited.frames[0]!.sequences.map((s) => s.tokens.map((t) => t.id));
  assert.deepEqual(said, batch);
  const shakespeare = readFileSync(join(dataDir, "tinyshakespeare.txt"), "utf8");
  assert.ok(shakespeare.startsWith(encoding.decode(batch!)), "the batch is the text's first tokens");
});

test("a `hero gpt export` model (vocabulary padded to 50,304) is GPT-2: its text decoded, no padded id sampled", {
  timeout: 60_000,
}, async () => {
  const config = {
    blockSize: 16,
    vocabSize: 50304,
    nLayer: 1,
    nHead: 2,
    nEmbd: 16,
    dropout: 0,
    bias: true,
    gelu: "tanh" as const,
  };
  const model = new GPT(config, { generator: new Random(5) });
  // The padded rows are as likely as any: only vocabLimit keeps them out of the samples.
  const bytes = saveSafetensorsBytes(toHFState(model));
  const configJson = new TextEncoder().encode(JSON.stringify(configToHF(config)));
  const events = await run("gpt2", {
    weights: { name: "model.safetensors", bytes, siblings: { "config.json": configJson } },
    prompt: "Hello",
    tokens: "12",
  });
  const byId = figures(events);
  const stats = byId.get("model");
  // Two heads of 8 channels: read from config.json (width / 64 would not divide).
  assert.ok(stats?.kind === "stats");
  assert.equal(stats.items[1]!.value, "1 × 2 × 16");
  assert.equal(stats.items[2]!.value, "50304");
  const generated = byId.get("generated");
  assert.ok(generated?.kind === "tokens");
  const sequence = generated.frames[0]!.sequences[0]!;
  assert.equal(sequence.name, "gpt2");
  const encoding = await getEncoding("gpt2");
  assert.deepEqual(
    sequence.tokens.slice(0, 1).map((t) => t.id),
    encoding.encode("Hello"),
  );
  assert.equal(sequence.tokens.length, 1 + 12);
  assert.ok(sequence.tokens.every((t) => t.id < 50257));
  const log = events.filter((e) => e.type === "log").map((e) => (e.type === "log" ? e.text : ""));
  assert.ok(
    log.some((l) => l.startsWith("> Hello")),
    log.join("\n"),
  );
});

test("generate with vocabLimit never picks an id at or past the limit", async () => {
  const model = new GPT(
    { blockSize: 8, vocabSize: 10, nLayer: 1, nHead: 1, nEmbd: 8, dropout: 0, bias: true, gelu: "tanh" },
    { generator: new Random(1) },
  );
  const ids = async (limit?: number) => [
    ...(
      await model.generate([1], 60, { generator: new Random(2), ...(limit ? { vocabLimit: limit } : {}) })
    ).dataSync(),
  ];
  assert.ok(
    (await ids()).some((id) => id >= 5),
    "without a limit, ids 5..9 are sampled",
  );
  assert.ok((await ids(5)).every((id) => id < 5));
  await assert.rejects(
    model.generate([1], 1, { vocabLimit: 11 }),
    /vocabLimit must be a whole number from 1 to 10/,
  );
});

test("choicesFromText: two lines of context, the line after them among three others", () => {
  const text = [
    "FIRST:",
    "one two three four",
    "five six seven eight",
    "nine ten eleven twelve",
    "",
    "SECOND:",
    "alpha beta gamma delta",
    "epsilon zeta eta theta",
    "iota kappa lambda mu",
    "nu xi omicron pi",
    "rho sigma tau upsilon",
  ].join("\n");
  const examples = choicesFromText(text, 3, new Random(7));
  assert.equal(examples.length, 3);
  const lines = text.split("\n");
  for (const ex of examples) {
    assert.equal(ex.endings.length, 4);
    assert.equal(new Set(ex.endings).size, 4);
    const [first, second] = ex.ctx.split("\n");
    const right = lines[lines.indexOf(second!) + 1];
    assert.equal(lines[lines.indexOf(first!) + 1], second);
    assert.equal(ex.endings[ex.label], right);
    assert.ok(ex.endings.every((e) => !e.endsWith(":")));
  }
  assert.deepEqual(choicesFromText(text, 3, new Random(7)), examples);
  assert.throws(() => choicesFromText(text, 9, new Random(7)), /4 runs of three lines, 9 asked/);
});

test("`hero lesson run 9 train` trains in the terminal; `9 gpt2` reads config.json beside the weights", {
  timeout: 180_000,
}, () => {
  const out = mkdtempSync(join(tmpdir(), "herograd-lesson9-"));
  const hero = (...args: string[]) =>
    execFileSync(
      process.execPath,
      [join(repoRoot, "dist", "src", "cli", "main.js"), "lesson", "run", "9", ...args],
      {
        cwd: repoRoot,
        encoding: "utf8",
        env: { ...process.env, HERO_DATA_DIR: dataDir },
      },
    );
  try {
    const trained = hero(
      "train",
      ...["--set", "steps=3", "--set", "nEmbd=16", "--set", "blockSize=16", "--set", "choices=2"],
      ...["--set", "sampleTokens=5", "--out", out],
    );
    assert.match(trained, /^sample: ROMEO:/m);
    assert.match(trained, /step 3 \/ 3, loss \d/);
    assert.match(readFileSync(join(out, "09-gpt2", "train-loss.svg"), "utf8"), /<svg/);
    // No heads given: config.json beside the fixture says 4.
    const loaded = hero(
      "gpt2",
      "--set",
      `weights=${fixture("gpt2_tiny/model.safetensors")}`,
      "--set",
      "tokens=2",
      "--out",
      out,
    );
    assert.match(loaded, /2 × 4 × 32/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
