/**
 * Lesson 10's engine part: the Pong environment, pg-pong.py's preprocessing, discounted rewards
 * and policy gradient (checked against pg-pong's hand-written policy_backward), RMSprop, the
 * trainer's checkpoints, and — the lesson's claim — that `hero lesson run 10 train` learns: its
 * running reward ends well above a random policy's on the same games.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadCheckpoint, saveCheckpoint } from "../src/io/checkpoint.js";
import { parameter } from "../src/nn/index.js";
import { RMSprop } from "../src/optim/index.js";
import { Random } from "../src/random/index.js";
import {
  COLORS,
  DOWN,
  discountRewards,
  FRAME_HEIGHT,
  FRAME_WIDTH,
  INPUT_SIZE,
  PolicyNetwork,
  Pong,
  PongTrainer,
  paddleFocus,
  policyLoss,
  prepro,
  QUICK_PONG,
  type ReinforceConfig,
  randomPolicyReward,
  standardize,
  type TrainerState,
  UP,
} from "../src/rl/index.js";
import { randn, tensor } from "../src/tensor/index.js";
import { close, repoRoot } from "./helpers.js";

const hero = (...args: string[]) =>
  execFileSync(process.execPath, [join(repoRoot, "dist", "src", "cli", "main.js"), ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });

/** Play a game to its end with a policy of coin flips; every frame and reward. */
function play(env: Pong, seed: number): { frames: Uint8Array[]; rewards: number[] } {
  const coin = new Random(seed);
  const frames = [env.reset()];
  const rewards: number[] = [];
  for (;;) {
    const step = env.step(coin.random() < 0.5 ? UP : DOWN);
    frames.push(step.frame);
    rewards.push(step.reward);
    if (step.done) return { frames, rewards };
  }
}

test("Pong: Atari frames, a point is ±1, the episode ends at `points`, the same seed plays the same game", () => {
  const env = new Pong({ ...QUICK_PONG, seed: 5 });
  const { frames, rewards } = play(env, 1);
  for (const f of frames) assert.equal(f.length, FRAME_HEIGHT * FRAME_WIDTH * 3);
  // The playfield's background, the walls and the agent's green paddle are where the Atari has them.
  const pixel = (f: Uint8Array, row: number, col: number) => [
    ...f.subarray((row * 160 + col) * 3, (row * 160 + col) * 3 + 3),
  ];
  assert.deepEqual(pixel(frames[0]!, 100, 80), [...COLORS.background]);
  assert.deepEqual(pixel(frames[0]!, 30, 5), [...COLORS.wall]);
  const middle = Math.round((34 + 194 - QUICK_PONG.paddleHeight) / 2);
  assert.deepEqual(pixel(frames[0]!, middle + 1, 141), [...COLORS.agent]);
  // Points only: +1 or −1, and the episode ends when one side has 3.
  assert.ok(rewards.every((r) => r === 0 || r === 1 || r === -1));
  const won = rewards.filter((r) => r === 1).length;
  const lost = rewards.filter((r) => r === -1).length;
  assert.equal(Math.max(won, lost), QUICK_PONG.points);
  assert.deepEqual(env.score, { agent: won, opponent: lost });
  assert.throws(() => env.step(UP), /episode is over/);
  // Deterministic: the same seeds give the same frames.
  const again = play(new Pong({ ...QUICK_PONG, seed: 5 }), 1);
  assert.deepEqual(again.rewards, rewards);
  assert.deepEqual(again.frames.at(-1), frames.at(-1));
  // Another serve seed, another game.
  assert.notDeepEqual(play(new Pong({ ...QUICK_PONG, seed: 6 }), 1).rewards, rewards);
  // Bad input is named.
  assert.throws(
    () => new Pong().reset() && new Pong().step(1),
    /action must be UP \(2\) or DOWN \(3\), got 1/,
  );
  assert.throws(() => new Pong({ points: 0 }), /points must be an integer from 1/);
  assert.throws(() => new Pong({ serve: "left" as never }), /serve must be "random" or "agent"/);
});

