"""Synthetic shards and a stand-in tokenizer.json for the CPU tests (no corpus, no tokenizers package)."""
import json
import os

import numpy as np

from data import SPECIALS

VOCAB = 300


def make(tmp, names=("py_train", "py_val", "js_train", "js_val"), V=VOCAB, seed=0):
    """Writes <tmp>/tokenizer.json (every 10th token ends a line) and one shard per name.
    Returns the tokenizer.json path."""
    vocab = {s: i for i, s in enumerate(SPECIALS)}
    for i in range(len(SPECIALS), V):
        vocab[f"t{i}" + ("Ċ" if i % 10 == 0 else "")] = i
    tj = os.path.join(tmp, "tokenizer.json")
    json.dump({"model": {"vocab": vocab}}, open(tj, "w"))
    rng = np.random.default_rng(seed)
    for name in names:
        docs = [rng.integers(6, V, size=int(rng.integers(50, 900))) for _ in range(40)]
        np.concatenate(docs).astype(np.uint16).tofile(os.path.join(tmp, name + ".bin"))
        np.concatenate([[0], np.cumsum([len(d) for d in docs])]).astype(np.int64).tofile(os.path.join(tmp, name + ".idx"))
    return tj
