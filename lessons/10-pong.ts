/**
 * Lesson 10: Deep Reinforcement Learning, Pong from pixels. A Pong that draws Atari frames, the
 * frames preprocessed into 80 × 80 pixels and differenced, a policy network of 200 ReLU units
 * whose sigmoid says "go UP", and REINFORCE with discounted, standardised rewards and RMSprop.
 * Follows Karpathy's blog post "Deep Reinforcement Learning: Pong from Pixels" and its pg-pong.py.
 */

import { Random } from "../src/random/index.js";
import {
  DOWN,
  INPUT_SIDE,
  INPUT_SIZE,
  Pong,
  type PongOptions,
  PongTrainer,
  paddleFocus,
  prepro,
  QUICK_PONG,
  randomPolicyEpisodes,
  UP,
} from "../src/rl/index.js";
import type { DetailFigure, ImagesFigure, LabContext, Lesson, Params, Target } from "./lesson.js";
import { param } from "./lesson.js";

const THIS = "lessons/10-pong.ts";
const POLICY = "src/rl/policy.ts";
const REINFORCE = "src/rl/reinforce.ts";

/** The game's options from the experiment's controls. */
function pongOptions(params: Params): PongOptions {
  return {
    ...QUICK_PONG,
    points: param.number(params, "points"),
    opponentSpeed: param.number(params, "opponentSpeed"),
    paddleHeight: param.number(params, "paddleHeight"),
  };
}

// ---------------------------------------------------------------------------------------------
// The frames

// #region frames
/** Play a few steps at random, then show what the policy sees of the last one. */
async function framesExperiment(params: Params, lab: LabContext): Promise<void> {
  const env = new Pong({ ...pongOptions(params), seed: param.number(params, "seed") });
  const coin = new Random(param.number(params, "seed"));
  let frame = env.reset();
  let previous = frame;
  for (let t = 0; t < param.number(params, "steps"); t++) {
    previous = frame;
    frame = env.step(coin.random() < 0.5 ? UP : DOWN).frame;
    if (env.done) break;
  }
  const current = prepro(frame); // 80 × 80: the playfield, every second pixel, 0 or 1
  const x = current.map((v, i) => v - prepro(previous)[i]!); // what moved since the last step
  // #endregion
  lab.emit({
    type: "figure",
    figure: {
      kind: "images",
      id: "frames",
      title: "A frame, preprocessed, and the difference the policy sees",
      wide: true,
      scheme: "diverging",
      scale: 3,
      images: [
        { label: "prepro(frame): 80 × 80", width: INPUT_SIDE, height: INPUT_SIDE, pixels: current },
        { label: "x = prepro(frame) − prepro(previous)", width: INPUT_SIDE, height: INPUT_SIDE, pixels: x },
      ],
      caption:
        "Blue pixels are 1 (the ball and the paddles where they are now), red −1 (where they were a step ago).",
    },
  });
  lab.emit({ type: "figure", figure: gameFigure(frame, "The frame (210 × 160, as the Atari draws it)") });
  const changed = x.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0);
  lab.emit({
    type: "figure",
    figure: {
      kind: "stats",
      id: "stats",
      title: "The input",
      items: [
        { label: "frame", value: "210 × 160 × 3 bytes" },
        { label: "input x", value: `${INPUT_SIZE} numbers` },
        { label: "non-zero in x", value: String(changed) },
        { label: "score", value: `${env.score.opponent} : ${env.score.agent}` },
      ],
    },
  });
}

function gameFigure(frame: Uint8Array, title: string): ImagesFigure {
  return {
    kind: "images",
    id: "game",
    title,
    scheme: "rgb",
    scale: 2,
    images: [{ width: 160, height: 210, pixels: frame }],
  };
}

// ---------------------------------------------------------------------------------------------
// Training

/** Games of the random policy that make its baseline (its mean reward). */
const BASELINE_EPISODES = 200;

