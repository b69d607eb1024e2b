/**
 * Every wasm kernel against the js reference kernel on the same random inputs: odd sizes,
 * non-contiguous views (transposed, strided slices), broadcast operands (stride 0), every dtype
 * a kernel takes. The tensor suites (fixtures, parity, gradcheck) run on wasm through
 * tensor-backends.ts; this file checks the kernels directly, below the tensor front end.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import type {
  Backend,
  BinaryOp,
  DType,
  KernelArgs,
  KernelName,
  Storage,
  TypedArray,
  UnaryOp,
  View,
} from "../src/backend/index.js";
import { JsBackend } from "../src/backend/js/index.js";
import {
  ARG_REDUCE_OPS,
  BINARY_OPS,
  COMPARISON_OPS,
  REDUCE,
  REDUCE_OPS,
  UNARY_OPS,
} from "../src/backend/spec/ops.js";
import { WasmBackend, wasmAvailable } from "../src/backend/wasm/index.js";
import { nativeStatus } from "../src/backend/wasm/native.js";

const available = wasmAvailable();

/** A seeded generator (mulberry32) so both backends get identical inputs. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function contiguous(shape: readonly number[]): number[] {
  const strides: number[] = [];
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

/** Inputs described once, built on each backend. */
interface Input {
  dtype: DType;
  shape: number[];
  /** How the view sits in its buffer: contiguous, transposed (reversed dims), strided (every 2nd element of the last dim), or broadcast from a smaller shape. */
  layout: "contiguous" | "transposed" | "strided" | { broadcastFrom: number[] };
  values: number[];
}

function input(
  r: () => number,
  dtype: DType,
  shape: number[],
  layout: Input["layout"] = "contiguous",
  gen?: () => number,
): Input {
  const base = typeof layout === "object" ? layout.broadcastFrom : shape;
  let n = numel(base);
  if (layout === "strided") n *= 2;
  const draw =
    gen ??
    (dtype === "bool"
      ? () => (r() < 0.5 ? 1 : 0)
      : dtype === "int32"
        ? () => Math.floor(r() * 11) - 5
        : () => (r() - 0.5) * 4);
  return { dtype, shape, layout, values: Array.from({ length: n }, draw) };
}

function build(b: Backend, inp: Input): View {
  const storage = b.alloc(inp.dtype, inp.values.length);
  b.write(storage, inp.values);
  const { shape, layout } = inp;
  if (layout === "contiguous") return { storage, shape, strides: contiguous(shape), offset: 0 };
  if (layout === "transposed") {
    // Stored with dims reversed; viewed back in `shape` order.
    const rev = [...shape].reverse();
    const strides = contiguous(rev).reverse();
    return { storage, shape, strides, offset: 0 };
  }
  if (layout === "strided") {
    const wide = [...shape];
    wide[wide.length - 1]! *= 2;
    const strides = contiguous(wide);
    strides[strides.length - 1] = 2;
    return { storage, shape, strides, offset: 1 };
  }
  // Broadcast: size-1 (or missing leading) dims get stride 0.
  const from = layout.broadcastFrom;
  const fromStrides = contiguous(from);
  const lead = shape.length - from.length;
  const strides = shape.map((_, d) => (d < lead || from[d - lead] === 1 ? 0 : fromStrides[d - lead]!));
  return { storage, shape, strides, offset: 0 };
}

function output(b: Backend, dtype: DType, shape: number[]): View {
  const storage = b.alloc(dtype, numel(shape));
  return { storage, shape, strides: contiguous(shape), offset: 0 };
}

function same(actual: TypedArray, expected: TypedArray, tol: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(a), `${label}[${i}]: ${a}, expected NaN`);
      continue;
    }
    if (a === e) continue;
    const err = Math.abs(a - e);
    assert.ok(err <= tol * (1 + Math.abs(e)), `${label}[${i}]: ${a}, expected ${e} (error ${err})`);
  }
}

/**
 * Run `kernel` on both backends with args from `make`, compare the storages `outputs` names.
 * `outs` are fresh outputs; views in args may be inputs.
 */
type Check = <K extends KernelName>(
  label: string,
  kernel: K,
  make: (b: Backend) => { args: KernelArgs[K]; outputs: Storage[] },
  tol?: number,
) => void;

function checkOn<K extends KernelName>(
  wasm: Backend,
  label: string,
  kernel: K,
  make: (b: Backend) => { args: KernelArgs[K]; outputs: Storage[] },
  tol = 1e-5,
): void {
  const results = [js, wasm].map((b) => {
    const { args, outputs } = make(b);
    b.run(kernel, args);
    return outputs.map((s) => b.readSync!(s));
  });
  results[0]!.forEach((expected, i) => {
    same(results[1]![i]!, expected, tol, `${label} output ${i}`);
  });
}

