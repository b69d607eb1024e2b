/**
 * Lecture 5, "becoming a backprop ninja": the lecture's MLP with BatchNorm written out one small
 * tensor op at a time, its backward pass written by hand for every intermediate, each manual
 * gradient compared with autograd's by cmp(), the fused cross-entropy and batch-norm backward,
 * and training with the manual gradients alone.
 */

import { parameter } from "../nn/index.js";
import { globalRandom, type Random } from "../random/index.js";
import { crossEntropy, noGrad, oneHot, randn, type Tensor, tensor, tidy } from "../tensor/index.js";

export interface NinjaConfig {
  vocabSize: number;
  blockSize: number;
  nEmbd: number;
  nHidden: number;
  generator?: Random;
}

/** C, W1, b1, W2, b2, bngain, bnbias: 4,137 parameters with n_hidden 64, 12,297 with 200. */
export interface NinjaParams {
  C: Tensor;
  W1: Tensor;
  b1: Tensor;
  W2: Tensor;
  b2: Tensor;
  bngain: Tensor;
  bnbias: Tensor;
}

/**
 * The lecture's initialisation. b1 is useless under BatchNorm but kept "just for fun", and
 * nothing starts at exactly zero or one, so that a wrong manual gradient cannot hide.
 */
export function initNinja({
  vocabSize,
  blockSize,
  nEmbd,
  nHidden,
  generator = globalRandom,
}: NinjaConfig): NinjaParams {
  const g = { generator };
  return {
    C: parameter(randn([vocabSize, nEmbd], g)),
    W1: parameter(randn([nEmbd * blockSize, nHidden], g).mul(5 / 3 / Math.sqrt(nEmbd * blockSize))),
    b1: parameter(randn([nHidden], g).mul(0.1)),
    W2: parameter(randn([nHidden, vocabSize], g).mul(0.1)),
    b2: parameter(randn([vocabSize], g).mul(0.1)),
    bngain: parameter(randn([1, nHidden], g).mul(0.1).add(1)),
    bnbias: parameter(randn([1, nHidden], g).mul(0.1)),
  };
}

export function ninjaParameters(p: NinjaParams): Tensor[] {
  return [p.C, p.W1, p.b1, p.W2, p.b2, p.bngain, p.bnbias];
}

/** Every intermediate of the forward pass, by the lecture's names. */
export interface NinjaForward {
  emb: Tensor;
  embcat: Tensor;
  hprebn: Tensor;
  bnmeani: Tensor;
  bndiff: Tensor;
  bndiff2: Tensor;
  bnvar: Tensor;
  bnvarInv: Tensor;
  bnraw: Tensor;
  hpreact: Tensor;
  h: Tensor;
  logits: Tensor;
  logitMaxes: Tensor;
  normLogits: Tensor;
  counts: Tensor;
  countsSum: Tensor;
  countsSumInv: Tensor;
  probs: Tensor;
  logprobs: Tensor;
  loss: Tensor;
}

