import * as nn from "herograd/nn";
import { SGD } from "herograd/optim";
import { crossEntropy, tensor } from "herograd/tensor";

const model = new nn.Sequential(
  new nn.Embedding(27, 10),
  new nn.Flatten(),
  new nn.Linear(30, 200, { bias: false }),
  new nn.BatchNorm1d(200),
  new nn.Tanh(),
  new nn.Linear(200, 27),
); // lecture 4's model: 12,097 parameters
const optimizer = new SGD(model.parameters(), { lr: 0.1 });
// ".emma": each 3-character context and the character that follows it
const X = tensor(
  [
    [0, 0, 0],
    [0, 0, 5],
    [0, 5, 13],
    [5, 13, 13],
    [13, 13, 1],
  ],
  { dtype: "int32" },
);
const Y = tensor([5, 13, 13, 1, 0], { dtype: "int32" });
for (let step = 0; step < 20; step++) {
  const loss = crossEntropy(model.forward(X), Y);
  optimizer.zeroGrad();
  loss.backward();
  optimizer.step();
  if (step % 10 === 0) console.log(step, loss.item().toFixed(4));
}
console.log(model.numParameters()); // 12097
