/**
 * The neuron history recorder (lessons/neuron-history.ts): what it records at step k is what a
 * copy of the model checkpointed at step k gives when computed directly (weights' norm, mean
 * activation, dead and saturated fractions, gradient norm, update:data), its storage halves
 * when full and stays small, and the flags it counts are the units a direct computation finds.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { findLesson } from "../lessons/index.js";
import {
  collectingContext,
  type Figure,
  flaggedUnits,
  type NetworkFigure,
  type NetworkHistory,
  type NeuronHistory,
  parseParams,
  unitFlag,
} from "../lessons/lesson.js";
import { NeuronRecorder, type RecorderOptions } from "../lessons/neuron-history.js";
import { batchIndices } from "../src/data/index.js";
import { Mlp } from "../src/models/makemore.js";
import { type Layer, Linear, type Module, ReLU, Sequential } from "../src/nn/index.js";
import { SGD } from "../src/optim/index.js";
import { Random } from "../src/random/index.js";
import { crossEntropy, noGrad, randn, type Tensor, tensor, tidy } from "../src/tensor/index.js";
import { trainStep } from "../src/train/makemore.js";
import { main } from "./cli-harness.js";
import { close, dataDir } from "./helpers.js";

const LR = 0.1;
const BATCH = 16;

/** A copy of the model's tensors (state dict values cloned, not shared). */
function checkpoint(model: Module): Map<string, Tensor> {
  return noGrad(() => new Map([...model.stateDict()].map(([k, t]) => [k, t.detach().clone()])));
}

/** Unit j's values from a row-major [rows, cols] array: row j ("rows") or column j ("columns"). */
function unit(values: ArrayLike<number>, rows: number, cols: number, j: number, of: "rows" | "columns") {
  return of === "rows"
    ? Array.from({ length: cols }, (_, i) => values[j * cols + i]!)
    : Array.from({ length: rows }, (_, i) => values[i * cols + j]!);
}
/**
 * Snapshot w of a network history's kept weights into figure layer `layer`, as the figure's
 * weights[layer − 1][j][i].
 */
function keptWeights(network: NetworkHistory, layer: number, w: number): number[][] {
  const l = network.weights!.layers.find((x) => x.layer === layer)!;
  const at = w * l.to * l.from;
  return Array.from({ length: l.to }, (_, j) =>
    Array.from(l.values.subarray(at + j * l.from, at + (j + 1) * l.from)),
  );
}

const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

interface Direct {
  weightNorm: number[];
  meanActivation: number[];
  dead: number[];
  saturated: number[];
  gradNorm: number[];
  updateRatio: number[];
}

/**
 * The values at one step, from the checkpoint loaded into a fresh model: forward on the step's
 * batch, backward, and SGD's update lr·grad.
 */
function direct(
  fresh: Layer,
  hidden: (X: Tensor) => Tensor,
  weight: Tensor,
  of: "rows" | "columns",
  X: Tensor,
  Y: Tensor,
): Direct {
  return tidy(() => {
    const [r, c] = weight.shape as [number, number];
    const units = of === "rows" ? r : c;
    const h = noGrad(() => hidden(X)).dataSync();
    const batch = h.length / units;
    fresh.zeroGrad();
    crossEntropy(fresh.forward(X), Y).backward();
    const w = weight.dataSync();
    const g = weight.grad!.dataSync();
    const out: Direct = {
      weightNorm: [],
      meanActivation: [],
      dead: [],
      saturated: [],
      gradNorm: [],
      updateRatio: [],
    };
    for (let j = 0; j < units; j++) {
      const acts = Array.from({ length: batch }, (_, b) => h[b * units + j]!);
      const wn = norm(unit(w, r, c, j, of));
      const gn = norm(unit(g, r, c, j, of));
      out.weightNorm.push(wn);
      out.meanActivation.push(acts.reduce((s, a) => s + a, 0) / batch);
      out.dead.push(acts.filter((a) => a === 0).length / batch);
      out.saturated.push(acts.filter((a) => Math.abs(a) > 0.97).length / batch);
      out.gradNorm.push(gn);
      out.updateRatio.push(Math.log10((LR * gn) / wn));
    }
    return out;
  });
}

/**
 * Train `make()` twice from the same seed: one copy with the recorder, one without, whose
 * checkpoints at the recorded steps give the direct values.
 */