/** The forward pass "chunkated into smaller steps that are possible to backward one at a time". */
export function ninjaForward(
  p: NinjaParams,
  Xb: Tensor,
  Yb: Tensor,
  { retainGrads = true } = {},
): NinjaForward {
  const n = Xb.shape[0]!;
  const emb = p.C.index(Xb); // [n, block, nEmbd]
  const embcat = emb.view([n, -1]);
  // Linear layer 1
  const hprebn = embcat.matmul(p.W1).add(p.b1);
  // BatchNorm layer (Bessel's n-1 in the variance, as the lecture)
  const bnmeani = hprebn.sum(0, true).mul(1 / n);
  const bndiff = hprebn.sub(bnmeani);
  const bndiff2 = bndiff.pow(2);
  const bnvar = bndiff2.sum(0, true).mul(1 / (n - 1));
  const bnvarInv = bnvar.add(1e-5).pow(-0.5);
  const bnraw = bndiff.mul(bnvarInv);
  const hpreact = p.bngain.mul(bnraw).add(p.bnbias);
  const h = hpreact.tanh();
  // Linear layer 2
  const logits = h.matmul(p.W2).add(p.b2);
  // cross-entropy, by hand
  const logitMaxes = logits.max(1, true).values;
  const normLogits = logits.sub(logitMaxes); // subtract the max for numerical stability
  const counts = normLogits.exp();
  const countsSum = counts.sum(1, true);
  const countsSumInv = countsSum.pow(-1);
  const probs = counts.mul(countsSumInv);
  const logprobs = probs.log();
  const loss = logprobs
    .index(tensor(range(n), { dtype: "int32" }), Yb)
    .mean()
    .neg();
  const f: NinjaForward = {
    emb,
    embcat,
    hprebn,
    bnmeani,
    bndiff,
    bndiff2,
    bnvar,
    bnvarInv,
    bnraw,
    hpreact,
    h,
    logits,
    logitMaxes,
    normLogits,
    counts,
    countsSum,
    countsSumInv,
    probs,
    logprobs,
    loss,
  };
  if (retainGrads) for (const t of Object.values(f)) t.retainGrad();
  return f;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** d loss / d (every intermediate and parameter), in the lecture's order, by the "d" + name. */
export type NinjaGrads = Record<string, Tensor>;

/**
 * Exercise 1: backprop through the whole thing manually, one line per intermediate.
 * Every line is the chain rule: d(input) = (local derivative) · d(output), summed over broadcasts.
 */
export function manualBackward(p: NinjaParams, f: NinjaForward, Xb: Tensor, Yb: Tensor): NinjaGrads {
  return noGrad(() => {
    const n = Xb.shape[0]!;
    const [vocabSize, nEmbd] = p.C.shape as [number, number];
    const dlogprobs = oneHot(Yb, vocabSize)
      .float()
      .mul(-1 / n); // only the picked log-probs matter
    const dprobs = f.probs.pow(-1).mul(dlogprobs);
    const dcountsSumInv = f.counts.mul(dprobs).sum(1, true);
    let dcounts = f.countsSumInv.mul(dprobs);
    const dcountsSum = f.countsSum.pow(-2).neg().mul(dcountsSumInv);
    dcounts = dcounts.add(dcountsSum); // counts feed countsSum too: the gradients add
    const dnormLogits = f.counts.mul(dcounts);
    let dlogits = dnormLogits.clone();
    const dlogitMaxes = dnormLogits.sum(1, true).neg();
    dlogits = dlogits.add(oneHot(f.logits.max(1).indices, vocabSize).float().mul(dlogitMaxes));
    const dh = dlogits.matmul(p.W2.T);
    const dW2 = f.h.T.matmul(dlogits);
    const db2 = dlogits.sum(0);
    const dhpreact = f.h.square().rsub(1).mul(dh);
    const dbngain = f.bnraw.mul(dhpreact).sum(0, true);
    const dbnraw = p.bngain.mul(dhpreact);
    const dbnbias = dhpreact.sum(0, true);
    let dbndiff = f.bnvarInv.mul(dbnraw);
    const dbnvarInv = f.bndiff.mul(dbnraw).sum(0, true);
    const dbnvar = f.bnvar.add(1e-5).pow(-1.5).mul(-0.5).mul(dbnvarInv);
    const dbndiff2 = f.bndiff2
      .mul(0)
      .add(1 / (n - 1))
      .mul(dbnvar);
    dbndiff = dbndiff.add(f.bndiff.mul(2).mul(dbndiff2));
    let dhprebn = dbndiff.clone();
    const dbnmeani = dbndiff.sum(0, true).neg();
    dhprebn = dhprebn.add(
      f.hprebn
        .mul(0)
        .add(1 / n)
        .mul(dbnmeani),
    );
    const dembcat = dhprebn.matmul(p.W1.T);
    const dW1 = f.embcat.T.matmul(dhprebn);
    const db1 = dhprebn.sum(0);
    const demb = dembcat.view(f.emb.shape);
    // Each row of C receives the gradients of every position that looked it up.
    const dC = oneHot(Xb.reshape([-1]), vocabSize)
      .float()
      .T.matmul(demb.reshape([-1, nEmbd]));
    return {
      dlogprobs,
      dprobs,
      dcountsSumInv,
      dcountsSum,
      dcounts,
      dnormLogits,
      dlogitMaxes,
      dlogits,
      dh,
      dW2,
      db2,
      dhpreact,
      dbngain,
      dbnbias,
      dbnraw,
      dbnvarInv,
      dbnvar,
      dbndiff2,
      dbndiff,
      dbnmeani,
      dhprebn,
      dembcat,
      dW1,
      db1,
      demb,
      dC,
    };
  });
}

/**
 * Exercise 2: the cross-entropy backward in one line. For each row, d loss / d logits =
 * (softmax(logits) − one_hot(y)) / n.
 */
export function crossEntropyBackward(logits: Tensor, Yb: Tensor): Tensor {
  return noGrad(() => {
    const n = logits.shape[0]!;
    return logits.softmax(1).sub(oneHot(Yb, logits.shape[1]!).float()).div(n);
  });
}

/**
 * Exercise 3: the batch-norm backward in one line (Bessel-corrected variance, as the forward):
 * dhprebn = bngain·bnvar_inv/n · (n·dh − Σdh − n/(n−1)·bnraw·Σ(dh·bnraw)).
 */
export function batchNormBackward(dhpreact: Tensor, bngain: Tensor, bnvarInv: Tensor, bnraw: Tensor): Tensor {
  return noGrad(() => {
    const n = dhpreact.shape[0]!;
    const sum = dhpreact.sum(0);
    const sumRaw = dhpreact.mul(bnraw).sum(0);
    return bngain
      .mul(bnvarInv)
      .div(n)
      .mul(
        dhpreact
          .mul(n)
          .sub(sum)
          .sub(bnraw.mul(sumRaw).mul(n / (n - 1))),
      );
  });
}

/** Exercise 4: all parameter gradients from the fused backward pieces. */
export function fusedBackward(p: NinjaParams, f: NinjaForward, Xb: Tensor, Yb: Tensor): Tensor[] {
  return noGrad(() => {
    const [vocabSize, nEmbd] = p.C.shape as [number, number];
    const dlogits = crossEntropyBackward(f.logits, Yb);
    const dh = dlogits.matmul(p.W2.T);
    const dW2 = f.h.T.matmul(dlogits);
    const db2 = dlogits.sum(0);
    const dhpreact = f.h.square().rsub(1).mul(dh);
    const dbngain = f.bnraw.mul(dhpreact).sum(0, true);
    const dbnbias = dhpreact.sum(0, true);
    const dhprebn = batchNormBackward(dhpreact, p.bngain, f.bnvarInv, f.bnraw);
    const dembcat = dhprebn.matmul(p.W1.T);
    const dW1 = f.embcat.T.matmul(dhprebn);
    const db1 = dhprebn.sum(0);
    const demb = dembcat.view(f.emb.shape);
    const dC = oneHot(Xb.reshape([-1]), vocabSize)
      .float()
      .T.matmul(demb.reshape([-1, nEmbd]));
    return [dC, dW1, db1, dW2, db2, dbngain, dbnbias];
  });
}

export interface CmpResult {
  name: string;
  /** Every element equal. */
  exact: boolean;
  /** torch.allclose: |a − b| ≤ 1e-8 + 1e-5·|b|. */
  approximate: boolean;
  maxdiff: number;
}

/** The lecture's cmp(s, dt, t): a manual gradient against autograd's t.grad. */
export function cmp(name: string, manual: Tensor, t: Tensor): CmpResult {
  if (!t.grad) throw new Error(`cmp ${name}: the tensor has no .grad (call retainGrad() before backward())`);
  if (manual.shape.join() !== t.grad.shape.join()) {
    throw new RangeError(
      `cmp ${name}: manual gradient [${manual.shape.join(", ")}] vs autograd [${t.grad.shape.join(", ")}]`,
    );
  }
  const a = manual.dataSync();
  const b = t.grad.dataSync();
  let exact = true;
  let approximate = true;
  let maxdiff = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d !== 0) exact = false;
    if (d > 1e-8 + 1e-5 * Math.abs(b[i]!)) approximate = false;
    maxdiff = Math.max(maxdiff, d);
  }
  return { name, exact, approximate, maxdiff };
}

