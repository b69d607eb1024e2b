/** Module hooks (PyTorch's register_forward_pre_hook, register_forward_hook, register_full_backward_hook). */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { test } from "node:test";
import { hasHooks, Linear, Module, Sequential, Tanh } from "../src/nn/index.js";
import { Random } from "../src/random/index.js";
import { noGrad, randn, type Tensor, tensor } from "../src/tensor/index.js";

function mlp(seed: number): { model: Sequential; x: Tensor } {
  const generator = new Random(seed);
  const model = new Sequential(new Linear(3, 5, { generator }), new Tanh(), new Linear(5, 2, { generator }));
  return { model, x: randn([4, 3], { generator }) };
}

test("a forward hook sees exactly the tensors the module computes and passes on", () => {
  const { model, x } = mlp(1);
  const [fc1, act, fc2] = model.layers as [Linear, Tanh, Linear];
  const seen: { inputs: unknown[]; output: unknown }[] = [];
  let fc2Input: unknown = null;
  const h1 = act.registerForwardHook((module, inputs, output) => {
    assert.equal(module, act);
    seen.push({ inputs, output });
  });
  const h2 = fc2.registerForwardPreHook((_m, inputs) => {
    fc2Input = inputs[0];
  });
  const out = model.forward(x);
  assert.equal(seen.length, 1);
  // The hook's output is the very tensor the next layer reads.
  assert.equal(seen[0]!.output, fc2Input);
  const hidden = (seen[0]!.output as Tensor).tolist();
  assert.deepEqual(hidden, fc1.forward(x).tanh().tolist());
  assert.deepEqual(out.tolist(), fc2.forward(fc1.forward(x).tanh()).tolist());
  h1.remove();
  h2.remove();
});

test("removing hooks restores the module exactly, and a hook's return value replaces the output", () => {
  const { model, x } = mlp(2);
  const act = model.layers[1]!;
  const before = model.forward(x).tolist();
  assert.equal(Object.hasOwn(act, "forward"), false);
  const ablate = act.registerForwardHook((_m, _inputs, output) => {
    const mask = tensor([[1, 1, 0, 1, 1]]);
    return (output as Tensor).mul(mask);
  });
  assert.ok(hasHooks(act));
  const ablated = model.forward(x).tolist();
  assert.notDeepEqual(ablated, before);
  ablate.remove();
  ablate.remove(); // a second remove does nothing
  assert.equal(hasHooks(act), false);
  assert.equal(Object.hasOwn(act, "forward"), false, "the wrapper is gone");
  assert.deepEqual(model.forward(x).tolist(), before);
  // Hooks are not state: the module's parameters and names are unchanged.
  assert.deepEqual(
    model.namedParameters().map(([n]) => n),
    ["0.weight", "0.bias", "2.weight", "2.bias"],
  );
});

test("zeroing a hidden unit with a hook equals a copy of the model with that unit's weights zeroed", () => {
  const { model, x } = mlp(3);
  const fc1 = model.layers[0] as Linear;
  const unit = 3;
  const handle = fc1.registerForwardHook((_m, _i, output) => {
    const keepMask = tensor([[1, 1, 1, 0, 1]]);
    return (output as Tensor).mul(keepMask);
  });
  const hooked = model.forward(x).tolist() as number[][];
  handle.remove();
  const copy = mlp(3).model;
  const copyFc1 = copy.layers[0] as Linear;
  noGrad(() => {
    const w = copyFc1.weight.tolist() as number[][];
    w[unit] = [0, 0, 0];
    copyFc1.weight.assign(tensor(w));
    const b = copyFc1.bias!.tolist() as number[];
    b[unit] = 0;
    copyFc1.bias!.assign(tensor(b));
  });
  assert.deepEqual(hooked, copy.forward(x).tolist());
});

test("a pre-hook can replace the arguments", () => {
  const { model, x } = mlp(4);
  const fc1 = model.layers[0] as Linear;
  const zeroInput = fc1.registerForwardPreHook((_m, inputs) => (inputs[0] as Tensor).mul(0));
  const out = model.forward(x);
  zeroInput.remove();
  const fromBias = model.layers
    .slice(1)
    .reduce((h: Tensor, layer) => layer.forward(h), fc1.bias!.reshape([1, 5]).expand([4, 5]));
  assert.deepEqual(out.tolist(), fromBias.tolist());
});

