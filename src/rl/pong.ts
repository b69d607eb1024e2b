/**
 * Pong, written for lesson 10 ("Deep Reinforcement Learning: Pong from Pixels"). Karpathy's
 * pg-pong.py plays ATARI Pong through OpenAI Gym; this is a faithful, simple Pong with the same
 * interface: reset() gives the first frame, step(action) gives the next frame, a reward (+1 when
 * the agent wins a point, -1 when it loses one, else 0) and whether the episode is over.
 *
 * Frames are Atari-shaped (210 × 160 RGB, the same colours and layout: the score at the top, the
 * playfield between two walls, the scripted opponent's paddle on the left, the agent's on the
 * right), so pg-pong's preprocessing applies as written (see prepro in policy.ts). Everything is
 * deterministic under a seed: the only randomness is the serve.
 */
import { Random } from "../random/index.js";

/** Gym's action numbers for Pong, as pg-pong.py uses them. */
export const UP = 2;
export const DOWN = 3;
export type PongAction = typeof UP | typeof DOWN;

export const FRAME_HEIGHT = 210;
export const FRAME_WIDTH = 160;

/** Atari Pong's palette (RGB). The background's red channel, 144, is what prepro erases. */
export const COLORS = {
  background: [144, 72, 17],
  wall: [236, 236, 236],
  ball: [236, 236, 236],
  opponent: [213, 130, 74],
  agent: [92, 186, 92],
} as const;

/** The playfield's rows (between the walls) and the paddles' columns, in frame pixels. */
const TOP = 34;
const BOTTOM = 194;
const PADDLE_WIDTH = 4;
const OPPONENT_X = 16;
const AGENT_X = 140;
/** The frame columns the two paddles move up and down in: [first, end). */
export const PADDLE_COLUMNS = {
  opponent: [OPPONENT_X, OPPONENT_X + PADDLE_WIDTH],
  agent: [AGENT_X, AGENT_X + PADDLE_WIDTH],
} as const;
/** How fast things move, in pixels per frame. */
const BALL_SPEED_X = 2;
const MAX_BALL_SPEED_Y = 3;
const AGENT_SPEED = 3;

export interface PongOptions {
  /** Points that end an episode: the first side to reach it wins (ATARI Pong: 21). */
  points?: number;
  /** Frames each action is held for: one step() is this many frames (gym's frameskip). */
  frameSkip?: number;
  /** The scripted opponent's top speed in pixels per frame: below the ball's it can be beaten. */
  opponentSpeed?: number;
  /** The paddles' height in pixels (ATARI Pong: 16): taller is easier to hit the ball with. */
  paddleHeight?: number;
  /**
   * The ball's width in pixels (ATARI Pong: 2); it is twice as tall, so that it looks square on
   * the Atari's wide pixels and survives prepro's downsampling as a block.
   */
  ballWidth?: number;
  /** Who gets the serves: "random" (either side, as ATARI Pong) or "agent" (always the agent). */
  serve?: "random" | "agent";
  /** Seed of the serves. */
  seed?: number;
}

/**
 * The Pong lesson 10 trains on, so that learning shows within minutes on a laptop's CPU: short
 * episodes (first to 3 points), paddles and ball twice the Atari's size, every serve to the
 * agent and an opponent slower than the ball. pg-pong.py's ATARI Pong is `new Pong()`.
 */
export const QUICK_PONG: Required<Omit<PongOptions, "seed">> = {
  points: 3,
  frameSkip: 4,
  opponentSpeed: 1,
  paddleHeight: 32,
  ballWidth: 4,
  serve: "agent",
};

export interface PongStep {
  /** The frame after the step: FRAME_HEIGHT × FRAME_WIDTH × 3 bytes, row by row. */
  frame: Uint8Array;
  reward: number;
  done: boolean;
}

export interface PongScore {
  agent: number;
  opponent: number;
}

export class Pong {
  readonly points: number;
  readonly frameSkip: number;
  readonly opponentSpeed: number;
  readonly paddleHeight: number;
  readonly ballWidth: number;
  readonly ballHeight: number;
  readonly serveTo: "random" | "agent";
  private readonly random: Random;
  score: PongScore = { agent: 0, opponent: 0 };
  /** Frames since reset. */
  frames = 0;
  /** Where the ball and the paddles are (frame pixels, top-left corners) and how the ball moves. */
  ballX = 0;
  ballY = 0;
  ballVX = 0;
  ballVY = 0;
  agentY = 0;
  opponentY = 0;

