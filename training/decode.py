"""Reference decoders (PyTorch, batched, no KV cache) that mirror the engine's TypeScript sampler.

* `ar_decode`: plain next-token greedy decoding (for next-token checkpoints).
* `block_decode`: block diffusion with confidence-threshold parallel commits. Rules, identical to
  engine/src/sampler.ts:
  - a block of B masks follows the context; logits for block slot j come from position j - 1;
  - <pad>/<mask> are never proposed;
  - only the first `window` undecided slots are eligible in a step;
  - a stopper (<eot>, or a newline token in line mode) may be committed only when every slot left of
    it is decided: at the leftmost undecided slot, or (parallel) in the step in which all undecided
    slots left of it commit, when it and each of them reach the threshold (prevents the EOS cascade);
  - parallel: commit every eligible slot with confidence >= threshold, at least the most confident
    eligible one; sequential baseline: commit the leftmost undecided slot only;
  - the fill ends at the first stopper once everything left of it is decided; a block decided
    without a stopper is appended to the context and the next block starts (multi-line / span).
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from data import EOT, MASK, MID, PAD, PRE, SUF


def _autocast(device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _pad_left(seqs, extra, fill):
    L = max(len(s) for s in seqs)
    n = len(seqs)
    ids = torch.full((n, L + extra), PAD, dtype=torch.long)
    keep = torch.zeros((n, L + extra), dtype=torch.bool)
    for i, s in enumerate(seqs):
        ids[i, L - len(s): L] = torch.as_tensor(s)
        keep[i, L - len(s):] = True
    ids[:, L:] = fill
    return ids, keep, L


def _mask(keep, bs, B):
    n, T = keep.shape
    dev = keep.device
    i = torch.arange(T, device=dev).view(1, T, 1)
    j = torch.arange(T, device=dev).view(1, 1, T)
    m = (j <= i) | ((i >= bs) & (j >= bs))
    m = m & keep.view(n, 1, T)
    m = m | (i == j)
    return m.unsqueeze(1)


@torch.no_grad()
def ar_decode(model, ctxs, max_new, ends_line, line_mode, device):
    seqs = [list(c) for c in ctxs]
    out = [[] for _ in ctxs]
    done = [False] * len(ctxs)
    for _ in range(max_new):
        ids, keep, L = _pad_left(seqs, 0, PAD)
        ids, keep = ids.to(device), keep.to(device)
        with _autocast(device):
            logits = model(ids, _mask(keep, ids.shape[1], 0))[:, -1].float()
        logits[:, [PAD, MASK, PRE, SUF, MID]] = -1e9
        tok = logits.argmax(-1).tolist()
        for r, t in enumerate(tok):
            if done[r]:
                continue
            if t == EOT or (line_mode and ends_line[t]):
                done[r] = True
            else:
                out[r].append(t)
                seqs[r].append(t)
        if all(done):
            break
    return out, [len(o) + 1 for o in out]


@torch.no_grad()
def block_decode(model, ctxs, B, line_mode, ends_line, device, threshold=0.9, window=8,
                 sequential=False, max_blocks=1):
    n = len(ctxs)
    ends_t = torch.as_tensor(ends_line, device=device)
    results = [[] for _ in range(n)]
    finished = torch.zeros(n, dtype=torch.bool, device=device)
    forwards = torch.zeros(n, dtype=torch.long, device=device)
    ar = torch.arange(B, device=device).view(1, B)
    for _ in range(max_blocks):
        seqs = [list(c) + results[r] for r, c in enumerate(ctxs)]
        ids, keep, L = _pad_left(seqs, B, MASK)
        ids, keep = ids.to(device), keep.to(device)
        mask = _mask(keep, L, B)
        decided = torch.zeros(n, B, dtype=torch.bool, device=device)
        toks = torch.full((n, B), MASK, dtype=torch.long, device=device)
        stop_at = torch.full((n,), -1, dtype=torch.long, device=device)
        active = ~finished
        for _step in range(B):
            if not active.any():
                break
            with _autocast(device):
                logits = model(ids, mask)[:, L - 1: L + B - 1].float()
            logits[..., [PAD, MASK, PRE, SUF, MID]] = -1e9
            p = F.softmax(logits, -1)
            conf, tok = p.max(-1)
            und = ~decided
            first = torch.where(und.any(-1), und.float().argmax(-1), torch.full_like(stop_at, B))
            rank = und.long().cumsum(-1) - 1
            is_first = ar == first.view(-1, 1)
            stopper = (tok == EOT) | (ends_t[tok] & line_mode)
            elig = und & (rank < window) & (~stopper | is_first)
            if sequential:
                commit = und & is_first
            else:
                # the leftmost undecided slot always commits; confident eligible slots join it
                commit = elig & ((conf >= threshold) | is_first)
                best = torch.where(elig, conf, torch.full_like(conf, -1)).argmax(-1)
                none = ~commit.any(-1)
                commit[none, best[none]] = True
                commit &= elig
                # a confident stopper right of the leftmost slot joins when every undecided slot
                # left of it commits in this step on confidence
                stop_c = und & (rank < window) & stopper & ~is_first
                s_idx = torch.where(stop_c.any(-1), stop_c.float().argmax(-1), torch.full_like(stop_at, B))
                left = ar < s_idx.view(-1, 1)
                sure = commit & (conf >= threshold)
                left_ok = ~((und & ~sure) & left).any(-1)
                s_conf = conf.gather(1, s_idx.clamp(max=B - 1).view(-1, 1)).squeeze(1)
                join = stop_c.any(-1) & left_ok & (s_conf >= threshold)
                commit[join, s_idx[join]] = True
            commit &= active.view(-1, 1)
            forwards += active.long()
            decided |= commit
            toks = torch.where(commit, tok, toks)
            ids[:, L:] = torch.where(commit, tok, ids[:, L:])
            # a row ends at a decided stopper with everything left of it decided
            is_stop = decided & ((toks == EOT) | (ends_t[toks] & line_mode))
            und_now = ~decided
            first_und = torch.where(und_now.any(-1), und_now.float().argmax(-1), torch.full_like(stop_at, B))
            first_stop = torch.where(is_stop.any(-1), is_stop.float().argmax(-1), torch.full_like(stop_at, B))
            ends_here = active & (first_stop < first_und)
            stop_at = torch.where(ends_here, first_stop, stop_at)
            full = active & ~und_now.any(-1) & ~ends_here
            active = active & ~ends_here & ~full
        tl = toks.tolist()
        sa = stop_at.tolist()
        for r in range(n):
            if finished[r]:
                continue
            if sa[r] >= 0:
                results[r] += tl[r][: sa[r]]
                finished[r] = True
            else:
                results[r] += tl[r]
        if finished.all() or line_mode:
            break
    return results, forwards.tolist()