test("prepro is pg-pong.py's: crop, every second pixel of the red channel, background 0, the rest 1", () => {
  const env = new Pong({ ...QUICK_PONG, seed: 2 });
  const frame = env.reset();
  const x = prepro(frame);
  assert.equal(x.length, INPUT_SIZE);
  // What pg-pong computes, written out: I[35:195][::2, ::2, 0], 144 and 109 erased, the rest set to 1.
  let ones = 0;
  for (let r = 35; r < 195; r += 2)
    for (let c = 0; c < 160; c += 2) {
      const red = frame[(r * 160 + c) * 3]!;
      const expected = red === 144 || red === 109 ? 0 : 1;
      assert.equal(x[((r - 35) / 2) * 80 + c / 2], expected);
      ones += expected;
    }
  // Two paddles of 32 rows (16 kept) × 4 columns (2 kept) and a 4 × 8 ball (2 × 4 kept).
  assert.equal(ones, 2 * 16 * 2 + 2 * 4);
  assert.throws(() => prepro(new Uint8Array(10)), /expected a 210 × 160 × 3 frame \(100800 bytes\), got 10/);
});

test("discounted rewards restart at every point; advantages are standardised", () => {
  const r = discountRewards([0, 0, 1, 0, -1], 0.5);
  assert.deepEqual([...r], [0.25, 0.5, 1, -0.5, -1]);
  const a = standardize(new Float32Array([1, 2, 3, 4]));
  assert.ok(
    close(
      a.reduce((s, v) => s + v, 0),
      0,
      1e-6,
      0,
    ),
  );
  assert.ok(close(Math.sqrt(a.reduce((s, v) => s + v * v, 0) / 4), 1, 1e-6, 0));
  assert.deepEqual([...standardize(new Float32Array([2, 2]))], [0, 0]);
});

test("the policy gradient is pg-pong.py's policy_backward, and act() is forward() on one frame", () => {
  const model = new PolicyNetwork(6, { generator: new Random(3) });
  const rng = new Random(4);
  const N = 5;
  const xs = Array.from({ length: N }, () =>
    Float32Array.from({ length: INPUT_SIZE }, () => (rng.random() < 0.01 ? rng.choice([-1, 1]) : 0)),
  );
  const ups = [1, 0, 0, 1, 1];
  const adv = [0.5, -1.2, 0.3, 1.1, -0.7];
  const X = tensor(Float32Array.from(xs.flatMap((x) => [...x])), { shape: [N, INPUT_SIZE] });
  const { h, logit, p } = model.forward(X);
  policyLoss(logit, tensor(ups, { dtype: "int32" }), tensor(adv)).backward();
  // pg-pong: epdlogp = (y − p)·A; dW2 = ephᵀ·epdlogp; dh = outer(epdlogp, W2), 0 where h ≤ 0; dW1 = dhᵀ·epx.
  const H = model.hidden;
  const hv = h.tolist() as number[][];
  const pv = p.tolist() as number[];
  const W2 = model.W2.tolist() as number[];
  const dlogp = pv.map((pi, t) => (ups[t]! - pi) * adv[t]!);
  const dW2 = W2.map((_, j) => hv.reduce((s, row, t) => s + row[j]! * dlogp[t]!, 0));
  const dW1 = Array.from({ length: H }, (_, j) =>
    Array.from({ length: INPUT_SIZE }, (_, i) =>
      xs.reduce((s, x, t) => s + (hv[t]![j]! > 0 ? dlogp[t]! * W2[j]! : 0) * x[i]!, 0),
    ),
  );
  // pg-pong climbs the reward with its gradient; the loss we descend is its negative.
  const ourW2 = model.W2.grad!.tolist() as number[];
  for (const [j, g] of dW2.entries()) assert.ok(close(-ourW2[j]!, g, 1e-6, 1e-4), `dW2[${j}]`);
  const ourW1 = model.W1.grad!.tolist() as number[][];
  for (let j = 0; j < H; j++)
    for (let i = 0; i < INPUT_SIZE; i += 37)
      assert.ok(close(-ourW1[j]![i]!, dW1[j]![i]!, 1e-6, 1e-4), `dW1[${j}, ${i}]`);
  // The sparse step forward gives forward()'s numbers.
  const one = model.act(xs[0]!);
  assert.ok(close(one.up, pv[0]!, 1e-6, 1e-5));
  assert.deepEqual(
    [...one.h].map((v) => v.toFixed(5)),
    hv[0]!.map((v) => v.toFixed(5)),
  );
  assert.deepEqual(model.act(new Float32Array(INPUT_SIZE)).up, 0.5);
  assert.throws(
    () => model.forward(tensor([1, 2, 3], { shape: [1, 3] })),
    /expected inputs \[N, 6400\], got \[1, 3\]/,
  );
});

