import { Value } from "herograd/micrograd";

const a = new Value(-4.0, [], "", "a");
const b = new Value(2.0, [], "", "b");
let c = a.add(b);
let d = a.mul(b).add(b.pow(3));
c = c.add(c.add(1));
c = c.add(c.add(1).sub(a));
d = d.add(d.mul(2).add(b.add(a).relu()));
d = d.add(d.mul(3).add(b.sub(a).relu()));
const e = c.sub(d);
const f = e.pow(2);
let g = f.div(2.0);
g = g.add(f.rdiv(10.0));
g.backward();
console.log(g.data.toFixed(4), a.grad.toFixed(4), b.grad.toFixed(4)); // 24.7041 138.8338 645.5773
