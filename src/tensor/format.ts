/** toString in PyTorch's layout: nested brackets, aligned columns, long dims summarised with "...". */
import { shapeString } from "./shape.js";
import type { Tensor } from "./tensor.js";

const SUMMARY_THRESHOLD = 1000;
const EDGE_ITEMS = 3;

function formatNumber(v: number, dtype: string, scientific: boolean): string {
  if (dtype === "bool") return v ? "True" : "False";
  if (dtype === "int32") return String(v);
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
  return scientific ? v.toExponential(4) : v.toFixed(4);
}

export function formatTensor(t: Tensor): string {
  const suffix: string[] = [];
  if (t.dtype !== "float32") suffix.push(`dtype=${t.dtype}`);
  if (t.requiresGrad) suffix.push(t.gradFn ? `gradFn=<${t.gradFn.op}>` : "requiresGrad=true");
  if (t.isDisposed) return `tensor(<freed>, shape=${shapeString(t.shape)})`;
  if (!t.backend.readSync)
    return `tensor(shape=${shapeString(t.shape)}, backend=${t.backend.name}${suffix.map((s) => `, ${s}`).join("")})`;
  const data = t.dataSync();
  const summarise = data.length > SUMMARY_THRESHOLD;
  let maxAbs = 0;
  let minAbs = Infinity;
  for (const v of data) {
    if (!Number.isFinite(v) || v === 0) continue;
    maxAbs = Math.max(maxAbs, Math.abs(v));
    minAbs = Math.min(minAbs, Math.abs(v));
  }
  const scientific = maxAbs >= 1e8 || (minAbs < 1e-4 && minAbs !== Infinity) || maxAbs / minAbs > 1e6;
  const strings = Array.from(data, (v) => formatNumber(v, t.dtype, scientific));
  const width = Math.max(0, ...strings.map((s) => s.length));
  const strides: number[] = [];
  let s = 1;
  for (let d = t.ndim - 1; d >= 0; d--) {
    strides[d] = s;
    s *= t.shape[d]!;
  }
  const indent = "tensor(".length;
  const build = (d: number, offset: number): string => {
    if (d === t.ndim) return strings[offset]!.padStart(width);
    const n = t.shape[d]!;
    const items: string[] = [];
    const pick = summarise && n > 2 * EDGE_ITEMS;
    for (let i = 0; i < n; i++) {
      if (pick && i === EDGE_ITEMS) {
        items.push("...");
        i = n - EDGE_ITEMS - 1;
        continue;
      }
      items.push(build(d + 1, offset + i * strides[d]!));
    }
    const separator =
      d === t.ndim - 1 ? ", " : `,${"\n".repeat(t.ndim - d - 1)}${" ".repeat(indent + d + 1)}`;
    return `[${items.join(separator)}]`;
  };
  const body = t.ndim === 0 ? strings[0]! : build(0, 0);
  return `tensor(${body}${suffix.map((x) => `, ${x}`).join("")})`;
}
