import "../src/backend/select.js";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { backpropFrames } from "../lessons/01-micrograd.js";
import { findLesson, lessons } from "../lessons/index.js";
import {
  collectingContext,
  defaultParams,
  type Figure,
  type LabEvent,
  parseParams,
  type StatsFigure,
} from "../lessons/lesson.js";
import { cellSource, extractRegion, extractSymbol } from "../lessons/source.js";
import { runProgram } from "../src/micrograd/index.js";
import { fixture, repoRoot } from "./helpers.js";

function figures(events: LabEvent[]): Map<string, Figure> {
  const byId = new Map<string, Figure>();
  for (const e of events) if (e.type === "figure") byId.set(e.figure.id, e.figure);
  return byId;
}

test("the registry: unique ids, each lesson loads and matches its entry", async () => {
  assert.ok(lessons.length >= 1);
  assert.equal(new Set(lessons.map((l) => l.id)).size, lessons.length);
  for (const entry of lessons) {
    const lesson = await entry.load();
    assert.equal(lesson.id, entry.id);
    assert.equal(lesson.number, entry.number);
    assert.ok(lesson.sections.length > 0);
    assert.equal(new Set(lesson.sections.map((s) => s.id)).size, lesson.sections.length);
  }
  assert.equal(findLesson("1")?.id, "01-micrograd");
  assert.equal(findLesson("micrograd")?.id, "01-micrograd");
});

test("every code cell shows real source: its region or symbol exists in its file", async () => {
  for (const entry of lessons) {
    const lesson = await entry.load();
    for (const section of lesson.sections) {
      for (const cell of section.cells) {
        if (cell.kind !== "code") continue;
        const source = readFileSync(join(repoRoot, cell.file), "utf8");
        const text = cellSource(source, cell);
        assert.ok(
          text.split("\n").length >= 3,
          `${lesson.id}/${section.id}: ${cell.file} ${cell.region ?? cell.symbol}`,
        );
        assert.ok(!text.includes("#region") && !text.includes("#endregion"));
      }
    }
  }
});

test("extractRegion and extractSymbol cut out one declaration", () => {
  const source = [
    "const x = 1;",
    "  // #region loop",
    "  for (const a of b) {",
    "    f(a);",
    "  }",
    "  // #endregion",
    "/** Doc. */",
    "export function g(y: number): number {",
    "  if (y) {",
    "    return 1;",
    "  }",
    "  return 2;",
    "}",
    "const after = 3;",
  ].join("\n");
  assert.equal(extractRegion(source, "loop"), "for (const a of b) {\n  f(a);\n}");
  assert.equal(
    extractSymbol(source, "function g("),
    "/** Doc. */\nexport function g(y: number): number {\n  if (y) {\n    return 1;\n  }\n  return 2;\n}",
  );
  // A signature over several lines that closes a destructured parameter, a regex with brackets.
  const multi = [
    "export function h({",
    "  a = 1,",
    "}: { a?: number } = {}): number {",
    '  const re = /[({]/g; // not a bracket: "}"',
    "  return a;",
    "}",
    "const next = 1;",
  ].join("\n");
  assert.equal(extractSymbol(multi, "function h("), multi.split("\n").slice(0, 6).join("\n"));
  assert.throws(() => extractRegion(source, "nope"), /no region/);
  assert.throws(() => extractSymbol(source, "nope("), /no declaration/);
});

test("parameters: defaults, parsing from strings, and range checks", async () => {
  const lesson = await lessons[0]!.load();
  const moons = lesson.sections.find((s) => s.id === "moons")!.experiment!;
  const defaults = defaultParams(moons.params);
  assert.equal(defaults.hidden, 16);
  assert.equal(defaults.steps, 100);
  const parsed = parseParams(moons.params, { learningRate: "0.5", steps: "20" });
  assert.equal(parsed.learningRate, 0.5);
  assert.equal(parsed.steps, 20);
  assert.throws(() => parseParams(moons.params, { steps: "1.5" }), /integer/);
  assert.throws(() => parseParams(moons.params, { hidden: "0" }), /below/);
  assert.throws(() => parseParams(moons.params, { nope: "1" }), /unknown parameter/);
});

