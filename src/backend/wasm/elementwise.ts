/** The wasm backend's elementwise kernels (as ../js/elementwise.ts), run as methods of WasmBackend. */
import {
  BINARY_CODE,
  BinaryScalarSlot,
  F,
  GeluBackwardSlot,
  Slot,
  TriangleSlot,
  UNARY_CODE,
} from "../spec/abi.js";
import type { KernelArgs } from "../types.js";

import { unknownOp, type WasmBackend } from "./index.js";

export function fill(this: WasmBackend, { out, value }: KernelArgs["fill"]): void {
  this.walk(out.shape, [out], [out.strides]);
  this.setF(F.VALUE, value);
  this.launch("fill");
}

export function copy(this: WasmBackend, { x, out }: KernelArgs["copy"]): void {
  this.walk(out.shape, [x, out], [x.strides, out.strides]);
  this.launch("copy");
}

export function unary(this: WasmBackend, { op, x, out }: KernelArgs["unary"]): void {
  const a = this.args();
  this.walk(out.shape, [x, out], [x.strides, out.strides]);
  a[Slot.OP] = UNARY_CODE[op] ?? unknownOp("unary", op);
  this.launch("unary");
}

export function binary(this: WasmBackend, { op, a: x, b: y, out }: KernelArgs["binary"]): void {
  const a = this.args();
  this.walk(out.shape, [x, y, out], [x.strides, y.strides, out.strides]);
  a[Slot.OP] = BINARY_CODE[op] ?? unknownOp("binary", op);
  this.launch("binary");
}

export function binaryScalar(
  this: WasmBackend,
  { op, x, scalar, scalarFirst, out }: KernelArgs["binaryScalar"],
): void {
  const a = this.args();
  this.walk(out.shape, [x, out], [x.strides, out.strides]);
  a[Slot.OP] = BINARY_CODE[op] ?? unknownOp("binary", op);
  a[BinaryScalarSlot.SCALAR_FIRST] = scalarFirst ? 1 : 0;
  this.setF(F.SCALAR, scalar);
  this.launch("binaryScalar");
}

export function where(this: WasmBackend, { cond, a: x, b: y, out }: KernelArgs["where"]): void {
  this.walk(out.shape, [cond, x, y, out], [cond.strides, x.strides, y.strides, out.strides]);
  this.launch("where");
}

export function maskedFill(this: WasmBackend, { x, mask, value, out }: KernelArgs["maskedFill"]): void {
  this.walk(out.shape, [x, mask, out], [x.strides, mask.strides, out.strides]);
  this.setF(F.VALUE, value);
  this.launch("maskedFill");
}

export function geluBackward(
  this: WasmBackend,
  { approximate, x, g, out }: KernelArgs["geluBackward"],
): void {
  if (this.native?.geluBackward({ approximate, x, g, out })) return;
  const a = this.args();
  this.walk(out.shape, [x, g, out], [x.strides, g.strides, out.strides]);
  a[GeluBackwardSlot.APPROXIMATE] = approximate ? 1 : 0;
  this.launch("geluBackward");
}

export function triangle(this: WasmBackend, { x, diagonal, upper, out }: KernelArgs["triangle"]): void {
  const a = this.args();
  this.walk(out.shape, [x, out], [x.strides, out.strides], true);
  a[TriangleSlot.DIAGONAL] = diagonal;
  a[TriangleSlot.UPPER] = upper ? 1 : 0;
  a[TriangleSlot.ROWS_PER_MATRIX] = out.shape[out.shape.length - 2]!;
  this.exports.triangle();
}
