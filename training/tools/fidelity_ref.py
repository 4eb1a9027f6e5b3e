"""Reference logits for the quantisation fidelity check, computed with PyTorch from the weights inside
an exported model (or a checkpoint). Inputs come from scripts/fidelity.mjs (token ids made by the
engine's tokenizer), so no Python tokenizer is needed.

Usage: python3 training/tools/fidelity_ref.py WEIGHTS(.onnx|.pt) IN.json OUT.json
IN.json: [{"ctx": [ids...], "block": [ids, mask=2 ...], "causal": false}, ...]
OUT.json: [{"logits_top": [[token, ...] per block slot], "logits": [[...V floats...] per slot]}, ...]
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
import smoke_cpu  # noqa: F401,E402  (stand-ins on old PyTorch)
from ckpt import load_model  # noqa: E402
from model import block_mask  # noqa: E402


def main():
    weights, inp, out = sys.argv[1:4]
    model, _ = load_model(weights, torch.device("cpu"))
    model.float().eval()
    res = []
    for ex in json.load(open(inp)):
        ctx, blk = ex["ctx"], ex["block"]
        ids = torch.tensor([ctx + blk])
        T = ids.shape[1]
        with torch.no_grad():  # "causal": the block's tokens are fed causally (a draft-and-verify pass)
            mask = None if ex.get("causal") else block_mask(T, torch.tensor([len(ctx)]), torch.tensor([T]), "cpu")
            lg = model(ids, mask)[0]
        rows = lg[len(ctx) - 1: T - 1]
        res.append({"logits": [[round(float(x), 4) for x in r] for r in rows]})
    json.dump(res, open(out, "w"))


if __name__ == "__main__":
    main()
