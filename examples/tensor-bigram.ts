import { crossEntropy, noGrad, Random, randn, tensor } from "herograd/tensor";

const W = randn([27, 27], { generator: new Random(42), requiresGrad: true });
const xs = tensor([0, 5, 13, 13, 1], { dtype: "int32" }); // ".emma" as character ids
const ys = tensor([5, 13, 13, 1, 0], { dtype: "int32" });
for (let step = 0; step < 100; step++) {
  const loss = crossEntropy(W.index(xs), ys); // W[xs]: the bigram model's logits
  W.zeroGrad();
  loss.backward();
  noGrad(() => W.assign(W.sub(W.grad!.mul(10))));
  if (step % 20 === 0) console.log(step, loss.item().toFixed(4)); // 2.7340 at step 0, 0.2831 at 80
}
