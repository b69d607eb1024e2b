/**
 * The kernels' ABI, written once: the codes the host writes for dtypes and ops, and the named slots
 * of the argument blocks that the wasm kernels (AssemblyScript) and the native kernels (C++) read.
 * scripts/gen-spec.mjs renders this file as src/backend/wasm/assembly/spec.ts and
 * native/src/abi.h; test/spec.test.ts fails when those are stale.
 *
 * Slots are int32 indices into the block; float64 parameters sit from byte F_BASE_BYTES on,
 * indexed in float64s (`F` below). A kernel's own slots are named after it; P1..P3 and EXTRA are
 * the raw areas they are carved from.
 */
import { ARG_REDUCE_OPS, BINARY_OPS, REDUCE_OPS, UNARY_OPS } from "./ops.js";

/** Storage dtype codes (bool is one byte). */
export const DTYPES = ["float32", "float64", "int32", "bool"] as const;
/** crossEntropy's reduction. */
export const REDUCTIONS = ["mean", "sum", "none"] as const;
/** gatherScatter's mode: read through the index (indexSelect, gather) or add through it (indexAdd, scatterAdd). */
export const GATHER_MODES = ["gather", "scatter"] as const;
/** The activation a native linear applies, and the form of a native GELU backward. */
export const ACTIVATIONS = ["none", "gelu", "geluTanh"] as const;
/** What a kernel reports in Slot.ERR (the bad value in Slot.ERR + 1). */
export const KERNEL_ERRORS = ["none", "targetOutOfRange", "indexOutOfRange"] as const;

/** Every code list, by the enum name each target gives it. */
export const CODES = {
  DType: DTYPES,
  UnaryOp: UNARY_OPS,
  BinaryOp: BINARY_OPS,
  ReduceOp: REDUCE_OPS,
  Reduction: REDUCTIONS,
  ArgReduceOp: ARG_REDUCE_OPS,
  GatherMode: GATHER_MODES,
  Activation: ACTIVATIONS,
  KernelError: KERNEL_ERRORS,
} as const;

/** name → code of one of the lists above. */
function codesOf<T extends string>(list: readonly T[]): Readonly<Record<T, number>> {
  return Object.fromEntries(list.map((name, code) => [name, code])) as Record<T, number>;
}

export const DTYPE_CODE = codesOf(DTYPES);
export const UNARY_CODE = codesOf(UNARY_OPS);
export const BINARY_CODE = codesOf(BINARY_OPS);
export const REDUCE_CODE = codesOf(REDUCE_OPS);
export const REDUCTION_CODE = codesOf(REDUCTIONS);
export const ARG_REDUCE_CODE = codesOf(ARG_REDUCE_OPS);
export const GATHER_MODE_CODE = codesOf(GATHER_MODES);
export const ACTIVATION_CODE = codesOf(ACTIVATIONS);
export const KERNEL_ERROR_CODE = codesOf(KERNEL_ERRORS);

// ---- the wasm argument block ----

/** Bytes of one argument block (a thread's share of a split op gets its own copy). */
export const ARGS_BYTES = 1024;
/** Byte offset of the float64 parameters within the block. */
export const F_BASE_BYTES = 512;
/** Outer dims a row walk keeps after merging; operands per row walk. */
export const MAX_DIMS = 8;
export const MAX_OPERANDS = 4;

/** The row walk every elementwise kernel shares: operand q's entries are at SLOT + q. */
export const Slot = {
  /** Operands. */
  K: 0,
  /** Outer dims after merging. */
  ND: 1,
  /** Row length. */
  LEN: 2,
  ROWS: 3,
  /** The op code (UnaryOp, BinaryOp, ReduceOp, ...). */
  OP: 4,
  P1: 5,
  P2: 6,
  P3: 7,
  /** [MAX_OPERANDS] dtype codes. */
  DT: 8,
  /** [MAX_OPERANDS] byte address of element 0 of each operand's storage. */
  BASE: 12,
  /** [MAX_OPERANDS] element offset of the first row. */
  OFF: 16,
  /** [MAX_OPERANDS] element step along a row. */
  STEP: 20,
  /** [MAX_DIMS] outer dim sizes. */
  SHAPE: 24,
  /** [MAX_DIMS][MAX_OPERANDS] outer dim strides. */
  STRIDES: 32,
  /** [32] kernel-specific slots (named below). */
  EXTRA: 64,
  /** First row (threads split rows). */
  R0: 96,
  /** KernelError code, then the bad value. */
  ERR: 100,
} as const;

