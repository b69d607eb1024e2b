/** Module hooks (PyTorch's register_forward_pre_hook, register_forward_hook, register_full_backward_hook). */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { test } from "node:test";
import { hasHooks, Linear, Sequential, Tanh } from "../src/nn/index.js";
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
