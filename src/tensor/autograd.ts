/**
 * The autograd tape. An op that produced a tensor from inputs needing gradients leaves a Node on
 * it: the op's name, its inputs, and the backward rule (upstream gradient → one gradient per input,
 * written with other ops). `backward()` walks the nodes in reverse topological order.
 */
import {
  activePrivateStorages,
  activeScope,
  memoryCheckpoint,
  PrivateStorages,
  Scope,
  setActivePrivateStorages,
  setActiveScope,
} from "./memory.js";
import { add, addInPlace, assign, cast, clone, ones, zeros } from "./ops/index.js";
import { sameShape, shapeString } from "./shape.js";
import type { Tensor } from "./tensor.js";

/**
 * A gradient that is zero outside one view of its input (the backward of a slice or select): g is
 * the gradient of `part(input)`. The engine keeps it as that part until the whole is needed, so
 * the slices of one tensor (q, k and v of GPT's fused projection) add into one zero-filled
 * gradient instead of each making its own and summing them.
 */
export class PartialGrad {
  constructor(
    readonly g: Tensor,
    readonly part: (whole: Tensor) => Tensor,
  ) {}
}

export type BackwardFn = (g: Tensor) => readonly (Tensor | PartialGrad | null | undefined)[];

export class Node {
  /** Storage versions of inputs, saved tensors and output when recorded (see checkUnchanged). */
  private readonly versions: number[];
  /** Intermediates of a library forward that only this node's graph holds (see graphPrivate). */
  privateStorages: PrivateStorages | null = null;

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
function accumulateGrad(t: Tensor, g: Tensor | PartialGrad): void {
  if (t.grad) {
    if (g instanceof PartialGrad) addInPlace(g.part(t.grad), g.g);
    else addInPlace(t.grad, g);
    return;
  }
  const grad = g instanceof PartialGrad ? whole(t, g) : clone(g);
  grad.storage.moveTo(t.storage.scope);
  t.grad = grad;
}

/**
 * Gradients this backward pass allocated itself and has handed to no backward rule: only these
 * are added into in place (a rule may return its upstream gradient for several inputs).
 */
type Owned = WeakSet<Tensor>;

/** The whole gradient of `input` from a partial one: zeros with the part written. */
function whole(input: Tensor, p: PartialGrad, owned?: Owned): Tensor {
  const z = zeros(input.shape, { dtype: p.g.dtype, backend: p.g.backend });
  assign(p.part(z), p.g);
  owned?.add(z);
  return z;
}

/** previous + next, in place into a gradient this pass owns where there is one. */
function accumulate(
  input: Tensor,
  previous: Tensor | PartialGrad | undefined,
  next: Tensor | PartialGrad,
  owned: Owned,
): Tensor | PartialGrad {
  if (!previous) return next;
  let sum: Tensor;
  let other: Tensor | PartialGrad;
  if (previous instanceof PartialGrad) {
    if (next instanceof PartialGrad || !owned.has(next)) {
      sum = whole(input, previous, owned);
      other = next;
    } else {
      sum = next;
      other = previous;
    }
  } else if (owned.has(previous)) {
    sum = previous;
    other = next;
  } else if (!(next instanceof PartialGrad) && owned.has(next)) {
    sum = next;
    other = previous;
  } else if (next instanceof PartialGrad) {
    sum = clone(previous);
    owned.add(sum);
    other = next;
  } else {
    const s = add(previous, next);
    owned.add(s);
    return s;
  }
  if (other instanceof PartialGrad) addInPlace(other.part(sum), other.g);
  else addInPlace(sum, other);
  return sum;
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
  } else if (!sameShape(grad.shape, root.shape)) {
    throw new RangeError(
      `backward: gradient shape ${shapeString(grad.shape)} does not match the output shape ${shapeString(root.shape)}`,
    );
  }
  // Everything backward allocates is its own but the .grad it leaves (accumulateGrad moves those
  // to their tensor's owner): a scope frees the rest when it returns.
  const scope = new Scope(activeScope());
  setActiveScope(scope);
  const freedTape: PrivateStorages[] = [];
  try {
    grad ??= noGrad(() => ones(root.shape, { dtype: root.dtype, backend: root.backend }));
    backwardInScope(root, grad, options, freedTape);
  } finally {
    setActiveScope(scope.parent);
    for (const storage of [...scope.storages]) storage.free();
    for (const owner of freedTape) owner.free("backward");
  }
  memoryCheckpoint();
}

/**
 * Run a library forward (nn.Sequential's) whose intermediates no user code ever sees: storages it
 * allocates outside scopes, but the result's, are owned by the result's tape and freed, without a
 * copy, by the backward() that frees that tape (or at once when no tape was recorded). Code that
 * hands a tensor to user code inside fn must `publish()` its storage first and run the user code
 * in `outsideGraphPrivate`. Nested calls belong to the outermost one.
 */
export function graphPrivate(fn: () => Tensor): Tensor {
  if (activePrivateStorages()) return fn();
  const owner = new PrivateStorages();
  setActivePrivateStorages(owner);
  let out: Tensor;
  try {
    out = fn();
  } catch (error) {
    owner.publishAll();
    throw error;
  } finally {
    setActivePrivateStorages(null);
  }
  out.storage.publish();
  if (owner.storages.size === 0) return out;
  const node = out.gradFn;
  if (!node?.backwardFn) owner.free("forward");
  // A tape another graphPrivate already owns (a pass-through result): the nursery takes them.
  else if (node.privateStorages) owner.publishAll();
  else node.privateStorages = owner;
  return out;
}

/** Run user code from inside graphPrivate: what it allocates is the user's. */
export function outsideGraphPrivate<T>(fn: () => T): T {
  const owner = activePrivateStorages();
  setActivePrivateStorages(null);
  try {
    return fn();
  } finally {
    setActivePrivateStorages(owner);
  }
}

function backwardInScope(
  root: Tensor,
  grad: Tensor,
  options: BackwardOptions,
  freedTape: PrivateStorages[],
): void {
  const order = topologicalOrder(root);
  const grads = new Map<Tensor, Tensor | PartialGrad>([[root, grad]]);
  const owned: Owned = new WeakSet();
  noGrad(() => {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      const pending = grads.get(t);
      if (!pending) continue;
      grads.delete(t);
      const node = t.gradFn;
      if (!node) {
        accumulateGrad(t, pending);
        continue;
      }
      const g = pending instanceof PartialGrad ? whole(t, pending) : pending;
      // Handed to a rule, which may return it for several inputs: never added into again.
      owned.delete(g);
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
        if (gx instanceof PartialGrad) {
          if (gx.g.dtype !== input.dtype) gx = new PartialGrad(cast(gx.g, input.dtype), gx.part);
        } else {
          if (gx.dtype !== input.dtype) gx = cast(gx, input.dtype);
          if (!sameShape(gx.shape, input.shape)) {
            throw new Error(
              `backward of ${node.op}: gradient ${shapeString(gx.shape)} for input ${k} of shape ${shapeString(input.shape)} (a bug in the op's backward rule)`,
            );
          }
        }
        grads.set(input, accumulate(input, grads.get(input), gx, owned));
      });
      if (!options.retainGraph) {
        node.backwardFn = null;
        node.saved = [];
        if (node.privateStorages) freedTape.push(node.privateStorages);
        node.privateStorages = null;
      }
    }
  });
}
