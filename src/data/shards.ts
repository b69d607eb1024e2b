/**
 * Token shards read in order, as build-nanogpt's DataLoaderLite reads them: batch after batch of
 * B·T consecutive tokens (y is x shifted by one), moving to the next shard when the current one
 * cannot fill another batch and wrapping around after the last. The position is state that a
 * checkpoint saves, so a resumed run sees the same batches. Platform-free: the shards come from a
 * ShardSet (./shards-node.js reads .npy files).
 */

/** The shards of one split, in order. */
export interface ShardSet {
  /** A name per shard (its file), for messages. */
  readonly names: readonly string[];
  /** The tokens of shard i. */
  read(i: number): Uint16Array;
}

/** Where a loader is: the shard and the token offset of its next batch. */
export interface LoaderState {
  shard: number;
  position: number;
}

/** A shard that cannot be used (too short, a token outside the vocabulary, a bad resume position). */
export class ShardError extends Error {
  override name = "ShardError";
}

export interface TokenLoaderOptions {
  /** Token ids must be below this (the model's vocabulary); checked once per shard as it is read. */
  vocabSize?: number;
}

export class TokenLoader {
  private tokens: Uint16Array = new Uint16Array(0);
  private shard = -1;
  private position = 0;
  private readonly vocabSize: number | undefined;

  constructor(
    readonly shards: ShardSet,
    readonly batchSize: number,
    readonly blockSize: number,
    options: TokenLoaderOptions = {},
  ) {
    if (shards.names.length === 0) throw new ShardError("TokenLoader: no shards");
    for (const [k, v] of [
      ["batchSize", batchSize],
      ["blockSize", blockSize],
    ] as const)
      if (!Number.isInteger(v) || v <= 0)
        throw new RangeError(`TokenLoader: ${k} must be a positive integer, got ${v}`);
    this.vocabSize = options.vocabSize;
    this.reset();
  }

  /** Tokens one batch reads: B·T inputs and one more for the last target. */
  get span(): number {
    return this.batchSize * this.blockSize + 1;
  }

  /** Back to the first token of the first shard. */
  reset(): void {
    this.load(0);
    this.position = 0;
  }

  /** The next batch as row-major [B, T] token ids: x, and y = the token after each. */
  nextBatch(): { x: Int32Array; y: Int32Array } {
    const n = this.batchSize * this.blockSize;
    const x = new Int32Array(n);
    const y = new Int32Array(n);
    const buf = this.tokens.subarray(this.position, this.position + n + 1);
    x.set(buf.subarray(0, n));
    y.set(buf.subarray(1, n + 1));
    this.position += n;
    if (this.position + this.span > this.tokens.length) {
      this.load((this.shard + 1) % this.shards.names.length);
      this.position = 0;
    }
    return { x, y };
  }

  getState(): LoaderState {
    return { shard: this.shard, position: this.position };
  }

  /** Continue from a saved state (`source` names where it came from in errors). */
  setState(state: LoaderState, source = "loader state"): void {
    const count = this.shards.names.length;
    const { shard, position } = (state ?? {}) as Partial<LoaderState>;
    if (!Number.isInteger(shard) || shard! < 0 || shard! >= count)
      throw new ShardError(`${source}: shard ${JSON.stringify(shard)} is not one of the ${count} shards`);
    if (!Number.isInteger(position) || position! < 0)
      throw new ShardError(`${source}: position ${JSON.stringify(position)} is not a token offset`);
    this.load(shard!);
    if (position! + this.span > this.tokens.length)
      throw new ShardError(
        `${source}: position ${position} leaves no whole batch of ${this.span} tokens in ${this.shards.names[shard!]} (${this.tokens.length} tokens)`,
      );
    this.position = position!;
  }

  private load(i: number): void {
    if (i === this.shard) return;
    const tokens = this.shards.read(i);
    const name = this.shards.names[i];
    if (tokens.length < this.span)
      throw new ShardError(
        `${name}: ${tokens.length} tokens, fewer than one batch needs (${this.batchSize}×${this.blockSize}+1 = ${this.span})`,
      );
    if (this.vocabSize !== undefined) {
      let bad = -1;
      for (let k = 0; k < tokens.length; k++)
        if (tokens[k]! >= this.vocabSize) {
          bad = k;
          break;
        }
      if (bad >= 0)
        throw new ShardError(
          `${name}: token ${tokens[bad]} at position ${bad} is outside the model's vocabulary of ${this.vocabSize}`,
        );
    }
    this.tokens = tokens;
    this.shard = i;
  }
}