// #region train
/** pg-pong.py: play, and every episode push the actions of good outcomes up, of bad ones down. */
async function trainExperiment(params: Params, lab: LabContext): Promise<void> {
  const env = pongOptions(params);
  const seed = param.number(params, "seed");
  const trainer = new PongTrainer({
    hidden: param.number(params, "hidden"),
    batchSize: param.number(params, "batchSize"),
    learningRate: param.number(params, "learningRate"),
    learningRateW2: param.number(params, "learningRateW2"),
    gamma: param.number(params, "gamma"),
    eps: param.number(params, "eps"),
    seed,
    env,
  });
  const episodes = param.number(params, "episodes");
  const show = new Figures(trainer, lab, episodes);
  show.start();
  // The baseline: the same games played by coin flips, measured while the figures show.
  let total = 0;
  let played = 0;
  for (const reward of randomPolicyEpisodes(env, BASELINE_EPISODES, seed)) {
    total += reward;
    if (++played % 10 === 0) await lab.tick();
  }
  show.baseline = total / played;
  while (trainer.episode < episodes) {
    const step = trainer.step();
    show.step(step);
    if (step.episode) show.episode(step.episode);
    await lab.tick(); // the lab draws the game here, and may pause or slow the run down
  }
  show.end();
}
// #endregion

/** What the training experiment draws, and what a click on a neuron shows. */
class Figures {
  private readonly hidden: number;
  /** The random policy's mean reward on the same games (measured once the figures show). */
  baseline = Number.NaN;
  /** The rewards of the batch being played (a point per batch: one per episode is noise). */
  private batchRewards: number[] = [];
  /** The neuron whose detail is shown: redrawn with the network, so both read the same frame. */
  private selected: { figure: string; target: Target } = { figure: "policy", target: [1, 0] };
  /** paddleFocus of W1 at the start and after the latest update: how far its images are from noise. */
  private focus: { start: number; now: number } | undefined;

  constructor(
    private readonly trainer: PongTrainer,
    private readonly lab: LabContext,
    private readonly episodes: number,
  ) {
    this.hidden = trainer.config.hidden;
  }

  start(): void {
    const { lab } = this;
    // The game beside the network, how it goes, then the first layer.
    this.game(this.trainer.frame, new Float32Array(INPUT_SIZE));
    this.network();
    this.stats();
    lab.emit({
      type: "figure",
      figure: {
        kind: "line",
        id: "reward",
        title: "Reward per episode (points won − points lost), and its running mean",
        xLabel: "episode",
        yLabel: "reward",
        series: ["batch mean", "running reward", "random policy"],
        wide: true,
      },
    });
    const hint = "Click a neuron to see its weights as an image, its value for this frame and its gradient.";
    lab.onSelect("policy", (target) => this.choose("policy", target), hint);
    lab.onSelect("weights", ([j]) => this.choose("weights", [0, j!]), hint);
    this.select("policy", [1, 0]);
    this.weights();
  }

  step(step: ReturnType<PongTrainer["step"]>): void {
    this.game(step.frame, step.x);
    // The network and the selected neuron's detail together, a few times a second at full speed (the
    // detail typesets its formula: at every step it would keep the page busy).
    if (this.trainer.totalSteps % 25 === 0) this.network();
  }

  private game(frame: Uint8Array, x: Float32Array): void {
    this.lab.emit({
      type: "figure",
      figure: {
        ...gameFigure(frame, `Episode ${this.trainer.episode + 1}`),
        images: [
          { label: "the game", width: 160, height: 210, pixels: frame },
          {
            label: "x, the network's input",
            width: INPUT_SIDE,
            height: INPUT_SIDE,
            pixels: x,
            scheme: "diverging",
          },
        ],
      },
    });
  }