test("backprop step by step ends with the same grads as backward(), one frame per op node", () => {
  const program = ["a = -4.0", "b = 2.0", "c = a + b", "d = a * b + b**3", "e = c * d"];
  const vars = runProgram(program, {});
  const e = vars.get("e")!;
  const frames = backpropFrames(e);
  const ops = e.topologicalOrder().filter((v) => v.op !== "").length;
  assert.equal(frames.length, 2 + ops); // the forward pass, the output's grad = 1, then each op node
  const stepped = [vars.get("a")!.grad, vars.get("b")!.grad];
  for (const v of e.topologicalOrder()) v.grad = 0;
  e.backward();
  assert.deepEqual(stepped, [vars.get("a")!.grad, vars.get("b")!.grad]);
  assert.match(frames[0]!.dot, /grad 0\.0000/);
  assert.match(frames[2]!.dot, /fillcolor/);
});

test("lesson 1 experiments run in Node and emit their figures", { timeout: 60_000 }, async () => {
  const lesson = await lessons[0]!.load();
  const run = async (section: string, input: Record<string, unknown> = {}) => {
    const experiment = lesson.sections.find((s) => s.id === section)!.experiment!;
    const context = collectingContext();
    await experiment.run(parseParams(experiment.params, input), context);
    return context.events;
  };

  // micrograd's README example, typed as the learner would.
  const readme = lesson.sections[0]!.experiment!.params.program!;
  assert.equal(readme.kind, "text");
  const program =
    readme.kind === "text" ? readme.presets!.find((p) => p.label.includes("README"))!.value : "";
  const expression = await run("graph", { program });
  const graph = figures(expression).get("graph");
  assert.equal(graph?.kind, "graph");
  const log = expression.find((e) => e.type === "log");
  assert.ok(log?.type === "log");
  assert.match(log.text, /^g = 24\.7041/);
  assert.match(log.text, /dg\/da = 138\.8338/);
  assert.match(log.text, /dg\/db = 645\.5773/);

  // A syntax error is an error of the run (the lab shows its message), not a crash.
  await assert.rejects(run("graph", { program: "a = 2.0\nb = a +" }), /unexpected end/);

  // The lecture's neuron: o = 0.7071, and its grads.
  const neuron = figures(await run("neuron"));
  const drawn = neuron.get("neuron");
  assert.equal(drawn?.kind, "network");
  if (drawn?.kind === "network") {
    assert.ok(Math.abs(drawn.activations[1]![0]! - Math.SQRT1_2) < 1e-4);
    assert.match(drawn.caption ?? "", /x1 -1\.5000, w1 1\.0000, x2 0\.5000, w2 0\.0/);
  }

  // The moons, briefly: the loss streams one point per step and the figures are all there.
  const moons = await run("moons", { steps: "12", hidden: "8" });
  const points = moons.filter((e) => e.type === "points" && e.series === "loss");
  assert.equal(points.length, 12);
  const moonsFigures = figures(moons);
  assert.deepEqual([...moonsFigures.keys()].sort(), ["boundary", "detail", "loss", "mlp", "stats"]);
  const mlp = moonsFigures.get("mlp");
  assert.ok(mlp?.kind === "network");
  assert.deepEqual(mlp.sizes, [2, 8, 8, 1]);
  assert.equal(mlp.weights.flat(2).length + mlp.biases.flat().length, 2 * 8 + 8 + 8 * 8 + 8 + 8 + 1);
  const stats = moonsFigures.get("stats") as StatsFigure;
  assert.equal(stats.items[0]!.value, "12 / 12");
});

