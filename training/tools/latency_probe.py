"""Export a RANDOM-weight model of the given size in the engine's format, to measure CPU latency of a
size before spending GPU time on training it (quality needs training; speed does not).
Never shipped. Usage: python3 training/tools/latency_probe.py OUT_DIR --d 384 --layers 6 --heads 6 --ffn 1024
"""
import argparse
import json
import os
import shutil
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import export as ex  # noqa: E402
from model import Config, Model  # noqa: E402


def shipped_model_dir():
    """The first folder under models/ (by name) with a model.onnx, as the server picks it."""
    root = os.path.join(os.path.dirname(os.path.dirname(HERE)), "models")
    for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        if os.path.isfile(os.path.join(root, name, "model.onnx")):
            return os.path.join(root, name)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--d", type=int, default=384)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--ffn", type=int, default=1024)
    ap.add_argument("--like", default=shipped_model_dir())
    a = ap.parse_args()
    import onnx
    os.makedirs(a.out, exist_ok=True)
    cfg = Config(d=a.d, layers=a.layers, heads=a.heads, ffn=a.ffn)
    torch.manual_seed(0)
    m = Model(cfg).eval()
    em = ex.ExportModel(m).eval()
    fp32 = os.path.join(a.out, "fp32.onnx")
    ex.export_onnx(em, fp32)
    mp = onnx.load(fp32)
    names = dict(em.names)
    ex.to_matmulnbits(mp, names)
    ex.rename_initializers(mp, names)
    onnx.save(mp, os.path.join(a.out, "model.onnx"))
    os.remove(fp32)
    c = json.load(open(os.path.join(a.like, "config.json")))
    c.update(model=cfg.to_dict(), params=m.num_params(), name=f"random-{m.num_params() / 1e6:.0f}m-latency-probe", training={})
    json.dump(c, open(os.path.join(a.out, "config.json"), "w"), indent=1)
    shutil.copy(os.path.join(a.like, "tokenizer.json"), a.out)
    print(f"{m.num_params() / 1e6:.1f} M params, {os.path.getsize(os.path.join(a.out, 'model.onnx')) / 1e6:.1f} MB -> {a.out}")


if __name__ == "__main__":
    main()
