/**
 * REINFORCE on Pong, as Karpathy's pg-pong.py: play with the stochastic policy, remember every
 * step's input, action and reward, and at the end of each episode weigh the log-probability of
 * each action taken by its standardised discounted return; every batch of episodes, one RMSprop
 * step. The lab's lesson 10 and `hero pong train` drive the same trainer, one step at a time.
 */
import { RMSprop } from "../optim/index.js";
import { Random, type RandomState } from "../random/index.js";
import { type Tensor, tensor, tidy } from "../tensor/index.js";
import { discountRewards, INPUT_SIZE, PolicyNetwork, policyLoss, prepro, standardize } from "./policy.js";
import { DOWN, Pong, type PongAction, type PongOptions, UP } from "./pong.js";

export interface ReinforceConfig {
  /** Hidden units (pg-pong: H = 200). */
  hidden: number;
  /** Episodes per parameter update (pg-pong: batch_size = 10). */
  batchSize: number;
  /** RMSprop's learning rate (pg-pong: 1e-4), W1's when learningRateW2 is set. */
  learningRate: number;
  /**
   * W2's learning rate, when it is not W1's (pg-pong has one for both). The output layer's 200
   * weights take a gradient at every step of every episode; with a larger ε damping W1's steps,
   * a slower W2 keeps the policy from settling before W1's features form.
   */
  learningRateW2?: number;
  /** Discount factor for reward (pg-pong: 0.99). */
  gamma: number;
  /** RMSprop's decay of the squared gradients' average (pg-pong: decay_rate = 0.99). */
  decayRate: number;
  /**
   * Added to RMSprop's √(mean g²) (pg-pong: 1e-5). A larger one damps the steps of weights whose
   * gradients are small, such as the pixels the ball crossed only once (default 1e-5).
   */
  eps?: number;
  /** Seeds the initial weights, the actions' sampling and the environment. */
  seed: number;
  env: PongOptions;
}

export const PG_PONG: Omit<ReinforceConfig, "env"> = {
  hidden: 200,
  batchSize: 10,
  learningRate: 1e-4,
  gamma: 0.99,
  decayRate: 0.99,
  eps: 1e-5,
  seed: 0,
};

/** What the policy did at one step, and what the game answered. */
export interface PongStepInfo {
  /** The frame the step ended on. */
  frame: Uint8Array;
  /** The input the policy saw: the difference of the last two preprocessed frames. */
  x: Float32Array;
  /** The hidden layer's pre-activations and activations for x. */
  pre: Float32Array;
  h: Float32Array;
  logit: number;
  /** P(UP | x). */
  up: number;
  action: PongAction;
  reward: number;
  /** Set when the step ended an episode. */
  episode?: EpisodeSummary;
}

export interface EpisodeSummary {
  /** Episodes played so far, this one included. */
  episode: number;
  reward: number;
  /** pg-pong's running mean of the episode rewards (0.99 · running + 0.01 · reward). */
  runningReward: number;
  steps: number;
  /** Whether this episode ended a batch, so the weights were updated. */
  updated: boolean;
}

export interface TrainerState {
  config: ReinforceConfig;
  episode: number;
  totalSteps: number;
  runningReward: number | null;
  /** The generator of the actions (the environment restarts from its seed and episode count). */
  rng: RandomState;
  optimizer: { step: number; groups: unknown[] };
}

export class PongTrainer {
  readonly config: ReinforceConfig;
  readonly model: PolicyNetwork;
  readonly optimizer: RMSprop;
  env: Pong;
  private readonly rng: Random;
  episode = 0;
  totalSteps = 0;
  runningReward: number | null = null;
  /** The latest step, for the lab to look inside. */
  last: PongStepInfo | null = null;
  /** The gradient of the last update (the batch's sum), for the lab to show. */
  lastGradient: { W1: Float32Array; W2: Float32Array } | null = null;
  /** The frame the next step looks at. */
  private observation: Uint8Array;
  private previous: Float32Array | null = null;
  private xs: Float32Array[] = [];
  private ups: number[] = [];
  private rewards: number[] = [];
  private rewardSum = 0;

  constructor(config: Partial<ReinforceConfig> = {}) {
    this.config = { ...PG_PONG, env: {}, ...config };
    const { hidden, learningRate, learningRateW2, decayRate, eps = 1e-5, seed } = this.config;
    this.model = new PolicyNetwork(hidden, { generator: new Random(seed) });
    const { W1, W2 } = this.model;
    const params =
      learningRateW2 === undefined ? [W1, W2] : [{ params: [W1] }, { params: [W2], lr: learningRateW2 }];
    // pg-pong adds 1e-5 to √cache: RMSprop's eps; it climbs the reward, we descend its negative.
    this.optimizer = new RMSprop(params, { lr: learningRate, alpha: decayRate, eps });
    this.rng = new Random(seed + 1);
    this.env = this.newEnv();
    this.observation = this.env.reset();
  }

  /** A fresh game for the next episode, with nothing recorded yet. */
  private startEpisode(): void {
    this.xs = [];
    this.ups = [];
    this.rewards = [];
    this.rewardSum = 0;
    this.previous = null;
    this.env = this.newEnv();
    this.observation = this.env.reset();
  }

  /** Each episode's serves come from its own seed, so a resumed run plays the same games. */
  private newEnv(): Pong {
    return new Pong({ ...this.config.env, seed: (this.config.env.seed ?? this.config.seed) + this.episode });
  }