  constructor({
    points = 21,
    frameSkip = 4,
    opponentSpeed = 2,
    paddleHeight = 16,
    ballWidth = 2,
    serve = "random",
    seed = 0,
  }: PongOptions = {}) {
    const whole = (name: string, value: number, min: number, max: number) => {
      if (!Number.isInteger(value) || value < min || value > max)
        throw new RangeError(`Pong: ${name} must be an integer from ${min} to ${max}, got ${value}`);
    };
    whole("points", points, 1, 99);
    whole("frameSkip", frameSkip, 1, 16);
    whole("paddleHeight", paddleHeight, 2, BOTTOM - TOP);
    whole("ballWidth", ballWidth, 1, 16);
    if (!(opponentSpeed >= 0)) throw new RangeError(`Pong: opponentSpeed must be >= 0, got ${opponentSpeed}`);
    if (serve !== "random" && serve !== "agent")
      throw new RangeError(`Pong: serve must be "random" or "agent", got "${String(serve)}"`);
    this.points = points;
    this.frameSkip = frameSkip;
    this.opponentSpeed = opponentSpeed;
    this.paddleHeight = paddleHeight;
    this.ballWidth = ballWidth;
    this.ballHeight = 2 * ballWidth;
    this.serveTo = serve;
    this.random = new Random(seed);
  }

  /** A new episode: score 0–0, the paddles centred, a serve. Returns the first frame. */
  reset(): Uint8Array {
    this.score = { agent: 0, opponent: 0 };
    this.frames = 0;
    const middle = (TOP + BOTTOM - this.paddleHeight) / 2;
    this.agentY = middle;
    this.opponentY = middle;
    this.serve();
    return this.render();
  }

  /** Hold `action` (UP or DOWN) for frameSkip frames. */
  step(action: number): PongStep {
    if (action !== UP && action !== DOWN)
      throw new RangeError(`Pong.step: action must be UP (${UP}) or DOWN (${DOWN}), got ${action}`);
    if (this.done) throw new Error("Pong.step: the episode is over; call reset()");
    let reward = 0;
    for (let f = 0; f < this.frameSkip && reward === 0; f++) reward = this.frame(action);
    return { frame: this.render(), reward, done: this.done };
  }

  get done(): boolean {
    return this.score.agent >= this.points || this.score.opponent >= this.points;
  }

  /** The serve: from the centre, towards either side, at a random angle. */
  private serve(): void {
    this.ballX = (FRAME_WIDTH - this.ballWidth) / 2;
    this.ballY = (TOP + BOTTOM - this.ballHeight) / 2;
    const towardsAgent = this.serveTo === "agent" || this.random.random() < 0.5;
    this.ballVX = towardsAgent ? BALL_SPEED_X : -BALL_SPEED_X;
    this.ballVY = this.random.uniform(-0.75, 0.75) * MAX_BALL_SPEED_Y;
  }

  /** One frame of physics; the reward of a point scored in it. */
  private frame(action: number): number {
    this.frames++;
    const highest = TOP;
    const lowest = BOTTOM - this.paddleHeight;
    this.agentY = Math.min(
      lowest,
      Math.max(highest, this.agentY + (action === UP ? -AGENT_SPEED : AGENT_SPEED)),
    );
    // The opponent follows the ball, no faster than its top speed.
    const target = this.ballY + this.ballHeight / 2 - this.paddleHeight / 2;
    const move = Math.max(-this.opponentSpeed, Math.min(this.opponentSpeed, target - this.opponentY));
    this.opponentY = Math.min(lowest, Math.max(highest, this.opponentY + move));

    this.ballX += this.ballVX;
    this.ballY += this.ballVY;
    if (this.ballY < TOP) {
      this.ballY = 2 * TOP - this.ballY;
      this.ballVY = -this.ballVY;
    } else if (this.ballY + this.ballHeight > BOTTOM) {
      this.ballY = 2 * (BOTTOM - this.ballHeight) - this.ballY;
      this.ballVY = -this.ballVY;
    }
    if (this.ballVX > 0 && this.hits(AGENT_X, this.agentY))
      this.bounce(AGENT_X - this.ballWidth, this.agentY);
    else if (this.ballVX < 0 && this.hits(OPPONENT_X, this.opponentY))
      this.bounce(OPPONENT_X + PADDLE_WIDTH, this.opponentY);

    if (this.ballX > FRAME_WIDTH) {
      this.score.opponent++;
      if (!this.done) this.serve();
      return -1;
    }
    if (this.ballX + this.ballWidth < 0) {
      this.score.agent++;
      if (!this.done) this.serve();
      return 1;
    }
    return 0;
  }

