"""A compact checkpoint (int8, ckpt.save_compact) from a shipped model.onnx, with its training
counters: the seed for a run when training/ckpt/ is gone. It is smaller than the ONNX file (26.0 MB
against 31.1 MB for the 24m) and lets the tracked model.onnx stay out of the staged calls
(device/aside.sh). The weights are the ONNX file's exactly (both are int8 in blocks of 32).

    /usr/bin/python3 training/compact_from_onnx.py models/diffill-code-24m/model.onnx training/ckpt/seed/compact.pt
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ckpt import load_state, save_compact  # noqa: E402


def main():
    src, out = sys.argv[1], sys.argv[2]
    cfg, state, meta, _ = load_state(src)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    save_compact(out, state, cfg, meta)
    _, back, _, _ = load_state(out)
    worst = max(float((state[k].float() - back[k].float()).abs().max()) for k in state)
    print(f"{out}: {sum(v.numel() for v in state.values()):,} parameters, {meta.get('tokens', 0):,} tokens seen, "
          f"largest weight change {worst:.2e}")


if __name__ == "__main__":
    main()
