/**
 * The policy network of Karpathy's pg-pong.py and what feeds it: a Pong frame preprocessed into
 * 80 × 80 = 6,400 pixels, the difference of two consecutive ones as the input, 200 ReLU units,
 * and one sigmoid output, the probability of moving UP.
 */
import { Module, parameter } from "../nn/index.js";
import { globalRandom, type Random } from "../random/index.js";
import { cat, crossEntropy, randn, relu, sigmoid, type Tensor, zerosLike } from "../tensor/index.js";
import { FRAME_HEIGHT, FRAME_WIDTH, PADDLE_COLUMNS } from "./pong.js";

/** The input: 80 × 80 pixels. */
export const INPUT_SIDE = 80;
export const INPUT_SIZE = INPUT_SIDE * INPUT_SIDE;

// #region prepro
/**
 * pg-pong.py's prepro: "210x160x3 uint8 frame into 6400 (80x80) 1D float vector". Crop the score
 * and the walls away (rows 35 to 194), keep every second row and column of the red channel, erase
 * the two background colours and set everything else (paddles, ball) to 1.
 */
export function prepro(frame: Uint8Array): Float32Array {
  if (frame.length !== FRAME_HEIGHT * FRAME_WIDTH * 3)
    throw new RangeError(
      `prepro: expected a ${FRAME_HEIGHT} × ${FRAME_WIDTH} × 3 frame (${FRAME_HEIGHT * FRAME_WIDTH * 3} bytes), got ${frame.length}`,
    );
  const x = new Float32Array(INPUT_SIZE);
  for (let row = 0; row < INPUT_SIDE; row++) {
    for (let col = 0; col < INPUT_SIDE; col++) {
      const red = frame[((35 + 2 * row) * FRAME_WIDTH + 2 * col) * 3]!; // I = I[35:195]; I = I[::2, ::2, 0]
      x[row * INPUT_SIDE + col] = red === 144 || red === 109 ? 0 : 1; // erase background, the rest is 1
    }
  }
  return x;
}
// #endregion

// #region discount
/**
 * pg-pong.py's discount_rewards: each step's return r_t + γ r_{t+1} + γ² r_{t+2} + …, started
 * afresh at every point scored (a reward ≠ 0 is "a game boundary", Pong-specific).
 */
export function discountRewards(rewards: readonly number[], gamma: number): Float32Array {
  const discounted = new Float32Array(rewards.length);
  let runningAdd = 0;
  for (let t = rewards.length - 1; t >= 0; t--) {
    if (rewards[t] !== 0) runningAdd = 0; // reset the sum, since this was a game boundary
    runningAdd = runningAdd * gamma + rewards[t]!;
    discounted[t] = runningAdd;
  }
  return discounted;
}
// #endregion

/** Returns standardised to mean 0 and standard deviation 1, as pg-pong.py's advantages. */
export function standardize(values: Float32Array): Float32Array {
  const n = values.length;
  let mean = 0;
  for (const v of values) mean += v / n;
  let variance = 0;
  for (const v of values) variance += (v - mean) ** 2 / n;
  const std = Math.sqrt(variance);
  return values.map((v) => (std > 0 ? (v - mean) / std : 0));
}

export interface PolicyOutput {
  /** The hidden layer's pre-activations W1·x, [N, H]. */
  pre: Tensor;
  /** The hidden units relu(W1·x), [N, H]. */
  h: Tensor;
  /** The output's log-odds W2·h, [N]. */
  logit: Tensor;
  /** P(UP) = sigmoid(logit), [N]. */
  p: Tensor;
}

// #region policy
/**
 * pg-pong.py's model: W1 [H, 6400] and W2 [H], no biases, "Xavier" initialised (randn / √fan_in).
 * h = relu(W1·x), p = sigmoid(W2·h) = P(UP | x).
 */
export class PolicyNetwork extends Module {
  readonly W1: Tensor;
  readonly W2: Tensor;

  constructor(
    readonly hidden = 200,
    { generator = globalRandom }: { generator?: Random } = {},
  ) {
    super();
    this.W1 = parameter(randn([hidden, INPUT_SIZE], { generator }).div(Math.sqrt(INPUT_SIZE)));
    this.W2 = parameter(randn([hidden], { generator }).div(Math.sqrt(hidden)));
  }