test("a full backward hook gets the gradients leaving and entering the module, and can replace them", () => {
  const { model, x } = mlp(5);
  const [fc1, act] = model.layers as [Linear, Tanh];
  const calls: { gradInput: (Tensor | null)[]; gradOutput: (Tensor | null)[] }[] = [];
  let actInput: Tensor | null = null;
  let actOutput: Tensor | null = null;
  const record = act.registerForwardHook((_m, inputs, output) => {
    actInput = inputs[0] as Tensor;
    actOutput = output as Tensor;
    actInput.retainGrad();
    actOutput.retainGrad();
  });
  const watch = act.registerFullBackwardHook((_m, gradInput, gradOutput) => {
    calls.push({ gradInput, gradOutput });
  });
  model.forward(x).sum().backward();
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]!.gradOutput[0]!.tolist(), actOutput!.grad!.tolist());
  assert.deepEqual(calls[0]!.gradInput[0]!.tolist(), actInput!.grad!.tolist());
  const plainGrad = fc1.weight.grad!.tolist() as number[][];
  record.remove();
  watch.remove();

  // Doubling the gradient that leaves tanh doubles every gradient before it.
  model.zeroGrad({ setToNone: true });
  const double = act.registerFullBackwardHook((_m, gradInput) => gradInput.map((g) => (g ? g.mul(2) : null)));
  model.forward(x).sum().backward();
  double.remove();
  const doubled = fc1.weight.grad!.tolist() as number[][];
  doubled.forEach((row, i) => {
    row.forEach((v, j) => {
      assert.ok(Math.abs(v - 2 * plainGrad[i]![j]!) <= 1e-6 * Math.max(1, Math.abs(v)));
    });
  });

  // The first layer's input needs no gradient: the hook still runs, with gradInput [null].
  model.zeroGrad({ setToNone: true });
  const first: (Tensor | null)[][] = [];
  const onFirst = fc1.registerFullBackwardHook((_m, gradInput, gradOutput) => {
    first.push(gradInput, gradOutput);
  });
  model.forward(x).sum().backward();
  onFirst.remove();
  assert.equal(first[0]![0], null);
  assert.deepEqual(first[1]![0]!.shape, [4, 5]);
});

test("under noGrad a backward hook adds nothing to the tape; hooks run in the order registered", () => {
  const { model, x } = mlp(6);
  const act = model.layers[1]!;
  const order: string[] = [];
  const handles = [
    act.registerForwardHook(() => {
      order.push("a");
    }),
    act.registerForwardHook(() => {
      order.push("b");
    }),
    act.registerFullBackwardHook(() => {
      order.push("backward");
      return undefined;
    }),
  ];
  const out = noGrad(() => model.forward(x));
  assert.equal(out.gradFn, null);
  assert.deepEqual(order, ["a", "b"]);
  for (const h of handles) h.remove();
  assert.throws(() => act.registerForwardHook(42 as never), /expected a function, got number/);
});

test("an nn.Sequential with a hooked layer keeps what the hook saw through backward", () => {
  const { model, x } = mlp(7);
  let hidden: Tensor | null = null;
  const handle = model.layers[1]!.registerForwardHook((_m, _i, output) => {
    hidden = output as Tensor;
  });
  model.forward(x).sum().backward();
  handle.remove();
  // A library-only Sequential frees its intermediates at backward; a hook makes the loop a plain one.
  assert.equal(hidden!.isDisposed, false);
  assert.equal(hidden!.shape.length, 2);
  hidden!.add(1);
});

/** A module with two tensor inputs (as attention's q and k would be). */
class Product extends Module {
  forward(a: Tensor, b: Tensor): Tensor {
    return a.mul(b);
  }
}

