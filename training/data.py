"""Fill-in-the-middle examples from pre-tokenised, memory-mapped corpora.

Layout of every example (the engine builds the same at inference):

    <suf> suffix <pre> prefix <mid> middle <eot>

Suffix first, so typing at the end of the prefix only appends to the context and its KV cache
stays valid. Middles are a mixture matching real use: a full line, the rest of a line from a
mid-line cursor, several lines, a random span, and end-of-file (no suffix).

Shards: `<name>.bin` (uint16 tokens of all documents back to back) and `<name>.idx` (int64 start
offsets, one more than documents). Sampling is numpy-only and runs in DataLoader workers, off the
GPU's critical path.
"""
from __future__ import annotations

import json
import os

import numpy as np
import torch

PAD, EOT, MASK, PRE, SUF, MID = 0, 1, 2, 3, 4, 5
SPECIALS = ["<|pad|>", "<|eot|>", "<|mask|>", "<|pre|>", "<|suf|>", "<|mid|>"]

KINDS = ("line", "rest", "multi", "span", "eof")
KIND_P = (0.32, 0.24, 0.2, 0.14, 0.10)
BLOCK_SIZES = (8, 16, 24, 32)  # diffusion block lengths drawn per example (the engine decodes 32)


class Shard:
    """Documents of one corpus file. With world > 1, rank r sees only documents i % world == r,
    so the ranks of a distributed run read disjoint, deterministic parts of the corpus."""

    def __init__(self, path: str, rank: int = 0, world: int = 1):
        self.tok = np.memmap(path + ".bin", dtype=np.uint16, mode="r")
        self.idx = np.fromfile(path + ".idx", dtype=np.int64)
        lens = np.diff(self.idx)
        self.docs = np.flatnonzero(lens >= 24)
        if world > 1:
            self.docs = self.docs[self.docs % world == rank]
        w = np.cumsum(lens[self.docs].astype(np.float64))
        self.cum = w / w[-1]  # documents drawn in proportion to their length

    def doc(self, rng) -> np.ndarray:
        d = self.docs[min(int(np.searchsorted(self.cum, rng.random())), len(self.docs) - 1)]
        return np.asarray(self.tok[self.idx[d]: self.idx[d + 1]], dtype=np.int64)


def line_table(tokenizer_json: str, vocab: int) -> np.ndarray:
    """ends_line[id] is True when the token's text ends with a newline."""
    with open(tokenizer_json) as f:
        tj = json.load(f)
    ends = np.zeros(vocab, dtype=bool)
    for piece, i in tj["model"]["vocab"].items():
        if i < vocab and piece.endswith("Ċ"):  # byte-level form of "\n"
            ends[i] = True
    return ends