/** cmp for every manual gradient against the tensor it belongs to, in the lecture's order. */
export function compareAll(p: NinjaParams, f: NinjaForward, grads: NinjaGrads): CmpResult[] {
  const tensors: Record<string, Tensor> = { ...f, ...p };
  return Object.entries(grads).map(([dname, manual]) => {
    // dW2 belongs to W2, dlogprobs to logprobs.
    const bare = dname.slice(1);
    const name = bare in tensors ? bare : bare[0]!.toLowerCase() + bare.slice(1);
    const t = tensors[name];
    if (!t) throw new Error(`cmp: no tensor for ${dname}`);
    return cmp(name, manual, t);
  });
}

/** One SGD step with the fused manual gradients only (no autograd): returns the loss. */
export function manualTrainStep(p: NinjaParams, Xb: Tensor, Yb: Tensor, lr: number): number {
  return tidy(() => {
    const f = noGrad(() => ninjaForward(p, Xb, Yb, { retainGrads: false }));
    const grads = fusedBackward(p, f, Xb, Yb);
    noGrad(() => {
      ninjaParameters(p).forEach((param, i) => {
        param.assign(param.sub(grads[i]!.mul(lr)));
      });
    });
    return f.loss.item();
  });
}

/**
 * BatchNorm statistics over a whole split (the lecture's "calibrate the batch norm at the end of
 * training"), then the loss on another split with them.
 */
export function ninjaEvaluate(p: NinjaParams, calibrate: Tensor, X: Tensor, Y: Tensor): number {
  return noGrad(() =>
    tidy(() => {
      const hpre = (x: Tensor) => p.C.index(x).view([x.shape[0]!, -1]).matmul(p.W1).add(p.b1);
      const full = hpre(calibrate);
      const bnmean = full.mean(0, true);
      const bnvar = full.var(0, { unbiased: true, keepdim: true });
      const h = p.bngain
        .mul(hpre(X).sub(bnmean).mul(bnvar.add(1e-5).pow(-0.5)))
        .add(p.bnbias)
        .tanh();
      return crossEntropy(h.matmul(p.W2).add(p.b2), Y).item();
    }),
  );
}