  /** The frame the next step will look at. */
  get frame(): Uint8Array {
    return this.observation;
  }

  // #region step
  /** One step of the game: look, sample an action from the policy, act; learn when the episode ends. */
  step(): PongStepInfo {
    const current = prepro(this.observation);
    const x = this.previous ? current.map((v, i) => v - this.previous![i]!) : new Float32Array(INPUT_SIZE);
    this.previous = current;
    const { pre, h, logit, up } = this.model.act(x);
    const action = this.rng.random() < up ? UP : DOWN; // roll the dice!
    this.xs.push(x);
    this.ups.push(action === UP ? 1 : 0); // a "fake label": the action taken
    const { frame, reward, done } = this.env.step(action);
    this.observation = frame;
    this.rewards.push(reward);
    this.rewardSum += reward;
    this.totalSteps++;
    const info: PongStepInfo = { frame, x, pre, h, logit, up, action, reward };
    if (done) info.episode = this.finishEpisode();
    this.last = info;
    return info;
  }
  // #endregion

  // #region episode
  /** The episode's gradient (added to the batch's), an RMSprop step every batchSize episodes. */
  private finishEpisode(): EpisodeSummary {
    this.episode++;
    const steps = this.rewards.length;
    // Standardised discounted returns: about half the actions are encouraged, half discouraged.
    const advantages = standardize(discountRewards(this.rewards, this.config.gamma));
    tidy(() => {
      const epx = tensor(concat(this.xs), { shape: [steps, INPUT_SIZE] });
      const { logit } = this.model.forward(epx);
      const loss = policyLoss(logit, tensor(this.ups, { dtype: "int32" }), tensor(advantages));
      loss.backward(); // the gradients add up over the batch's episodes (pg-pong's grad_buffer)
    });
    const updated = this.episode % this.config.batchSize === 0;
    if (updated) {
      const [W1, W2] = [this.model.W1.grad!, this.model.W2.grad!];
      this.lastGradient = {
        W1: W1.dataSync().slice() as Float32Array,
        W2: W2.dataSync().slice() as Float32Array,
      };
      this.optimizer.step();
      this.model.weightsChanged();
      this.optimizer.zeroGrad();
    }
    const reward = this.rewardSum;
    this.runningReward = this.runningReward === null ? reward : this.runningReward * 0.99 + reward * 0.01;
    this.startEpisode();
    return { episode: this.episode, reward, runningReward: this.runningReward, steps, updated };
  }
  // #endregion

  /** Everything a checkpoint holds: weights, RMSprop's averages by parameter index, the JSON state. */
  checkpointContents(): {
    weights: Map<string, Tensor>;
    optimizer: Map<string, Tensor>;
    state: TrainerState;
  } {
    const sd = this.optimizer.stateDict();
    const optimizer = new Map<string, Tensor>();
    for (const [i, s] of Object.entries(sd.state))
      for (const [k, t] of Object.entries(s)) optimizer.set(`${i}.${k}`, t);
    return {
      weights: new Map(this.model.namedParameters()),
      optimizer,
      state: {
        config: this.config,
        episode: this.episode,
        totalSteps: this.totalSteps,
        runningReward: this.runningReward,
        rng: this.rng.getState(),
        optimizer: { step: sd.step, groups: sd.groups },
      },
    };
  }

  /**
   * Continue from checkpointContents() (saved between batches: a checkpoint holds no half-played
   * episode nor a partial batch gradient).
   */
  restore(
    weights: Map<string, Tensor>,
    optimizer: Map<string, Tensor> | undefined,
    state: TrainerState,
  ): void {
    this.model.loadStateDict(weights);
    const byIndex: Record<string, Record<string, Tensor>> = {};
    for (const [key, t] of optimizer ?? []) {
      const dot = key.indexOf(".");
      byIndex[key.slice(0, dot)] ??= {};
      byIndex[key.slice(0, dot)]![key.slice(dot + 1)] = t;
    }
    this.optimizer.loadStateDict({
      step: state.optimizer.step,
      groups: state.optimizer.groups as never,
      state: byIndex,
    });
    this.rng.setState(state.rng);
    this.episode = state.episode;
    this.totalSteps = state.totalSteps;
    this.runningReward = state.runningReward;
    this.startEpisode();
  }
}

function concat(rows: Float32Array[]): Float32Array {
  const out = new Float32Array(rows.length * INPUT_SIZE);
  rows.forEach((row, i) => {
    out.set(row, i * INPUT_SIZE);
  });
  return out;
}

/**
 * The baseline: the mean episode reward of a policy that moves UP or DOWN at random (P(UP) = ½),
 * over `episodes` games seeded as a trainer's with the same seed would play them.
 */
export function randomPolicyReward(env: PongOptions, episodes: number, seed = 0): number {
  let total = 0;
  for (const reward of randomPolicyEpisodes(env, episodes, seed)) total += reward;
  return total / episodes;
}

/** The random policy's reward in each of those games, one at a time (a caller may pause between them). */
export function* randomPolicyEpisodes(env: PongOptions, episodes: number, seed = 0): Generator<number> {
  const coin = new Random(seed + 1);
  for (let e = 0; e < episodes; e++) {
    const game = new Pong({ ...env, seed: (env.seed ?? seed) + e });
    game.reset();
    let total = 0;
    for (;;) {
      const { reward, done } = game.step(coin.random() < 0.5 ? UP : DOWN);
      total += reward;
      if (done) break;
    }
    yield total;
  }
}