const js = new JsBackend();
const native = nativeStatus();

// Every op of the table (src/backend/spec/ops.ts): a new op is tested here without an edit.
const UNARY: readonly UnaryOp[] = UNARY_OPS;
const BINARY: readonly BinaryOp[] = BINARY_OPS;
const COMPARE = COMPARISON_OPS;
const LAYOUTS: Input["layout"][] = ["contiguous", "transposed", "strided"];

/** softmax and log-softmax, forward and backward, along each of `dims`. */
function checkSoftmaxOn(wasm: Backend, x: Input, g: Input, dims: number[]): void {
  const check: Check = (label, kernel, make, tol) => checkOn(wasm, label, kernel, make, tol);
  for (const dim of dims) {
    for (const log of [false, true]) {
      check(`softmax dim ${dim} log=${log}`, "softmax", (b) => {
        const out = output(b, "float32", x.shape);
        return { args: { x: build(b, x), dim, log, out }, outputs: [out.storage] };
      });
      check(`softmaxBackward dim ${dim} log=${log}`, "softmaxBackward", (b) => {
        const out = output(b, "float32", x.shape);
        return { args: { y: build(b, x), g: build(b, g), dim, log, out }, outputs: [out.storage] };
      });
    }
  }
}

/**
 * The suite over one wasm backend: every kernel in wasm (as in browsers), or with matmul, attention,
 * AdamW and layer norm's backward in the native addon (Node, where it built).
 */
