"""
A Hugging Face GPT-2 model directory read and run with PyTorch alone (no transformers or
safetensors packages here): the safetensors file is parsed by hand, every tensor is checked
against the names and shapes GPT2LMHeadModel.from_pretrained expects, and the model runs as
GPT2LMHeadModel computes (Conv1D x @ W + b, pre-LayerNorm blocks, gelu_new, tied lm_head).

Reads a JSON request on stdin, writes JSON on stdout:
  {"model_dir": D, "logits": [[ids...], ...]}           -> {"logits": [...]} (rows of equal length)
  {"model_dir": D, "hellaswag": [{"rows", "masks", "label"}]} -> build-nanogpt's hellaswag.py
      scoring per example: {"scores": [{"sum_loss", "avg_loss", "pred", "pred_norm"}]}
"""
import json
import math
import struct
import sys

import torch
from torch.nn import functional as F

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        buf = bytearray(data[8 + n + begin : 8 + n + end])
        t = torch.frombuffer(buf, dtype=DTYPES[e["dtype"]]) if end > begin else torch.zeros(0)
        out[name] = t.reshape(e["shape"])
    return meta, out


def load(model_dir):
    with open(f"{model_dir}/config.json") as f:
        cfg = json.load(f)
    assert cfg["model_type"] == "gpt2" and cfg["architectures"] == ["GPT2LMHeadModel"], cfg
    assert cfg.get("tie_word_embeddings", True) and cfg.get("n_inner") is None, cfg
    meta, sd = read_safetensors(f"{model_dir}/model.safetensors")
    assert meta.get("format") == "pt", f"transformers needs metadata format 'pt', got {meta}"
    V, P, C, L = cfg["vocab_size"], cfg["n_positions"], cfg["n_embd"], cfg["n_layer"]
    want = {"wte.weight": [V, C], "wpe.weight": [P, C], "ln_f.weight": [C], "ln_f.bias": [C]}
    for i in range(L):
        h = f"h.{i}."
        want.update({
            h + "ln_1.weight": [C], h + "ln_1.bias": [C], h + "ln_2.weight": [C], h + "ln_2.bias": [C],
            h + "attn.c_attn.weight": [C, 3 * C], h + "attn.c_attn.bias": [3 * C],
            h + "attn.c_proj.weight": [C, C], h + "attn.c_proj.bias": [C],
            h + "mlp.c_fc.weight": [C, 4 * C], h + "mlp.c_fc.bias": [4 * C],
            h + "mlp.c_proj.weight": [4 * C, C], h + "mlp.c_proj.bias": [C],
        })
    keys = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in sd.items()}
    missing = sorted(set(want) - set(keys))
    unexpected = sorted(set(keys) - set(want) - {"lm_head.weight"})
    assert not missing and not unexpected, f"missing {missing}, unexpected {unexpected}"
    for k, shape in want.items():
        assert list(keys[k].shape) == shape and keys[k].dtype == torch.float32, (k, keys[k].shape, shape)
    return cfg, keys


def gelu(x, kind):
    if kind == "gelu":
        return F.gelu(x)
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def forward(cfg, w, idx):
    B, T = idx.shape
    C, nh, eps = cfg["n_embd"], cfg["n_head"], cfg.get("layer_norm_epsilon", 1e-5)
    act = cfg.get("activation_function", "gelu_new")
    x = w["wte.weight"][idx] + w["wpe.weight"][torch.arange(T)]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for i in range(cfg["n_layer"]):
        p = lambda k: w[f"h.{i}.{k}"]
        a = F.layer_norm(x, (C,), p("ln_1.weight"), p("ln_1.bias"), eps)
        q, k, v = (a @ p("attn.c_attn.weight") + p("attn.c_attn.bias")).split(C, dim=2)
        q, k, v = (t.view(B, T, nh, C // nh).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // nh)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ p("attn.c_proj.weight") + p("attn.c_proj.bias")
        m = F.layer_norm(x, (C,), p("ln_2.weight"), p("ln_2.bias"), eps)
        m = gelu(m @ p("mlp.c_fc.weight") + p("mlp.c_fc.bias"), act)
        x = x + m @ p("mlp.c_proj.weight") + p("mlp.c_proj.bias")
    x = F.layer_norm(x, (C,), w["ln_f.weight"], w["ln_f.bias"], eps)
    return x @ w["wte.weight"].T


def hellaswag(cfg, w, example):
    # build-nanogpt's hellaswag.py: pad with 0 to the longest row, score each ending's tokens.
    rows, masks = example["rows"], example["masks"]
    width = max(len(r) for r in rows)
    tokens = torch.zeros((4, width), dtype=torch.long)
    mask = torch.zeros((4, width), dtype=torch.long)
    for i, (r, m) in enumerate(zip(rows, masks)):
        tokens[i, : len(r)] = torch.tensor(r)
        mask[i, : len(m)] = torch.tensor(m)
    logits = forward(cfg, w, tokens)
    shift_logits = logits[..., :-1, :].contiguous()
    shift_tokens = tokens[..., 1:].contiguous()
    losses = F.cross_entropy(
        shift_logits.view(-1, shift_logits.size(-1)), shift_tokens.view(-1), reduction="none"
    ).view(tokens.size(0), -1)
    shift_mask = mask[..., 1:].contiguous()
    masked = losses * shift_mask
    sum_loss = masked.sum(dim=1)
    avg_loss = sum_loss / shift_mask.sum(dim=1)
    return {
        "sum_loss": sum_loss.tolist(),
        "avg_loss": avg_loss.tolist(),
        "pred": sum_loss.argmin().item(),
        "pred_norm": avg_loss.argmin().item(),
    }


def main():
    torch.set_num_threads(1)
    req = json.load(sys.stdin)
    cfg, w = load(req["model_dir"])
    with torch.no_grad():
        if "logits" in req:
            out = {"logits": forward(cfg, w, torch.tensor(req["logits"], dtype=torch.long)).tolist()}
        else:
            out = {"scores": [hellaswag(cfg, w, ex) for ex in req["hellaswag"]]}
    out["torch_version"] = torch.__version__
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
