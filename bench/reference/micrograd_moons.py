"""The moons demo in plain Python with a micrograd-style Value class (closures, as in the lecture).

Prints one JSON line: {"seconds": wall time of the 100 training steps, "loss": ..., "accuracy": ...}.
Data comes from stdin as JSON ({"X": [[x, y], ...], "y": [...], "weights": [...]}) so that both
implementations train on the same points from the same initial weights.
"""
import json
import sys
import time


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(0 if self.data < 0 else self.data, (self,), "ReLU")

        def _backward():
            self.grad += (out.data > 0) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        topo = []
        visited = set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)

        build_topo(self)
        self.grad = 1
        for v in reversed(topo):
            v._backward()

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other


class Neuron:
    def __init__(self, w, nonlin):
        self.w = [Value(x) for x in w]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]


def build_mlp(weights):
    # weights[layer][neuron] = list of input weights; the last layer is linear.
    layers = []
    for li, layer in enumerate(weights):
        layers.append([Neuron(w, li != len(weights) - 1) for w in layer])
    return layers


def forward(layers, x):
    for layer in layers:
        x = [n(x) for n in layer]
    return x[0]


def parameters(layers):
    return [p for layer in layers for n in layer for p in n.parameters()]


def main():
    sys.setrecursionlimit(100000)
    spec = json.load(sys.stdin)
    X, y, steps, alpha = spec["X"], spec["y"], spec["steps"], spec["alpha"]
    layers = build_mlp(spec["weights"])
    params = parameters(layers)
    start = time.perf_counter()
    for k in range(steps):
        scores = [forward(layers, [Value(a), Value(b)]) for a, b in X]
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = alpha * sum((p * p for p in params))
        total = data_loss + reg_loss
        acc = sum((yi > 0) == (si.data > 0) for yi, si in zip(y, scores)) / len(y)
        for p in params:
            p.grad = 0.0
        total.backward()
        lr = 1.0 - 0.9 * k / steps
        for p in params:
            p.data -= lr * p.grad
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "loss": total.data, "accuracy": acc}))


main()