  /** Frame differences x [N, 6400] → the hidden units and P(UP) of each. */
  forward(x: Tensor): PolicyOutput {
    if (x.ndim !== 2 || x.shape[1] !== INPUT_SIZE)
      throw new RangeError(`PolicyNetwork: expected inputs [N, ${INPUT_SIZE}], got [${x.shape.join(", ")}]`);
    const pre = x.matmul(this.W1.T); // [N, H]
    const h = relu(pre); // ReLU nonlinearity
    const logit = h.matmul(this.W2); // [N]: the log probability of going up
    return { pre, h, logit, p: sigmoid(logit) };
  }

  /**
   * The weights as numbers, for act(): read once after each change, not at every step of the
   * game (on wasm in a browser a step's small tensor ops cost more than the game itself).
   */
  private readout: { W1: Float32Array; W2: Float32Array } | undefined;

  /** The weights changed (an optimizer step): act() reads them again. */
  weightsChanged(): void {
    this.readout = undefined;
  }

  override loadStateDict(...args: Parameters<Module["loadStateDict"]>): void {
    super.loadStateDict(...args);
    this.weightsChanged();
  }

  /**
   * forward() for one frame difference, read back as numbers. A difference frame is almost all
   * zeros (the pixels the ball and paddles left and reached), so W1·x only needs W1's columns at
   * the pixels that changed: the same numbers, without reading all 1.28M weights at every step.
   * Call weightsChanged() after changing the weights in place.
   */
  act(x: Float32Array): { pre: Float32Array; h: Float32Array; logit: number; up: number } {
    const changed: number[] = [];
    for (let i = 0; i < x.length; i++) if (x[i] !== 0) changed.push(i);
    const pre = new Float32Array(this.hidden);
    const h = new Float32Array(this.hidden);
    if (changed.length === 0) return { pre, h, logit: 0, up: 0.5 };
    this.readout ??= {
      W1: this.W1.dataSync().slice() as Float32Array,
      W2: this.W2.dataSync().slice() as Float32Array,
    };
    const { W1, W2 } = this.readout;
    let logit = 0;
    for (let j = 0; j < this.hidden; j++) {
      const row = j * INPUT_SIZE;
      let sum = 0;
      for (const i of changed) sum += W1[row + i]! * x[i]!; // W1·x over the changed pixels
      pre[j] = sum;
      h[j] = Math.max(0, sum); // relu
      logit += h[j]! * W2[j]!;
    }
    return { pre, h, logit, up: 1 / (1 + Math.exp(-logit)) };
  }
}

/**
 * The policy-gradient loss of an episode: −Σ_t A_t · log π(a_t | x_t). Its gradient is pg-pong's
 * policy_backward: d loss / d logit_t = −A_t (y_t − p_t), with y_t = 1 for UP (the "fake label").
 * log π is a cross-entropy over the two actions' logits [0, logit], stable for any logit.
 */
export function policyLoss(logit: Tensor, up: Tensor, advantages: Tensor): Tensor {
  const logits = cat([zerosLike(logit).unsqueeze(1), logit.unsqueeze(1)], 1); // [N, 2]: DOWN, UP
  const nll = crossEntropy(logits, up, { reduction: "none" }); // −log π(a_t | x_t)
  return nll.mul(advantages).sum();
}
// #endregion

/**
 * How much W1 looks at the paddles: the share of each hidden unit's weight energy (Σ w²) that lies
 * in the input columns the two paddles move in, divided by those columns' share of the image (4 of
 * 80), averaged over the units. Noise, such as the initial weights, gives about 1; a unit whose
 * image shows strokes down the paddles' columns gives several times that.
 */
export function paddleFocus(W1: ArrayLike<number>, hidden: number): number {
  const columns = new Set<number>();
  for (const [first, end] of Object.values(PADDLE_COLUMNS))
    for (let x = first; x < end; x += 2) columns.add(x / 2); // prepro keeps every second column
  let sum = 0;
  for (let j = 0; j < hidden; j++) {
    let total = 0;
    let paddles = 0;
    for (let i = 0; i < INPUT_SIZE; i++) {
      const energy = W1[j * INPUT_SIZE + i]! ** 2;
      total += energy;
      if (columns.has(i % INPUT_SIDE)) paddles += energy;
    }
    sum += total > 0 ? paddles / total / (columns.size / INPUT_SIDE) : 0;
  }
  return sum / hidden;
}