const P1 = Slot.P1;
const P2 = Slot.P2;
const P3 = Slot.P3;
const E = Slot.EXTRA;

/** binaryScalar: P1 = 1 when the scalar is the left operand. */
export const BinaryScalarSlot = { SCALAR_FIRST: P1 } as const;
export const GeluBackwardSlot = { APPROXIMATE: P1 } as const;
export const TriangleSlot = { DIAGONAL: P1, UPPER: P2, ROWS_PER_MATRIX: P3 } as const;
export const ReduceSlot = { OUT_SIZE: P1 } as const;
export const ArgReduceSlot = { HAS_VALUES: P2, INDICES_OFFSET: E, VALUES_OFFSET: E + 1 } as const;
export const TopkSlot = { K: P1, LARGEST: P2, TEMP: E } as const;
export const SoftmaxSlot = { LOG: P1 } as const;
export const CrossEntropySlot = {
  N: P1,
  C: P2,
  IGNORE_INDEX: P3,
  LOGITS_ROW: E,
  LOGITS_COL: E + 1,
  TARGET_STRIDE: E + 2,
  G_STRIDE: E + 3,
} as const;
export const LayerNormSlot = {
  R: P1,
  D: P2,
  X_ROW: E,
  X_COL: E + 1,
  G_ROW: E + 2,
  G_COL: E + 3,
  WEIGHT: E + 4,
  BIAS: E + 5,
  WEIGHT_OFFSET: E + 6,
  BIAS_OFFSET: E + 7,
  WEIGHT_STRIDE: E + 8,
  BIAS_STRIDE: E + 9,
  DX: E + 10,
  DX_OFFSET: E + 11,
  DWEIGHT: E + 12,
  DWEIGHT_OFFSET: E + 13,
  DBIAS: E + 14,
  DBIAS_OFFSET: E + 15,
  TEMP: E + 16,
} as const;
/** Batch norm over [R, C] contiguous float32 (addresses; 0: none). */
export const BatchNormSlot = {
  R: E,
  C: E + 1,
  X: E + 2,
  /** out (forward) or dx (backward). */
  OUT: E + 3,
  MEAN: E + 4,
  RSTD: E + 5,
  WEIGHT: E + 6,
  BIAS: E + 7,
  RUNNING_MEAN: E + 8,
  RUNNING_VAR: E + 9,
  G: E + 10,
  DWEIGHT: E + 11,
  DBIAS: E + 12,
  TEMP: E + 13,
} as const;
export const GatherScatterSlot = { DIM_SIZE: P1, DIM_STRIDE: P2 } as const;
export const MatmulSlot = {
  M: E,
  N: E + 1,
  K: E + 2,
  A_ROW: E + 3,
  A_COL: E + 4,
  B_ROW: E + 5,
  B_COL: E + 6,
  OUT_ROW: E + 7,
  OUT_COL: E + 8,
} as const;

/** Float64 parameters, indexed in float64s from F_BASE_BYTES. */
export const F = {
  VALUE: 0,
  SCALAR: 0,
  ALPHA: 0,
  EPS: 0,
  /** reduce: the number of values in each accumulator. */
  COUNT: 0,
  MOMENTUM: 1,
} as const;
export const AdamwF = { LR: 0, BETA1: 1, BETA2: 2, EPS: 3, WEIGHT_DECAY: 4, STEP: 5 } as const;