function kernelsMatchJs(title: string, skip: string | false, makeWasm: () => WasmBackend): void {
  describe(title, { skip }, () => {
    const wasm = skip ? null : makeWasm();
    const check: Check = (label, kernel, make, tol) => checkOn(wasm!, label, kernel, make, tol);
    const checkSoftmax = (x: Input, g: Input, dims: number[]) => checkSoftmaxOn(wasm!, x, g, dims);
    const r = rng(7);

    test("unary: every op, float32 and float64, contiguous and strided", () => {
      for (const dtype of ["float32", "float64"] as const) {
        for (const layout of LAYOUTS) {
          const x = input(r, dtype, [5, 7, 3], layout, () => Math.round((r() - 0.5) * 12) / 2 + r() * 0.01);
          for (const op of UNARY) {
            check(`${op} ${dtype} ${layout}`, "unary", (b) => {
              const out = output(b, dtype, [5, 7, 3]);
              return { args: { op, x: build(b, x), out }, outputs: [out.storage] };
            });
          }
        }
      }
    });

    test("unary on long contiguous rows (SIMD body and tail)", () => {
      const x = input(r, "float32", [1037]);
      for (const op of UNARY) {
        check(op, "unary", (b) => {
          const out = output(b, "float32", [1037]);
          return { args: { op, x: build(b, x), out }, outputs: [out.storage] };
        });
      }
    });

    test("SIMD exp, tanh, sigmoid, GELU (both forms) and their backward over -30..30 and the tails", () => {
      // Dense near 0, where the approximations switch branches, and out past float32 exp's range.
      const values = Array.from({ length: 4003 }, (_, i) => {
        const t = (i - 2001) / 2001;
        return i % 7 === 0 ? t * 30 : Math.sign(t) * t * t * 12;
      });
      values.push(-100, 100, 0, -0, Number.NaN);
      const x: Input = { dtype: "float32", shape: [values.length], layout: "contiguous", values };
      for (const op of ["exp", "tanh", "sigmoid", "gelu", "geluTanh"] as const) {
        check(`${op} wide`, "unary", (b) => {
          const out = output(b, "float32", x.shape);
          return { args: { op, x: build(b, x), out }, outputs: [out.storage] };
        });
      }
      const g = input(r, "float32", x.shape);
      for (const approximate of [true, false]) {
        for (const gv of [g, input(r, "float32", x.shape, { broadcastFrom: [1] })]) {
          check(`geluBackward wide approximate=${approximate}`, "geluBackward", (b) => {
            const out = output(b, "float32", x.shape);
            return { args: { approximate, x: build(b, x), g: build(b, gv), out }, outputs: [out.storage] };
          });
        }
      }
    });

    test("binary: every op with broadcasting, float32 / float64 / int32 / bool", () => {
      const cases: [DType, Input["layout"], Input["layout"]][] = [
        ["float32", "contiguous", "contiguous"],
        ["float32", { broadcastFrom: [5, 1, 9] }, { broadcastFrom: [7, 1] }],
        ["float32", "transposed", { broadcastFrom: [9] }],
        ["float32", { broadcastFrom: [1] }, "strided"],
        ["float64", "strided", { broadcastFrom: [7, 9] }],
        ["int32", "contiguous", { broadcastFrom: [5, 1, 1] }],
        ["bool", "transposed", "contiguous"],
      ];
      for (const [dtype, la, lb] of cases) {
        const a = input(r, dtype, [5, 7, 9], la);
        const bIn = input(r, dtype, [5, 7, 9], lb);
        for (const op of BINARY) {
          if (dtype === "bool" && !COMPARE.has(op)) continue;
          if (dtype === "int32" && (op === "div" || op === "pow")) continue;
          const outType = COMPARE.has(op) ? "bool" : dtype;
          check(`${op} ${dtype}`, "binary", (b) => {
            const out = output(b, outType, [5, 7, 9]);
            return { args: { op, a: build(b, a), b: build(b, bIn), out }, outputs: [out.storage] };
          });
        }
      }
    });

    test("binaryScalar: both sides, float32-exact and inexact scalars", () => {
      for (const [dtype, layout] of [
        ["float32", "transposed"],
        ["float32", "contiguous"],
        ["float64", "transposed"],
        ["int32", "transposed"],
      ] as const) {
        const x = input(r, dtype, [6, 11], layout);
        // Contiguous float32 rows take SIMD paths that must round exactly as js does.
        const tol = layout === "contiguous" ? 0 : 1e-5;
        for (const scalar of [2, 0.1, -3]) {
          for (const scalarFirst of [false, true]) {
            for (const op of BINARY) {
              if (dtype === "int32" && (op === "div" || op === "pow")) continue;
              const outType = COMPARE.has(op) ? "bool" : dtype;
              check(
                `${scalar} ${op} ${dtype} ${layout} first=${scalarFirst}`,
                "binaryScalar",
                (b) => {
                  const out = output(b, outType, [6, 11]);
                  return { args: { op, x: build(b, x), scalar, scalarFirst, out }, outputs: [out.storage] };
                },
                tol,
              );
            }
          }
        }
      }
    });

    test("comparisons with ties, NaN and float32-inexact scalars (the typed compare loops)", () => {
      const ties = [0.5, -1, 2, 0.1, Number.NaN, 0.5, Math.fround(0.1), -0, 0, 2];
      const gen = (values: number[]) => {
        let i = 0;
        return () => values[i++ % values.length]!;
      };
      const COMPARISONS = BINARY.filter((op) => COMPARE.has(op) && op !== "and" && op !== "or");
      for (const [dtype, values] of [
        ["float32", ties],
        ["int32", [3, -2, 0, 3, 7, -2, 1]],
      ] as const) {
        const layouts: Input["layout"][] = ["contiguous", "transposed", { broadcastFrom: [1, 13] }];
        for (const layout of layouts) {
          const a = input(r, dtype, [7, 13], layout, gen([...values]));
          const bIn = input(r, dtype, [7, 13], "contiguous", gen([...values].reverse()));
          for (const op of COMPARISONS) {
            check(`${op} ${dtype} ${JSON.stringify(layout)}`, "binary", (b) => {
              const out = output(b, "bool", [7, 13]);
              return { args: { op, a: build(b, a), b: build(b, bIn), out }, outputs: [out.storage] };
            });
            for (const scalar of [0.5, 0.1, 3, Number.NaN]) {
              for (const scalarFirst of [false, true]) {
                check(`${scalar} ${op} ${dtype} first=${scalarFirst}`, "binaryScalar", (b) => {
                  const out = output(b, "bool", [7, 13]);
                  return { args: { op, x: build(b, a), scalar, scalarFirst, out }, outputs: [out.storage] };
                });
              }
            }
          }
        }
      }
    });

    test("copy between dtypes into strided outputs; fill strided views", () => {
      const dtypes: DType[] = ["float32", "float64", "int32", "bool"];
      for (const from of dtypes) {
        for (const to of dtypes) {
          const x = input(r, from, [4, 9], "transposed");
          const o = input(r, to, [4, 9], "strided");
          check(`copy ${from}→${to}`, "copy", (b) => {
            const out = build(b, o);
            return { args: { x: build(b, x), out }, outputs: [out.storage] };
          });
        }
        const o = input(r, from, [3, 5, 7], "strided");
        check(`fill ${from}`, "fill", (b) => {
          const out = build(b, o);
          return { args: { out, value: 1.5 }, outputs: [out.storage] };
        });
      }
    });

    test("where, maskedFill, geluBackward, triangle", () => {
      const shape = [3, 5, 7];
      const cond = input(r, "bool", shape, { broadcastFrom: [5, 1] });
      const a = input(r, "float32", shape, "transposed");
      const bb = input(r, "float32", shape, { broadcastFrom: [7] });
      check("where", "where", (b) => {
        const out = output(b, "float32", shape);
        return {
          args: { cond: build(b, cond), a: build(b, a), b: build(b, bb), out },
          outputs: [out.storage],
        };
      });
      check("maskedFill", "maskedFill", (b) => {
        const out = output(b, "float32", shape);
        return { args: { x: build(b, a), mask: build(b, cond), value: -1e9, out }, outputs: [out.storage] };
      });
      for (const approximate of [false, true]) {
        check(`geluBackward ${approximate}`, "geluBackward", (b) => {
          const out = output(b, "float32", shape);
          return { args: { approximate, x: build(b, a), g: build(b, bb), out }, outputs: [out.storage] };
        });
      }
      for (const [diagonal, upper] of [
        [0, false],
        [1, true],
        [-2, false],
      ] as const) {
        check(`triangle ${diagonal} ${upper}`, "triangle", (b) => {
          const out = output(b, "float32", shape);
          return { args: { x: build(b, a), diagonal, upper, out }, outputs: [out.storage] };
        });
      }
    });

    test("reduce: every op over axis sets, non-contiguous", () => {
      const shape = [4, 5, 6];
      const axesSets = [[0], [1], [2], [0, 2], [0, 1, 2]];
      for (const dtype of ["float32", "float64", "int32"] as const) {
        const x = input(
          r,
          dtype,
          shape,
          dtype === "float32" ? "transposed" : "strided",
          () => (r() - 0.5) * 2,
        );
        for (const op of REDUCE_OPS) {
          for (const axes of axesSets) {
            const outShape = shape.map((s, d) => (axes.includes(d) ? 1 : s));
            const outType = REDUCE[op].input === "float" && dtype === "int32" ? "float32" : dtype;
            check(`${op} ${dtype} ${axes}`, "reduce", (b) => {
              const out = output(b, outType, outShape);
              return { args: { op, x: build(b, x), axes, out }, outputs: [out.storage] };
            });
          }
        }
      }
    });

    test("sum and mean of contiguous float32 rows over the leading dims (the column-block path)", () => {
      for (const [shape, axes] of [
        [[37, 29], [0]],
        [
          [3, 11, 16],
          [0, 1],
        ],
        [[5, 7], [0]],
      ] as [number[], number[]][]) {
        const x = input(r, "float32", shape);
        const outShape = shape.map((s, d) => (axes.includes(d) ? 1 : s));
        for (const op of ["sum", "mean"] as const) {
          check(`${op} ${shape} over ${axes}`, "reduce", (b) => {
            const out = output(b, "float32", outShape);
            return { args: { op, x: build(b, x), axes, out }, outputs: [out.storage] };
          });
        }
      }
    });

    test("reduce and argReduce: the hand-written float32 paths against the table's loops (contiguous rows, NaN)", () => {
      // Contiguous float32 rows take wasm's SIMD sums (one accumulator per row, or one per
      // column) and the generic path for the other ops; js runs the table's loops.
      const cases: [number[], number[]][] = [
        [[7, 33], [1]],
        [[3, 5, 9], [2]],
        [[3, 5, 9], [0]],
        [
          [3, 5, 9],
          [0, 2],
        ],
        [[6, 10], [0]],
        [[40], [0]],
      ];
      for (const [shape, axes] of cases) {
        for (const nan of [false, true]) {
          const x = input(r, "float32", shape, "contiguous", () => (r() - 0.5) * 2);
          if (nan) x.values[Math.floor(x.values.length / 2)] = Number.NaN;
          const outShape = shape.map((s, d) => (axes.includes(d) ? 1 : s));
          for (const op of REDUCE_OPS) {
            check(`${op} ${shape} over ${axes}${nan ? " with a NaN" : ""}`, "reduce", (b) => {
              const out = output(b, "float32", outShape);
              return { args: { op, x: build(b, x), axes, out }, outputs: [out.storage] };
            });
          }
          if (axes.length > 1) continue;
          for (const op of ARG_REDUCE_OPS) {
            check(`arg${op} ${shape} along ${axes}${nan ? " with a NaN" : ""}`, "argReduce", (b) => {
              const values = output(b, "float32", outShape);
              const indices = output(b, "int32", outShape);
              return {
                args: { op, x: build(b, x), dim: axes[0]!, values, indices },
                outputs: [values.storage, indices.storage],
              };
            });
          }
        }
      }
    });

    test("argReduce and topk along each dim", () => {
      const shape = [4, 7, 5];
      const x = input(r, "float32", shape, "transposed", () => Math.floor(r() * 6));
      for (let dim = 0; dim < 3; dim++) {
        const outShape = shape.map((s, d) => (d === dim ? 1 : s));
        for (const op of ["max", "min"] as const) {
          check(`arg${op} dim ${dim}`, "argReduce", (b) => {
            const values = output(b, "float32", outShape);
            const indices = output(b, "int32", outShape);
            return {
              args: { op, x: build(b, x), dim, values, indices },
              outputs: [values.storage, indices.storage],
            };
          });
        }
        const k = 3;
        const kShape = shape.map((s, d) => (d === dim ? k : s));
        for (const largest of [true, false]) {
          check(`topk dim ${dim} largest=${largest}`, "topk", (b) => {
            const values = output(b, "float32", kShape);
            const indices = output(b, "int32", kShape);
            return {
              args: { x: build(b, x), k, dim, largest, values, indices },
              outputs: [values.storage, indices.storage],
            };
          });
        }
      }
    });

    test("softmax / log-softmax on contiguous float32 rows (SIMD), masked and fully masked rows", () => {
      const shape = [4, 37];
      const x = input(r, "float32", shape);
      for (let j = 20; j < 37; j++) x.values[37 + j] = -Infinity;
      for (let j = 0; j < 37; j++) x.values[2 * 37 + j] = -Infinity;
      for (const log of [false, true]) {
        check(`softmax rows log=${log}`, "softmax", (b) => {
          const out = output(b, "float32", shape);
          return { args: { x: build(b, x), dim: 1, log, out }, outputs: [out.storage] };
        });
      }
    });

    test("softmax / log-softmax and their backward along each dim", () => {
      const shape = [3, 6, 5];
      const x = input(r, "float32", shape, "strided");
      const g = input(r, "float32", shape, "transposed");
      checkSoftmax(x, g, [0, 1, 2]);
    });

    test("crossEntropy forward and backward, every reduction, ignoreIndex", () => {
      const N = 13;
      const C = 27;
      const target = input(r, "int32", [N], "contiguous", () => Math.floor(r() * C));
      target.values[3] = -100;
      // Transposed logits take the strided path, contiguous ones the SIMD rows.
      for (const [reduction, logits] of (["mean", "sum", "none"] as const).flatMap((red) =>
        (["transposed", "contiguous"] as const).map(
          (layout) => [red, input(r, "float32", [N, C], layout)] as const,
        ),
      )) {
        const outShape = reduction === "none" ? [N] : [];
        const g = input(r, "float32", outShape);
        check(`crossEntropy ${reduction}`, "crossEntropy", (b) => {
          const out = output(b, "float32", outShape);
          return {
            args: { logits: build(b, logits), target: build(b, target), ignoreIndex: -100, reduction, out },
            outputs: [out.storage],
          };
        });
        check(`crossEntropyBackward ${reduction}`, "crossEntropyBackward", (b) => {
          const out = output(b, "float32", [N, C]);
          return {
            args: {
              logits: build(b, logits),
              target: build(b, target),
              g: build(b, g),
              ignoreIndex: -100,
              reduction,
              out,
            },
            outputs: [out.storage],
          };
        });
      }
    });

    test("layerNorm forward and backward, with and without affine", () => {
      // Small and strided (the generic path); contiguous rows (SIMD), some above the thread split.
      for (const [R, D, layout] of [
        [9, 33, "strided"],
        [9, 33, "contiguous"],
        [301, 259, "contiguous"],
      ] as const) {
        layerNormCase(R, D, layout);
      }
    });

    function layerNormCase(R: number, D: number, layout: "strided" | "contiguous"): void {
      const x = input(r, "float32", [R, D], layout);
      const w = input(r, "float32", [D]);
      const bias = input(r, "float32", [D]);
      const g = input(r, "float32", [R, D], "transposed");
      for (const affine of [true, false]) {
        check(`layerNorm ${R}×${D} ${layout} affine=${affine}`, "layerNorm", (b) => {
          const out = output(b, "float32", [R, D]);
          const mean = output(b, "float32", [R]);
          const rstd = output(b, "float32", [R]);
          return {
            args: {
              x: build(b, x),
              weight: affine ? build(b, w) : null,
              bias: affine ? build(b, bias) : null,
              eps: 1e-5,
              out,
              mean,
              rstd,
            },
            outputs: [out.storage, mean.storage, rstd.storage],
          };
        });
        check(`layerNormBackward ${R}×${D} ${layout} affine=${affine}`, "layerNormBackward", (b) => {
          const xv = build(b, x);
          const mean = output(b, "float32", [R]);
          const rstd = output(b, "float32", [R]);
          const tmp = output(b, "float32", [R, D]);
          b.run("layerNorm", { x: xv, weight: null, bias: null, eps: 1e-5, out: tmp, mean, rstd });
          const dx = output(b, "float32", [R, D]);
          const dweight = affine ? output(b, "float32", [D]) : null;
          const dbias = affine ? output(b, "float32", [D]) : null;
          return {
            args: {
              x: xv,
              weight: affine ? build(b, w) : null,
              mean,
              rstd,
              g: build(b, g),
              dx,
              dweight,
              dbias,
            },
            outputs: [dx.storage, ...(dweight ? [dweight.storage, dbias!.storage] : [])],
          };
        });
      }
    }

    test("indexSelect, indexAdd, gather, scatterAdd along each dim", () => {
      const shape = [5, 6, 7];
      const x = input(r, "float32", shape, "transposed");
      for (let dim = 0; dim < 3; dim++) {
        const K = 9;
        const index = input(r, "int32", [K], "contiguous", () => Math.floor(r() * shape[dim]!));
        const selShape = shape.map((s, d) => (d === dim ? K : s));
        check(`indexSelect dim ${dim}`, "indexSelect", (b) => {
          const out = output(b, "float32", selShape);
          return { args: { x: build(b, x), dim, index: build(b, index), out }, outputs: [out.storage] };
        });
        const src = input(r, "float32", selShape, "strided");
        check(`indexAdd dim ${dim}`, "indexAdd", (b) => {
          const out = output(b, "float32", shape);
          return { args: { src: build(b, src), dim, index: build(b, index), out }, outputs: [out.storage] };
        });
        const gShape = shape.map((s, d) => (d === dim ? 4 : s));
        const gIndex = input(r, "int32", gShape, "contiguous", () => Math.floor(r() * shape[dim]!));
        check(`gather dim ${dim}`, "gather", (b) => {
          const out = output(b, "float32", gShape);
          return { args: { x: build(b, x), dim, index: build(b, gIndex), out }, outputs: [out.storage] };
        });
        const gSrc = input(r, "float32", gShape, "transposed");
        check(`scatterAdd dim ${dim}`, "scatterAdd", (b) => {
          const out = output(b, "float32", shape);
          return { args: { src: build(b, gSrc), dim, index: build(b, gIndex), out }, outputs: [out.storage] };
        });
      }
    });

    /** Float32 products of each [M, N, K] with a and b contiguous, transposed or strided. */
    const checkMatmulSizes = (sizes: [number, number, number][]) => {
      for (const [M, N, K] of sizes) {
        for (const ta of ["contiguous", "transposed"] as const) {
          for (const tb of ["contiguous", "transposed", "strided"] as const) {
            const a = input(r, "float32", [M, K], ta);
            const bb = input(r, "float32", [K, N], tb);
            check(
              `matmul ${M}x${N}x${K} ${ta} ${tb}`,
              "matmul",
              (b) => {
                const out = output(b, "float32", [M, N]);
                return { args: { a: build(b, a), b: build(b, bb), out }, outputs: [out.storage] };
              },
              1e-4,
            );
          }
        }
      }
    };

    test("matmul: odd sizes, every transpose, batched with broadcast, float64", () => {
      const sizes: [number, number, number][] = [
        [1, 1, 1],
        [3, 5, 2],
        [7, 9, 13],
        [33, 17, 65],
        [129, 70, 300],
        [64, 520, 40],
      ];
      checkMatmulSizes(sizes);
      const a = input(r, "float32", [2, 3, 11, 21], { broadcastFrom: [2, 1, 11, 21] });
      const bb = input(r, "float32", [2, 3, 21, 10], { broadcastFrom: [3, 21, 10] });
      check(
        "matmul batched broadcast",
        "matmul",
        (b) => {
          const out = output(b, "float32", [2, 3, 11, 10]);
          return { args: { a: build(b, a), b: build(b, bb), out }, outputs: [out.storage] };
        },
        1e-4,
      );
      // A weight shared by every batch folds the batches into rows (one packing of the weight).
      const x3 = input(r, "float32", [2, 3, 11, 21], "strided");
      const w = input(r, "float32", [2, 3, 21, 10], { broadcastFrom: [21, 10] });
      check(
        "matmul shared weight folded into rows",
        "matmul",
        (b) => {
          const out = output(b, "float32", [2, 3, 11, 10]);
          return { args: { a: build(b, x3), b: build(b, w), out }, outputs: [out.storage] };
        },
        1e-4,
      );
      const a64 = input(r, "float64", [9, 14], "transposed");
      const b64 = input(r, "float64", [14, 6], "strided");
      check(
        "matmul float64",
        "matmul",
        (b) => {
          const out = output(b, "float64", [9, 6]);
          return { args: { a: build(b, a64), b: build(b, b64), out }, outputs: [out.storage] };
        },
        1e-12,
      );
    });

    test("matmul with a few rows (unpacked): odd sizes, every transpose, batched, split over threads", async () => {
      assert.equal(await wasm!.startThreads(), 2);
      // K past one SIMD width with a tail, N past the 512-column chunk with a tail; the larger
      // products are over the threshold that splits their columns over the threads.
      const sizes: [number, number, number][] = [
        [1, 13, 7],
        [2, 1030, 9],
        [3, 6, 1027],
        [4, 1030, 1027],
        [1, 1030, 1027],
        [8, 1030, 1027],
        [5, 33, 20],
      ];
      checkMatmulSizes(sizes);
      // One token of a batch of 3 against per-batch keys (q @ kᵀ) and values (att @ v) of a KV cache.
      const q = input(r, "float32", [3, 1, 64]);
      const keys = input(r, "float32", [3, 37, 64]);
      const v = input(r, "float32", [3, 37, 64], { broadcastFrom: [37, 64] });
      check(
        "matmul batched rows against transposed keys",
        "matmul",
        (b) => {
          const out = output(b, "float32", [3, 1, 37]);
          const k = build(b, keys);
          const kT = { ...k, shape: [3, 64, 37], strides: [k.strides[0]!, k.strides[2]!, k.strides[1]!] };
          return { args: { a: build(b, q), b: kT, out }, outputs: [out.storage] };
        },
        1e-4,
      );
      const att = input(r, "float32", [3, 1, 37]);
      check(
        "matmul batched rows against broadcast values",
        "matmul",
        (b) => {
          const out = output(b, "float32", [3, 1, 64]);
          return { args: { a: build(b, att), b: build(b, v), out }, outputs: [out.storage] };
        },
        1e-4,
      );
    });

    test("matmul split over threads (large enough to parallelize)", async () => {
      assert.equal(await wasm!.startThreads(), 2, "both threads serve");
      const a = input(r, "float32", [257, 130]);
      const bb = input(r, "float32", [130, 99], "transposed");
      check(
        "matmul threaded rows",
        "matmul",
        (b) => {
          const out = output(b, "float32", [257, 99]);
          return { args: { a: build(b, a), b: build(b, bb), out }, outputs: [out.storage] };
        },
        1e-4,
      );
      const a3 = input(r, "float32", [6, 64, 80]);
      const b3 = input(r, "float32", [6, 80, 72]);
      check(
        "matmul threaded batches",
        "matmul",
        (b) => {
          const out = output(b, "float32", [6, 64, 72]);
          return { args: { a: build(b, a3), b: build(b, b3), out }, outputs: [out.storage] };
        },
        1e-4,
      );
    });

    test("elementwise ops above the threshold split over threads (by rows, or slices of one row)", async () => {
      assert.equal(await wasm!.startThreads(), 2);
      const shape = [601, 499];
      for (const layout of ["contiguous", "strided"] as const) {
        const x = input(r, "float32", shape, layout);
        const y = input(r, "float32", shape, { broadcastFrom: [499] });
        check(`tanh ${layout}`, "unary", (b) => {
          const out = output(b, "float32", shape);
          return { args: { op: "tanh", x: build(b, x), out }, outputs: [out.storage] };
        });
        check(`mul ${layout}`, "binary", (b) => {
          const out = output(b, "float32", shape);
          return { args: { op: "mul", a: build(b, x), b: build(b, y), out }, outputs: [out.storage] };
        });
        check(`scalar ${layout}`, "binaryScalar", (b) => {
          const out = output(b, "float32", shape);
          return {
            args: { op: "sub", x: build(b, x), scalar: 0.3, scalarFirst: true, out },
            outputs: [out.storage],
          };
        });
        check(`copy ${layout}`, "copy", (b) => {
          const out = output(b, "float64", shape);
          return { args: { x: build(b, x), out }, outputs: [out.storage] };
        });
      }
    });

    test("softmax and its backward above the threshold split over threads by rows, along each dim", async () => {
      assert.equal(await wasm!.startThreads(), 2);
      const shape = [301, 251];
      const x = input(r, "float32", shape);
      for (let j = 100; j < 251; j++) x.values[251 * 7 + j] = -Infinity;
      const g = input(r, "float32", shape, "transposed");
      checkSoftmax(x, g, [0, 1]);
    });

    test("adamw step, with and without weight decay, strided state", () => {
      const shape = [7, 13];
      for (const weightDecay of [0, 0.1]) {
        const p = input(r, "float32", shape);
        const g = input(r, "float32", shape, "transposed");
        const m = input(r, "float32", shape, "strided");
        const v = input(r, "float32", shape, "contiguous", () => r());
        check(`adamw wd=${weightDecay}`, "adamw", (b) => {
          const [pv, mv, vv] = [build(b, p), build(b, m), build(b, v)];
          return {
            args: {
              param: pv,
              grad: build(b, g),
              m: mv,
              v: vv,
              lr: 1e-2,
              beta1: 0.9,
              beta2: 0.999,
              eps: 1e-8,
              weightDecay,
              step: 3,
            },
            outputs: [pv.storage, mv.storage, vv.storage],
          };
        });
      }
    });

    test("index errors name the bad index", () => {
      const x = input(r, "float32", [4, 3]);
      const index = input(r, "int32", [2], "contiguous", () => 7);
      assert.throws(
        () => {
          const out = output(wasm!, "float32", [2, 3]);
          wasm!.run("indexSelect", { x: build(wasm!, x), dim: 0, index: build(wasm!, index), out });
        },
        { name: "RangeError", message: "indexSelect: index 7 is out of range for dimension 0 with size 4" },
      );
      const logits = input(r, "float32", [2, 3]);
      assert.throws(
        () => {
          const out = output(wasm!, "float32", []);
          wasm!.run("crossEntropy", {
            logits: build(wasm!, logits),
            target: build(wasm!, index),
            ignoreIndex: -100,
            reduction: "mean",
            out,
          });
        },
        { name: "RangeError", message: "crossEntropy: target 7 is out of range for 3 classes" },
      );
    });
  });
}

