"""training/prep.py's write_shard: batch after batch, it writes the same `.bin` and `.idx` as one
encode of the whole shard would (ids back to back as uint16, int64 offsets with a leading 0),
whatever the batch size, with empty texts, and through `encode_batch_fast` when the tokenizer has
it. A stub tokenizer stands in for `tokenizers` (not installed here). No GPU.

    python3 training/tests/prep_shard_cpu.py
"""
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from prep import write_shard  # noqa: E402


class Enc:
    def __init__(self, ids):
        self.ids = ids


class Tok:
    """Token = code point mod 8192, so ids reach above 255 and the uint16 range is exercised."""

    def __init__(self):
        self.calls = 0

    def encode_batch(self, texts, add_special_tokens=True):
        assert add_special_tokens is False, "prep must not add special tokens"
        self.calls += 1
        return [Enc([ord(c) % 8192 for c in t]) for t in texts]


class FastTok(Tok):
    def encode_batch(self, texts, add_special_tokens=True):
        raise AssertionError("encode_batch_fast should have been used")

    def encode_batch_fast(self, texts, add_special_tokens=True):
        return Tok.encode_batch(self, texts, add_special_tokens)


def expected(texts):
    ids = [[ord(c) % 8192 for c in t] for t in texts]
    idx = np.concatenate([[0], np.cumsum([len(x) for x in ids])]).astype(np.int64)
    return np.array([i for x in ids for i in x], dtype=np.uint16), idx


def main():
    rng = np.random.default_rng(0)
    texts = ["".join(chr(int(c)) for c in rng.integers(32, 9000, int(rng.integers(0, 60)))) for _ in range(500)]
    texts[3] = texts[-1] = ""
    want_bin, want_idx = expected(texts)
    assert want_bin.max() > 255
    d = tempfile.mkdtemp()
    for tok_cls in (Tok, FastTok):
        for chunk in (1, 7, 499, 500, 4096):
            tok = tok_cls()
            n = write_shard(tok, texts, os.path.join(d, "s"), chunk=chunk)
            got_bin = np.fromfile(os.path.join(d, "s.bin"), dtype=np.uint16)
            got_idx = np.fromfile(os.path.join(d, "s.idx"), dtype=np.int64)
            assert n == len(want_bin) == int(got_idx[-1]), (n, len(want_bin))
            assert np.array_equal(got_bin, want_bin), (tok_cls.__name__, chunk)
            assert np.array_equal(got_idx, want_idx), (tok_cls.__name__, chunk)
            if tok_cls is Tok:
                assert tok.calls == -(-len(texts) // chunk), (tok.calls, chunk)
    print(f"prep_shard_cpu: ok ({len(want_bin)} tokens, batches of 1 to 4096, encode_batch and encode_batch_fast)")


if __name__ == "__main__":
    main()
