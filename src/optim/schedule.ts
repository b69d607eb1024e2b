/** Learning-rate schedules: functions of the iteration, and schedulers that set an optimizer's lr. */

/** nanoGPT's get_lr: linear warmup to maxLr, cosine decay to minLr at decayIters, then minLr. */
export function cosineWithWarmup(
  it: number,
  {
    maxLr,
    minLr,
    warmupIters,
    decayIters,
  }: { maxLr: number; minLr: number; warmupIters: number; decayIters: number },
): number {
  if (it < warmupIters) return (maxLr * (it + 1)) / (warmupIters + 1);
  if (it > decayIters) return minLr;
  const ratio = (it - warmupIters) / Math.max(1, decayIters - warmupIters);
  const coeff = 0.5 * (1 + Math.cos(Math.PI * ratio));
  return minLr + coeff * (maxLr - minLr);
}

/** StepLR: lr = baseLr · gamma^⌊it / stepSize⌋ (the lectures' "lr 0.1, then 0.01 after 100k" is gamma 0.1). */
export function stepDecay(
  it: number,
  { baseLr, stepSize, gamma }: { baseLr: number; stepSize: number; gamma: number },
): number {
  return baseLr * gamma ** Math.floor(it / stepSize);
}

interface HasLr {
  lr: number;
}

/** Sets optimizer.lr from a schedule at each step(); lastLr is what the last step used. */
export class LRScheduler {
  private it = 0;
  lastLr: number;

  constructor(
    private readonly optimizer: HasLr,
    private readonly schedule: (it: number) => number,
  ) {
    this.lastLr = schedule(0);
    optimizer.lr = this.lastLr;
  }

  /** Advance one iteration (call after optimizer.step(), as in PyTorch). */
  step(): number {
    this.it++;
    this.lastLr = this.schedule(this.it);
    this.optimizer.lr = this.lastLr;
    return this.lastLr;
  }

  get iteration(): number {
    return this.it;
  }
}

export class StepLR extends LRScheduler {
  constructor(optimizer: HasLr, { stepSize, gamma = 0.1 }: { stepSize: number; gamma?: number }) {
    const baseLr = optimizer.lr;
    super(optimizer, (it) => stepDecay(it, { baseLr, stepSize, gamma }));
  }
}

export class CosineWithWarmupLR extends LRScheduler {
  constructor(
    optimizer: HasLr,
    options: { maxLr: number; minLr: number; warmupIters: number; decayIters: number },
  ) {
    super(optimizer, (it) => cosineWithWarmup(it, options));
  }
}