kernelsMatchJs(
  "wasm kernels match js",
  !available && "no WebAssembly SIMD here",
  () => new WasmBackend({ threads: 2, native: false }),
);
kernelsMatchJs(
  "wasm kernels with the native addon match js",
  (!available && "no WebAssembly SIMD here") || (!native.addon && `no native addon: ${native.reason}`),
  () => new WasmBackend({ threads: 2 }),
);

describe("wasm memory", { skip: !available && "no WebAssembly SIMD here" }, () => {
  test("free reuses blocks (contents unspecified, as the interface allows); memoryStats counts live tensors", () => {
    const b = new WasmBackend({ threads: 1 });
    const before = b.memoryStats();
    const s = b.alloc("float32", 1000);
    b.write(s, new Float32Array(1000).fill(3));
    assert.deepEqual(b.memoryStats(), { buffers: before.buffers + 1, bytes: before.bytes + 4000 });
    b.free(s);
    b.free(s); // double free is a no-op
    assert.deepEqual(b.memoryStats(), before);
    const top = b.heapStats().heapTop;
    b.alloc("float32", 1000);
    assert.equal(b.heapStats().heapTop, top, "the freed block is reused");
  });

  test("running out of wasm memory says what was asked for and what is left", () => {
    const b = new WasmBackend({ threads: 1 });
    assert.throws(
      () => b.alloc("float32", 2 ** 30),
      /out of memory: requested 4294967296 bytes, but only \d+ of the/,
    );
  });
});