test("`hero lesson list` and `hero lesson run` run the lab's lessons in the terminal", {
  timeout: 60_000,
}, () => {
  const hero = (...args: string[]) =>
    execFileSync(process.execPath, [join(repoRoot, "dist", "src", "cli", "main.js"), ...args], {
      cwd: repoRoot,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  const list = hero("lesson", "list");
  assert.match(list, /1\. micrograd \(01-micrograd\)/);
  assert.match(list, /moons: Train MLP.*learningRate=1 hidden=16/);
  const out = mkdtempSync(join(tmpdir(), "herograd-lesson-"));
  try {
    const run = hero("lesson", "run", "1", "moons", "--set", "steps=5", "--set", "hidden=4", "--out", out);
    assert.match(run, /step 5 \/ 5, loss \d\.\d{4}, accuracy \d+%, parameters 37/);
    for (const name of ["moons-loss.svg", "moons-boundary.svg"]) {
      assert.match(readFileSync(join(out, "01-micrograd", name), "utf8"), /<svg/);
    }
    assert.match(hero("lesson", "run", "micrograd", "--out", out), /L = -8\.0; dL\/da = 6\.0/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

/** Run one experiment of a lesson in Node with some parameters; its events. */
async function runExperiment(lessonId: string, section: string, input: Record<string, unknown> = {}) {
  const lesson = await findLesson(lessonId)!.load();
  const experiment = lesson.sections.find((s) => s.id === section)?.experiment;
  assert.ok(experiment, `${lessonId} has an experiment in ${section}`);
  const context = collectingContext();
  await experiment.run(parseParams(experiment.params, input), context);
  return context.events;
}

test("lesson 3: the embedding as neurons and as a table, the letters in 2-D", {
  timeout: 120_000,
}, async () => {
  const mlp = figures(await runExperiment("3", "mlp", { steps: "10", nHidden: "8" }));
  const neurons = mlp.get("embedding-neurons");
  assert.ok(neurons?.kind === "network");
  assert.deepEqual(neurons.sizes, [27, 10]);
  const table = mlp.get("embedding-table");
  assert.ok(table?.kind === "heatmap");
  // The network's weights are the table, transposed: C[i][j] is the weight from input i to neuron j.
  assert.equal(neurons.weights[0]![3]![5], table.values[5]![3]);
  // The one-hot input of "e" gives C["e"].
  assert.deepEqual(neurons.activations[1], table.values[table.rowLabels!.indexOf("e")]);
  const twoD = figures(await runExperiment("3", "embedding-2d", { steps: "100", nHidden: "10" }));
  const scatter = twoD.get("embedding");
  assert.ok(scatter?.kind === "scatter");
  assert.equal(scatter.points.length, 27);
  assert.match(scatter.title, /step 100/);
});

test("lesson 7: the three aggregations agree; attention maps per layer and head", {
  timeout: 120_000,
}, async () => {
  const agg = figures(await runExperiment("7", "aggregation", { T: "5" }));
  const wei = agg.get("wei");
  assert.ok(wei?.kind === "heatmap");
  assert.deepEqual(wei.values[1], [0.5, 0.5, 0, 0, 0]);
  const stats = agg.get("agree") as StatsFigure;
  for (const item of stats.items.slice(1)) assert.ok(Number(item.value) < 1e-5, item.value);
  const head = agg.get("attention");
  assert.ok(head?.kind === "heatmap");
  for (const [i, row] of head.values.entries()) {
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5, "each row sums to 1");
    assert.ok(
      row.slice(i + 1).every((v) => v === 0),
      "no weight on the future",
    );
  }

  const events = await runExperiment("7", "attention", {
    steps: "2",
    prompt: "To be",
    nLayer: "2",
    nHead: "2",
  });
  const maps = [...figures(events).values()].filter((f) => f.kind === "heatmap" && f.id.startsWith("attn-"));
  assert.deepEqual(
    maps.map((f) => f.id),
    ["attn-0-0", "attn-0-1", "attn-1-0", "attn-1-1"],
  );
  for (const f of maps) if (f.kind === "heatmap") assert.equal(f.values.length, 5);
  // Then each head ablated in turn: a block × head table of the val loss's change.
  const ablation = figures(events).get("head-ablation");
  assert.ok(ablation?.kind === "heatmap");
  assert.deepEqual(
    ablation.values.map((row) => row.length),
    [2, 2],
  );
  assert.match(
    ablation.caption ?? "",
    /^(Without block \d, head \d the val loss rises most|No head's ablation raises)/,
  );
  // Both colours of the diverging scale are named.
  assert.match(ablation.caption ?? "", /Blue: the loss goes up .*; orange: it goes down\.$/);

  // Characters outside the vocabulary are named and marked, not dropped silently.
  const marked = await runExperiment("7", "attention", {
    steps: "2",
    prompt: "To bé€",
    nLayer: "2",
    nHead: "2",
  });
  const note = marked.find((e) => e.type === "log" && e.text.startsWith("Not in the"));
  assert.ok(note?.type === "log");
  assert.match(note.text, /left out: "é", "€"\. The prompt, with them marked: To b⟦é⟧⟦€⟧$/);
  const shown = [...figures(marked).values()].find((f) => f.kind === "heatmap");
  assert.ok(shown?.kind === "heatmap");
  assert.equal(shown.values.length, 4, "the four known characters");
  await assert.rejects(
    runExperiment("7", "attention", { steps: "2", prompt: "éé" }),
    /none of its characters/,
  );

  const train = await runExperiment("7", "gpt", { steps: "5" });
  assert.equal(train.filter((e) => e.type === "points").length, 1);
  assert.match(
    (train.find((e) => e.type === "log" && e.text.startsWith("sample")) as { text: string }).text,
    /sample: /,
  );
});

test("lesson 8: the replayed merges end at encode(); GPT-4 packs code tighter than GPT-2", {
  timeout: 60_000,
}, async () => {
  const { BasicTokenizer, RegexTokenizer } = await import("../src/tokenizer/index.js");
  const { loadDatasetText } = await import("../lessons/data.js");
  const sample = "the tokenizer merges";
  for (const tokenizer of ["basic", "gpt4"]) {
    const merges = figures(
      await runExperiment("8", "bpe", { vocabSize: "300", corpusChars: "5000", tokenizer, sample }),
    ).get("merges");
    assert.ok(merges?.kind === "tokens");
    const bytes = merges.frames[0]!.sequences[0]!.tokens;
    assert.equal(bytes.length, sample.length);
    const reference = tokenizer === "basic" ? new BasicTokenizer() : new RegexTokenizer();
    reference.train((await loadDatasetText("taylorswift")).slice(0, 5000), 300);
    const last = merges.frames.at(-1)!.sequences[0]!.tokens;
    assert.deepEqual(
      last.map((t) => t.id),
      reference.encode(sample),
    );
    // Each frame is one merge that shortened the sample.
    for (let i = 1; i < merges.frames.length; i++)
      assert.ok(
        merges.frames[i]!.sequences[0]!.tokens.length < merges.frames[i - 1]!.sequences[0]!.tokens.length,
      );
  }
  const compare = figures(
    await runExperiment("8", "gpt2-gpt4", { text: "        if x == 1:\n            return 12345" }),
  ).get("compare");
  assert.ok(compare?.kind === "tokens");
  const [gpt2, gpt4] = compare.frames[0]!.sequences;
  assert.ok(gpt4!.tokens.length < gpt2!.tokens.length);
  assert.equal(gpt2!.tokens.map((t) => t.text).join(""), "        if x == 1:\n            return 12345");
});

test("lesson 9: the tiny GPT-2 of the fixtures loads from its bytes, generates, shows wpe", async () => {
  const bytes = new Uint8Array(readFileSync(fixture("gpt2_tiny/model.safetensors")));
  const events = await runExperiment("9", "gpt2", {
    weights: { name: "model.safetensors", bytes },
    heads: "4",
    tokens: "3",
    prompt: "ab",
  });
  const byId = figures(events);
  const wpe = byId.get("wpe");
  assert.ok(wpe?.kind === "heatmap");
  assert.equal(wpe.values.length, 32);
  assert.equal(wpe.values[0]!.length, 32);
  const generated = byId.get("generated");
  assert.ok(generated?.kind === "tokens");
  assert.equal(generated.frames[0]!.sequences[0]!.tokens.length, 2 + 3);
  // Greedy decoding matches the reference numbers of the fixture (PyTorch).
  const { gpt2FromSafetensors } = await import("../lessons/09-gpt2.js");
  const model = gpt2FromSafetensors({ name: "model.safetensors", bytes }, 4);
  const ref = JSON.parse(readFileSync(fixture("gpt2_tiny.ref.json"), "utf8")) as {
    greedy?: { prompt?: number[]; tokens?: number[] };
  };
  if (ref.greedy?.prompt && ref.greedy.tokens) {
    const out = [
      ...(
        await model.generate(ref.greedy.prompt, ref.greedy.tokens.length - ref.greedy.prompt.length, {
          temperature: 0,
        })
      ).dataSync(),
    ];
    assert.deepEqual(out, ref.greedy.tokens);
  }
  // Without the heads the width must be a multiple of 64: the error says what to set.
  assert.throws(() => gpt2FromSafetensors({ name: "model.safetensors", bytes }), /set "heads"/);
  await assert.rejects(
    runExperiment("9", "gpt2", { weights: { name: "x.safetensors", bytes: new Uint8Array(16) } }),
    /x\.safetensors/,
  );
});

test("`hero lesson run 9 --set weights=PATH` reads the file", { timeout: 60_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), "herograd-lesson-"));
  try {
    const run = execFileSync(
      process.execPath,
      [
        join(repoRoot, "dist", "src", "cli", "main.js"),
        "lesson",
        "run",
        "9",
        "gpt2",
        "--set",
        `weights=${fixture("gpt2_tiny/model.safetensors")}`,
        "--set",
        "heads=4",
        "--set",
        "tokens=2",
        "--out",
        out,
      ],
      { cwd: repoRoot, encoding: "utf8" },
    );
    assert.match(run, /2 × 4 × 32/);
    assert.match(readFileSync(join(out, "09-gpt2", "gpt2-wpe-columns.svg"), "utf8"), /<svg/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("a collecting context with a listener keeps no events (a long run stays in flat memory); select returns what answered", async () => {
  const heard: LabEvent[] = [];
  const context = collectingContext((event) => heard.push(event));
  context.onSelect("net", (target) => {
    context.emit({ type: "log", text: `clicked ${JSON.stringify(target)}` });
  });
  for (let i = 0; i < 1000; i++) context.emit({ type: "log", text: `step ${i}` });
  assert.equal(context.events.length, 0);
  const answer = await context.select("net", [1, 2]);
  assert.deepEqual(answer, [{ type: "log", text: "clicked [1,2]" }]);
  assert.equal(heard.length, 1002);
  // Without a listener every event is kept, for the caller to read afterwards.
  const keeping = collectingContext();
  keeping.emit({ type: "log", text: "kept" });
  assert.equal(keeping.events.length, 1);
});

test("lesson 8's comparison lists the ids, and a click on a token answers with its id and bytes", async () => {
  const lesson = await lessons.find((l) => l.id === "08-tokenizer")!.load();
  const experiment = lesson.sections.find((s) => s.experiment?.id === "compare")!.experiment!;
  const context = collectingContext();
  await experiment.run(parseParams(experiment.params, { text: "127 + 677 = 804" }), context);
  const compare = figures(context.events).get("compare");
  assert.ok(compare?.kind === "tokens" && compare.ids === true, "the ids are shown under the text");
  const gpt4 = compare.frames[0]!.sequences[1]!;
  assert.match(gpt4.name, /GPT-4/);
  const [detail] = (await context.select("compare", [0, 1, 0])).filter((e) => e.type === "figure");
  assert.ok(detail?.type === "figure" && detail.figure.kind === "detail");
  const values = new Map(detail.figure.values.map((v) => [v.label, v.value]));
  assert.equal(values.get("id"), gpt4.tokens[0]!.id);
  assert.equal(values.get("bytes"), "31 32 37", 'GPT-4 cuts "127" whole: the bytes of "1", "2", "7"');
  assert.deepEqual(detail.figure.of, { figure: "compare", target: [0, 1, 0] });
  await assert.rejects(context.select("compare", [0, 1, 99]), /no token 99 in tokenization 1/);
});
