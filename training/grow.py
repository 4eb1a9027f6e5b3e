"""Deepen a trained model without changing what it computes (a warm start for a bigger size).

    python3 training/grow.py OUT.pt SOURCE --layers 8 [--at 3,6]

SOURCE is any form ckpt.load_state reads (.pt full or compact, or an exported model.onnx). The new
blocks are copies of the block before them whose output projections (`attn.out`, `mlp.w2`) are
zero, so each starts as the identity on the residual stream: the grown model's logits equal the
source's, and training then uses the extra depth. `--at` lists the new blocks' indices in the grown
model (default: spread evenly; 6 -> 8 layers inserts blocks 3 and 5). The
result is a full checkpoint without optimizer state (fp32) that keeps the source's token counters,
for `train.py --init OUT.pt`.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ckpt import load_state  # noqa: E402
from model import Config  # noqa: E402


def spread(old: int, new: int) -> list:
    """Indices (in the grown model) of the new blocks, spread evenly after the first block."""
    k = new - old
    return sorted({round((i + 1) * new / (k + 1)) for i in range(k)})


def grow(state: dict, cfg: Config, layers: int, at: list):
    if layers <= cfg.layers:
        raise SystemExit(f"--layers {layers}: the source already has {cfg.layers}")
    if len(at) != layers - cfg.layers or len(set(at)) != len(at) or not all(0 < i < layers for i in at):
        raise SystemExit(f"--at {at}: {layers - cfg.layers} distinct indices in 1..{layers - 1} expected")
    out = {k: v.float().clone() for k, v in state.items() if not k.startswith("blocks.") and k not in ("cos", "sin")}
    src = 0
    for i in range(layers):
        new = i in at
        j = src - 1 if new else src  # a new block copies the block before it
        for k, v in state.items():
            pre = f"blocks.{j}."
            if k.startswith(pre):
                name = k[len(pre):]
                w = v.float().clone()
                if new and name in ("attn.out.weight", "mlp.w2.weight"):
                    w.zero_()
                out[f"blocks.{i}.{name}"] = w
        if not new:
            src += 1
    d = cfg.to_dict()
    d["layers"] = layers
    return out, Config(**d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("source")
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--at", default="", help="comma-separated indices of the new blocks in the grown model")
    a = ap.parse_args()
    cfg, state, meta, _ = load_state(a.source)
    at = [int(x) for x in a.at.split(",")] if a.at else spread(cfg.layers, a.layers)
    grown, gcfg = grow(state, cfg, a.layers, at)
    meta = dict(meta, grown={"source": a.source, "from_layers": cfg.layers, "new_blocks": at})
    torch.save({"cfg": gcfg.to_dict(), "model": grown, "opt": None, "meta": meta}, a.out)
    n = sum(v.numel() for v in grown.values())
    print(f"{a.out}: {cfg.layers} -> {a.layers} layers (new blocks {at}), {n / 1e6:.2f} M parameters")


if __name__ == "__main__":
    main()