// ---- the native argument blocks (native/src/addon.cc; int32 slots, byte addresses unsigned) ----

export const NATIVE_ARGS_BYTES = 1024;
export const NATIVE_MAX_BATCH_DIMS = 8;

/** Then per batch dim d from BATCH: size, A's, B's and C's strides (4 slots). */
export const NativeMatmulSlot = {
  M: 0,
  N: 1,
  K: 2,
  A_ROW: 3,
  A_COL: 4,
  B_ROW: 5,
  B_COL: 6,
  C_ROW: 7,
  C_COL: 8,
  A: 9,
  B: 10,
  C: 11,
  BATCH_DIMS: 12,
  BATCH: 13,
} as const;
/** Then from OPERANDS, OPERAND_SLOTS per operand: address, row stride, batch strides. */
export const NativeAttentionSlot = {
  BATCH_DIMS: 0,
  T: 1,
  TK: 2,
  D: 3,
  DV: 4,
  CAUSAL: 5,
  /** float32 bits. */
  SCALE: 6,
  BATCH_SIZES: 8,
  OPERANDS: 16,
  OPERAND_SLOTS: 10,
} as const;
export const NativeLinearSlot = {
  R: 0,
  N: 1,
  K: 2,
  X: 3,
  X_ROW: 4,
  X_COL: 5,
  WEIGHT: 6,
  WEIGHT_ROW: 7,
  WEIGHT_COL: 8,
  BIAS: 9,
  OUT: 10,
  OUT_ROW: 11,
  ACTIVATION: 12,
  PRE: 13,
  PRE_ROW: 14,
} as const;
export const NativeGeluBackwardSlot = { N: 0, X: 1, G: 2, OUT: 3, ACTIVATION: 4 } as const;
/** The float64 values are at int32 slots (two each). */
export const NativeAdamwSlot = {
  N: 0,
  PARAM: 1,
  GRAD: 2,
  M: 3,
  V: 4,
  BETA1: 8,
  BETA2: 10,
  EPS: 12,
  DECAY: 14,
  STEP_SIZE: 16,
  BIAS2: 18,
} as const;
export const NativeAxpySlot = { ROWS: 0, LEN: 1, X: 2, X_ROW: 3, Y: 4, Y_ROW: 5, ALPHA: 8 } as const;
export const NativeLayerNormBackwardSlot = {
  R: 0,
  D: 1,
  X: 2,
  X_ROW: 3,
  G: 4,
  G_ROW: 5,
  MEAN: 6,
  RSTD: 7,
  WEIGHT: 8,
  DX: 9,
  DX_ROW: 10,
  DWEIGHT: 11,
  DBIAS: 12,
} as const;

/** Every slot group, by the name each target gives it. */
export const SLOT_GROUPS = {
  Slot,
  BinaryScalarSlot,
  GeluBackwardSlot,
  TriangleSlot,
  ReduceSlot,
  ArgReduceSlot,
  TopkSlot,
  SoftmaxSlot,
  CrossEntropySlot,
  LayerNormSlot,
  BatchNormSlot,
  GatherScatterSlot,
  MatmulSlot,
  F,
  AdamwF,
} as const;
export const NATIVE_SLOT_GROUPS = {
  MatmulSlot: NativeMatmulSlot,
  AttentionSlot: NativeAttentionSlot,
  LinearSlot: NativeLinearSlot,
  GeluBackwardSlot: NativeGeluBackwardSlot,
  AdamwSlot: NativeAdamwSlot,
  AxpySlot: NativeAxpySlot,
  LayerNormBackwardSlot: NativeLayerNormBackwardSlot,
} as const;
export const CONSTANTS = { ARGS_BYTES, F_BASE_BYTES, MAX_DIMS, MAX_OPERANDS } as const;
export const NATIVE_CONSTANTS = { NATIVE_ARGS_BYTES, NATIVE_MAX_BATCH_DIMS } as const;
