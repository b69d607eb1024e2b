/** The elementwise ops every backend implements; an op's code is its index here (see abi.ts). */
export const UNARY_OPS = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "rsqrt",
  "square",
  "reciprocal",
  "tanh",
  "relu",
  "sigmoid",
  "abs",
  "sign",
  "gelu",
  "geluTanh",
  "sin",
  "cos",
  "floor",
  "ceil",
  "round",
  "logicalNot",
] as const;

/** Arithmetic ops write the inputs' dtype; comparison and logical ops write bool. */
export const BINARY_OPS = [
  "add",
  "sub",
  "mul",
  "div",
  "pow",
  "maximum",
  "minimum",
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
  "and",
  "or",
] as const;

export type UnaryOp = (typeof UNARY_OPS)[number];
export type BinaryOp = (typeof BINARY_OPS)[number];

/** The relational ops, each with the op that answers the same with its operands swapped (s < x is x > s). */
export const MIRRORED = {
  eq: "eq",
  ne: "ne",
  lt: "gt",
  le: "ge",
  gt: "lt",
  ge: "le",
} as const satisfies Partial<Record<BinaryOp, BinaryOp>>;
