/**
 * Fused scaled dot-product attention with its hand-derived backward (lecture 5 applied to
 * attention). Per batch matrix: scores, masked softmax and the weighted sum of values in one
 * pass per query row; the weights are kept for the backward.
 */
import type { OptionalKernelArgs, View } from "../types.js";
import { dataOf, Rows } from "./strided.js";

/** One "row" per batch matrix: the batch dims of every view, plus a dummy dim of length 1. */
function batches(views: readonly View[]): Rows {
  const nd = views[0]!.shape.length;
  return new Rows(
    [...views[0]!.shape.slice(0, nd - 2), 1],
    views.map((v) => [...v.strides.slice(0, nd - 2), 0]),
    views.map((v) => v.offset),
    true,
  );
}

/** The last key index query i may see. */
function lastKey(i: number, T: number, Tk: number, causal: boolean): number {
  return causal ? Math.min(Tk - 1, i + Tk - T) : Tk - 1;
}

/** Sizes and row/column strides of the last two dims of q [.., T, D], k [.., Tk, D], v [.., Tk, Dv]. */
function geometry(q: View, k: View, v: View) {
  const nd = q.shape.length;
  const [T, D] = q.shape.slice(nd - 2) as [number, number];
  const [sqi, sqd] = q.strides.slice(nd - 2) as [number, number];
  const [skj, skd] = k.strides.slice(nd - 2) as [number, number];
  const [svj, svd] = v.strides.slice(nd - 2) as [number, number];
  return { nd, T, D, Tk: k.shape[nd - 2]!, Dv: v.shape[nd - 1]!, sqi, sqd, skj, skd, svj, svd };
}

export function attention({ q, k, v, scale, causal, out, weights }: OptionalKernelArgs["attention"]): void {
  const Q = dataOf(q);
  const K = dataOf(k);
  const V = dataOf(v);
  const O = dataOf(out);
  const P = dataOf(weights);
  const { nd, T, D, Tk, Dv, sqi, sqd, skj, skd, svj, svd } = geometry(q, k, v);
  const [soi, sod] = out.strides.slice(nd - 2) as [number, number];
  const scores = new Float64Array(Tk);
  const acc = new Float64Array(Dv);
  const it = batches([q, k, v, out, weights]);
  for (let r = 0; r < it.rows; r++, it.next()) {
    const [pq, pk, pv, po, pw] = it.offsets as [number, number, number, number, number];
    for (let i = 0; i < T; i++) {
      const last = lastKey(i, T, Tk, causal);
      let max = -Infinity;
      for (let j = 0; j <= last; j++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += Q[pq + i * sqi + d * sqd]! * K[pk + j * skj + d * skd]!;
        scores[j] = s * scale;
        max = Math.max(max, scores[j]!);
      }
      let sum = 0;
      for (let j = 0; j <= last; j++) {
        scores[j] = Math.exp(scores[j]! - max);
        sum += scores[j]!;
      }
      acc.fill(0);
      for (let j = 0; j < Tk; j++) {
        const p = j <= last ? scores[j]! / sum : 0;
        P[pw + i * Tk + j] = p;
        if (p === 0) continue;
        for (let d = 0; d < Dv; d++) acc[d]! += p * V[pv + j * svj + d * svd]!;
      }
      for (let d = 0; d < Dv; d++) O[po + i * soi + d * sod] = last < 0 ? Number.NaN : acc[d]!;
    }
  }
}

export function attentionBackward({
  q,
  k,
  v,
  weights,
  g,
  scale,
  dq,
  dk,
  dv,
}: OptionalKernelArgs["attentionBackward"]): void {
  const Q = dataOf(q);
  const K = dataOf(k);
  const V = dataOf(v);
  const P = dataOf(weights);
  const G = dataOf(g);
  const DQ = dataOf(dq);
  const DK = dataOf(dk);
  const DV = dataOf(dv);
  const { nd, T, D, Tk, Dv, sqi, sqd, skj, skd, svj, svd } = geometry(q, k, v);
  const [spi, spj] = weights.strides.slice(nd - 2) as [number, number];
  const [sgi, sgd] = g.strides.slice(nd - 2) as [number, number];
  const [sqoi, sqod] = dq.strides.slice(nd - 2) as [number, number];
  const [skoj, skod] = dk.strides.slice(nd - 2) as [number, number];
  const [svoj, svod] = dv.strides.slice(nd - 2) as [number, number];
  const dS = new Float64Array(Tk);
  const dqRow = new Float64Array(D);
  const dkAcc = new Float64Array(Tk * D);
  const dvAcc = new Float64Array(Tk * Dv);
  const it = batches([q, k, v, weights, g, dq, dk, dv]);
  for (let r = 0; r < it.rows; r++, it.next()) {
    const [pq, pk, pv, pp, pg, pdq, pdk, pdv] = it.offsets as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    dkAcc.fill(0);
    dvAcc.fill(0);
    for (let i = 0; i < T; i++) {
      // dP_ij = g_i · v_j; dS_ij = P_ij (dP_ij − Σ_j' P_ij' dP_ij')
      let rowDot = 0;
      for (let j = 0; j < Tk; j++) {
        const p = P[pp + i * spi + j * spj]!;
        let dp = 0;
        if (p !== 0)
          for (let d = 0; d < Dv; d++) dp += G[pg + i * sgi + d * sgd]! * V[pv + j * svj + d * svd]!;
        dS[j] = dp;
        rowDot += p * dp;
        // dv_j += P_ij g_i
        if (p !== 0) for (let d = 0; d < Dv; d++) dvAcc[j * Dv + d]! += p * G[pg + i * sgi + d * sgd]!;
      }
      dqRow.fill(0);
      for (let j = 0; j < Tk; j++) {
        const p = P[pp + i * spi + j * spj]!;
        if (p === 0) continue;
        const ds = p * (dS[j]! - rowDot) * scale;
        for (let d = 0; d < D; d++) {
          dqRow[d]! += ds * K[pk + j * skj + d * skd]!;
          dkAcc[j * D + d]! += ds * Q[pq + i * sqi + d * sqd]!;
        }
      }
      for (let d = 0; d < D; d++) DQ[pdq + i * sqoi + d * sqod] = dqRow[d]!;
    }
    for (let j = 0; j < Tk; j++) {
      for (let d = 0; d < D; d++) DK[pdk + j * skoj + d * skod] = dkAcc[j * D + d]!;
      for (let d = 0; d < Dv; d++) DV[pdv + j * svoj + d * svod] = dvAcc[j * Dv + d]!;
    }
  }
}