test("RMSprop: v ← αv + (1−α)g², p −= lr·g/(√v + ε), as torch.optim.RMSprop", () => {
  const w = parameter(tensor([1, -2]));
  const opt = new RMSprop([w], { lr: 0.1, alpha: 0.9, eps: 1e-5 });
  const v = [0, 0];
  const p = [1, -2];
  for (const g of [
    [0.5, -1],
    [0.2, 0.3],
  ]) {
    w.grad = tensor(g);
    opt.step();
    g.forEach((gi, i) => {
      v[i] = 0.9 * v[i]! + 0.1 * gi * gi;
      p[i] = p[i]! - (0.1 * gi) / (Math.sqrt(v[i]!) + 1e-5);
    });
  }
  const got = w.tolist() as number[];
  p.forEach((pi, i) => {
    assert.ok(close(got[i]!, pi, 1e-6, 1e-5), `${got[i]} vs ${pi}`);
  });
});

test("the trainer's RMSprop ε is pg-pong's 1e-5 unless set; a larger one takes smaller steps on small gradients", () => {
  const config = { hidden: 4, batchSize: 1, learningRate: 1e-2, seed: 3, env: QUICK_PONG };
  const pg = new PongTrainer(config);
  const damped = new PongTrainer({ ...config, eps: 1 });
  assert.equal(pg.optimizer.paramGroups[0]!.hyper.eps, 1e-5);
  assert.equal(damped.optimizer.paramGroups[0]!.hyper.eps, 1);
  const moved = (t: PongTrainer) => {
    const before = Float32Array.from(t.model.W1.dataSync());
    while (t.episode < 1) t.step();
    const after = Float32Array.from(t.model.W1.dataSync());
    return before.reduce((sum, w, i) => sum + Math.abs(after[i]! - w), 0);
  };
  // The same game and gradient (same seed, same weights): only the step sizes differ.
  assert.ok(moved(damped) < moved(pg) / 5);
});

test("paddleFocus: 1 for noise, high for weights in the paddles' columns", () => {
  const noise = randn([3, INPUT_SIZE], { generator: new Random(4) }).dataSync();
  assert.ok(Math.abs(paddleFocus(noise, 3) - 1) < 0.15, String(paddleFocus(noise, 3)));
  const strokes = new Float32Array(INPUT_SIZE);
  for (let row = 0; row < 80; row++) for (const col of [8, 9, 70, 71]) strokes[row * 80 + col] = 1;
  assert.equal(paddleFocus(strokes, 1), 20); // all the energy in 4 of 80 columns
});

// W1's images at the lesson's training settings (ε = 1e-2, W2 at a third of W1's rate) show the
// paddles within 100 episodes, here with 20 hidden units to keep the test quick; pg-pong's ε
// and one rate for both layers leave them near noise. Measured 3.41 and 1.57 when written.
test("W1 looks at the paddles within 100 episodes at ε = 1e-2, not at pg-pong's ε = 1e-5", () => {
  const env = { ...QUICK_PONG, opponentSpeed: 0.5 };
  const lesson = { hidden: 20, batchSize: 10, learningRate: 3e-3, seed: 1, env };
  const focusAfter = (config: Partial<ReinforceConfig>) => {
    const trainer = new PongTrainer(config);
    const start = paddleFocus(trainer.model.W1.dataSync(), 20);
    while (trainer.episode < 100) trainer.step();
    return { start, end: paddleFocus(trainer.model.W1.dataSync(), 20) };
  };
  const damped = focusAfter({ ...lesson, eps: 1e-2, learningRateW2: 1e-3 });
  assert.ok(damped.start < 1.2, `at the start: ${damped.start}`);
  assert.ok(damped.end > 2.5, `after 100 episodes at ε = 1e-2: ${damped.end}`);
  const pg = focusAfter({ ...lesson, eps: 1e-5 });
  assert.ok(pg.end < 2, `after 100 episodes at ε = 1e-5: ${pg.end}`);
});