  episode(e: NonNullable<ReturnType<PongTrainer["step"]>["episode"]>): void {
    const { lab } = this;
    this.batchRewards.push(e.reward);
    lab.emit({
      type: "points",
      figure: "reward",
      series: "running reward",
      points: [{ x: e.episode, y: e.runningReward }],
    });
    if (e.updated) {
      const mean = this.batchRewards.reduce((a, b) => a + b, 0) / this.batchRewards.length;
      lab.emit({
        type: "points",
        figure: "reward",
        series: "batch mean",
        points: [{ x: e.episode, y: mean }],
      });
      // The random policy's line grows with the run, so the axis spans the episodes played so far.
      lab.emit({
        type: "points",
        figure: "reward",
        series: "random policy",
        points: [
          ...(e.episode === this.trainer.config.batchSize ? [{ x: 0, y: this.baseline }] : []),
          { x: e.episode, y: this.baseline },
        ],
      });
      this.batchRewards = [];
    }
    if (e.updated) this.weights();
    this.stats();
    if (e.episode % 500 === 0)
      lab.emit({
        type: "log",
        text: `episode ${e.episode}: running reward ${e.runningReward.toFixed(3)} (random policy ${this.baseline.toFixed(3)})`,
      });
  }

  end(): void {
    this.network();
    this.weights();
    this.stats();
  }

  private stats(): void {
    const t = this.trainer;
    const running = t.runningReward;
    this.lab.emit({
      type: "figure",
      figure: {
        kind: "stats",
        id: "stats",
        title: "Training",
        items: [
          { label: "episode", value: `${t.episode} / ${this.episodes}` },
          { label: "running reward", value: running === null ? "–" : running.toFixed(3) },
          {
            label: "random policy",
            value: Number.isNaN(this.baseline) ? "measuring…" : this.baseline.toFixed(3),
          },
          {
            label: "over random",
            value:
              running === null || Number.isNaN(this.baseline)
                ? "–"
                : `${running - this.baseline >= 0 ? "+" : ""}${(running - this.baseline).toFixed(3)}`,
          },
          { label: "steps", value: String(t.totalSteps) },
          { label: "updates", value: String(t.optimizer.stepCount) },
          {
            label: "W1 on the paddles",
            value: this.focus ? `${this.focus.now.toFixed(2)} (start ${this.focus.start.toFixed(2)})` : "–",
          },
        ],
      },
    });
  }

  /** The last layer as neurons: the 200 hidden units for the current frame, and P(UP). */
  private network(): void {
    const last = this.trainer.last;
    const W2 = [...this.trainer.model.W2.dataSync()];
    this.lab.emit({
      type: "figure",
      figure: {
        kind: "network",
        id: "policy",
        title: `h = relu(W1·x) → P(UP) = ${last ? last.up.toFixed(3) : "0.5"}`,
        sizes: [this.hidden, 1],
        weights: [[W2]],
        biases: [[0]],
        activations: [last ? [...last.h] : W2.map(() => 0), [last?.up ?? 0.5]],
        layerLabels: [`${this.hidden} hidden ReLU units h`, "P(UP)"],
        outputLabels: ["P(UP)"],
        caption:
          "Edges are W2 (blue pushes towards UP); neurons are filled by their activation on this frame.",
      },
    });
    this.select(this.selected.figure, this.selected.target);
  }

  /** A click: show this neuron's detail now, and with every redraw of the network. */
  private choose(figure: string, target: Target): void {
    this.selected = { figure, target };
    this.select(figure, target);
  }

  /** The first layer: each hidden unit's 6,400 weights as an 80 × 80 image, as in the blog post. */
  private weights(): void {
    const W1 = this.trainer.model.W1.dataSync().slice(); // its own buffer: sent to the page once
    const focus = paddleFocus(W1, this.hidden);
    this.focus = { start: this.focus?.start ?? focus, now: focus };
    this.lab.emit({
      type: "figure",
      figure: {
        kind: "images",
        id: "weights",
        title: `W1: what each of the ${this.hidden} hidden units looks for (after ${this.trainer.optimizer.stepCount} updates)`,
        wide: true,
        scheme: "diverging",
        scale: 0.5,
        images: Array.from({ length: this.hidden }, (_, j) => ({
          label: String(j),
          width: INPUT_SIDE,
          height: INPUT_SIDE,
          pixels: W1.subarray(j * INPUT_SIZE, (j + 1) * INPUT_SIZE),
        })),
        caption:
          "Blue: a pixel that excites the unit when it lights up in x; red: one that inhibits it. Strokes down the paddles' columns and blobs where the ball meets the agent's paddle come within a few hundred episodes at ε = 1e-2; at pg-pong's ε = 1e-5 the images stay noise far longer (see above). \"W1 on the paddles\" in the stats measures it: each unit's share of weight energy in the paddles' 4 of 80 columns, over what noise puts there (1).",
      },
    });
  }

