"""Checkpoints in three forms, so training resumes wherever it finds weights:

* full   (`latest.pt`): fp32 weights + optimizer + counters; lives on the GPU machine during a lease
  and in `training/ckpt/` here when it fits.
* compact (`compact.pt`): every matrix as int8 with one fp16 scale per row block of 32, norms in fp16;
  ~31 MB for 29 M parameters, small enough to travel to a fresh GPU machine with the corpus.
* the shipped ONNX model (`models/<name>/model.onnx`): its 8-bit MatMulNBits weights and int8
  embedding are dequantised, so the shipped model seeds a resumed run when no checkpoint is left.
"""
from __future__ import annotations

import json
import os

import numpy as np
import torch

from model import Config, Model

QBLOCK = 32


def quantize_rows(w: torch.Tensor, block=QBLOCK):
    """Symmetric int8 per block of `block` along the last dim. Returns (q int8, scale fp16)."""
    w = w.float()
    rows, cols = w.shape
    assert cols % block == 0
    g = w.view(rows, cols // block, block)
    scale = (g.abs().amax(-1, keepdim=True) / 127.0).clamp(min=1e-8)
    q = torch.round(g / scale).clamp(-127, 127).to(torch.int8)
    return q.view(rows, cols), scale.squeeze(-1).half()


def dequantize_rows(q, scale, block=QBLOCK):
    rows, cols = q.shape
    return (q.float().view(rows, cols // block, block) * scale.float().unsqueeze(-1)).view(rows, cols)


def save_full(path, model, opt, meta):
    tmp = path + ".tmp"
    torch.save({"cfg": model.cfg.to_dict(), "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "opt": opt.state_dict() if opt is not None else None, "meta": meta}, tmp)
    os.replace(tmp, path)


def save_compact(path, state, cfg: Config, meta):
    out = {}
    for k, v in state.items():
        if v.ndim == 2:
            q, s = quantize_rows(v)
            out[k] = {"q": q, "s": s}
        else:
            out[k] = v.half()
    tmp = path + ".tmp"
    torch.save({"cfg": cfg.to_dict(), "compact": out, "meta": meta}, tmp)
    os.replace(tmp, path)


def _from_compact(c):
    return {k: (dequantize_rows(v["q"], v["s"]) if isinstance(v, dict) else v.float()) for k, v in c.items()}


def _from_onnx(path):
    """Recover a state dict from our exported ONNX (see export.py for the names)."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(path)
    cfg = Config(**json.load(open(os.path.join(os.path.dirname(path), "config.json")))["model"])
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    state = {}
    # MatMulNBits nodes carry their weight name in the node name: "q/<param name>"
    for node in m.graph.node:
        if node.op_type == "MatMulNBits" and node.name.startswith("q/"):
            name = node.name[2:]
            attrs = {a.name: a.i for a in node.attribute}
            K, N, bs = attrs["K"], attrs["N"], attrs["block_size"]
            b = inits[node.input[1]].reshape(N, -1).astype(np.float32) - 128.0
            sc = inits[node.input[2]].reshape(N, -1).astype(np.float32)
            w = (b.reshape(N, -1, bs) * sc[:, :, None]).reshape(N, -1)[:, :K]
            state[name] = torch.from_numpy(w.copy())  # [out, in] as nn.Linear keeps it
        # weights left unquantised (export.py --float-matmuls): "cast/<param name>" of an fp16 [in, out]
        elif node.op_type == "Cast" and node.name.startswith("cast/") and node.name != "cast/head":
            w = inits[node.input[0]].astype(np.float32).T
            state[node.name[5:]] = torch.from_numpy(w.copy())
    q = inits["emb_q"].astype(np.float32)
    s = inits["emb_scale"].astype(np.float32)
    V, d = q.shape
    state["emb.weight"] = torch.from_numpy((q.reshape(V, d // QBLOCK, QBLOCK) * s[:, :, None]).reshape(V, d))
    for k, v in inits.items():
        if k.startswith("p/"):
            state[k[2:]] = torch.from_numpy(v.astype(np.float32).copy())
    return cfg, state


def load_state(path):
    """Returns (cfg, state dict, meta, optimizer state or None) from any of the three forms."""
    if path.endswith(".onnx"):
        cfg, state = _from_onnx(path)
        meta = json.load(open(os.path.join(os.path.dirname(path), "config.json"))).get("training", {})
        return cfg, state, meta, None
    ck = torch.load(path, map_location="cpu", weights_only=False)
    cfg = Config(**ck["cfg"])
    if "compact" in ck:
        return cfg, _from_compact(ck["compact"]), ck.get("meta", {}), None
    return cfg, ck["model"], ck.get("meta", {}), ck.get("opt")


def load_model(path, device):
    cfg, state, meta, _ = load_state(path)
    model = Model(cfg)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if k not in ("cos", "sin")]
    assert not missing and not unexpected, (missing, unexpected)
    return model.to(device).eval(), meta