function compare(
  make: () => {
    model: Layer;
    hidden: (X: Tensor) => Tensor;
    weight: Tensor;
    recorderLayer: Parameters<typeof recordOn>[1];
  },
  data: { X: Tensor; Y: Tensor },
  steps: number,
  options: RecorderOptions | ((model: Layer) => RecorderOptions),
) {
  const recorded = make();
  const recorder = recordOn(
    recorded.model,
    recorded.recorderLayer,
    typeof options === "function" ? options(recorded.model) : options,
  );
  const reference = make();
  const optA = new SGD(recorded.model.parameters(), { lr: LR });
  const optB = new SGD(reference.model.parameters(), { lr: LR });
  const gA = new Random(7);
  const gB = new Random(7);
  const gIndices = new Random(7); // draws the same batches, to know them beforehand
  const checkpoints = new Map<number, { state: Map<string, Tensor>; ix: Int32Array }>();
  const n = data.X.shape[0]!;
  for (let step = 0; step < steps; step++) {
    const ix = batchIndices(n, BATCH, gIndices);
    checkpoints.set(step, { state: checkpoint(reference.model), ix });
    trainStep(recorded.model, optA, data, BATCH, gA);
    trainStep(reference.model, optB, data, BATCH, gB);
  }
  recorder.settle();
  return { recorder, checkpoints, make };
}

function recordOn(
  model: Module,
  layer: Omit<ConstructorParameters<typeof NeuronRecorder>[1][number], "layer">,
  options: RecorderOptions,
) {
  return new NeuronRecorder(model, [{ layer: 1, ...layer }], options);
}

function checkAgainstDirect(
  history: NeuronHistory,
  step: number,
  s: number,
  d: Direct,
  j: number,
  what: string,
) {
  const near = (a: number, b: number, label: string, atol = 1e-5, rtol = 1e-4) =>
    assert.ok(close(a, b, atol, rtol), `${what}, step ${step}, ${label}: recorded ${a}, direct ${b}`);
  near(history.weightNorm[s]!, d.weightNorm[j]!, "|w|");
  near(history.meanActivation[s]!, d.meanActivation[j]!, "mean activation");
  near(history.gradNorm[s]!, d.gradNorm[j]!, "|grad|");
  // The update as the optimizer made it (w after − w before) against lr·grad: float32 rounding.
  near(history.updateRatio[s]!, d.updateRatio[j]!, "log10 update:data", 2e-3, 1e-3);
  if (history.nonlinearity === "tanh") {
    assert.equal(history.dead, undefined);
    near(history.saturated![s]!, d.saturated[j]!, "saturated fraction", 1e-9, 0);
  } else {
    assert.equal(history.saturated, undefined);
    near(history.dead![s]!, d.dead[j]!, "dead fraction", 1e-9, 0);
  }
}

test("tanh units of the lecture's MLP: recorded at step k = a checkpoint at step k, computed directly", () => {
  const rng = new Random(3);
  const X = tensor(
    Array.from({ length: 200 * 3 }, () => rng.randint(0, 27)),
    { shape: [200, 3], dtype: "int32" },
  );
  const Y = tensor(
    Array.from({ length: 200 }, () => rng.randint(0, 27)),
    { dtype: "int32" },
  );
  const config = { vocabSize: 27, blockSize: 3, nEmbd: 4, nHidden: 12 };
  const make = () => {
    const model = new Mlp({ ...config, generator: new Random(5) });
    return {
      model,
      hidden: (x: Tensor) => model.hidden(x),
      weight: model.W1,
      recorderLayer: {
        weight: model.W1,
        orientation: "columns" as const,
        nonlinearity: "tanh" as const,
        module: model,
        read: (inputs: unknown[]) => noGrad(() => model.hidden(inputs[0] as Tensor)),
      },
    };
  };
  // Capacity 4, every 3 steps over 20: 0, 3, 6, 9 fill it; step 12 halves it to 0, 6 and records
  // every 6 steps from then on.
  const { recorder, checkpoints } = compare(make, { X, Y }, 20, { interval: 3, capacity: 4 });
  assert.deepEqual(recorder.steps, [0, 6, 12, 18]);
  const network = recorder.network();
  assert.deepEqual(network.steps, [0, 6, 12, 18]);
  // As many weight snapshots as steps here (weightCapacity defaults to capacity when that is smaller).
  assert.deepEqual(network.weights?.steps, [0, 6, 12, 18]);
  assert.deepEqual(
    network.weights.layers.map((l) => [l.layer, l.from, l.to]),
    [[1, 12, 12]],
  );
  let saturatedSeen = 0;
  recorder.steps.forEach((step, s) => {
    const { state, ix } = checkpoints.get(step)!;
    const fresh = make();
    fresh.model.loadStateDict(state);
    const idx = tensor(ix, { dtype: "int32" });
    const d = direct(
      fresh.model,
      fresh.hidden,
      fresh.weight,
      "columns",
      X.indexSelect(0, idx),
      Y.indexSelect(0, idx),
    );
    for (let j = 0; j < config.nHidden; j++)
      checkAgainstDirect(recorder.neuron(1, j)!, step, s, d, j, `unit ${j}`);
    // The weights kept for the edges: the checkpoint's W1, as the figure draws it (W1 transposed).
    assert.deepEqual(
      keptWeights(network, 1, s),
      noGrad(() => state.get("W1")!.transpose(0, 1).tolist()),
      `W1 at step ${step}`,
    );
    // The flags counted from the history are the units a direct computation finds saturated.
    const flags = flaggedUnits(network, s)[0]!;
    const want = d.saturated.flatMap((f, j) => (f > 0.5 ? [j] : []));
    assert.deepEqual(flags.saturated, want, `saturated units at step ${step}`);
    assert.deepEqual(flags.dead, []);
    saturatedSeen += want.length;
  });
  // The raw randn init saturates: the comparison of flags is not of empty lists.
  assert.ok(saturatedSeen > 0, "some units saturated");
  assert.equal(recorder.neuron(1, config.nHidden), undefined);
  assert.equal(recorder.neuron(2, 0), undefined);
  recorder.remove();
});

