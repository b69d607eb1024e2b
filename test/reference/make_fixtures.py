"""
Writes herograd's PyTorch reference fixtures (test/fixtures/README.md describes every file):

  ops.json                      tensor ops: inputs, params, output, upstream, input gradients
  micrograd.json                scalar autograd expressions and two tiny MLPs (float64)
  gpt2_tiny/config.json         a tiny GPT-2 in Hugging Face layout ...
  gpt2_tiny/model.safetensors   ... and its weights
  gpt2_tiny.grads.safetensors   d loss / d weight for the reference batch
  gpt2_tiny.ref.json            logits, loss, gradient norms, AdamW steps, greedy decode

Seeded and single-threaded, so running it again rewrites the same bytes (with the same PyTorch):
  OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 test/reference/make_fixtures.py [OUT_DIR]
OUT_DIR defaults to test/fixtures beside this folder. Every float32 result is also recomputed in
float64 and the script stops if the two differ by more than half the stored tolerance.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
from torch.nn import functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

OPS_SEED = 5101
MICROGRAD_SEED = 5102
GPT2_SEED = 5118
TOL = {"atol": 1e-5, "rtol": 1e-4}


# ---------------------------------------------------------------------------------------------
# JSON with exact floats: float32 as the shortest decimal that round-trips to the float32,
# float64 as Python's repr (shortest for a double); infinities as strings.


class Tensor32:
    """A tensor written as {"shape", "dtype", "data"}: float32, int32 or bool (0/1)."""

    def __init__(self, t):
        t = t.detach()
        if t.dtype == torch.bool:
            self.dtype, self.values = "bool", t.to(torch.int64).reshape(-1).tolist()
        elif t.dtype in (torch.int64, torch.int32):
            self.dtype, self.values = "int32", t.to(torch.int64).reshape(-1).tolist()
        else:
            self.dtype = "float32"
            self.values = [F32(v) for v in t.to(torch.float32).reshape(-1).numpy()]
        self.shape = list(t.shape)


class F32:
    def __init__(self, v):
        self.v = np.float32(v)


def fmt_float(v, single):
    if math.isnan(v):
        return '"nan"'
    if math.isinf(v):
        return '"inf"' if v > 0 else '"-inf"'
    return str(np.float32(v)) if single else repr(float(v))


def enc(v, single=False):
    if isinstance(v, Tensor32):
        data = ",".join(enc(x, True) for x in v.values)
        return f'{{"shape":{json.dumps(v.shape, separators=(",", ":"))},"dtype":"{v.dtype}","data":[{data}]}}'
    if isinstance(v, F32):
        return fmt_float(float(v.v), True)
    if isinstance(v, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{enc(x, single)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(enc(x, single) for x in v) + "]"
    if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
        return json.dumps(v)
    if isinstance(v, float):
        return fmt_float(v, single)
    raise TypeError(f"cannot encode {type(v)}")


def dump_file(path, header, items_key=None, items=None):
    """A top-level object, one field per line; `items` (a list) one element per line."""
    lines = ["{"]
    fields = [f" {json.dumps(k)}: {enc(v)}" for k, v in header.items()]
    if items_key is not None:
        body = ",\n".join(enc(x) for x in items)
        fields.append(f' {json.dumps(items_key)}: [\n{body}\n]')
    lines.append(",\n".join(fields))
    lines.append("}")
    write_bytes(path, ("\n".join(lines) + "\n").encode())


def write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# ops.json


def as_tuple_dim(d):
    return tuple(d) if isinstance(d, list) else d


def slice_op(x, p):
    dim = p["dim"] % x.dim()
    index = [slice(None)] * x.dim()
    index[dim] = slice(p["start"], p["end"], p["step"])
    return x[tuple(index)]


VIEW_OPS = {
    "transpose": lambda x, p: x.transpose(p["dim0"], p["dim1"]),
    "permute": lambda x, p: x.permute(*p["dims"]),
    "reshape": lambda x, p: x.reshape(p["shape"]),
    "view": lambda x, p: x.view(p["shape"]),
    "contiguous": lambda x, p: x.contiguous(),
    "unsqueeze": lambda x, p: x.unsqueeze(p["dim"]),
    "squeeze": lambda x, p: x.squeeze(p["dim"]),
    "slice": slice_op,
    "expand": lambda x, p: x.expand(*p["shape"]),
    "tril": lambda x, p: torch.tril(x, p["diagonal"]),
}


def binary(fn):
    def run(xs, p):
        if len(xs) == 2:
            return fn(xs[0], xs[1]), {}
        s = p["scalar"]
        return (fn(s, xs[0]) if p["scalar_side"] == "left" else fn(xs[0], s)), {}

    return run


def extreme(fn):
    def run(xs, p):
        x = xs[0]
        if p["dim"] is None:
            return fn(x), {}
        values, indices = fn(x, p["dim"], keepdim=p["keepdim"])
        return values, {"indices": indices}

    return run


def reduce_var(fn):
    def run(xs, p):
        x = xs[0]
        if p["dim"] is None:
            return fn(x, unbiased=p["unbiased"]), {}
        return fn(x, as_tuple_dim(p["dim"]), unbiased=p["unbiased"], keepdim=p["keepdim"]), {}

    return run


def reduce_sum(fn):
    def run(xs, p):
        x = xs[0]
        if p["dim"] is None:
            return fn(x), {}
        return fn(x, as_tuple_dim(p["dim"]), keepdim=p["keepdim"]), {}

    return run


def causal_weights(q, k, scale):
    t = q.shape[-2]
    att = (q @ k.transpose(-2, -1)) * scale
    mask = torch.tril(torch.ones(t, t, dtype=q.dtype)) == 0
    return att.masked_fill(mask, float("-inf")).softmax(dim=-1)


def batch_norm(xs, p):
    x, w, b = xs
    rm = torch.zeros(x.shape[1], dtype=x.dtype)
    rv = torch.ones(x.shape[1], dtype=x.dtype)
    y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=p["momentum"], eps=p["eps"])
    return y, {"running_mean": rm, "running_var": rv}


def batchnorm_manual(xs, p):
    x, gamma, beta = xs
    dims = tuple(p["dims"])
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, keepdim=True, unbiased=p["unbiased"])
    y = gamma * (x - mean) / torch.sqrt(var + p["eps"]) + beta
    return y, {"batch_mean": mean, "batch_var": var}


def chain(xs, p):
    x = xs[0]
    for step in p["steps"]:
        x = VIEW_OPS[step["op"]](x, step["params"])
    return x, {}


def masked_fill(xs, p):
    value = float("-inf") if p["value"] == "-inf" else p["value"]
    return xs[0].masked_fill(xs[1], value), {}


def topk(xs, p):
    values, indices = torch.topk(xs[0], p["k"], dim=p["dim"], largest=p["largest"], sorted=p["sorted"])
    return values, {"indices": indices}


def layer_norm(xs, p):
    w, b = (xs[1], xs[2]) if len(xs) == 3 else (None, None)
    return F.layer_norm(xs[0], p["normalized_shape"], w, b, p["eps"]), {}


OPS = {
    "add": binary(lambda a, b: a + b),
    "sub": binary(lambda a, b: a - b),
    "mul": binary(lambda a, b: a * b),
    "div": binary(lambda a, b: a / b),
    "pow": binary(lambda a, b: a**b),
    "add_self": lambda xs, p: (xs[0] + xs[0], {}),
    "mul_self": lambda xs, p: (xs[0] * xs[0], {}),
    "neg": lambda xs, p: (-xs[0], {}),
    "exp": lambda xs, p: (xs[0].exp(), {}),
    "log": lambda xs, p: (xs[0].log(), {}),
    "sqrt": lambda xs, p: (xs[0].sqrt(), {}),
    "tanh": lambda xs, p: (xs[0].tanh(), {}),
    "relu": lambda xs, p: (xs[0].relu(), {}),
    "sigmoid": lambda xs, p: (xs[0].sigmoid(), {}),
    "erf": lambda xs, p: (torch.erf(xs[0]), {}),
    "abs": lambda xs, p: (xs[0].abs(), {}),
    "gelu": lambda xs, p: (F.gelu(xs[0], approximate=p["approximate"]), {}),
    "clamp": lambda xs, p: (torch.clamp(xs[0], p["min"], p["max"]), {}),
    "matmul": lambda xs, p: (xs[0] @ xs[1], {}),
    "linear": lambda xs, p: (F.linear(xs[0], xs[1], xs[2]), {}),
    "sum": reduce_sum(torch.sum),
    "mean": reduce_sum(torch.mean),
    "max": extreme(torch.max),
    "min": extreme(torch.min),
    "var": reduce_var(torch.var),
    "std": reduce_var(torch.std),
    "logsumexp": lambda xs, p: (torch.logsumexp(xs[0], p["dim"], keepdim=p["keepdim"]), {}),
    "argmax": lambda xs, p: (torch.argmax(xs[0], p["dim"], keepdim=p["keepdim"]), {}),
    "softmax": lambda xs, p: (xs[0].softmax(p["dim"]), {}),
    "log_softmax": lambda xs, p: (xs[0].log_softmax(p["dim"]), {}),
    "cross_entropy": lambda xs, p: (
        F.cross_entropy(xs[0], xs[1], reduction=p["reduction"], ignore_index=p["ignore_index"]),
        {},
    ),
    "embedding": lambda xs, p: (F.embedding(xs[1], xs[0]), {}),
    "one_hot": lambda xs, p: (F.one_hot(xs[0], p["num_classes"]), {}),
    "index_select": lambda xs, p: (torch.index_select(xs[0], p["dim"], xs[1]), {}),
    "gather": lambda xs, p: (torch.gather(xs[0], p["dim"], xs[1]), {}),
    "index_tensors": lambda xs, p: (xs[0][xs[1], xs[2]], {}),
    "cat": lambda xs, p: (torch.cat(xs, p["dim"]), {}),
    "stack": lambda xs, p: (torch.stack(xs, p["dim"]), {}),
    "tril": lambda xs, p: (torch.tril(xs[0], p["diagonal"]), {}),
    "masked_fill": masked_fill,
    "where": lambda xs, p: (torch.where(xs[0], xs[1], xs[2]), {}),
    "topk": topk,
    "causal_attention_weights": lambda xs, p: (causal_weights(xs[0], xs[1], p["scale"]), {}),
    "causal_attention": lambda xs, p: (causal_weights(xs[0], xs[1], p["scale"]) @ xs[2], {}),
    "layer_norm": layer_norm,
    "batch_norm": batch_norm,
    "batchnorm_manual": batchnorm_manual,
    "chain": chain,
}
for _name in ["transpose", "permute", "reshape", "view", "unsqueeze", "squeeze", "slice", "expand"]:
    OPS[_name] = (lambda f: lambda xs, p: (f(xs[0], p), {}))(VIEW_OPS[_name])


class Draw:
    """Every random input of a file, drawn in order from one generator."""

    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)

    def randn(self, *shape, scale=1.0):
        return torch.randn(shape, generator=self.g) * scale

    def positive(self, *shape):
        """>= 0.5: inputs of log, sqrt, fractional powers."""
        return self.randn(*shape).abs() + 0.5

    def nonzero(self, *shape):
        """|x| >= 0.5, either sign: denominators."""
        x = self.randn(*shape)
        return torch.where(x < 0, x - 0.5, x + 0.5)

    def away(self, *shape, kinks=(0.0,), gap=0.1):
        """No value within `gap` of a kink (relu, abs, clamp)."""
        x = self.randn(*shape)
        for k in kinks:
            d = x - k
            x = torch.where(d.abs() < gap, k + torch.where(d < 0, -gap, gap) * 2, x)
        return x

    def ints(self, low, high, *shape):
        return torch.randint(low, high, shape, generator=self.g)

    def mask(self, *shape, p=0.5):
        return torch.rand(shape, generator=self.g) < p


def op_cases(d):
    """(name, op, inputs, params) for every case, inputs drawn from `d` in this order."""
    r, pos, nz, away = d.randn, d.positive, d.nonzero, d.away
    s = lambda value, side: {"scalar": value, "scalar_side": side}  # noqa: E731
    cases = [
        ("add_same_shape", "add", [r(3, 4), r(3, 4)], {}),
        ("add_broadcast_3d_2d", "add", [r(4, 1, 3), r(2, 3)], {}),
        ("add_broadcast_col_row", "add", [r(3, 1), r(1, 4)], {}),
        ("add_0d_tensor", "add", [r(), r(3, 4)], {}),
        ("add_scalar_right", "add", [r(3, 4)], s(1.5, "right")),
        ("add_self", "add_self", [r(3, 4)], {}),
        ("sub_broadcast_3d_2d", "sub", [r(4, 1, 3), r(2, 3)], {}),
        ("sub_scalar_left", "sub", [r(3, 4)], s(2.0, "left")),
        ("mul_broadcast_3d_2d", "mul", [r(4, 1, 3), r(2, 3)], {}),
        ("mul_broadcast_col_row", "mul", [r(3, 1), r(1, 4)], {}),
        ("mul_scalar_left", "mul", [r(3, 4)], s(3.0, "left")),
        ("mul_self", "mul_self", [r(3, 4)], {}),
        ("div_broadcast_3d_2d", "div", [r(4, 1, 3), nz(2, 3)], {}),
        ("div_scalar_left", "div", [nz(3, 4)], s(1.0, "left")),
        ("div_scalar_right", "div", [r(3, 4)], s(4.0, "right")),
        ("pow_2", "pow", [r(2, 3, 4)], s(2.0, "right")),
        ("pow_0_5", "pow", [pos(2, 3, 4)], s(0.5, "right")),
        ("pow_neg1", "pow", [nz(2, 3, 4)], s(-1.0, "right")),
        ("pow_neg0_5", "pow", [pos(2, 3, 4)], s(-0.5, "right")),
        ("pow_tensor_tensor", "pow", [pos(3, 4), r(3, 4)], {}),
        ("pow_scalar_base", "pow", [r(3, 4)], s(10.0, "left")),
        ("neg", "neg", [r(2, 3, 4)], {}),
        ("exp", "exp", [r(2, 3, 4)], {}),
        ("log", "log", [pos(2, 3, 4)], {}),
        ("sqrt", "sqrt", [pos(2, 3, 4)], {}),
        ("tanh", "tanh", [r(2, 3, 4)], {}),
        ("relu", "relu", [away(2, 3, 4)], {}),
        ("sigmoid", "sigmoid", [r(2, 3, 4)], {}),
        ("gelu_tanh", "gelu", [r(2, 3, 4, scale=2.0)], {"approximate": "tanh"}),
        ("gelu_erf", "gelu", [r(2, 3, 4, scale=2.0)], {"approximate": "none"}),
        ("abs", "abs", [away(2, 3, 4)], {}),
        ("clamp_min_max", "clamp", [away(2, 3, 4, kinks=(-0.5, 0.5), gap=0.05)], {"min": -0.5, "max": 0.5}),
        ("clamp_min_only", "clamp", [away(2, 3, 4)], {"min": 0.0, "max": None}),
        ("matmul_2d", "matmul", [r(3, 4), r(4, 5)], {}),
        ("matmul_3d_batched", "matmul", [r(2, 3, 4), r(2, 4, 5)], {}),
        ("matmul_3d_2d", "matmul", [r(2, 3, 4), r(4, 5)], {}),
        ("matmul_4d_2d", "matmul", [r(2, 3, 4, 5), r(5, 6)], {}),
        ("matmul_4d_broadcast_batch", "matmul", [r(2, 1, 4, 5), r(3, 5, 6)], {}),
        ("matmul_2d_1d", "matmul", [r(3, 4), r(4)], {}),
        ("matmul_1d_2d", "matmul", [r(4), r(4, 5)], {}),
        ("linear_3d", "linear", [r(2, 3, 4), r(5, 4), r(5)], {}),
        ("sum_dim1", "sum", [r(3, 4, 5)], {"dim": 1, "keepdim": False}),
        ("sum_dim1_keepdim", "sum", [r(3, 4, 5)], {"dim": 1, "keepdim": True}),
        ("sum_dim_neg1", "sum", [r(3, 4, 5)], {"dim": -1, "keepdim": False}),
        ("sum_dims_0_2", "sum", [r(3, 4, 5)], {"dim": [0, 2], "keepdim": False}),
        ("sum_all", "sum", [r(3, 4, 5)], {"dim": None, "keepdim": False}),
        ("mean_dim0_keepdim", "mean", [r(3, 4, 5)], {"dim": 0, "keepdim": True}),
        ("mean_dims_0_1_keepdim", "mean", [r(3, 4, 5)], {"dim": [0, 1], "keepdim": True}),
        ("mean_all", "mean", [r(3, 4, 5)], {"dim": None, "keepdim": False}),
        ("max_dim1", "max", [r(3, 4, 5)], {"dim": 1, "keepdim": False}),
        ("max_dim1_keepdim", "max", [r(3, 4, 5)], {"dim": 1, "keepdim": True}),
        ("max_all", "max", [r(3, 4, 5)], {"dim": None, "keepdim": False}),
        ("min_dim0", "min", [r(3, 4, 5)], {"dim": 0, "keepdim": False}),
        ("min_dim_neg1_keepdim", "min", [r(3, 4, 5)], {"dim": -1, "keepdim": True}),
    ]
    for name, shape, dim, unbiased, keepdim in [
        ("var_dim0_unbiased", (6, 5), 0, True, False),
        ("var_dim0_biased", (6, 5), 0, False, False),
        ("var_dims_0_1_keepdim_unbiased", (4, 3, 5), [0, 1], True, True),
        ("var_dims_0_1_keepdim_biased", (4, 3, 5), [0, 1], False, True),
        ("var_dim_neg1_keepdim_unbiased", (6, 5), -1, True, True),
        ("var_all_unbiased", (4, 3, 5), None, True, False),
    ]:
        cases.append((name, "var", [r(*shape)], {"dim": dim, "unbiased": unbiased, "keepdim": keepdim}))
    x = r(6, 5)
    ce_targets = d.ints(0, 5, 6)
    ignored = ce_targets.clone()
    ignored[[1, 4]] = -1
    neg_inf = r(3, 5)
    neg_inf[0, 1] = neg_inf[1, 3] = neg_inf[1, 4] = neg_inf[2, 0] = float("-inf")
    cases += [
        ("std_dim_neg1_unbiased", "std", [x], {"dim": -1, "unbiased": True, "keepdim": False}),
        ("logsumexp_dim_neg1", "logsumexp", [r(3, 5)], {"dim": -1, "keepdim": False}),
        ("logsumexp_dim0_keepdim", "logsumexp", [r(3, 5)], {"dim": 0, "keepdim": True}),
        ("logsumexp_large", "logsumexp", [r(3, 5, scale=150.0)], {"dim": -1, "keepdim": False}),
        ("argmax_dim_neg1", "argmax", [r(3, 5)], {"dim": -1, "keepdim": False}),
        ("argmax_all", "argmax", [r(2, 3, 5)], {"dim": None, "keepdim": False}),
        ("softmax_dim_neg1", "softmax", [r(3, 5)], {"dim": -1}),
        ("softmax_dim0", "softmax", [r(3, 5)], {"dim": 0}),
        ("softmax_large_logits", "softmax", [r(3, 5, scale=150.0)], {"dim": -1}),
        ("softmax_with_neg_inf", "softmax", [neg_inf], {"dim": -1}),
        ("log_softmax_dim_neg1", "log_softmax", [r(3, 5)], {"dim": -1}),
        ("log_softmax_large_logits", "log_softmax", [r(3, 5, scale=150.0)], {"dim": -1}),
        ("cross_entropy_mean", "cross_entropy", [r(6, 5), ce_targets], {"reduction": "mean", "ignore_index": -100}),
        ("cross_entropy_ignore_index", "cross_entropy", [r(6, 5), ignored], {"reduction": "mean", "ignore_index": -1}),
        ("cross_entropy_none", "cross_entropy", [r(6, 5), d.ints(0, 5, 6)], {"reduction": "none", "ignore_index": -100}),
        (
            "cross_entropy_large_logits",
            "cross_entropy",
            [r(6, 5, scale=150.0), d.ints(0, 5, 6)],
            {"reduction": "mean", "ignore_index": -100},
        ),
        ("embedding", "embedding", [r(7, 4), torch.tensor([[0, 3, 3, 6, 1], [2, 3, 0, 0, 5]])], {}),
        ("one_hot", "one_hot", [d.ints(0, 5, 6)], {"num_classes": 5}),
        ("index_select_dim0", "index_select", [r(5, 3), torch.tensor([4, 0, 2, 2, 1, 4])], {"dim": 0}),
        ("gather_dim1", "gather", [r(4, 5), d.ints(0, 5, 4, 2)], {"dim": 1}),
        ("index_rows_cols", "index_tensors", [r(6, 5), torch.arange(6), d.ints(0, 5, 6)], {}),
        ("cat_dim0", "cat", [r(2, 3), r(1, 3), r(3, 3)], {"dim": 0}),
        ("cat_dim1", "cat", [r(2, 3), r(2, 1), r(2, 2)], {"dim": 1}),
        ("cat_dim_neg1_3d", "cat", [r(2, 3, 2), r(2, 3, 3)], {"dim": -1}),
        ("stack_dim0", "stack", [r(3, 4), r(3, 4), r(3, 4)], {"dim": 0}),
        ("stack_dim1", "stack", [r(3, 4), r(3, 4)], {"dim": 1}),
        ("transpose_2d", "transpose", [r(3, 4)], {"dim0": 0, "dim1": 1}),
        ("transpose_3d_last_two", "transpose", [r(2, 3, 4)], {"dim0": -2, "dim1": -1}),
        ("permute_3d", "permute", [r(2, 3, 4)], {"dims": [2, 0, 1]}),
        ("permute_4d", "permute", [r(2, 3, 2, 4)], {"dims": [0, 2, 1, 3]}),
        ("reshape", "reshape", [r(2, 3, 4)], {"shape": [6, 4]}),
        ("reshape_infer", "reshape", [r(2, 3, 4)], {"shape": [4, -1]}),
        ("view", "view", [r(2, 3, 4)], {"shape": [3, 8]}),
    ]
    step = lambda op, **p: {"op": op, "params": p}  # noqa: E731
    cases += [
        (
            "chain_transpose_contiguous_view",
            "chain",
            [r(2, 3, 4)],
            {"steps": [step("transpose", dim0=1, dim1=2), step("contiguous"), step("view", shape=[2, 12])]},
        ),
        (
            "chain_merge_heads",
            "chain",
            [r(2, 2, 3, 4)],
            {"steps": [step("transpose", dim0=1, dim1=2), step("contiguous"), step("view", shape=[2, 3, 8])]},
        ),
        (
            "chain_split_heads",
            "chain",
            [r(2, 3, 8)],
            {"steps": [step("view", shape=[2, 3, 2, 4]), step("transpose", dim0=1, dim1=2)]},
        ),
        (
            "chain_transpose_then_slice",
            "chain",
            [r(3, 5)],
            {"steps": [step("transpose", dim0=0, dim1=1), step("slice", dim=0, start=1, end=None, step=2)]},
        ),
        ("slice_dim1", "slice", [r(3, 5)], {"dim": 1, "start": 1, "end": 3, "step": 1}),
        ("slice_last_step2", "slice", [r(2, 3, 5)], {"dim": -1, "start": None, "end": None, "step": 2}),
        ("slice_negative_start", "slice", [r(3, 5)], {"dim": 1, "start": -2, "end": None, "step": 1}),
        ("unsqueeze", "unsqueeze", [r(3, 4)], {"dim": 1}),
        ("squeeze", "squeeze", [r(3, 1, 4)], {"dim": 1}),
        ("expand_col", "expand", [r(3, 1)], {"shape": [3, 4]}),
        ("expand_new_leading_dim", "expand", [r(1, 4)], {"shape": [2, 3, 4]}),
        ("tril", "tril", [r(4, 4)], {"diagonal": 0}),
        ("tril_diag_neg1", "tril", [r(4, 5)], {"diagonal": -1}),
        ("masked_fill_value", "masked_fill", [r(3, 4), d.mask(3, 4)], {"value": 0.0}),
        (
            "masked_fill_causal_neg_inf",
            "masked_fill",
            [r(2, 4, 4), torch.tril(torch.ones(4, 4)) == 0],
            {"value": "-inf"},
        ),
        ("where_same_shape", "where", [d.mask(3, 4), r(3, 4), r(3, 4)], {}),
        ("where_broadcast", "where", [d.mask(3, 1), r(3, 4), r(4)], {}),
        ("topk_largest_last", "topk", [r(3, 6)], {"k": 3, "dim": -1, "largest": True, "sorted": True}),
        ("topk_smallest_dim0", "topk", [r(5, 4)], {"k": 2, "dim": 0, "largest": False, "sorted": True}),
        ("causal_attention_weights", "causal_attention_weights", [r(2, 5, 4), r(2, 5, 4)], {"scale": 0.5}),
        ("causal_attention", "causal_attention", [r(2, 5, 4), r(2, 5, 4), r(2, 5, 4)], {"scale": 0.5}),
        (
            "causal_attention_weights_4d",
            "causal_attention_weights",
            [r(2, 2, 4, 3), r(2, 2, 4, 3)],
            {"scale": 1 / math.sqrt(3)},
        ),
        (
            "layer_norm_affine",
            "layer_norm",
            [r(2, 3, 8), 1 + r(8, scale=0.2), r(8, scale=0.2)],
            {"normalized_shape": [8], "eps": 1e-5},
        ),
        ("layer_norm_no_affine", "layer_norm", [r(4, 6)], {"normalized_shape": [6], "eps": 1e-5}),
        (
            "layer_norm_offset_input",
            "layer_norm",
            [r(4, 6) + 5.0, 1 + r(6, scale=0.2), r(6, scale=0.2)],
            {"normalized_shape": [6], "eps": 1e-5},
        ),
        (
            "batch_norm_train_2d",
            "batch_norm",
            [r(8, 3), 1 + r(3, scale=0.2), r(3, scale=0.2)],
            {"training": True, "momentum": 0.1, "eps": 1e-5},
        ),
        (
            "batchnorm_manual_2d",
            "batchnorm_manual",
            [r(8, 3), 1 + r(3, scale=0.2), r(3, scale=0.2)],
            {"dims": [0], "eps": 1e-5, "unbiased": True},
        ),
        (
            "batchnorm_manual_3d",
            "batchnorm_manual",
            [r(4, 3, 5), 1 + r(5, scale=0.2), r(5, scale=0.2)],
            {"dims": [0, 1], "eps": 1e-5, "unbiased": True},
        ),
    ]
    # Cases added later draw from their own generator, appended last: the inputs and upstream
    # gradients of the cases above stay as they were.
    later = Draw(OPS_SEED + 1)
    cases += [
        ("erf", "erf", [later.randn(2, 3, 4, scale=2.0)], {}),
    ]
    return cases


def run_op(op, inputs, params, upstream, dtype):
    xs = [x.detach().to(dtype).clone().requires_grad_(True) if x.is_floating_point() else x.clone() for x in inputs]
    out, aux = OPS[op](xs, params)
    grads = [None] * len(xs)
    if upstream is not None:
        out.backward(upstream.to(dtype))
        grads = [x.grad if x.is_floating_point() else None for x in xs]
    return out.detach(), {k: v.detach() for k, v in aux.items()}, grads


def max_error(a, b):
    """Largest |a - b| / (atol + rtol |b|) over finite entries; infinities must agree exactly."""
    a, b = a.double(), b.double()
    finite = torch.isfinite(b)
    assert torch.equal(a[~finite], b[~finite]), "non-finite entries differ"
    if not finite.any():
        return 0.0
    return ((a[finite] - b[finite]).abs() / (TOL["atol"] + TOL["rtol"] * b[finite].abs())).max().item()


def make_ops(out_dir):
    d = Draw(OPS_SEED)
    cases = op_cases(d)
    names = [c[0] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    written = []
    worst = 0.0
    for name, op, inputs, params in cases:
        with torch.no_grad():
            probe, _ = OPS[op]([x.clone() for x in inputs], params)
        differentiable = probe.is_floating_point()
        upstream = d.randn(*probe.shape) if differentiable else None
        out, aux, grads = run_op(op, inputs, params, upstream, torch.float32)
        out64, aux64, grads64 = run_op(op, inputs, params, upstream, torch.float64)
        # The float32 reference must sit well inside the tolerance of the float64 answer.
        checks = [(out, out64)] + [(aux[k], aux64[k]) for k in aux if aux[k].is_floating_point()]
        checks += [(g, g64) for g, g64 in zip(grads, grads64) if g is not None]
        for k in aux:
            if not aux[k].is_floating_point():
                assert torch.equal(aux[k], aux64[k]), f"{name}: aux {k} differs in float64"
        if not out.is_floating_point():
            assert torch.equal(out, out64), f"{name}: output differs in float64"
        err = max(max_error(a, b) for a, b in checks) if out.is_floating_point() else 0.0
        assert err <= 0.5, f"{name}: float32 vs float64 uses {err:.2f} of the tolerance"
        worst = max(worst, err)
        case = {
            "name": name,
            "op": op,
            "inputs": [Tensor32(x) for x in inputs],
            "params": params,
            "output": Tensor32(out),
        }
        if aux:
            case["aux"] = {k: Tensor32(v) for k, v in aux.items()}
        case["upstream"] = Tensor32(upstream) if upstream is not None else None
        case["grads"] = [Tensor32(g) if g is not None else None for g in grads]
        case["tol"] = TOL
        written.append(case)
    header = {
        "format_version": 1,
        "produced_by": f"PyTorch {torch.__version__} CPU, float32 (test/reference/make_fixtures.py)",
        "torch_version": torch.__version__,
        "seed": OPS_SEED,
        "loss": "sum(output * upstream)",
        "default_tol": TOL,
        "float64_check": f"float32 vs float64 differs by at most {worst:.3f} of the tolerance",
    }
    dump_file(os.path.join(out_dir, "ops.json"), header, "cases", written)


# ---------------------------------------------------------------------------------------------
# micrograd.json: expressions in micrograd's syntax, run on float64 tensors


EXPRESSIONS = [
    (
        "readme_example",
        "micrograd's README example (test_more_ops in its test/test_engine.py)",
        {"a": -4.0, "b": 2.0},
        [
            "c = a + b",
            "d = a * b + b**3",
            "c += c + 1",
            "c += 1 + c + (-a)",
            "d += d * 2 + (b + a).relu()",
            "d += 3 * d + (b - a).relu()",
            "e = c - d",
            "f = e**2",
            "g = f / 2.0",
            "g += 10.0 / f",
        ],
        "g",
    ),
    (
        "sanity_check",
        "test_sanity_check in micrograd's test/test_engine.py",
        {"x": -4.0},
        ["z = 2 * x + 2 + x", "q = z.relu() + z * x", "h = (z * z).relu()", "y = h + q + q * x"],
        "y",
    ),
    (
        "lecture_L_expression",
        "lecture 1: L = (a*b + c) * f",
        {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0},
        ["e = a * b", "d = e + c", "L = d * f"],
        "L",
    ),
    (
        "lecture_neuron_tanh",
        "lecture 1: a 2-input neuron with tanh",
        {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": 6.8813735870195432},
        ["x1w1 = x1 * w1", "x2w2 = x2 * w2", "x1w1x2w2 = x1w1 + x2w2", "n = x1w1x2w2 + b", "o = n.tanh()"],
        "o",
    ),
    (
        "lecture_neuron_tanh_via_exp",
        "lecture 1: the same neuron, tanh written as (exp(2n) - 1) / (exp(2n) + 1)",
        {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": 6.8813735870195432},
        ["n = x1 * w1 + x2 * w2 + b", "e = (2 * n).exp()", "o = (e - 1) / (e + 1)"],
        "o",
    ),
    ("reuse_same_node", "a node used twice: the gradient accumulates", {"a": -1.5}, ["b = a + a"], "b"),
    ("reuse_nonleaf", "a non-leaf used twice (needs the topological order)", {"a": 0.7}, ["b = a + a", "c = b + b"], "c"),
    (
        "reuse_two_paths",
        "one leaf reaching the output along two paths",
        {"a": 1.25, "b": -0.5},
        ["d = a * b", "e = a - b", "f = d * e + a"],
        "f",
    ),
    (
        "more_ops",
        "every Value op, reversed scalar forms, relu of a negative value, fractional and negative powers",
        {"x": -0.6, "y": 1.4, "z": 0.9},
        [
            "p = x * z - y / 3",
            "q = (p + y).tanh() * 2 - (z - x).exp() / 4",
            "r = (q - 1).relu() + (x * y).relu() + (z + y).relu()",
            "s = (r + 1) ** 0.5 - 2 / (z + r) + (y + 1) ** -1.5",
            "t = (-s + p * q).tanh() + (1.5 - x) ** 2",
            "out = t * s - 0.25 * t / (1 + r * r) + q",
        ],
        "out",
    ),
    (
        "more_ops_2",
        "a longer chain mixing the same ops, with a name updated by +=",
        {"a": 0.3, "b": -1.1, "c": 2.2},
        [
            "d = (a - b * c).tanh()",
            "e = (c + d) ** 2 / (a + 2)",
            "e += (b * 2).exp() - 3 / e",
            "f = (e - 4).relu() + (d - 5).relu() + (1 - b) ** 0.5",
            "g = -f * (a + d) + 7.0 / (f + e)",
            "h = g.tanh() * e - (d * a) ** 3",
        ],
        "h",
    ),
]
for _fn in ["tanh", "exp"]:
    for _x in [-1.5, 0.25, 1.75]:
        EXPRESSIONS.append((f"unary_{_fn}_{_x}", f"y = x.{_fn}() at x = {_x}", {"x": _x}, [f"y = x.{_fn}()"], "y"))


def run_expression(leaves, program, output):
    env = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in leaves.items()}
    values = {}
    for statement in program:
        name, _, rhs = (part.strip() for part in statement.partition("+=" if "+=" in statement else "="))
        expr = f"{name} + ({rhs})" if "+=" in statement else rhs
        env[name] = eval(expr, {}, dict(env))  # noqa: S307 (the programs are the constants above)
        values[name] = env[name].item()
    env[output].backward()
    return values, {k: env[k].grad.item() for k in leaves}


MLP_XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
MLP_YS = [1.0, -1.0, -1.0, 1.0]


def mlp_case(name, source, nonlin, lr, g):
    sizes = [3, 4, 4, 1]
    layers = []
    for nin, nout in zip(sizes[:-1], sizes[1:]):
        w = torch.rand((nout, nin), generator=g, dtype=torch.float64) * 2 - 1
        b = torch.rand((nout,), generator=g, dtype=torch.float64) * 2 - 1
        layers.append((w, b))
    xs = torch.tensor(MLP_XS, dtype=torch.float64)
    ys = torch.tensor(MLP_YS, dtype=torch.float64)

    def forward(params):
        h = xs
        for i, (w, b) in enumerate(params):
            act = h @ w.T + b
            last = i == len(params) - 1
            h = act.tanh() if nonlin == "tanh" else act if last else act.relu()
            if nonlin == "relu" and not last:
                assert act.detach().abs().min() > 1e-6, "a relu pre-activation sits on the kink"
        ypred = h.reshape(-1)
        return ypred, ((ypred - ys) ** 2).sum()

    def nested(ts):
        return [[{"w": w[j].tolist(), "b": b[j].item()} for j in range(w.shape[0])] for w, b in ts]

    params = [(w.clone().requires_grad_(True), b.clone().requires_grad_(True)) for w, b in layers]
    ypred, loss = forward(params)
    loss.backward()
    grads = [(w.grad, b.grad) for w, b in params]
    steps, losses = 20, []
    params = [(w.clone().requires_grad_(True), b.clone().requires_grad_(True)) for w, b in layers]
    for _ in range(steps):
        _, step_loss = forward(params)
        losses.append(step_loss.item())
        for p in (p for pair in params for p in pair):
            p.grad = None
        step_loss.backward()
        with torch.no_grad():
            for p in (p for pair in params for p in pair):
                p += -lr * p.grad
    _, after = forward(params)
    return {
        "name": name,
        "kind": "mlp",
        "source": source,
        "sizes": sizes,
        "nonlin": nonlin,
        "neuron": "act = b + sum_i w[i]*x[i]",
        "xs": MLP_XS,
        "ys": MLP_YS,
        "loss_expr": "sum over the 4 examples of (ypred - y)**2",
        "weights": nested(layers),
        "ypred": ypred.tolist(),
        "loss": loss.item(),
        "grads": nested(grads),
        "sgd": {
            "lr": lr,
            "steps": steps,
            "update": "p.data += -lr * p.grad",
            "losses": losses,
            "loss_after": after.item(),
        },
    }


def make_micrograd(out_dir):
    cases = []
    for name, source, leaves, program, output in EXPRESSIONS:
        values, grads = run_expression(leaves, program, output)
        cases.append(
            {
                "name": name,
                "kind": "expression",
                "source": source,
                "leaves": leaves,
                "program": program,
                "output": output,
                "value": values[output],
                "grads": grads,
                "values": values,
            }
        )
    g = torch.Generator().manual_seed(MICROGRAD_SEED)
    cases.append(mlp_case("mlp_lecture_tanh", "lecture 1: MLP(3, [4, 4, 1]), tanh everywhere", "tanh", 0.1, g))
    cases.append(
        mlp_case("mlp_micrograd_nn_relu", "micrograd's nn.py: relu hidden layers, linear output", "relu", 0.01, g)
    )
    header = {
        "format_version": 1,
        "produced_by": f"PyTorch {torch.__version__} CPU, float64 (test/reference/make_fixtures.py)",
        "dtype": "float64",
        "tolerance": {"atol": 1e-9, "rtol": 1e-9},
    }
    dump_file(os.path.join(out_dir, "micrograd.json"), header, "cases", cases)


# ---------------------------------------------------------------------------------------------
# gpt2_tiny: GPT-2's architecture at toy size, written out with PyTorch ops


CONFIG = {"vocab_size": 64, "n_positions": 32, "n_embd": 32, "n_layer": 2, "n_head": 4}


def gpt2_keys(L):
    keys = ["wte.weight", "wpe.weight"]
    for i in range(L):
        h = f"h.{i}."
        keys += [h + k for k in ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias"]]
        keys += [h + k for k in ["attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias"]]
        keys += [h + k for k in ["mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"]]
    return keys + ["ln_f.weight", "ln_f.bias"]


def gpt2_init(g):
    V, P, C, L = (CONFIG[k] for k in ["vocab_size", "n_positions", "n_embd", "n_layer"])
    n = lambda *shape, std: torch.randn(shape, generator=g) * std  # noqa: E731
    w = {"wte.weight": n(V, C, std=0.02), "wpe.weight": n(P, C, std=0.02)}
    proj_std = 0.02 / math.sqrt(2 * L)
    for i in range(L):
        h = f"h.{i}."
        # LayerNorm and bias noise: a loader that mixes tensors up cannot pass.
        w[h + "ln_1.weight"] = 1 + n(C, std=0.1)
        w[h + "ln_1.bias"] = n(C, std=0.1)
        w[h + "attn.c_attn.weight"] = n(C, 3 * C, std=0.02)
        w[h + "attn.c_attn.bias"] = n(3 * C, std=0.02)
        w[h + "attn.c_proj.weight"] = n(C, C, std=proj_std)
        w[h + "attn.c_proj.bias"] = n(C, std=0.02)
        w[h + "ln_2.weight"] = 1 + n(C, std=0.1)
        w[h + "ln_2.bias"] = n(C, std=0.1)
        w[h + "mlp.c_fc.weight"] = n(C, 4 * C, std=0.02)
        w[h + "mlp.c_fc.bias"] = n(4 * C, std=0.02)
        w[h + "mlp.c_proj.weight"] = n(4 * C, C, std=proj_std)
        w[h + "mlp.c_proj.bias"] = n(C, std=0.02)
    w["ln_f.weight"] = 1 + n(C, std=0.1)
    w["ln_f.bias"] = n(C, std=0.1)
    return {k: w[k] for k in gpt2_keys(L)}


def gpt2_forward(w, idx, targets=None):
    C, L, nh = CONFIG["n_embd"], CONFIG["n_layer"], CONFIG["n_head"]
    B, T = idx.shape
    ln = lambda x, p: F.layer_norm(x, (C,), w[p + ".weight"], w[p + ".bias"], 1e-5)  # noqa: E731
    x = w["wte.weight"][idx] + w["wpe.weight"][:T]
    for i in range(L):
        h = f"h.{i}."
        qkv = ln(x, h + "ln_1") @ w[h + "attn.c_attn.weight"] + w[h + "attn.c_attn.bias"]
        q, k, v = (t.view(B, T, nh, C // nh).transpose(1, 2) for t in qkv.split(C, dim=-1))
        y = causal_weights(q, k, 1 / math.sqrt(C // nh)) @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        x = x + y @ w[h + "attn.c_proj.weight"] + w[h + "attn.c_proj.bias"]
        z = F.gelu(ln(x, h + "ln_2") @ w[h + "mlp.c_fc.weight"] + w[h + "mlp.c_fc.bias"], approximate="tanh")
        x = x + z @ w[h + "mlp.c_proj.weight"] + w[h + "mlp.c_proj.bias"]
    logits = ln(x, "ln_f") @ w["wte.weight"].T
    loss = None if targets is None else F.cross_entropy(logits.view(B * T, -1), targets.reshape(-1))
    return logits, loss


def safetensors_bytes(tensors):
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for k, t in tensors.items():
        n = t.numel() * 4
        header[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    data = b"".join(t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes() for t in tensors.values())
    return struct.pack("<Q", len(text)) + text + data


def train(weights, idx, targets, steps, dtype):
    params = {k: v.to(dtype).clone().requires_grad_(True) for k, v in weights.items()}
    opt = torch.optim.AdamW(list(params.values()), lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
    losses = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        _, loss = gpt2_forward(params, idx, targets)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = gpt2_forward(params, idx, targets)[1].item()
    return losses, after


def make_gpt2(out_dir):
    g = torch.Generator().manual_seed(GPT2_SEED)
    V, P = CONFIG["vocab_size"], CONFIG["n_positions"]
    weights = gpt2_init(g)
    B, T = 2, 16
    seq = torch.randint(0, V, (B, T + 1), generator=g)
    idx, targets = seq[:, :T].contiguous(), seq[:, 1:].contiguous()

    params = {k: v.clone().requires_grad_(True) for k, v in weights.items()}
    logits, loss = gpt2_forward(params, idx, targets)
    loss.backward()
    grads = {k: p.grad for k, p in params.items()}

    params64 = {k: v.double().requires_grad_(True) for k, v in weights.items()}
    logits64, loss64 = gpt2_forward(params64, idx, targets)
    loss64.backward()
    steps = 10
    losses, after = train(weights, idx, targets, steps, torch.float32)
    losses64, _ = train(weights, idx, targets, steps, torch.float64)

    prompt = idx[0, :4].tolist()
    tokens, margin = list(prompt), math.inf
    with torch.no_grad():
        for _ in range(8):
            last = gpt2_forward(weights, torch.tensor([tokens]))[0][0, -1]
            top2 = last.topk(2).values
            margin = min(margin, (top2[0] - top2[1]).item())
            tokens.append(int(last.argmax()))
    assert margin > 0.01, f"greedy decode too close to a tie ({margin})"

    config = {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.0,
        "bos_token_id": V - 1,
        "embd_pdrop": 0.0,
        "eos_token_id": V - 1,
        "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05,
        "model_type": "gpt2",
        "n_ctx": P,
        "n_embd": CONFIG["n_embd"],
        "n_head": CONFIG["n_head"],
        "n_inner": None,
        "n_layer": CONFIG["n_layer"],
        "n_positions": P,
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.0,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "use_cache": True,
        "vocab_size": V,
    }
    model_dir = os.path.join(out_dir, "gpt2_tiny")
    write_bytes(os.path.join(model_dir, "config.json"), (json.dumps(config, indent=2) + "\n").encode())
    write_bytes(os.path.join(model_dir, "model.safetensors"), safetensors_bytes(weights))
    write_bytes(os.path.join(out_dir, "gpt2_tiny.grads.safetensors"), safetensors_bytes(grads))

    f64 = lambda t: t.detach().double()  # noqa: E731
    ref = {
        "format_version": 1,
        "produced_by": f"PyTorch {torch.__version__} CPU, float32 (test/reference/make_fixtures.py)",
        "torch_version": torch.__version__,
        "model_dir": "gpt2_tiny",
        "weights_file": "gpt2_tiny/model.safetensors",
        "config_file": "gpt2_tiny/config.json",
        "grads_file": "gpt2_tiny.grads.safetensors",
        "config": {
            **CONFIG,
            "layer_norm_epsilon": 1e-05,
            "activation_function": "gelu_new",
            "tie_word_embeddings": True,
        },
        "seed": GPT2_SEED,
        "B": B,
        "T": T,
        "idx": Tensor32(idx),
        "targets": Tensor32(targets),
        "logits": Tensor32(logits),
        "loss": F32(loss.item()),
        "grad_global_norm": math.sqrt(sum(f64(t).pow(2).sum().item() for t in grads.values())),
        "grad_norms": {k: f64(t).norm().item() for k, t in grads.items()},
        "train": {
            "optimizer": "AdamW",
            "lr": 0.001,
            "betas": [0.9, 0.95],
            "eps": 1e-08,
            "weight_decay": 0.0,
            "weight_decay_applies_to": "all parameters",
            "amsgrad": False,
            "grad_clip": None,
            "steps": steps,
            "losses": [F32(v) for v in losses],
            "loss_after_last_step": F32(after),
        },
        "greedy": {"prompt": prompt, "new_tokens": tokens[4:], "tokens": tokens, "min_top2_margin": margin},
        "tolerance": {
            "logits": {"atol": 1e-05, "rtol": 0.0001},
            "loss": {"atol": 1e-05, "rtol": 1e-05},
            "grads": {"atol": 1e-06, "rtol": 0.001, "note": "elementwise |a-b| <= atol + rtol*|b| per tensor"},
            "train_losses": {"atol": 1e-05, "rtol": 0.0},
        },
        "observed_error_vs_float64": {
            "logits_max_abs_err": (f64(logits) - f64(logits64)).abs().max().item(),
            "loss_abs_err": abs(loss.item() - loss64.item()),
            "grads_max_abs_err": max((f64(grads[k]) - f64(p.grad)).abs().max().item() for k, p in params64.items()),
            "train_losses_max_abs_err": max(abs(a - b) for a, b in zip(losses, losses64)),
        },
    }
    errors = ref["observed_error_vs_float64"]
    assert errors["logits_max_abs_err"] < 0.5e-5 and errors["train_losses_max_abs_err"] < 0.5e-5, errors
    dump_file(os.path.join(out_dir, "gpt2_tiny.ref.json"), ref)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "fixtures")
    make_ops(out_dir)
    make_micrograd(out_dir)
    make_gpt2(out_dir)


if __name__ == "__main__":
    main()
