"""training/grow.py: a deepened model computes exactly what its source computed (causal and
block-diffusion masks), loads strictly into the bigger Config, keeps the token counters, and its
new blocks train (their output projections get gradients). No GPU.

    python3 training/tests/grow_cpu.py
"""
import os
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from ckpt import load_model  # noqa: E402
from grow import spread  # noqa: E402
from model import Config, Model, block_mask  # noqa: E402


def main():
    torch.manual_seed(0)
    cfg = Config(vocab=300, d=64, layers=3, heads=4, ffn=128, max_len=128)
    src = Model(cfg).eval()
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "src.pt"), os.path.join(tmp, "grown.pt")
        meta = {"tokens": 123, "seconds": 4.0, "steps": 5, "phases": {"nt": 123}}
        torch.save({"cfg": cfg.to_dict(), "model": src.state_dict(), "opt": None, "meta": meta}, a)
        subprocess.run([sys.executable, os.path.join(HERE, "..", "grow.py"), b, a, "--layers", "5"], check=True)
        grown, _ = load_model(b, "cpu")  # strict: every key of the 5-layer model present
        ck = torch.load(b, map_location="cpu", weights_only=False)
        assert grown.cfg.layers == 5 and ck["meta"]["tokens"] == 123 and ck["meta"]["grown"]["new_blocks"] == spread(3, 5)
        ids = torch.randint(0, 300, (2, 40))
        bs, be = torch.tensor([10, 20]), torch.tensor([26, 36])
        with torch.no_grad():
            for mask in (None, block_mask(40, bs, be, "cpu")):
                d = (src(ids, mask) - grown(ids, mask)).abs().max().item()
                assert d < 1e-4, f"grown model differs from its source by {d}"
        # the new blocks are not dead: their zeroed projections get gradients
        grown.train()
        grown(ids).logsumexp(-1).mean().backward()
        for i in ck["meta"]["grown"]["new_blocks"]:
            g = grown.blocks[i].mlp.w2.weight.grad
            assert g is not None and g.abs().sum() > 0, f"block {i} gets no gradient"
        # a wrong request is refused with a message
        r = subprocess.run([sys.executable, os.path.join(HERE, "..", "grow.py"), b, a, "--layers", "2"], capture_output=True, text=True)
        assert r.returncode != 0 and "already has" in r.stderr
    assert spread(6, 8) == [3, 5], spread(6, 8)
    print("grow_cpu: ok")


if __name__ == "__main__":
    main()
