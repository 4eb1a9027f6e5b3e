"""Average the weights of checkpoints of one model (a "model soup" of runs from the same start).

    python3 training/average.py OUT.pt A [B ...] [--weights 0.5,0.5]

Each input is any form ckpt.load_state reads (.pt full or compact, or an exported model.onnx); the
result is a full checkpoint without optimizer state (fp32), with the counters of the last input.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ckpt import load_state  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--weights", default="", help="comma-separated, one per input (default: equal)")
    a = ap.parse_args()
    w = [float(x) for x in a.weights.split(",")] if a.weights else [1.0 / len(a.inputs)] * len(a.inputs)
    if len(w) != len(a.inputs) or abs(sum(w) - 1) > 1e-6:
        sys.exit("--weights: one per input, summing to 1")
    avg, cfg0, meta = None, None, {}
    for wi, path in zip(w, a.inputs):
        cfg, state, meta, _ = load_state(path)
        state = {k: v for k, v in state.items() if k not in ("cos", "sin")}
        if cfg0 is None:
            cfg0, avg = cfg, {k: v.float() * wi for k, v in state.items()}
            continue
        if cfg.to_dict() != cfg0.to_dict() or state.keys() != avg.keys():
            sys.exit(f"{path}: not the same architecture as {a.inputs[0]}")
        for k, v in state.items():
            avg[k] += v.float() * wi
    meta = dict(meta, averaged={"inputs": a.inputs, "weights": w})
    torch.save({"cfg": cfg0.to_dict(), "model": avg, "opt": None, "meta": meta}, a.out)
    print(f"{a.out}: {len(avg)} tensors, weights {w}")


if __name__ == "__main__":
    main()
