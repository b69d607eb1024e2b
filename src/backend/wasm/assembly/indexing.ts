// Gathers and scatters (as ../../js/indexing.ts).
import { checkGatherMode, DType, GatherMode, GatherScatterSlot, KernelError, Slot } from "./spec";
import { ai, base, cur, dt, ld, rowsBegin, rowsNext, setErr, st, step } from "./rows";

// ---- gathers and scatters ----
// Operands as the js kernels build them. OP = GatherMode.gather for indexSelect/gather (0 = x,
// 1 = index, 2 = out), GatherMode.scatter for indexAdd/scatterAdd (0 = src, 1 = index, 2 = out,
// zero-filled by the host). Errors: KernelError.indexOutOfRange, value = the bad index.
export function gatherScatter(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const size = ai(GatherScatterSlot.DIM_SIZE);
  const sd = ai(GatherScatterSlot.DIM_STRIDE);
  checkGatherMode(ai(Slot.OP));
  const scatter = ai(Slot.OP) == GatherMode.scatter;
  const d0 = dt(0);
  const d2 = dt(2);
  const b0 = base(0);
  const bi = base(1);
  const b2 = base(2);
  const s0 = step(0);
  const si = step(1);
  const s2 = step(2);
  const f32 = d0 == DType.float32 && d2 == DType.float32;
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    let p0 = cur(0);
    let pi = cur(1);
    let p2 = cur(2);
    for (let j = 0; j < n; j++, p0 += s0, pi += si, p2 += s2) {
      const i = load<i32>(bi + (<usize>pi << 2));
      if (i < 0 || i >= size) {
        setErr(KernelError.indexOutOfRange, i);
        return;
      }
      if (scatter) {
        const q = p2 + i * sd;
        if (f32) {
          const a = b2 + (<usize>q << 2);
          store<f32>(a, <f32>(<f64>load<f32>(a) + <f64>load<f32>(b0 + (<usize>p0 << 2))));
        } else st(d2, b2, q, ld(d2, b2, q) + ld(d0, b0, p0));
      } else {
        const q = p0 + i * sd;
        if (f32) store<f32>(b2 + (<usize>p2 << 2), load<f32>(b0 + (<usize>q << 2)));
        else st(d2, b2, p2, ld(d0, b0, q));
      }
    }
    rowsNext();
  }
}
