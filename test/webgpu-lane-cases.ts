/**
 * Lane kernels (reductions, softmax, cross-entropy, layer norm, argmax, topk) on short lanes
 * (64 threads) and long ones (256 threads), forward and backward, against the js backend. Only
 * the tensor API: the Node tests import it, and so does a page in Chromium (whose SwiftShader
 * adapter has subgroups, so there the subgroup reductions run).
 */
import type * as TensorModule from "../src/tensor/index.js";

type T = typeof TensorModule;
type Tensor = TensorModule.Tensor;

/** Each case: from inputs on a backend, the outputs to compare (values, and gradients of inputs). */
interface LaneCase {
  name: string;
  inputs: (T: T, on: string) => Tensor[];
  run: (T: T, inputs: Tensor[]) => Tensor[];
}

const randn = (T: T, shape: number[], seed: number, on: string) =>
  T.randn(shape, { generator: new T.Random(seed), backend: "js" }).to(on);

function cases(): LaneCase[] {
  const list: LaneCase[] = [];
  for (const n of [37, 3001]) {
    list.push(
      {
        name: `sum, mean, max, min over ${n} (and a column sum)`,
        inputs: (T, on) => [randn(T, [5, n], 1, on)],
        run: (_T, [x]) => [x!.sum(1), x!.mean(1), x!.amax(1), x!.amin(1), x!.sum(0)],
      },
      {
        name: `argmax, argmin and top 3 over ${n}`,
        // Rounded values, so ties (decided by the lower index) occur.
        inputs: (T, on) => [T.round(randn(T, [4, n], 2, on).mul(4))],
        run: (T, [x]) => {
          const top = T.topk(x!, 3, { dim: 1 });
          return [T.argmax(x!, 1), T.argmin(x!, 1), top.values, top.indices];
        },
      },
      {
        name: `max, min, argmax, argmin with a NaN in some lanes (NaN wins), over ${n}`,
        inputs: (T, on) => {
          const values = randn(T, [4, n], 11, "js").dataSync() as Float32Array;
          values[n + 5] = Number.NaN;
          values[3 * n - 1] = Number.NaN;
          return [T.tensor(values, { shape: [4, n], backend: on })];
        },
        run: (T, [x]) => [x!.amax(1), x!.amin(1), T.argmax(x!, 1), T.argmin(x!, 1)],
      },
      {
        name: `softmax and log-softmax over ${n}, with gradients`,
        inputs: (T, on) => [randn(T, [3, n], 3, on).mul(3).detach(), randn(T, [3, n], 4, on)],
        run: (T, [x, g]) => {
          const leaf = x!.clone();
          leaf.requiresGrad = true;
          const y = T.softmax(leaf, -1);
          const z = T.logSoftmax(leaf, -1);
          y.mul(g!).sum().add(z.mul(g!).sum()).backward();
          return [y, z, leaf.grad!];
        },
      },
      {
        name: `cross-entropy over ${n} classes (one target ignored), with its gradient`,
        inputs: (T, on) => [
          randn(T, [6, n], 5, on),
          T.tensor([0, n - 1, 7, -1, 3, 11], { dtype: "int32", backend: on }),
        ],
        run: (T, [logits, target]) => {
          const leaf = logits!.clone();
          leaf.requiresGrad = true;
          const loss = T.crossEntropy(leaf, target!, { ignoreIndex: -1 });
          loss.backward();
          return [loss, leaf.grad!];
        },
      },
      {
        name: `layer norm over ${n}, with gradients of x, weight and bias`,
        inputs: (T, on) => [
          randn(T, [4, n], 6, on),
          randn(T, [n], 7, on),
          randn(T, [n], 8, on),
          randn(T, [4, n], 9, on),
        ],
        run: (T, [x, w, b, g]) => {
          const [lx, lw, lb] = [x!, w!, b!].map((t) => {
            const leaf = t.clone();
            leaf.requiresGrad = true;
            return leaf;
          }) as [Tensor, Tensor, Tensor];
          const y = T.layerNorm(lx, [lx.shape[1]!], lw, lb);
          y.mul(g!).sum().backward();
          return [y, lx.grad!, lw.grad!, lb.grad!];
        },
      },
    );
  }
  return list;
}

/** Failures (empty when every output on `backend` matches js to atol + rtol·|expected|). */
export async function checkLaneKernels(T: T, backend: string, atol = 2e-4, rtol = 2e-4): Promise<string[]> {
  const failures: string[] = [];
  for (const c of cases()) {
    const expected = c.run(T, c.inputs(T, "js"));
    const actual = c.run(T, c.inputs(T, backend));
    for (const [i, e] of expected.entries()) {
      const want = await e.data();
      const got = await actual[i]!.data();
      let worst = 0;
      let at = -1;
      for (let j = 0; j < want.length; j++) {
        if (Number.isNaN(want[j]!) && Number.isNaN(got[j]!)) continue;
        const err = Math.abs(got[j]! - want[j]!) - rtol * Math.abs(want[j]!);
        if (!(err <= atol) && (at < 0 || err > worst)) {
          worst = err;
          at = j;
        }
      }
      if (at >= 0) failures.push(`${c.name}: output ${i} element ${at} is ${got[at]}, expected ${want[at]}`);
    }
  }
  return failures;
}