test("a checkpoint between batches resumes the same run: same weights, same running reward", () => {
  const config = {
    hidden: 8,
    batchSize: 2,
    learningRate: 1e-3,
    learningRateW2: 3e-4,
    seed: 9,
    env: QUICK_PONG,
  };
  const straight = new PongTrainer(config);
  while (straight.episode < 6) straight.step();
  const first = new PongTrainer(config);
  while (first.episode < 4) first.step();
  const dir = mkdtempSync(join(tmpdir(), "herograd-pong-"));
  try {
    saveCheckpoint(dir, first.checkpointContents() as never);
    const ck = loadCheckpoint(dir);
    const resumed = new PongTrainer((ck.state as unknown as TrainerState).config);
    resumed.restore(ck.weights, ck.optimizer, ck.state as unknown as TrainerState);
    while (resumed.episode < 6) resumed.step();
    assert.equal(resumed.totalSteps, straight.totalSteps);
    assert.equal(resumed.runningReward, straight.runningReward);
    assert.deepEqual(resumed.model.W1.tolist(), straight.model.W1.tolist());
    assert.deepEqual(resumed.model.W2.tolist(), straight.model.W2.tolist());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("`hero pong train` writes checkpoints and resumes; `hero pong play` plays the trained policy", {
  timeout: 120_000,
}, () => {
  const out = mkdtempSync(join(tmpdir(), "herograd-pong-cli-"));
  try {
    const first = hero(
      "pong",
      "train",
      "--out",
      out,
      "--episodes",
      "10",
      "--save-every",
      "10",
      "--hidden",
      "16",
    );
    assert.match(first, /random policy: -?\d\.\d{3} reward per episode/);
    assert.match(first, /episode 10: running reward -?\d\.\d{3}/);
    const resumed = hero("pong", "train", "--out", out, "--episodes", "20", "--save-every", "10", "--resume");
    assert.match(resumed, /resumed .* at episode 10/);
    assert.match(resumed, /episode 20: running reward/);
    const episodes = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n");
    assert.equal(episodes.length, 20);
    assert.match(
      hero("pong", "play", "--checkpoint", out, "--episodes", "5"),
      /after 20 episodes of training: -?\d\.\d{3} reward per episode over 5 games; random policy/,
    );
    assert.throws(
      () => hero("pong", "train", "--out", out, "--save-every", "15"),
      /not a multiple of the batch size 10/,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

// The lesson's claim at its defaults, in a seeded run of well under a minute on an idle 2-core
// machine: the quick Pong (first to 3 points, paddles 32 px, ball 4 × 8 px, serves to the agent)
// with the lesson's opponent at 0.5 px a frame, the 200-unit policy, batches of 10 episodes,
// RMSprop with ε = 1e-2 at 3e-3 for W1 and 1e-3 for W2, γ = 0.99, seed 1. After 500 episodes the
// running reward is at least MARGIN above the random policy's mean on the same games (−2.30 here,
// when losing every point would be −3; +0.50 when this was written: the margin leaves room for a
// last-bit change in a kernel, which moves a seeded run), and W1's images show the
// paddles: paddleFocus FOCUS or more (1.0 at the start, 3.77 when this was written).
const EPISODES = 500;
const MARGIN = 0.4;
const FOCUS = 3;

test(`\`hero lesson run 10 train --set episodes=${EPISODES}\` beats a random policy by ${MARGIN}`, {
  timeout: 600_000,
}, () => {
  const out = mkdtempSync(join(tmpdir(), "herograd-lesson-10-"));
  try {
    const run = hero("lesson", "run", "10", "train", "--set", `episodes=${EPISODES}`, "--out", out);
    const stats = /episode (\d+) \/ \d+, running reward (-?\d+\.\d+), random policy (-?\d+\.\d+)/.exec(run);
    assert.ok(stats, run);
    const [, episodes, running, random] = stats;
    assert.equal(Number(episodes), EPISODES);
    assert.ok(
      Number(running) - Number(random) >= MARGIN,
      `running reward ${running} against the random policy's ${random}: ${(Number(running) - Number(random)).toFixed(3)} < ${MARGIN}`,
    );
    const focus = /W1 on the paddles (\d+\.\d+) \(start (\d+\.\d+)\)/.exec(run);
    assert.ok(focus, run);
    assert.ok(Number(focus[2]) < 1.2 && Number(focus[1]) >= FOCUS, `W1 on the paddles: ${focus[0]}`);
    // The log line every 100 episodes, and the figures as files.
    assert.match(run, new RegExp(`episode ${EPISODES}: running reward -?\\d\\.\\d{3} \\(random policy`));
    assert.match(readFileSync(join(out, "10-pong", "train-reward.svg"), "utf8"), /<svg/);
    assert.deepEqual(
      [...readFileSync(join(out, "10-pong", "train-weights.png")).subarray(1, 4)],
      [0x50, 0x4e, 0x47],
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("randomPolicyReward: coin flips lose most points of the quick Pong", () => {
  const r = randomPolicyReward(QUICK_PONG, 40, 1);
  assert.ok(r > -3 && r < -1.5, String(r));
});
