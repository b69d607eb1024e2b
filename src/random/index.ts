/**
 * A seeded random generator that gives the same stream on every platform.
 *
 * The core is xoshiro128** (32-bit words, Math.imul only), so integers and uniforms are exact
 * everywhere. Normals use the Marsaglia polar method with a logarithm written from + - * / only:
 * Math.log may differ in the last bit between JavaScript engines, and a learner comparing a
 * browser run with a Node run should see the same numbers.
 */

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/** splitmix32: spreads a user seed over the 128-bit state (xoshiro must not start at all zeros). */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Serializable state of a generator, for checkpoints that resume the same stream. */
export interface RandomState {
  s: [number, number, number, number];
  spareNormal: number | null;
}

export class Random {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spareNormal: number | null = null;

  constructor(seed = 0) {
    this.seed(seed);
  }

  /** Reset the stream. Seeds are integers; two different seeds below 2^53 give different streams. */
  seed(seed: number): this {
    if (!Number.isFinite(seed)) throw new RangeError(`Random seed must be a finite number, got ${seed}`);
    const hi = Math.floor(seed / TWO_POW_32);
    const mix = { s: (seed >>> 0) ^ Math.imul(hi | 0, 0x27d4eb2f) };
    this.s0 = splitmix32(mix);
    this.s1 = splitmix32(mix);
    this.s2 = splitmix32(mix);
    this.s3 = splitmix32(mix);
    this.spareNormal = null;
    return this;
  }

  getState(): RandomState {
    return { s: [this.s0, this.s1, this.s2, this.s3], spareNormal: this.spareNormal };
  }

  setState(state: RandomState): this {
    // xoshiro's one invalid state: all-zero words stay zero, the same "random" number forever.
    if (state.s.every((w) => (w | 0) === 0))
      throw new RangeError("Random state: the four words are all zero, which xoshiro128** never leaves");
    [this.s0, this.s1, this.s2, this.s3] = state.s;
    this.spareNormal = state.spareNormal;
    return this;
  }

  /** The next 32 random bits as an unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / TWO_POW_53;
  }

  /** Uniform in [low, high). */
  uniform(low = 0, high = 1): number {
    return low + (high - low) * this.random();
  }

  /** Integer uniform in [low, high), without modulo bias. */
  randint(low: number, high: number): number {
    if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
      throw new RangeError(`randint needs integers low < high, got [${low}, ${high})`);
    }
    const span = high - low;
    if (span <= TWO_POW_32) {
      // Rejection sampling on 32 bits: accept below the largest multiple of span.
      const limit = TWO_POW_32 - (TWO_POW_32 % span);
      let x = this.nextUint32();
      while (x >= limit) x = this.nextUint32();
      return low + (x % span);
    }
    if (span > TWO_POW_53) throw new RangeError(`randint range too large: ${span}`);
    return low + Math.floor(this.random() * span);
  }

  /** Standard normal (mean 0, std 1) by the Marsaglia polar method, deterministic everywhere. */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + std * z;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.random() - 1;
      v = 2 * this.random() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const factor = Math.sqrt((-2 * portableLog(s)) / s); // sqrt is exact in IEEE 754
    this.spareNormal = v * factor;
    return mean + std * u * factor;
  }

  /** Shuffle an array in place (Fisher–Yates) and return it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.randint(0, i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }

  /** Pick one element uniformly. */
  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("choice from an empty array");
    return items[this.randint(0, items.length)]!;
  }

  /**
   * Sample an index from unnormalised non-negative weights (what torch.multinomial does for one
   * draw). Throws if the weights are negative, not finite, or all zero.
   */
  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i]!;
      if (!(w >= 0) || !Number.isFinite(w)) {
        throw new RangeError(`categorical weights must be finite and >= 0, got ${w} at index ${i}`);
      }
      total += w;
    }
    if (total <= 0) throw new RangeError("categorical weights sum to zero");
    const target = this.random() * total;
    let acc = 0;
    for (let i = 0; i < weights.length; i++) {
      acc += weights[i]!;
      if (target < acc) return i;
    }
    // Rounding can leave target == total: return the last index with weight.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i]! > 0) return i;
    return weights.length - 1;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const LN2 = Math.LN2; // a constant, not a computed log: identical everywhere
const exponentView = new DataView(new ArrayBuffer(8));

/**
 * Natural logarithm from basic arithmetic only (deterministic across engines).
 * x = m·2^e with m in [√½, √2); log m = 2·atanh((m-1)/(m+1)) by its series.
 */
export function portableLog(x: number): number {
  if (!(x > 0)) return x === 0 ? Number.NEGATIVE_INFINITY : Number.NaN;
  if (x === Number.POSITIVE_INFINITY) return x;
  exponentView.setFloat64(0, x);
  const hiWord = exponentView.getUint32(0);
  let e = ((hiWord >>> 20) & 0x7ff) - 1023;
  let m: number;
  if (e === -1023) {
    // Subnormal: scale into the normal range first.
    return portableLog(x * TWO_POW_53) - 53 * LN2;
  }
  exponentView.setUint32(0, (hiWord & 0x800fffff) | (1023 << 20));
  m = exponentView.getFloat64(0); // in [1, 2)
  if (m > Math.SQRT2) {
    m /= 2;
    e += 1;
  }
  const t = (m - 1) / (m + 1); // |t| <= 0.1716
  const t2 = t * t;
  // atanh series to t^23: error below 1e-17 for |t| <= 0.1716
  let sum = 1 / 23;
  for (let k = 21; k >= 1; k -= 2) sum = 1 / k + t2 * sum;
  return e * LN2 + 2 * t * sum;
}

/** The generator the library uses when none is passed. `manualSeed(n)` resets it, like torch. */
export const globalRandom = new Random(1337);

export function manualSeed(seed: number): Random {
  return globalRandom.seed(seed);
}