  // #region neuron
  /** The detail of a neuron: hidden unit j = [0, j], the output = [1, 0]. */
  select(figure: string, [layer, j]: Target): void {
    const t = this.trainer;
    const last = t.last;
    const y = last?.action === UP ? 1 : 0; // the fake label: the action taken
    const up = last?.up ?? 0.5;
    const W2 = t.model.W2.dataSync();
    if (layer === 1) {
      const detail: DetailFigure = {
        kind: "detail",
        id: "neuron",
        title: "The output neuron: P(UP)",
        wide: true,
        of: { figure: "policy", target: [1, 0] },
        values: [
          { label: "logit W2·h", value: last?.logit ?? 0 },
          { label: "P(UP) = σ(logit)", value: up },
          { label: "action taken", value: last ? (last.action === UP ? "UP" : "DOWN") : "–" },
          { label: "∂ log π(a|x) / ∂ logit = y − p", value: y - up },
        ],
        vectors: [{ label: "W2: the weight of each hidden unit", values: [...W2] }],
        tex: `p = \\sigma\\Big(\\sum_j W_{2,j}\\, h_j\\Big) = \\sigma(${(last?.logit ?? 0).toFixed(3)}) = ${up.toFixed(3)}`,
        code: { file: POLICY, region: "policy", line: "const logit = h.matmul(this.W2)" },
        caption:
          "The policy gradient pushes this log-probability up for the actions of a won point and down for a lost one, scaled by the advantage.",
      };
      this.lab.emit({ type: "figure", figure: detail });
      return;
    }
    if (j === undefined || j < 0 || j >= this.hidden) throw new RangeError(`no hidden unit ${j}`);
    const weights = [...t.model.W1.select(0, j).dataSync()];
    const pre = last?.pre[j] ?? 0;
    const h = last?.h[j] ?? 0;
    const dh = (y - up) * W2[j]!; // ∂ log π(a|x) / ∂ h_j
    const values: DetailFigure["values"] = [
      { label: "pre-activation W1[j]·x", value: pre },
      { label: "activation h_j = relu", value: h },
      { label: "weight to the output W2[j]", value: W2[j]! },
      { label: "∂ log π(a|x) / ∂ h_j", value: dh },
      { label: "∂ log π(a|x) / ∂ (W1[j]·x)", value: pre > 0 ? dh : 0 },
    ];
    const vectors: DetailFigure["vectors"] = [
      { label: `W1[${j}] as 80 × 80`, values: weights, image: { width: INPUT_SIDE, height: INPUT_SIDE } },
    ];
    if (t.lastGradient) {
      const g = [...t.lastGradient.W1.subarray(j * INPUT_SIZE, (j + 1) * INPUT_SIZE)];
      values.push({ label: "‖gradient of W1[j]‖, last update", value: Math.hypot(...g) });
      vectors.push({
        label: `the last update's gradient of W1[${j}]`,
        values: g,
        image: { width: INPUT_SIDE, height: INPUT_SIDE },
      });
    }
    this.lab.emit({
      type: "figure",
      figure: {
        kind: "detail",
        id: "neuron",
        title: `Hidden unit ${j}`,
        wide: true,
        of: { figure, target: figure === "weights" ? [j] : [0, j] },
        values,
        vectors,
        tex: `h_{${j}} = \\max\\Big(0, \\sum_{i=1}^{6400} W_{1,${j}i}\\, x_i\\Big) = \\max(0, ${pre.toFixed(3)}) = ${h.toFixed(3)}`,
        code: { file: POLICY, region: "policy", line: "const pre = x.matmul(this.W1.T)" },
        caption:
          "Its weights are a picture of where in the frame it looks: it fires when the ball or a paddle moves onto its blue pixels.",
      },
    });
  }
  // #endregion
}

/** Half QUICK_PONG's opponent speed: points are won sooner, so learning shows within two minutes. */
const LESSON_OPPONENT_SPEED = 0.5;

