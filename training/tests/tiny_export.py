"""Export a tiny RANDOM model through training/export.py's graph and quantiser, for plumbing tests of
the ONNX contract only (engine unit tests load it to check shapes, the KV cache and masks against a
full recomputation). Never shipped, never used for completions.

Usage: python3 training/tests/tiny_export.py OUT_DIR
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import smoke_cpu  # noqa: F401,E402  (stand-ins for old PyTorch)
from data import SPECIALS  # noqa: E402
from model import Config, Model  # noqa: E402
import export as ex  # noqa: E402


def byte_tokenizer():
    """A minimal byte-level tokenizer.json: 6 specials + 256 bytes, a few merges, newline-isolating."""
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    chars = [chr(c) for c in cs]
    vocab = {s: i for i, s in enumerate(SPECIALS)}
    for ch in chars:
        vocab[ch] = len(vocab)
    merges = [("Ġ", "Ġ"), ("e", "t"), ("r", "et"), ("Ġ", "ret")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    while len(vocab) % 32:
        vocab[f"<unused{len(vocab)}>"] = len(vocab)
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, s in enumerate(SPECIALS)],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "\n"}, "behavior": "MergedWithPrevious", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    tj = byte_tokenizer()
    json.dump(tj, open(os.path.join(out, "tokenizer.json"), "w"))
    cfg = Config(vocab=len(tj["model"]["vocab"]), d=64, layers=2, heads=2, ffn=128)
    torch.manual_seed(0)
    model = Model(cfg).eval()
    em = ex.ExportModel(model).eval()
    fp32 = os.path.join(out, "fp32.onnx")
    ex.export_onnx(em, fp32)
    import onnx
    mp = onnx.load(fp32)
    names = dict(em.names)
    ex.to_matmulnbits(mp, names)
    ex.rename_initializers(mp, names)
    onnx.save(mp, os.path.join(out, "model.onnx"))
    os.remove(fp32)
    json.dump({"name": "tiny-random-plumbing", "model": cfg.to_dict(), "params": model.num_params(),
               "format": 3, "block_size": 8, "max_context": 128,
               "special_tokens": {"pad": 0, "eot": 1, "mask": 2, "pre": 3, "suf": 4, "mid": 5}},
              open(os.path.join(out, "config.json"), "w"), indent=1)
    # a reference: full-sequence logits from PyTorch for a fixed input, to compare with ORT + cache
    ids = torch.tensor([[4, 20, 30, 3, 40, 50, 60, 70, 5, 2, 2, 2, 2, 2, 2, 2, 2]])
    from model import block_mask
    T = ids.shape[1]
    with torch.no_grad():
        lg = model(ids, block_mask(T, torch.tensor([9]), torch.tensor([T]), "cpu"))
    json.dump({"ids": ids[0].tolist(), "block_start": 9, "logits": lg[0].tolist()},
              open(os.path.join(out, "reference.json"), "w"))
    print("tiny model in", out)


if __name__ == "__main__":
    main()