test("ReLU units of nn.Linear rows: dead fractions and counts equal a direct computation", () => {
  const rng = new Random(11);
  const X = randn([120, 6], { generator: rng });
  const Y = tensor(
    Array.from({ length: 120 }, () => rng.randint(0, 3)),
    { dtype: "int32" },
  );
  const make = () => {
    const g = new Random(21);
    const first = new Linear(6, 10, { generator: g });
    const relu = new ReLU();
    const model = new Sequential(first, relu, new Linear(10, 3, { generator: g }));
    // Units 2 and 7 start far below zero on every input: dead from the first step.
    noGrad(() => first.bias!.assign(tensor([0, 0, -50, 0, 0, 0, 0, -50, 0, 0])));
    return {
      model,
      hidden: (x: Tensor) => relu.forward(first.forward(x)),
      weight: first.weight,
      recorderLayer: {
        weight: first.weight,
        orientation: "rows" as const,
        nonlinearity: "relu" as const,
        module: relu,
      },
    };
  };
  // The second Linear's weights kept too, for the edges into the outputs; 4 snapshots at most:
  // 0, 2, 4, 6 fill them; step 8 halves them to 0, 4 and keeps every 4 steps: 0, 4, 8 (not 10).
  const { recorder, checkpoints } = compare(make, { X, Y }, 11, (model) => ({
    interval: 2,
    capacity: 8,
    weightCapacity: 4,
    edges: [{ layer: 2, weight: ((model as Sequential).layers[2] as Linear).weight, orientation: "rows" }],
  }));
  assert.deepEqual(recorder.steps, [0, 2, 4, 6, 8, 10]);
  const network = recorder.network();
  assert.deepEqual(network.weights?.steps, [0, 4, 8]);
  assert.deepEqual(
    network.weights.layers.map((l) => [l.layer, l.from, l.to]),
    [
      [1, 6, 10],
      [2, 10, 3],
    ],
  );
  network.weights.steps.forEach((step, w) => {
    const { state } = checkpoints.get(step)!;
    const [first, second] = [...state.keys()].filter((k) => k.endsWith("weight"));
    assert.deepEqual(keptWeights(network, 1, w), state.get(first!)!.tolist(), `layer 1 at step ${step}`);
    assert.deepEqual(keptWeights(network, 2, w), state.get(second!)!.tolist(), `layer 2 at step ${step}`);
  });
  recorder.steps.forEach((step, s) => {
    const { state, ix } = checkpoints.get(step)!;
    const fresh = make();
    fresh.model.loadStateDict(state);
    const idx = tensor(ix, { dtype: "int32" });
    const d = direct(
      fresh.model,
      fresh.hidden,
      fresh.weight,
      "rows",
      X.indexSelect(0, idx),
      Y.indexSelect(0, idx),
    );
    for (let j = 0; j < 10; j++) {
      const history = recorder.neuron(1, j)!;
      // A dead unit gets no gradient, so no update: its ratio is log10(0).
      if (d.gradNorm[j] === 0) {
        assert.equal(history.gradNorm[s], 0);
        assert.equal(history.updateRatio[s], Number.NEGATIVE_INFINITY);
        d.updateRatio[j] = Number.NEGATIVE_INFINITY;
      }
      checkAgainstDirect(history, step, s, d, j, `unit ${j}`);
    }
    const flags = flaggedUnits(network, s)[0]!;
    assert.deepEqual(
      flags.dead,
      d.dead.flatMap((f, j) => (f === 1 ? [j] : [])),
      `dead units at step ${step}`,
    );
    assert.deepEqual(flags.dead.slice(0, 2), [2, 7]);
    assert.deepEqual(flags.saturated, []);
  });
  recorder.remove();
});

