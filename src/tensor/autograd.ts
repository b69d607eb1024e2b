/**
 * The autograd tape. An op that produced a tensor from inputs needing gradients leaves a Node on
 * it: the op's name, its inputs, and the backward rule (upstream gradient → one gradient per input,
 * written with other ops). `backward()` walks the nodes in reverse topological order.
 */
import { add, addInPlace, cast, clone, ones } from "./ops/index.js";
import { sameShape, shapeString } from "./shape.js";
import type { Tensor } from "./tensor.js";

export type BackwardFn = (g: Tensor) => readonly (Tensor | null | undefined)[];

export class Node {
  /** Storage versions of inputs, saved tensors and output when recorded (see checkUnchanged). */
  private readonly versions: number[];

  constructor(
    readonly op: string,
    readonly inputs: readonly (Tensor | null)[],
    public backwardFn: BackwardFn | null,
    /** Tensors the backward rule uses besides inputs and output (kept alive by tidy when needed). */
    public saved: readonly Tensor[],
    private readonly output: Tensor,
  ) {
    this.versions = this.watched().map((t) => t.storage.version);
  }

  private watched(): Tensor[] {
    return [...this.inputs.filter((t): t is Tensor => t !== null), ...this.saved, this.output];
  }

  /** Backward rules read their tensors' current values: an in-place change since would corrupt them. */
  checkUnchanged(): void {
    this.watched().forEach((t, i) => {
      if (t.storage.version !== this.versions[i]) {
        throw new Error(
          `backward: a tensor that "${this.op}" needs for its gradient was changed in place (assign) after the forward pass; assign to a clone() instead, or update after backward()`,
        );
      }
    });
  }
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run fn without recording the tape (PyTorch's `torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/** Run fn with the tape on, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/** Attach a backward rule to `out` when some input needs a gradient. Returns `out`. */
export function record(
  out: Tensor,
  op: string,
  inputs: readonly (Tensor | null | undefined)[],
  backward: BackwardFn,
  saved: readonly Tensor[] = [],
): Tensor {
  if (!gradEnabled) return out;
  if (!inputs.some((t) => t?.requiresGrad)) return out;
  out.gradFn = new Node(
    op,
    inputs.map((t) => t ?? null),
    backward,
    saved,
    out,
  );
  out.markRequiresGrad();
  return out;
}

export interface BackwardOptions {
  /** Keep the graph so backward can run through it again. */
  retainGraph?: boolean;
}

/** Tensors reachable from root through nodes, inputs before the tensors computed from them. */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>([root]);
  const stack: { t: Tensor; next: number }[] = [{ t: root, next: 0 }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const inputs = frame.t.gradFn?.inputs ?? [];
    if (frame.next < inputs.length) {
      const input = inputs[frame.next++];
      if (input?.requiresGrad && !visited.has(input)) {
        visited.add(input);
        stack.push({ t: input, next: 0 });
      }
    } else {
      order.push(frame.t);
      stack.pop();
    }
  }
  return order;
}

/** Add g into t.grad (in place when it exists), keeping the grad alive as long as t's storage. */
function accumulateGrad(t: Tensor, g: Tensor): void {
  if (t.grad) {
    addInPlace(t.grad, g);
    return;
  }
  const grad = clone(g);
  grad.storage.moveTo(t.storage.scope);
  t.grad = grad;
}

export function runBackward(root: Tensor, grad?: Tensor | null, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new Error("backward: this tensor does not require grad (no input had requiresGrad: true)");
  }
  if (!grad) {
    if (root.numel() !== 1) {
      throw new Error(
        `backward: a gradient can be implied only for a single-element output, this one has shape ${shapeString(root.shape)}; pass backward(grad)`,
      );
    }
    grad = noGrad(() => ones(root.shape, { dtype: root.dtype, backend: root.backend }));
  } else if (!sameShape(grad.shape, root.shape)) {
    throw new RangeError(
      `backward: gradient shape ${shapeString(grad.shape)} does not match the output shape ${shapeString(root.shape)}`,
    );
  }
  const order = topologicalOrder(root);
  const grads = new Map<Tensor, Tensor>([[root, grad]]);
  noGrad(() => {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      const node = t.gradFn;
      if (!node) {
        accumulateGrad(t, g);
        continue;
      }
      if (t.retainsGrad) accumulateGrad(t, g);
      if (!node.backwardFn) {
        throw new Error(
          `backward: the graph through "${node.op}" was already freed by an earlier backward(); pass { retainGraph: true } to the first call to backward twice`,
        );
      }
      node.checkUnchanged();
      const inputGrads = node.backwardFn(g);
      node.inputs.forEach((input, k) => {
        let gx = inputGrads[k];
        if (!input?.requiresGrad || !gx) return;
        // An op that promoted float32 to float64 hands back float64 gradients: match the input.
        if (gx.dtype !== input.dtype) gx = cast(gx, input.dtype);
        if (!sameShape(gx.shape, input.shape)) {
          throw new Error(
            `backward of ${node.op}: gradient ${shapeString(gx.shape)} for input ${k} of shape ${shapeString(input.shape)} (a bug in the op's backward rule)`,
          );
        }
        const previous = grads.get(input);
        grads.set(input, previous ? add(previous, gx) : gx);
      });
      if (!options.retainGraph) {
        node.backwardFn = null;
        node.saved = [];
      }
    }
  });
}