test("the relaxed-SIMD build (FMA) matches js where the runtime has it", { skip: !available }, () => {
  // Node 20 needs the V8 flag; the test process may not have it, so run a child with it.
  const backendUrl = new URL("../src/backend/wasm/index.js", import.meta.url).href;
  const jsUrl = new URL("../src/backend/js/index.js", import.meta.url).href;
  const code = `
    const { WasmBackend, wasmModule } = await import(${JSON.stringify(backendUrl)});
    const { JsBackend } = await import(${JSON.stringify(jsUrl)});
    if (!wasmModule("relaxedShared")) { console.log("no relaxed simd"); process.exit(0); }
    const [M, N, K] = [67, 45, 300];
    let worst = 0;
    const outs = [new WasmBackend({ variant: "relaxedShared", threads: 2 }), new JsBackend()].map((b) => {
      const v = (shape, data) => { const s = b.alloc("float32", data.length); b.write(s, data); return { storage: s, shape, strides: [shape[1], 1], offset: 0 }; };
      const a = v([M, K], Array.from({ length: M * K }, (_, i) => Math.sin(i)));
      const w = v([K, N], Array.from({ length: K * N }, (_, i) => Math.cos(i)));
      const o = v([M, N], new Array(M * N).fill(0));
      b.run("matmul", { a, b: w, out: o });
      return b.readSync(o.storage);
    });
    for (let i = 0; i < M * N; i++) worst = Math.max(worst, Math.abs(outs[0][i] - outs[1][i]));
    console.log("max error", worst);
    process.exit(worst < 1e-3 ? 0 : 1);
  `;
  const child = spawnSync(
    process.execPath,
    ["--experimental-wasm-relaxed-simd", "--input-type=module", "-e", code],
    {
      encoding: "utf8",
    },
  );
  assert.equal(child.status, 0, child.stdout + child.stderr);
});
