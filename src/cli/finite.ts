/** Weights read from a file must be finite: an Inf or NaN is an error naming the file and the tensor. */
import type { Tensor } from "../tensor/index.js";

export async function checkFiniteWeights(tensors: Iterable<[string, Tensor]>, file: string): Promise<void> {
  for (const [name, t] of tensors) {
    if (t.dtype !== "float32" && t.dtype !== "float64") continue;
    const values = await t.data();
    for (let i = 0; i < values.length; i++)
      if (!Number.isFinite(values[i]))
        throw new Error(`${file}: tensor "${name}" holds a non-finite value (${values[i]} at index ${i})`);
  }
}