  /** Does the ball overlap the paddle whose left edge is x and top is y? */
  private hits(x: number, y: number): boolean {
    return (
      this.ballX + this.ballWidth > x &&
      this.ballX < x + PADDLE_WIDTH &&
      this.ballY + this.ballHeight > y &&
      this.ballY < y + this.paddleHeight
    );
  }

  /** Send the ball back; where it meets the paddle sets its angle (the edges send it steepest). */
  private bounce(x: number, paddleY: number): void {
    this.ballX = x;
    this.ballVX = -this.ballVX;
    const offset =
      (this.ballY + this.ballHeight / 2 - (paddleY + this.paddleHeight / 2)) /
      ((this.paddleHeight + this.ballHeight) / 2);
    this.ballVY = Math.max(-1, Math.min(1, offset)) * MAX_BALL_SPEED_Y;
  }

  /** The frame as the Atari draws it: a fresh 210 × 160 × 3 array. */
  render(): Uint8Array {
    const frame = emptyCourt().slice(); // a copy, not 33,600 pixels filled one by one at every step
    drawNumber(frame, this.score.opponent, 36, COLORS.opponent);
    drawNumber(frame, this.score.agent, 116, COLORS.agent);
    fill(frame, OPPONENT_X, Math.round(this.opponentY), PADDLE_WIDTH, this.paddleHeight, COLORS.opponent);
    fill(frame, AGENT_X, Math.round(this.agentY), PADDLE_WIDTH, this.paddleHeight, COLORS.agent);
    const bx = Math.round(this.ballX);
    if (bx + this.ballWidth > 0 && bx < FRAME_WIDTH)
      fill(frame, bx, Math.round(this.ballY), this.ballWidth, this.ballHeight, COLORS.ball);
    return frame;
  }
}

let court: Uint8Array | undefined;

/** The background and the walls, drawn once. */
function emptyCourt(): Uint8Array {
  if (court) return court;
  court = new Uint8Array(FRAME_HEIGHT * FRAME_WIDTH * 3);
  fill(court, 0, 0, FRAME_WIDTH, FRAME_HEIGHT, COLORS.background);
  fill(court, 0, TOP - 10, FRAME_WIDTH, 10, COLORS.wall);
  fill(court, 0, BOTTOM, FRAME_WIDTH, 16, COLORS.wall);
  return court;
}

/** Fill a rectangle of the frame (clipped to it) with a colour. */
function fill(
  frame: Uint8Array,
  x: number,
  y: number,
  width: number,
  height: number,
  [r, g, b]: readonly number[],
): void {
  const x0 = Math.max(0, x);
  const x1 = Math.min(FRAME_WIDTH, x + width);
  const y0 = Math.max(0, y);
  const y1 = Math.min(FRAME_HEIGHT, y + height);
  for (let row = y0; row < y1; row++) {
    for (let col = x0; col < x1; col++) {
      const i = (row * FRAME_WIDTH + col) * 3;
      frame[i] = r!;
      frame[i + 1] = g!;
      frame[i + 2] = b!;
    }
  }
}

/** The digits 0–9 as 3 × 5 bitmaps (one row per 3 bits), drawn 4× as the Atari's blocky score. */
const DIGITS = [0o75557, 0o26227, 0o71747, 0o71717, 0o55711, 0o74717, 0o74757, 0o71111, 0o75757, 0o75717];

function drawNumber(frame: Uint8Array, n: number, x: number, color: readonly number[]): void {
  const digits = String(n).split("").map(Number);
  digits.forEach((d, k) => {
    const bits = DIGITS[d]!;
    for (let row = 0; row < 5; row++) {
      for (let col = 0; col < 3; col++) {
        const on = (bits >> ((4 - row) * 3 + (2 - col))) & 1;
        if (on) fill(frame, x + k * 16 + col * 4, 2 + row * 4, 4, 4, color);
      }
    }
  });
}