const gameParams = {
  points: { kind: "int", label: "points per episode", default: QUICK_PONG.points, min: 1, max: 21 },
  opponentSpeed: {
    kind: "number",
    label: "opponent speed (px / frame)",
    default: LESSON_OPPONENT_SPEED,
    min: 0,
    max: 4,
    step: 0.25,
  },
  paddleHeight: {
    kind: "int",
    label: "paddle height (px)",
    default: QUICK_PONG.paddleHeight,
    min: 8,
    max: 64,
  },
} as const;

export const lesson: Lesson = {
  id: "10-pong",
  number: 10,
  title: "Pong from pixels",
  summary:
    "Policy gradients: a 200-unit network learns to play Pong from raw pixels, rewarded only for the points it wins.",
  lecture: {
    title: "Deep Reinforcement Learning: Pong from Pixels (blog post)",
    url: "https://karpathy.github.io/2016/05/31/rl/",
  },
  sections: [
    {
      id: "frames",
      title: "What the agent sees",
      cells: [
        {
          kind: "text",
          text: "The agent plays the green paddle on the right against a scripted opponent that follows the ball, a little slower than it. It sees only the screen: a 210 × 160 frame of RGB bytes, as the Atari draws it. At each step it chooses UP or DOWN; the game answers with the next frame and a reward: +1 when the agent wins a point, −1 when it loses one, 0 otherwise. An episode ends when one side has won `points` points.",
        },
        {
          kind: "text",
          text: "pg-pong.py shrinks the frame before the network sees it: crop the score and the walls, keep every second row and column of the red channel, erase the background and set everything else to 1 — 80 × 80 = 6,400 numbers. One frame does not show which way the ball goes, so the input is the **difference** of two consecutive frames: +1 where something arrived, −1 where it left.",
        },
        { kind: "code", file: POLICY, region: "prepro" },
        { kind: "code", file: THIS, region: "frames", caption: "The experiment", collapsed: true },
        {
          kind: "code",
          file: "src/rl/pong.ts",
          symbol: "export const QUICK_PONG",
          caption: "The game of this lesson",
          collapsed: true,
        },
      ],
      experiment: {
        id: "frames",
        title: "A frame and the input it becomes",
        params: {
          steps: { kind: "int", label: "steps played", default: 12, min: 1, max: 500 },
          seed: { kind: "int", label: "seed", default: 3 },
          ...gameParams,
        },
        run: framesExperiment,
      },
    },
    {
      id: "train",
      title: "Policy gradients",
      cells: [
        {
          kind: "text",
          text: "The policy is a two-layer network: 200 ReLU units look at the 6,400 pixels, and one sigmoid unit turns them into $p = P(\\text{UP} \\mid x)$. The agent **samples** its action from $p$, so it explores. There is no label saying which action was right: the only signal is the reward, often many steps later. Policy gradients turn that into a supervised problem with a fake label: pretend the action taken was the right one ($y = 1$ for UP, $0$ for DOWN), and scale the gradient of $\\log p(y \\mid x)$ by how good the outcome was.",
        },
        {
          kind: "math",
          tex: "\\nabla_\\theta\\, \\mathbb{E}[R] = \\mathbb{E}\\big[A_t\\, \\nabla_\\theta \\log \\pi_\\theta(a_t \\mid x_t)\\big], \\qquad \\frac{\\partial \\log \\pi}{\\partial\\, \\text{logit}} = y_t - p_t",
        },
        {
          kind: "text",
          text: "How good was an action? Its discounted return $R_t = \\sum_k \\gamma^k r_{t+k}$ with $\\gamma = 0.99$, restarted at every point, since in Pong a point ends a game. The returns of an episode are standardised to mean 0 and variance 1 — about half the actions are encouraged, half discouraged — and these advantages $A_t$ weigh the log-probabilities. The gradients of 10 episodes add up, then one RMSprop step (decay 0.99) changes the weights.",
        },
        { kind: "code", file: POLICY, region: "discount" },
        { kind: "code", file: POLICY, region: "policy", caption: "The policy and its loss" },
        { kind: "code", file: REINFORCE, region: "step", caption: "One step of the game", collapsed: true },
        {
          kind: "code",
          file: REINFORCE,
          region: "episode",
          caption: "The end of an episode: the gradient, and every batch an update",
          collapsed: true,
        },
        {
          kind: "text",
          text: "Watch the game, the reward climb above the random policy's, and the first layer's weights — each hidden unit's 6,400 weights drawn as an 80 × 80 image. Click a hidden unit to see its weights, its value on the current frame and its gradient. The game here is made quick to learn (first to 3 points, paddles and ball twice the Atari's size, every serve to the agent, an opponent at half a pixel a frame) and the learning rates are 30× pg-pong's for W1 and 10× for W2, so within two minutes the running reward climbs clearly above the random policy's (seed 1: +0.5 after 500 episodes) and W1's images show where the units look: strokes down the two paddles' columns and blobs where the ball meets the agent's paddle (faint at this size: click a unit to see its weights drawn larger). That takes two changes from pg-pong's RMSprop. It divides each weight's step by that weight's own running gradient size; at pg-pong's ε = 1e-5 a pixel the ball crossed once takes as big a step as one a paddle crosses at every frame, whichever way that one episode pushed it — and sooner or later the ball crosses every pixel, so W1 looks like noise for far longer. Here ε = 1e-2 is added to the gradient size before dividing: a rare, small gradient takes a small step, and the pixels with a gradient in many episodes stand out. The larger ε damps W1's steps, so W2 (200 weights with a gradient at every step) learns 3× slower than W1, or it would settle the policy before W1's features form. The stats measure the images: \"W1 on the paddles\" is the share of each unit's weight energy in the paddles' 4 of 80 columns, over what noise puts there — 1.0 at the start, about 3 after 250 episodes and 3.75 after 500 (seed 1). Set ε to 1e-5 and W2's rate to 3e-3, pg-pong's way, and the reward climbs a little faster (seed 1: +0.70 after 500 episodes) while W1 stays noise (1.24). The full 3,000 episodes take several minutes more (or `hero lesson run 10 train` in a terminal) and end near a running reward of −1.13, 1.17 above the random policy's; pg-pong's ε and one rate reach +0.15, 2.45 above it — the agent wins more points than it loses: on this quick game, damping the rare pixels costs reward in the long run. The real thing takes pg-pong.py days of CPU.",
        },
        { kind: "code", file: THIS, region: "train", caption: "The experiment", collapsed: true },
        {
          kind: "code",
          file: THIS,
          region: "neuron",
          caption: "What a click on a neuron shows",
          collapsed: true,
        },
      ],
      experiment: {
        id: "train",
        title: "Train the policy with REINFORCE",
        streaming: true,
        params: {
          episodes: { kind: "int", label: "episodes", default: 3000, min: 1, max: 1_000_000 },
          learningRate: {
            kind: "number",
            label: "learning rate of W1 (pg-pong: 1e-4)",
            default: 3e-3,
            min: 1e-6,
            max: 1,
          },
          learningRateW2: {
            kind: "number",
            label: "learning rate of W2 (pg-pong: W1's)",
            default: 1e-3,
            min: 1e-6,
            max: 1,
            help: "the output layer's rate; at ε = 1e-2 a W2 as fast as W1 (3e-3) settles the policy before W1's features form",
          },
          batchSize: { kind: "int", label: "episodes per update", default: 10, min: 1, max: 100 },
          gamma: { kind: "number", label: "discount γ", default: 0.99, min: 0, max: 1, step: 0.01 },
          eps: {
            kind: "number",
            label: "RMSprop ε (pg-pong: 1e-5)",
            default: 1e-2,
            min: 1e-8,
            max: 1,
            help: "added to each weight's running gradient size before dividing by it; 1e-2 damps the pixels the ball crossed only once, so W1 shows strokes within a few hundred episodes; at 1e-5 W1 stays noise",
          },
          hidden: { kind: "int", label: "hidden units", default: 200, min: 1, max: 1000 },
          seed: { kind: "int", label: "seed", default: 1 },
          ...gameParams,
        },
        run: trainExperiment,
      },
    },
  ],
};
