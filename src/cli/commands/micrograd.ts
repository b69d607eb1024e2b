import { join } from "node:path";
import type { Command } from "commander";
import { README_EXAMPLE } from "../../micrograd/examples.js";
import {
  decisionGrid,
  dotToSvg,
  moonsDefaults,
  runProgram,
  toDot,
  trainMoons,
} from "../../micrograd/index.js";
import { decisionBoundary, headlessDocument, lineChart, svgText } from "../../plot/index.js";
import { writeFileAtomic } from "../files.js";
import { nonNegativeNumberOption, positiveIntOption, rangeOption, seedOption } from "../options.js";
import { startProgress } from "../progress.js";

export function registerMicrograd(program: Command): void {
  const micrograd = program
    .command("micrograd")
    .description("lesson 1: scalar autograd (Value), neurons and an MLP");

  micrograd
    .command("demo")
    .description(
      "train MLP(2, [16, 16, 1]) on two moons with SGD; write the decision boundary and loss curve",
    )
    .option("--seed <n>", "random seed for data and weights", seedOption, moonsDefaults.seed)
    .option("--steps <n>", "full-batch SGD steps", positiveIntOption, moonsDefaults.steps)
    .option(
      "--samples <n>",
      "number of moons samples",
      rangeOption({ integer: true, min: 2, max: 100_000 }),
      moonsDefaults.samples,
    )
    .option("--noise <x>", "standard deviation of the noise", nonNegativeNumberOption, moonsDefaults.noise)
    .option("--out <dir>", "where to write the SVG figures", "out/micrograd")
    .action(async (opts: { seed: number; steps: number; samples: number; noise: number; out: string }) => {
      const progress = startProgress("moons", opts.steps);
      const started = performance.now();
      const run = trainMoons(
        { seed: opts.seed, steps: opts.steps, samples: opts.samples, noise: opts.noise },
        (s) => progress.update(s.step + 1, { loss: s.loss, acc: `${(s.accuracy * 100).toFixed(0)}%` }),
      );
      progress.stop();
      const seconds = (performance.now() - started) / 1000;
      const last = run.history.at(-1)!;
      const firstPerfect = run.history.find((s) => s.accuracy === 1);
      console.log(`parameters: ${run.model.parameters().length}`);
      console.log(
        `step ${last.step} loss ${last.loss.toFixed(6)}, accuracy ${(last.accuracy * 100).toFixed(1)}%`,
      );
      console.log(
        firstPerfect
          ? `first 100% accuracy at step ${firstPerfect.step}`
          : "never reached 100% training accuracy",
      );
      console.log(`trained in ${seconds.toFixed(2)} s`);

      const document = await headlessDocument();
      // Cells of 0.05, or coarser where noise spreads the points far: at most ~200 a side.
      const span = (axis: 0 | 1) => {
        const v = run.data.X.map((p) => p[axis]);
        return Math.max(...v) - Math.min(...v) + 2;
      };
      const step = Math.max(0.05, Math.max(span(0), span(1)) / 200);
      const boundary = decisionBoundary(
        decisionGrid(run.model, run.data, step),
        run.data.X.map(([x, y], i) => ({ x, y, label: run.data.y[i]! })),
        { step, document },
      );
      const curve = lineChart(
        [
          { name: "loss", points: run.history.map((s) => ({ x: s.step, y: s.loss })) },
          { name: "accuracy", points: run.history.map((s) => ({ x: s.step, y: s.accuracy })) },
        ],
        { document, yLabel: "loss / accuracy" },
      );
      const boundaryPath = writeFileAtomic(join(opts.out, "moons-decision-boundary.svg"), svgText(boundary));
      const curvePath = writeFileAtomic(join(opts.out, "moons-loss.svg"), svgText(curve));
      console.log(`wrote ${boundaryPath}`);
      console.log(`wrote ${curvePath}`);
    });

  micrograd
    .command("graph")
    .description("draw micrograd's README expression as a graph (data and grad on every node)")
    .option("--out <file>", "SVG file to write", "out/micrograd/readme-graph.svg")
    .option("--dot", "also write the Graphviz DOT source next to the SVG")
    .option("--rankdir <dir>", "LR (left to right) or TB (top to bottom)", "LR")
    .action(async (opts: { out: string; dot?: boolean; rankdir: string }) => {
      if (!["LR", "TB", "RL", "BT"].includes(opts.rankdir)) {
        throw new Error(`--rankdir must be LR, TB, RL or BT, got "${opts.rankdir}"`);
      }
      const vars = runProgram(README_EXAMPLE.program, README_EXAMPLE.leaves);
      const g = vars.get(README_EXAMPLE.output)!;
      g.backward();
      console.log(`g = ${g.data.toFixed(4)}`);
      console.log(`a.grad = ${vars.get("a")!.grad.toFixed(4)}`);
      console.log(`b.grad = ${vars.get("b")!.grad.toFixed(4)}`);
      const dot = toDot(g, { rankdir: opts.rankdir as "LR" });
      const path = writeFileAtomic(opts.out, await dotToSvg(dot));
      console.log(`wrote ${path}`);
      if (opts.dot) console.log(`wrote ${writeFileAtomic(`${opts.out.replace(/\.svg$/, "")}.dot`, dot)}`);
    });
}
