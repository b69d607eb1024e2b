/**
 * `hero pong train`: lesson 10's policy gradients (pg-pong.py) in the terminal, with checkpoints
 * written atomically every few batches and `--resume`; `hero pong play`: a trained policy's
 * games next to a random policy's.
 */
import { appendFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from "../../io/checkpoint.js";
import { CheckpointError } from "../../io/errors.js";
import { Random } from "../../random/index.js";
import {
  DOWN,
  Pong,
  type PongOptions,
  PongTrainer,
  prepro,
  QUICK_PONG,
  type ReinforceConfig,
  randomPolicyReward,
  type TrainerState,
  UP,
} from "../../rl/index.js";
import { useBackend } from "../backend-option.js";
import { Interrupted, stopNote, stoppable } from "../lifecycle.js";
import { nonNegativeNumberOption, positiveIntOption, positiveNumberOption, rangeOption } from "../options.js";
import { startProgress } from "../progress.js";
import { claimOutputFolder } from "../run-folder.js";

interface TrainOptions {
  out: string;
  episodes: number;
  resume?: boolean;
  overwrite?: boolean;
  saveEvery: number;
  lr: number;
  batchSize: number;
  gamma: number;
  hidden: number;
  seed: number;
  points?: number;
  opponentSpeed?: number;
  paddleHeight?: number;
  atari?: boolean;
  backend?: string;
}

/** The game: lesson 10's quick Pong, or ATARI-like Pong (21 points, Atari sizes), with overrides. */
function gameOptions(
  opts: Pick<TrainOptions, "points" | "opponentSpeed" | "paddleHeight" | "atari">,
): PongOptions {
  const base: PongOptions = opts.atari ? {} : { ...QUICK_PONG };
  if (opts.points !== undefined) base.points = opts.points;
  if (opts.opponentSpeed !== undefined) base.opponentSpeed = opts.opponentSpeed;
  if (opts.paddleHeight !== undefined) base.paddleHeight = opts.paddleHeight;
  return base;
}

/** Train for `episodes` in all (a resumed run counts the episodes it already played). */
export async function trainPong(opts: TrainOptions): Promise<PongTrainer> {
  if (!opts.resume && opts.saveEvery % opts.batchSize !== 0)
    throw saveEveryError(opts.saveEvery, opts.batchSize);
  const out = claimOutputFolder(opts.out, {
    resume: opts.resume === true,
    overwrite: opts.overwrite === true,
    resumable: true,
    log: (line) => console.log(line),
  });
  let trainer: PongTrainer;
  if (opts.resume) {
    if (!hasCheckpoint(out)) throw new Error(`--resume: no checkpoint in ${out}`);
    const ck = loadCheckpoint(out, "last", { optimizer: "required" });
    const state = ck.state as unknown as TrainerState;
    trainer = new PongTrainer(state.config);
    try {
      trainer.restore(ck.weights, ck.optimizer, state);
    } catch (error) {
      if (error instanceof RangeError) throw new CheckpointError(join(ck.path, "state.json"), error.message);
      throw error;
    }
    console.log(`resumed ${out} at episode ${trainer.episode}`);
  } else {
    const config: ReinforceConfig = {
      hidden: opts.hidden,
      batchSize: opts.batchSize,
      learningRate: opts.lr,
      gamma: opts.gamma,
      decayRate: 0.99,
      seed: opts.seed,
      env: gameOptions(opts),
    };
    trainer = new PongTrainer(config);
  }
  const { batchSize } = trainer.config;
  if (opts.saveEvery % batchSize !== 0) throw saveEveryError(opts.saveEvery, batchSize);
  const baseline = randomPolicyReward(trainer.config.env, 200, trainer.config.seed);
  console.log(`random policy: ${baseline.toFixed(3)} reward per episode (200 episodes of the same games)`);
  const metrics = join(out, "metrics.jsonl");
  const progress = startProgress("pong", opts.episodes);
  progress.update(trainer.episode);
  // Ctrl-C ends the run between episodes; the checkpoints written so far are what is kept.
  const stopped = await stoppable(async (stop) => {
    while (trainer.episode < opts.episodes) {
      if (stop.requested) return stop.requested;
      const { episode } = trainer.step();
      if (!episode) continue;
      appendFileSync(metrics, `${JSON.stringify({ type: "episode", ...episode })}\n`);
      progress.update(episode.episode, { running: episode.runningReward, reward: episode.reward });
      if (episode.updated && (episode.episode % opts.saveEvery === 0 || episode.episode >= opts.episodes)) {
        const path = saveCheckpoint(out, trainer.checkpointContents() as never);
        progress.log(
          `episode ${episode.episode}: running reward ${episode.runningReward.toFixed(3)}, saved ${path}`,
        );
      }
      // Let signals and the progress bar through now and then.
      if (episode.episode % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    return null;
  }).finally(() => progress.stop());
  if (stopped) {
    console.error(
      stopNote(stopped, `episode ${trainer.episode}`, "--resume continues from the last checkpoint"),
    );
    throw new Interrupted(stopped);
  }
  const running = trainer.runningReward ?? 0;
  console.log(
    `episode ${trainer.episode}: running reward ${running.toFixed(3)}, random policy ${baseline.toFixed(3)}, over random ${(running - baseline).toFixed(3)}`,
  );
  return trainer;
}

function saveEveryError(saveEvery: number, batchSize: number): RangeError {
  return new RangeError(
    `--save-every ${saveEvery} is not a multiple of the batch size ${batchSize}: checkpoints are written between updates`,
  );
}

/** Mean reward of a policy over `episodes` games, sampling its actions as in training. */
function playPolicy(trainer: PongTrainer, episodes: number, seed: number): number {
  const coin = new Random(seed + 1);
  let total = 0;
  for (let e = 0; e < episodes; e++) {
    const env = new Pong({ ...trainer.config.env, seed: seed + e });
    let frame = env.reset();
    let previous: Float32Array | null = null;
    for (;;) {
      const current = prepro(frame);
      const x = previous ? current.map((v, i) => v - previous![i]!) : new Float32Array(current.length);
      previous = current;
      const { up } = trainer.model.act(x);
      const step = env.step(coin.random() < up ? UP : DOWN);
      frame = step.frame;
      total += step.reward;
      if (step.done) break;
    }
  }
  return total / episodes;
}

export function registerPong(program: Command): void {
  const pong = program
    .command("pong")
    .description("lesson 10: a policy network learns Pong from pixels with policy gradients (pg-pong.py)");

  pong
    .command("train")
    .description("train the policy with REINFORCE and RMSprop, writing checkpoints as it goes")
    .option("--out <dir>", "checkpoint directory", "out/pong")
    .option(
      "--episodes <n>",
      "episodes to play in all (a resumed run counts those it played)",
      positiveIntOption,
      3000,
    )
    .option("--resume", "continue from the last checkpoint in --out")
    .option("--overwrite", "start afresh in --out, moving the run it holds aside to <out>.old-<time>")
    .option(
      "--save-every <n>",
      "write a checkpoint every n episodes (a multiple of the batch size)",
      positiveIntOption,
      100,
    )
    .option("--lr <x>", "RMSprop learning rate (pg-pong.py: 1e-4)", positiveNumberOption, 1e-3)
    .option("--batch-size <n>", "episodes per update", positiveIntOption, 10)
    .option("--gamma <x>", "discount factor", rangeOption({ min: 0, max: 1 }), 0.99)
    .option("--hidden <n>", "hidden units", positiveIntOption, 200)
    .option("--seed <n>", "seed of the weights, the actions and the games", positiveIntOption, 1)
    .option("--points <n>", "points that end an episode (default 3; with --atari 21)", positiveIntOption)
    .option("--opponent-speed <x>", "the opponent's top speed in pixels per frame", nonNegativeNumberOption)
    .option("--paddle-height <n>", "the paddles' height in pixels", positiveIntOption)
    .option(
      "--atari",
      "ATARI-like Pong (Atari sizes, random serves, first to 21) instead of lesson 10's quick one",
    )
    .option("--backend <name>", "tensor backend: js or wasm (default: HERO_BACKEND, else wasm)")
    .action(async (opts: TrainOptions) => {
      useBackend(opts.backend);
      await trainPong(opts);
    });

  pong
    .command("play")
    .description("play a trained policy (its last checkpoint) and a random one on the same games")
    .requiredOption("--checkpoint <dir>", "a directory written by hero pong train")
    .option("--episodes <n>", "games to play", positiveIntOption, 100)
    .option("--seed <n>", "seed of the games and the actions", positiveIntOption, 12345)
    .option("--backend <name>", "tensor backend: js or wasm (default: HERO_BACKEND, else wasm)")
    .action((opts: { checkpoint: string; episodes: number; seed: number; backend?: string }) => {
      useBackend(opts.backend);
      const ck = loadCheckpoint(resolve(opts.checkpoint), "last");
      const state = ck.state as unknown as TrainerState;
      const trainer = new PongTrainer(state.config);
      trainer.restore(ck.weights, ck.optimizer, state);
      const trained = playPolicy(trainer, opts.episodes, opts.seed);
      const random = randomPolicyReward(state.config.env, opts.episodes, opts.seed);
      console.log(
        `after ${state.episode} episodes of training: ${trained.toFixed(3)} reward per episode over ${opts.episodes} games; random policy ${random.toFixed(3)}`,
      );
    });
}
