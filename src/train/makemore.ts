/** Training and evaluating the makemore models on context windows (lectures 3–6). */
import type { ContextWindows } from "../data/index.js";
import { batchIndices } from "../data/index.js";
import type { Layer } from "../nn/index.js";
import type { SGD } from "../optim/index.js";
import type { Random } from "../random/index.js";
import { crossEntropy, noGrad, type Tensor, tensor, tidy } from "../tensor/index.js";

/** Context windows as tensors: X int32 [N, blockSize], Y int32 [N]. */
export interface WindowTensors {
  X: Tensor;
  Y: Tensor;
}

export function windowTensors(w: ContextWindows): WindowTensors {
  return {
    X: tensor(w.X, { shape: [w.count, w.blockSize], dtype: "int32" }),
    Y: tensor(w.Y, { dtype: "int32" }),
  };
}

/**
 * One minibatch step, as in the lectures: sample batchSize rows, forward, cross-entropy,
 * zero the grads, backward, update. Temporaries are freed before it returns. Returns the loss.
 */
export function trainStep(
  model: Layer,
  optimizer: SGD | { zeroGrad(): void; step(): void },
  data: WindowTensors,
  batchSize: number,
  generator: Random,
): number {
  return tidy(() => {
    const ix = tensor(batchIndices(data.X.shape[0]!, batchSize, generator), { dtype: "int32" });
    const logits = model.forward(data.X.indexSelect(0, ix));
    const loss = crossEntropy(logits, data.Y.indexSelect(0, ix));
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    return loss.item();
  });
}

/** Mean cross-entropy over a whole split in eval mode (BatchNorm on its running statistics). */
export function evaluateLoss(model: Layer, data: WindowTensors, chunk = 8192): number {
  return model.inEvalMode(() =>
    noGrad(() => {
      const n = data.X.shape[0]!;
      let total = 0;
      for (let start = 0; start < n; start += chunk) {
        const end = Math.min(n, start + chunk);
        total += tidy(() =>
          crossEntropy(model.forward(data.X.slice(0, start, end)), data.Y.slice(0, start, end), {
            reduction: "sum",
          }).item(),
        );
      }
      return total / n;
    }),
  );
}
