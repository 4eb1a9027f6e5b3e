"""CPU smoke test of the training pipeline on synthetic shards (no GPU, no tokenizers package needed).

Runs a few steps of each phase (nt, diff, distill), writes/reads full and compact checkpoints, and runs both decoders.
Works with PyTorch >= 1.13 (older versions get small stand-ins for RMSNorm / SDPA).
Usage: python3 training/tests/smoke_cpu.py
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import compat  # noqa: F401,E402

try:
    import tokenizers  # noqa: F401
except ImportError:  # stand-in: decode ids to text by the synthetic vocabulary
    import types

    class _Tok:
        @staticmethod
        def from_file(path):
            t = _Tok()
            t.inv = {i: s for s, i in json.load(open(path))["model"]["vocab"].items()}
            return t

        def decode(self, ids):
            return "".join(self.inv[i].replace("Ċ", "\n") for i in ids)

    sys.modules["tokenizers"] = types.SimpleNamespace(Tokenizer=_Tok)

from model import Config, Model  # noqa: E402
import ckpt  # noqa: E402
from data import SPECIALS, Shard, fim_example, FimStream, line_table  # noqa: E402
from decode import ar_decode, block_decode  # noqa: E402
import synthetic  # noqa: E402


def main():
    tmp = tempfile.mkdtemp()
    V = synthetic.VOCAB
    tj = synthetic.make(tmp)
    ends = line_table(tj, V)
    assert ends.sum() == len([i for i in range(len(SPECIALS), V) if i % 10 == 0])
    rng = np.random.default_rng(0)
    # FIM examples fit and keep the layout
    sh = Shard(os.path.join(tmp, "py_train"))
    for kind in ("line", "rest", "multi", "span", "eof"):
        for _ in range(50):
            ctx, mid, _ = fim_example(sh.doc(rng), rng, ends, 128, 40, kind)
            assert ctx[0] == 4 and ctx[-1] == 5 and len(ctx) + len(mid) <= 127, (kind, len(ctx), len(mid))
    for phase in ("nt", "diff"):
        it = iter(FimStream([os.path.join(tmp, "py_train")], [1.0], ends, 128, phase, 0))
        for _ in range(20):
            b = next(it)
            assert b["ids"].shape == (128,)
            if phase == "diff":
                assert 0 < b["bs"] < b["be"] <= 128
    cfg_small = dict(vocab=V, d=64, layers=2, heads=4, ffn=128)
    # few steps of each phase through train.py (distill: tests/distill_cpu.py checks it further)
    for phase in ("nt", "diff", "distill"):
        argv = ["train.py", "--phase", phase, "--data", tmp, "--out", os.path.join(tmp, "ck"), "--tokenizer", tj,
                "--batch", "4", "--micro", "2", "--seq", "128", "--max-steps", "3", "--workers", "0",
                "--compile", "0", "--eval-n", "4", "--minutes", "5", "--model", json.dumps(cfg_small),
                "--init", "none" if phase == "nt" else os.path.join(tmp, "ck", "latest.pt")]
        if phase == "diff":  # half of the micro-batches next-token on whole sequences (final eval: ar too)
            argv += ["--nt-mix", "0.5"]
        if phase == "distill":  # its final eval is diff's (par + seq); distill_cpu.py runs one
            argv += ["--final-eval", "0"]
        code = ("import sys, runpy; sys.path.insert(0, %r); import smoke_cpu; sys.argv = %r; "
                "runpy.run_path(%r, run_name='__main__')") % (HERE, argv, os.path.join(os.path.dirname(HERE), "train.py"))
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=os.path.dirname(HERE))
        print(r.stdout[-1500:], r.stderr[-3000:])
        assert r.returncode == 0, phase
    # checkpoints round-trip
    cfg, state, meta, _ = ckpt.load_state(os.path.join(tmp, "ck", "compact.pt"))
    m = Model(cfg)
    m.load_state_dict(state, strict=False)
    _, full, _, _ = ckpt.load_state(os.path.join(tmp, "ck", "latest.pt"))
    err = max(float((state[k] - full[k].float()).abs().max() / (full[k].abs().max() + 1e-9)) for k in full)
    assert err < 0.02, err
    assert meta["tokens"] > 0
    ctxs = [list(rng.integers(6, V, size=n)) + [5] for n in (10, 30, 20)]
    outs, f = block_decode(m, ctxs, 8, True, ends, torch.device("cpu"), max_blocks=1)
    assert len(outs) == 3 and all(x >= 1 for x in f)
    outs2, f2 = block_decode(m, ctxs, 8, False, ends, torch.device("cpu"), sequential=True, max_blocks=2)
    assert all(x >= 1 for x in f2)
    outs3, _ = ar_decode(m, ctxs, 6, ends, True, torch.device("cpu"))
    print("smoke ok")


if __name__ == "__main__":
    main()
