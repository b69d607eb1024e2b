/**
 * bench/micrograd-moons: wall time of the 100-step moons run (MLP(2,[16,16,1]), 100 samples),
 * and of the same algorithm in a plain-Python Value class (bench/reference/micrograd_moons.py),
 * trained on the same points from the same initial weights.
 */
import { setupMoons, trainMoons } from "../src/micrograd/index.js";
import { benchArgs, findPython, printTable, referencePath, runPython } from "./util.js";

benchArgs({});

const config = { seed: 1337 };

// One untimed run first: V8 compiles the hot functions, as Python has no JIT to warm.
trainMoons(config);
const started = performance.now();
const run = trainMoons(config);
const ours = (performance.now() - started) / 1000;
const last = run.history.at(-1)!;

const rows: (string | number)[][] = [["implementation", "seconds", "final loss", "accuracy"]];
rows.push([
  "herograd (TypeScript)",
  ours.toFixed(3),
  last.loss.toFixed(6),
  `${(last.accuracy * 100).toFixed(0)}%`,
]);

const python = findPython();
let ratio: number | undefined;
if (python) {
  const fresh = setupMoons(config);
  const weights = fresh.model.layers.map((layer) => layer.neurons.map((n) => n.w.map((w) => w.data)));
  const input = JSON.stringify({
    X: fresh.data.X,
    y: fresh.data.y,
    weights,
    steps: fresh.config.steps,
    alpha: fresh.config.alpha,
  });
  const ref = runPython(python, referencePath("micrograd_moons.py"), input);
  if (!ref.ok) {
    console.error(`python reference failed:\n${ref.stderr}`);
  } else {
    const r = JSON.parse(ref.stdout) as { seconds: number; loss: number; accuracy: number };
    ratio = r.seconds / ours;
    rows.push([
      `Python ${python} (micrograd Value)`,
      r.seconds.toFixed(3),
      r.loss.toFixed(6),
      `${(r.accuracy * 100).toFixed(0)}%`,
    ]);
  }
} else {
  rows.push(["Python", "not found", "", ""]);
}

console.log("micrograd moons: 100 full-batch SGD steps, MLP(2, [16, 16, 1]) = 337 parameters, 100 samples");
printTable(rows);
if (ratio !== undefined) console.log(`herograd is ${ratio.toFixed(1)}x faster than plain Python (goal: 50x)`);