def fim_example(d: np.ndarray, rng, ends: np.ndarray, T: int, max_mid: int, kind: str | None = None):
    """Pick a middle inside document d and return (context ids, middle ids, kind).
    The context ends with <mid>; middle excludes <eot>. Total fits in T - 1 tokens."""
    n = len(d)
    nl = np.flatnonzero(ends[d]) + 1
    starts = np.concatenate([[0], nl[nl < n]])  # line starts
    kind = kind or KINDS[rng.choice(len(KINDS), p=KIND_P)]
    li = int(rng.integers(0, len(starts)))
    a = int(starts[li])
    line_end = int(starts[li + 1]) if li + 1 < len(starts) else n  # index after the newline
    body_end = line_end - 1 if line_end > a and ends[d[line_end - 1]] else line_end
    if kind == "line":
        b = body_end if rng.random() < 0.9 else line_end
    elif kind == "rest":
        if body_end - a < 2:
            b = body_end
        else:
            a = int(rng.integers(a + 1, body_end))
            b = body_end
    elif kind == "multi":
        k = int(rng.integers(2, 9))
        lj = min(li + k, len(starts) - 1)
        end = int(starts[lj]) if lj > li else n
        b = end - 1 if end > a and ends[d[end - 1]] else end
        if b <= a:
            b = body_end
    elif kind == "span":
        a = int(rng.integers(0, n - 1))
        b = min(n, a + int(rng.integers(1, 48)))
    else:  # eof: everything after the cursor is unknown
        b = min(n, a + int(rng.integers(4, max_mid + 1)))
    b = max(b, a)
    mid = d[a: min(b, a + max_mid)]
    if kind == "eof":
        suf = d[:0]
    else:
        suf = d[b: b + min(int(rng.integers(0, 161)), max(0, (T - 4 - len(mid)) // 3))]
    room = T - 4 - len(mid) - len(suf)
    pre = d[max(0, a - room): a]
    ctx = np.concatenate([[SUF], suf, [PRE], pre, [MID]]).astype(np.int64)
    return ctx, mid.astype(np.int64), kind


class FimStream(torch.utils.data.IterableDataset):
    """Endless examples for one phase. 'nt': next-token FIM; 'diff': one diffusion block at the end.

    Yields dict of numpy arrays:
      ids [T]      input tokens (block still clean; noise is added on the GPU)
      tgt [T]      next-token targets for causal positions (-100 = ignore)
      bs, be       block span [bs, be) (diff phase; bs = be = T for nt)
    """

    def __init__(self, shards, weights, ends, T, phase, seed, rank=0, world=1, block_sizes=BLOCK_SIZES):
        self.paths, self.weights = shards, np.asarray(weights, dtype=np.float64) / np.sum(weights)
        self.ends, self.T, self.phase, self.seed = ends, T, phase, seed
        self.rank, self.world = rank, world
        self.block_sizes = block_sizes

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        rng = np.random.default_rng([self.seed, self.rank, wid])
        shards = [Shard(p, self.rank, self.world) for p in self.paths]
        T = self.T
        while True:
            s = shards[rng.choice(len(shards), p=self.weights)]
            d = s.doc(rng)
            if self.phase == "nt":
                ctx, mid, _ = fim_example(d, rng, self.ends, T, max_mid=160)
                seq = np.concatenate([ctx, mid, [EOT]])[:T]
                ids = np.full(T, PAD, dtype=np.int64)
                ids[: len(seq)] = seq
                tgt = np.full(T, -100, dtype=np.int64)
                tgt[: len(seq) - 1] = seq[1:]
                yield {"ids": ids, "tgt": tgt, "bs": T, "be": T}
            else:
                B = int(rng.choice(self.block_sizes))
                ctx, mid, _ = fim_example(d, rng, self.ends, T - B, max_mid=160)
                # part of the middle may already be committed (chained blocks at inference)
                k = 0 if len(mid) <= 1 or rng.random() < 0.6 else int(rng.integers(1, len(mid)))
                full = np.concatenate([mid, [EOT]])
                ctx = np.concatenate([ctx, full[:k]])
                blk = full[k: k + B]
                if len(blk) < B:  # after the end: <eot> everywhere (the decoder only trusts the first)
                    blk = np.concatenate([blk, np.full(B - len(blk), EOT)])
                ctx = ctx[-(T - B):]
                ids = np.full(T, PAD, dtype=np.int64)
                bs = len(ctx)
                ids[:bs] = ctx
                ids[bs: bs + B] = blk
                tgt = np.full(T, -100, dtype=np.int64)
                tgt[: bs - 1] = ctx[1:]
                # 'real': block positions up to and including the first <eot>; later ones weigh less
                yield {"ids": ids, "tgt": tgt, "bs": bs, "be": bs + B,
                       "real": min(len(full) - k, B)}


def collate(batch):
    out = {}
    for k in batch[0]:
        out[k] = torch.as_tensor(np.stack([b[k] for b in batch]))
    return out


def loader(shards, weights, ends, T, phase, batch, seed, rank=0, world=1, workers=6):
    ds = FimStream(shards, weights, ends, T, phase, seed, rank, world)
    extra = dict(prefetch_factor=8, persistent_workers=True) if workers > 0 else {}
    return torch.utils.data.DataLoader(ds, batch_size=batch, num_workers=workers, collate_fn=collate,
                                       pin_memory=torch.cuda.is_available(), **extra)
