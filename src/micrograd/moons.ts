/**
 * micrograd's demo: a 2-layer MLP learns a max-margin boundary between two interleaved moons.
 * Everything is made of scalar Values, so every one of the 337 parameters is a neuron weight
 * you can point at.
 */
import { Random } from "../random/index.js";
import { sum, type Value } from "./engine.js";
import { MLP } from "./nn.js";

export interface MoonsData {
  X: [number, number][];
  /** Labels ±1. */
  y: number[];
}

/** Two interleaving half circles with Gaussian noise (sklearn's make_moons, labels mapped to ±1). */
export function makeMoons(nSamples: number, noise: number, rng: Random): MoonsData {
  const nOuter = Math.floor(nSamples / 2);
  const nInner = nSamples - nOuter;
  const points: { x: [number, number]; y: number }[] = [];
  for (let i = 0; i < nOuter; i++) {
    const t = nOuter === 1 ? 0 : (Math.PI * i) / (nOuter - 1);
    points.push({ x: [Math.cos(t), Math.sin(t)], y: -1 });
  }
  for (let i = 0; i < nInner; i++) {
    const t = nInner === 1 ? 0 : (Math.PI * i) / (nInner - 1);
    points.push({ x: [1 - Math.cos(t), 1 - Math.sin(t) - 0.5], y: 1 });
  }
  rng.shuffle(points);
  for (const p of points) {
    p.x[0] += rng.normal(0, noise);
    p.x[1] += rng.normal(0, noise);
  }
  return { X: points.map((p) => p.x), y: points.map((p) => p.y) };
}

export interface MoonsStep {
  step: number;
  loss: number;
  accuracy: number;
  learningRate: number;
}

export interface MoonsConfig {
  seed: number;
  samples: number;
  noise: number;
  hidden: number[];
  steps: number;
  /** L2 regularisation strength (alpha in the demo). */
  alpha: number;
}

export const moonsDefaults: MoonsConfig = {
  seed: 1337,
  samples: 100,
  noise: 0.1,
  hidden: [16, 16],
  steps: 100,
  alpha: 1e-4,
};

/** Max-margin (SVM) loss on the whole batch, plus L2; also the accuracy of the sign of the scores. */
export function moonsLoss(model: MLP, data: MoonsData, alpha: number): { loss: Value; accuracy: number } {
  const scores = data.X.map((x) => model.callScalar(x));
  const losses = scores.map((score, i) => score.mul(-data.y[i]!).add(1).relu());
  const dataLoss = sum(losses).mul(1 / losses.length);
  const regLoss = sum(model.parameters().map((p) => p.mul(p))).mul(alpha);
  const correct = scores.filter((s, i) => s.data > 0 === data.y[i]! > 0).length;
  return { loss: dataLoss.add(regLoss), accuracy: correct / scores.length };
}

export interface MoonsRun {
  config: MoonsConfig;
  data: MoonsData;
  model: MLP;
  history: MoonsStep[];
}

/** The data and the untrained model for a config: the seed fixes both. */
export function setupMoons(overrides: Partial<MoonsConfig> = {}): MoonsRun {
  const config = { ...moonsDefaults, ...overrides };
  const rng = new Random(config.seed);
  const data = makeMoons(config.samples, config.noise, rng);
  const model = new MLP(2, [...config.hidden, 1], { activation: "relu", linearOutput: true, rng });
  return { config, data, model, history: [] };
}

/** Full-batch SGD with lr = 1.0 − 0.9·k/steps, as in micrograd's demo notebook. */
export function trainMoons(
  overrides: Partial<MoonsConfig> = {},
  onStep?: (step: MoonsStep, run: MoonsRun) => void,
): MoonsRun {
  const run = setupMoons(overrides);
  const { config, data, model } = run;
  for (let k = 0; k < config.steps; k++) {
    const { loss, accuracy } = moonsLoss(model, data, config.alpha);
    model.zeroGrad();
    loss.backward();
    const learningRate = 1.0 - (0.9 * k) / config.steps;
    for (const p of model.parameters()) p.data -= learningRate * p.grad;
    const step = { step: k, loss: loss.data, accuracy, learningRate };
    run.history.push(step);
    onStep?.(step, run);
  }
  return run;
}

/** The model's score on a grid, for drawing the decision boundary (mesh step h, margin 1). */
export function decisionGrid(
  model: MLP,
  data: MoonsData,
  h = 0.05,
): { x: number; y: number; score: number }[] {
  const xs = data.X.map((p) => p[0]);
  const ys = data.X.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs) - 1, Math.max(...xs) + 1];
  const [y0, y1] = [Math.min(...ys) - 1, Math.max(...ys) + 1];
  const grid: { x: number; y: number; score: number }[] = [];
  for (let y = y0; y < y1; y += h) {
    for (let x = x0; x < x1; x += h) grid.push({ x, y, score: model.callScalar([x, y]).data });
  }
  return grid;
}