test("a backward hook on a two-input module runs once per backward, with that backward's gradients (retainGraph)", () => {
  const generator = new Random(8);
  const a = randn([3], { generator, requiresGrad: true });
  const b = randn([3], { generator, requiresGrad: true });
  const m = new Product();
  const calls: number[][][] = [];
  const handle = m.registerFullBackwardHook((_m, gradInput) => {
    calls.push(gradInput.map((g) => g!.tolist() as number[]));
  });
  const y = m.forward(a, b).mul(2).sum();
  y.backward(null, { retainGraph: true });
  y.backward();
  handle.remove();
  const twiceB = (b.tolist() as number[]).map((v) => 2 * v);
  const twiceA = (a.tolist() as number[]).map((v) => 2 * v);
  assert.equal(calls.length, 2);
  for (const [ga, gb] of calls) {
    assert.deepEqual(ga, twiceB);
    assert.deepEqual(gb, twiceA);
  }
});

test("a backward hook on a first layer with two outputs runs once per backward, with both gradOutputs", () => {
  class Split extends Module {
    fc = new Linear(3, 2, { generator: new Random(9) });
    forward(x: Tensor): Tensor[] {
      const h = this.fc.forward(x);
      return [h.mul(1), h.mul(3)];
    }
  }
  const m = new Split();
  const x = randn([4, 3], { generator: new Random(10) });
  const seen: (Tensor | null)[][] = [];
  const handle = m.registerFullBackwardHook((_m, _gradInput, gradOutput) => {
    seen.push(gradOutput);
  });
  const [p, q] = m.forward(x) as [Tensor, Tensor];
  p.sum().add(q.mul(2).sum()).backward();
  handle.remove();
  assert.equal(seen.length, 1);
  assert.deepEqual(
    seen[0]!.map((g) => (g!.tolist() as number[][])[0]),
    [
      [1, 1],
      [2, 2],
    ],
  );
});

test("nn.Sequential in nn.Sequential: the unhooked inner one frees its intermediates at backward, the hooked one keeps them", () => {
  const generator = new Random(11);
  const layer = () => new Linear(3, 3, { generator });
  const plain = new Sequential(layer(), new Tanh(), layer(), new Tanh());
  const hooked = new Sequential(layer(), new Tanh(), layer());
  const outer = new Sequential(plain, hooked);
  let between: Tensor | null = null;
  let seen: Tensor | null = null;
  const handles = [
    hooked.registerForwardPreHook((_m, inputs) => {
      between = inputs[0] as Tensor;
    }),
    hooked.layers[1]!.registerForwardHook((_m, _i, output) => {
      seen = output as Tensor;
    }),
  ];
  const y = outer.forward(randn([2, 3], { generator }));
  // What the plain inner Sequential made before its output, computed from another intermediate:
  // the second Linear's and the first Tanh's outputs.
  const inside: Tensor[] = [];
  const visit = (t: Tensor) => {
    for (const input of t.gradFn?.inputs ?? [])
      if (input?.gradFn?.inputs.some((i) => i?.gradFn)) {
        inside.push(input);
        visit(input);
      }
  };
  visit(between!);
  y.sum().backward();
  for (const h of handles) h.remove();
  assert.ok(inside.length >= 2, `${inside.length} intermediates`);
  assert.ok(
    inside.every((t) => t.isDisposed),
    "the unhooked inner Sequential freed its intermediates",
  );
  assert.equal(between!.isDisposed, false, "its output is the hooked one's input: kept");
  assert.equal(seen!.isDisposed, false, "what the hook saw is kept");
});

test("a module whose forward is its own property (an arrow-function field) gets it back as it was", () => {
  class Doubling extends Module {
    forward = (x: Tensor): Tensor => x.mul(2);
  }
  const m = new Doubling();
  const own = m.forward;
  const before = Object.getOwnPropertyDescriptor(m, "forward");
  const handle = m.registerForwardHook((_m, _i, output) => (output as Tensor).add(1));
  assert.deepEqual(m.forward(tensor([1, 2])).tolist(), [3, 5]);
  handle.remove();
  assert.deepEqual(Object.getOwnPropertyDescriptor(m, "forward"), before);
  assert.equal(m.forward, own);
  assert.deepEqual(Object.keys(m), ["training", "forward"]);
});

test("a hook on a frozen module is a one-line error, and the module is left as it was", () => {
  const { model, x } = mlp(8);
  const act = model.layers[1]!;
  Object.freeze(act);
  assert.throws(
    () => act.registerForwardHook(() => undefined),
    /Tanh is frozen or sealed .* cannot be wrapped/,
  );
  assert.equal(hasHooks(act), false);
  assert.equal(model.forward(x).shape.length, 2);
});
