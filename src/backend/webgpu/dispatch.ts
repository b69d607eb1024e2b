/** What every webgpu kernel shares: its context, the buffers it binds, and the map and lane dispatches. */
import { mergeDims, product } from "../layout.js";
import type { DType, Storage, View } from "../types.js";
import type { GpuBuffer, GpuDevice, Meta } from "./device.js";
import { type Binding, type LaneOptions, laneShader, MAP_WORKGROUP, mapShader, wgslType } from "./wgsl.js";

export interface WebGpuStorage extends Storage {
  readonly gpu: GpuBuffer;
  freed: boolean;
}

/** What kernels need from the backend: the device, and temporaries that free themselves. */
export interface KernelContext {
  readonly device: GpuDevice;
  alloc(dtype: DType, size: number): WebGpuStorage;
  free(storage: Storage): void;
}

export const MAX_GROUPS = 65535;

export function bufferOf(view: View): GPUBuffer {
  return (view.storage as WebGpuStorage).gpu.buffer;
}

/** Workgroup counts for `n` groups: 2-D past the 65535 limit per dimension. */
export function groupsFor(n: number): [number, number, number] {
  if (n <= MAX_GROUPS) return [n, 1, 1];
  const y = Math.ceil(n / MAX_GROUPS);
  return [Math.ceil(n / y), y, 1];
}

export interface Operand {
  view: View;
  write?: boolean;
  /** Override the view's strides (broadcast index tensors, dims left out). */
  strides?: readonly number[];
}

/**
 * The buffers to bind. A buffer both written and read in one dispatch is not allowed in WebGPU:
 * the read side then gets a copy (copy/assign from a view of the same storage).
 */
export function bindBuffers(ctx: KernelContext, operands: readonly { view: View; write?: boolean }[]) {
  const written = new Set(operands.filter((o) => o.write).map((o) => bufferOf(o.view)));
  const temps: WebGpuStorage[] = [];
  const buffers = operands.map((o) => {
    const b = bufferOf(o.view);
    if (o.write || !written.has(b)) return b;
    const s = o.view.storage as WebGpuStorage;
    const temp = ctx.alloc(s.dtype, s.size);
    ctx.device.copy(b, 0, temp.gpu.buffer, 0, s.size * 4);
    temps.push(temp);
    return temp.gpu.buffer;
  });
  return {
    buffers,
    done: () => {
      for (const t of temps) ctx.free(t);
    },
  };
}

/** The bindings in a few characters, for a shader's key. */
export function bindingsKey(list: readonly Binding[]): string {
  return list.map((b) => `${b.type}${b.write ? "w" : "r"}`).join(",");
}

export function bindingsOf(operands: readonly Operand[]): Binding[] {
  return operands.map((o) => ({ type: wgslType(o.view.storage.dtype), write: !!o.write }));
}

/** Elementwise over `shape`: body sees p0.. offsets (see mapShader). */
export function runMap(
  ctx: KernelContext,
  shape: readonly number[],
  operands: Operand[],
  body: string,
  scalars: Meta = [],
): void {
  const total = product(shape);
  if (total === 0) return;
  const merged = mergeDims(
    shape,
    operands.map((o) => o.strides ?? o.view.strides),
  );
  const nd = merged.shape.length;
  const meta: Meta = [total, nd, ...merged.shape];
  operands.forEach((o, k) => {
    meta.push(o.view.offset, ...merged.strides[k]!);
  });
  meta.push(...scalars);
  const list = bindingsOf(operands);
  const source = { key: `map ${nd} ${bindingsKey(list)} ${body}`, source: () => mapShader(list, nd, body) };
  const { buffers, done } = bindBuffers(ctx, operands);
  ctx.device.dispatch(source, buffers, meta, groupsFor(Math.ceil(total / MAP_WORKGROUP)));
  done();
}

export interface LaneOperand {
  view: View;
  write?: boolean;
  outer: readonly number[];
  inner: readonly number[];
}

/** Lanes at least this long get 256 threads (cross-entropy over a vocabulary), shorter ones 64. */
export const LONG_LANE = 2048;

/** One workgroup per lane over `outerShape`; inner positions over `innerShape` (see laneShader). */
export function runLanes(
  ctx: KernelContext,
  outerShape: readonly number[],
  innerShape: readonly number[],
  operands: LaneOperand[],
  body: string,
  scalars: Meta = [],
  extra: (o: LaneOptions) => string = () => "",
): void {
  const lanes = product(outerShape);
  if (lanes === 0) return;
  const o = mergeDims(
    outerShape,
    operands.map((op) => op.outer),
  );
  const i = mergeDims(
    innerShape,
    operands.map((op) => op.inner),
  );
  const n = product(innerShape);
  const meta: Meta = [lanes, n, ...o.shape, ...i.shape];
  operands.forEach((op, k) => {
    meta.push(op.view.offset, ...o.strides[k]!, ...i.strides[k]!);
  });
  meta.push(...scalars);
  const options: LaneOptions = { wg: n >= LONG_LANE ? 256 : 64, subgroups: ctx.device.subgroups };
  const list = bindingsOf(operands);
  const more = extra(options);
  const source = {
    key: `lane ${o.shape.length} ${i.shape.length} ${options.wg} ${options.subgroups} ${bindingsKey(list)} ${body} ${more}`,
    source: () => laneShader(list, o.shape.length, i.shape.length, body, more, options),
  };
  const { buffers, done } = bindBuffers(ctx, operands);
  ctx.device.dispatch(source, buffers, meta, groupsFor(lanes));
  done();
}