test("the recorder detaches, counts only training forwards, and stays small for 200 units × 2,000 steps", () => {
  const g = new Random(1);
  const first = new Linear(30, 200, { generator: g });
  const model = new Sequential(first, new ReLU(), new Linear(200, 27, { generator: g }));
  const recorder = new NeuronRecorder(
    model,
    [{ layer: 1, weight: first.weight, orientation: "rows", nonlinearity: "relu", module: model.layers[1]! }],
    { interval: 1, capacity: 256 },
  );
  const X = randn([32, 30], { generator: g });
  const Y = tensor(
    Array.from({ length: 32 }, (_, i) => i % 27),
    { dtype: "int32" },
  );
  const opt = new SGD(model.parameters(), { lr: 0.01 });
  for (let step = 0; step < 2000; step++) {
    tidy(() => {
      const loss = crossEntropy(model.forward(X), Y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
    });
    // An evaluation forward (no gradients) is not a training step.
    if (step % 500 === 0) noGrad(() => tidy(() => model.forward(X)));
  }
  recorder.settle();
  const steps = recorder.steps;
  assert.ok(steps.length > 128 && steps.length <= 256, `${steps.length} steps kept`);
  assert.equal(steps[0], 0);
  assert.ok(steps.at(-1)! >= 2000 - 16, `the last recorded step ${steps.at(-1)}`);
  const interval = steps[1]! - steps[0]!;
  assert.ok(
    steps.every((s, i) => s === i * interval),
    "evenly spaced",
  );
  // The statistics (1 MB) and up to 64 snapshots of the 6,000 weights into the units (1.5 MB).
  const snapshots = recorder.network().weights!.steps.length;
  assert.ok(snapshots > 32 && snapshots <= 64, `${snapshots} weight snapshots kept`);
  assert.ok(recorder.bytes < 3 * 1024 * 1024, `${recorder.bytes} bytes`);
  // A weight that is not a matrix, or activations that are not the layer's units: a clear error.
  assert.throws(
    () =>
      new NeuronRecorder(model, [
        {
          layer: 1,
          weight: first.bias!,
          orientation: "rows",
          nonlinearity: "relu",
          module: model.layers[1]!,
        },
      ]),
    /layer 1's weight must be 2-D, got shape \[200\]/,
  );
  assert.throws(
    () =>
      new NeuronRecorder(
        model,
        [
          {
            layer: 1,
            weight: first.weight,
            orientation: "rows",
            nonlinearity: "relu",
            module: model.layers[1]!,
          },
        ],
        { capacity: 16, weightCapacity: 32 },
      ),
    /weightCapacity must be an even number from 2 to capacity \(16\), got 32/,
  );
  const wrong = new NeuronRecorder(model, [
    { layer: 2, weight: first.weight, orientation: "rows", nonlinearity: "relu", module: model.layers[2]! },
  ]);
  assert.throws(
    () => tidy(() => model.forward(X)),
    /layer 2 has 200 units, its activations have shape \[32, 27\]/,
  );
  wrong.remove();
  // The layer's unit flags on the figure follow the same rule.
  assert.equal(unitFlag(1, undefined), "dead");
  assert.equal(unitFlag(0.99, undefined), undefined);
  assert.equal(unitFlag(undefined, 0.51), "saturated");
  assert.equal(unitFlag(Number.NaN, 0.5), undefined);
  recorder.remove();
  const hooked = Object.hasOwn(model, "forward") || Object.hasOwn(model.layers[1]!, "forward");
  assert.equal(hooked, false, "no hook left on the model");
});

test("lesson 4's three starts: saturated units at init, after the fix and with BatchNorm", {
  timeout: 120_000,
}, async () => {
  const experiment = (await findLesson("4")!.load()).sections.find((s) => s.id === "saturation")!.experiment!;
  const context = collectingContext();
  await experiment.run(parseParams(experiment.params, { steps: "40" }), context);
  const figures = new Map<string, Figure>();
  for (const e of context.events) if (e.type === "figure") figures.set(e.figure.id, e.figure);
  const counts: Record<string, number> = {};
  for (const start of ["raw", "scaled", "batchnorm"]) {
    const net = figures.get(`units-${start}`) as NetworkFigure;
    assert.ok(net?.history, `units-${start} has a history`);
    assert.deepEqual(
      net.history.steps,
      Array.from({ length: 40 }, (_, s) => s),
    );
    // The flags at step 0 are the units saturated on more than half of the batch in each unit's own history.
    counts[start] = flaggedUnits(net.history, 0)[0]!.saturated.length;
    const detail = (await context.select(`units-${start}`, [1, 7])).find(
      (e) => e.type === "figure" && e.figure.kind === "detail",
    );
    assert.ok(detail?.type === "figure" && detail.figure.kind === "detail");
    const life = detail.figure.history!;
    assert.equal(life.saturated![0], net.history.layers[0]!.saturated![7]);
    // Its number at the last step, labelled as its curve is.
    const saturated = detail.figure.values.find((v) => v.label === "saturated (|tanh| > 0.97), of the batch");
    assert.equal(saturated?.value, `${(100 * life.saturated!.at(-1)!).toFixed(1)}%`);
    assert.ok(life.updateRatio.every(Number.isFinite), "every recorded step has its update");
  }
  // Lecture 4's point: most units saturated with randn, few after the fix, none with BatchNorm.
  assert.ok(counts.raw! > 150, `raw: ${counts.raw}`);
  assert.ok(counts.scaled! < 20, `scaled: ${counts.scaled}`);
  assert.equal(counts.batchnorm, 0);
});

test("`hero lesson run 3 mlp --select neurons:1,J` prints the neuron's history; a unit out of range is a one-line error", {
  timeout: 120_000,
}, () => {
  const run = (select: string) =>
    spawnSync(
      process.execPath,
      [main, "lesson", "run", "3", "mlp", "--set", "steps=60", "--select", select, "--out", out],
      {
        encoding: "utf8",
        env: { ...process.env, HERO_NO_RESPAWN: "1", HERO_OFFLINE: "1", HERO_DATA_DIR: dataDir },
      },
    );
  const out = mkdtempSync(join(tmpdir(), "herograd-history-"));
  try {
    const ok = run("neurons:1,5");
    assert.equal(ok.status, 0, ok.stderr);
    const lines = ok.stdout.split("\n");
    const header = lines.findIndex((l) =>
      /step\s+\|w\|\s+mean act\s+dead\s+saturated\s+\|grad\|\s+log10 update:data/.test(l),
    );
    assert.ok(header > 0, ok.stdout);
    assert.match(lines[header - 1]!, /its life through training \(60 recorded steps, 21 shown\)/);
    const rows = lines.slice(header + 1).filter((l) => /^\s+\d+\s/.test(l));
    assert.equal(rows.length, 21);
    assert.equal(rows[0]!.trim().split(/\s+/)[0], "0");
    assert.equal(rows.at(-1)!.trim().split(/\s+/)[0], "59");
    // Each row: the step, |w|, mean activation, dead (— for tanh), saturated %, |grad|, log10 ratio.
    for (const row of rows)
      assert.match(
        row.trim().replace(/ +/g, " "),
        /^\d+ \d+\.\d{4} -?\d+\.\d{4} — \d+\.\d% \d+\.\d{5} -?\d+\.\d\d$/,
      );
    assert.match(
      ok.stdout,
      /flags: (saturated at step 59: \|tanh\| > 0\.97 on [\d.]+% of the batch|not flagged at step 59)/,
    );

    const bad = run("neurons:1,200");
    assert.equal(bad.status, 1);
    assert.equal(
      bad.stderr.trim().split("\n").at(-1),
      "hero: --select neurons:1,200: unit 200 is outside 0–199 (layer 1 has 200 units)",
    );
    const layer = run("neurons:3,0");
    assert.equal(
      layer.stderr.trim().split("\n").at(-1),
      "hero: --select neurons:3,0: layer 3 is outside 0–2 (neurons has 3 layers)",
    );
    const byNumber = run("1:999");
    assert.equal(
      byNumber.stderr.trim().split("\n").at(-1),
      "hero: --select 1:999: the MLP has no neuron 999 in layer 1 (layer 0 has neurons 0 to 29, layer 1 0 to 199, layer 2 0 to 26)",
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
