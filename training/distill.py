"""Distillation targets for block diffusion (`train.py --phase distill`).

A frozen teacher decodes the block of some training rows one token per step, leftmost first. By
default the teacher is the model as the run starts, following the engine's sequential rule
(decode.block_decode(sequential=True), not in line mode: the fill ends at the first <eot>). With
`--teacher` it can be a next-token checkpoint instead (causal=True: plain greedy generation). Its tokens replace the ground truth of those blocks; slots
after its first <eot> hold <eot>, as the data pads after the real middle. The teacher's decode is a
deterministic function of the context, so every masked slot becomes predictable without looking at
its neighbours, and the student learns to be confident about many slots in the same step: fewer
forwards with the parallel sampler.

Cost: the context of a row is causal and does not change while its block is decoded, so the teacher
runs one causal pass over the rows (keeping each layer's keys and values), then B - 1 small passes over
the block alone (at most 32 positions a row, attending to the cached context and to the whole block)
instead of B full forwards over the T positions of the row. It calls the uncompiled module eagerly
(the student's torch.compile graph never sees it); `compile_step` compiles the small pass separately,
all shapes static (measured: no gain, the passes are launch-bound). What does help is decoding the
teacher rows of several micro-batches in one batch (`Distiller.batches`, `--teacher-group`).
"""
from __future__ import annotations

import contextlib
import copy
import time

import torch
import torch.nn.functional as F

from data import EOT, MASK, MID, PAD, PRE, SUF
from model import Model

BANNED = [PAD, MASK, PRE, SUF, MID]  # never proposed (decode.py, engine/src/sampler.ts)


def _tables(model, pos):
    """model.apply_rope's cos/sin, already doubled to the head size, for positions `pos`."""
    cos, sin = model.cos[pos], model.sin[pos]
    return torch.cat([cos, cos], dim=-1), torch.cat([sin, sin], dim=-1)


def _qkv(blk, h, c, s):
    """Attention.forward's projections and rotary embedding (model.apply_rope's arithmetic, the tables
    doubled once and queries and keys rotated together: the same numbers), keys and values kept."""
    a = blk.attn
    n, L, _ = h.shape
    qkv = a.qkv(h).view(n, L, 3, a.cfg.heads, a.cfg.head_dim).permute(2, 0, 3, 1, 4)
    x = qkv[:2]
    x1, x2 = x.chunk(2, dim=-1)
    qk = x * c + torch.cat([-x2, x1], dim=-1) * s
    return qk[0], qk[1], qkv[2]


def _layer_out(blk, x, y):
    n, L = x.shape[:2]
    x = x + blk.attn.out(y.transpose(1, 2).reshape(n, L, -1))
    return x + blk.mlp(blk.n2(x))


def context_pass(model, ids, extra):
    """Causal pass over ids [n, T]. Returns the last hidden states [n, T, d] and, per layer, key/value
    buffers [n, H, T + extra, Dh] whose first T positions hold the row's keys/values."""
    n, T = ids.shape
    c, s = _tables(model, torch.arange(T, device=ids.device))
    x = model.emb(ids)
    bufs = []
    for blk in model.blocks:
        q, k, v = _qkv(blk, blk.n1(x), c, s)
        # keys stored in the values' dtype: bf16 under CUDA autocast, which casts attention's inputs to
        # bf16 anyway (the same numbers, half the memory traffic per step); fp32 on CPU
        kb = v.new_empty(n, k.shape[1], T + extra, k.shape[3])
        vb = v.new_empty(n, v.shape[1], T + extra, v.shape[3])
        kb[:, :, :T] = k
        vb[:, :, :T] = v
        bufs.append((kb, vb))
        x = _layer_out(blk, x, F.scaled_dot_product_attention(q, k, v, is_causal=True))
    return x, bufs


def block_pass(model, blk_ids, bufs, c, s, mask):
    """The block alone: blk_ids [n, S] at its rows' positions (rotary tables c/s [n, 1, S, Dh]); it
    attends to the cached context and to itself as `mask` [n, 1, S, T + S] allows. Writes its
    keys/values into the buffers' last S positions. Returns the last hidden states [n, S, d]."""
    S = blk_ids.shape[1]
    x = model.emb(blk_ids)
    for blk, (kb, vb) in zip(model.blocks, bufs):
        q, k, v = _qkv(blk, blk.n1(x), c, s)
        kb[:, :, -S:] = k
        vb[:, :, -S:] = v
        x = _layer_out(blk, x, F.scaled_dot_product_attention(q, kb, vb, attn_mask=mask))
    return x


def _pick(model, h):
    """Greedy token from hidden states [n, d], as block_decode picks it (max of the softmax)."""
    logits = F.linear(model.norm(h), model.emb.weight).float()
    logits[:, BANNED] = -1e9
    return F.softmax(logits, -1).argmax(-1)


def _autocast(device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def teacher_decode(model, ids, bs, be, step=None, check_every=8, causal=False, min_slots=0):
    """Sequential greedy decode of each row's block [bs, be) from its context ids[:, :bs].

    ids [n, T] long (the block's own content is ignored), bs/be [n] long, on the model's device.
    causal: the teacher is a next-token model (phase nt): a block slot attends only to the slots
    before it, which makes the loop plain greedy left-to-right generation. min_slots: pad the block
    buffers to at least this many slots, so a compiled step sees one shape whatever the batch.
    Returns (new_ids [n, T]: ids with the block replaced by the teacher's tokens, <eot> after the
    first <eot>; real [n]: block slots up to and including the first <eot>, or B when none)."""
    step = step or block_pass
    n, T = ids.shape
    dev = ids.device
    Bn = be - bs
    S = max(int(Bn.max()), min_slots)
    ar = torch.arange(S, device=dev)
    with _autocast(dev):
        x, bufs = context_pass(model, ids, S)
        # slot 0 is read from the last context position (causal): no block pass needed
        tok = _pick(model, x[torch.arange(n, device=dev), bs - 1])
        del x
        blk = torch.full((n, S), MASK, dtype=torch.long, device=dev)
        blk[:, 0] = tok
        done = (tok == EOT) | (Bn <= 1)
        c, s = _tables(model, (bs.view(-1, 1) + ar).clamp(max=model.cfg.max_len - 1))
        c, s = c.unsqueeze(1), s.unsqueeze(1)
        j = torch.arange(T + S, device=dev).view(1, -1)
        keys = torch.where(j < T, j < bs.view(-1, 1), (j - T) < Bn.view(-1, 1))  # context before bs, own block
        mask = keys.view(n, 1, 1, T + S).expand(n, 1, S, T + S)
        if causal:  # slot q sees the context and the slots k <= q
            mask = mask & ((j - T) <= ar.view(S, 1)).view(1, 1, S, T + S)
        mask = mask.contiguous()
        for i in range(1, S):
            h = step(model, blk, bufs, c, s, mask)
            tok = _pick(model, h[:, i - 1])  # slot i is read from the position before it
            write = ~done & (i < Bn)
            blk[:, i] = torch.where(write, tok, blk[:, i])
            done = done | (write & (tok == EOT)) | (i + 1 >= Bn)
            if i % check_every == 0 and bool(done.all()):
                break
    eot = (blk == EOT) & (ar.view(1, S) < Bn.view(-1, 1))
    first = torch.where(eot.any(-1), eot.float().argmax(-1), torch.full_like(bs, S))
    blk = torch.where(ar.view(1, S) > first.view(-1, 1), torch.full_like(blk, EOT), blk)
    real = torch.minimum(first + 1, Bn)
    rel = torch.arange(T, device=dev).view(1, T) - bs.view(-1, 1)
    inb = (rel >= 0) & (rel < Bn.view(-1, 1))
    new = torch.where(inb, blk.gather(1, rel.clamp(0, S - 1)), ids)
    return new, real


def make_teacher(model: Model, path: str, device, mode="auto"):
    """A frozen copy of `model` (or the weights at `path`), eval mode, no gradients, and whether it
    decodes causally: mode 'causal' or 'block', or 'auto' = causal when the weights' last training
    phase was next-token ('nt'), as a checkpoint's or an exported model's metadata says."""
    meta = {}
    if path:
        from ckpt import load_state
        cfg, state, meta, _ = load_state(path)
        t = Model(cfg)
        t.load_state_dict(state, strict=False)
        t.to(device)
    else:
        t = copy.deepcopy(model)
    t.eval()
    t.requires_grad_(False)
    causal = mode == "causal" or (mode == "auto" and (meta or {}).get("last_phase") == "nt")
    return t, causal


class Distiller:
    """Replaces the block of the first round(mix * n) rows of each micro-batch by the teacher's decode.
    Only those rows are decoded. Keeps the time spent (CUDA events: no extra synchronisation) and how
    often the teacher's block equals the ground truth."""

    def __init__(self, teacher, mix, device, compile_step=False, timed=True, causal=False, min_slots=0):
        self.teacher, self.mix, self.device, self.timed = teacher, mix, device, timed
        self.causal, self.min_slots = causal, min_slots
        self.step = torch.compile(block_pass, dynamic=False) if compile_step else block_pass
        self.events, self.cpu_s = [], 0.0
        self.rows, self.same = 0, None

    def _decode(self, ids, bs, be):
        try:
            return teacher_decode(self.teacher, ids, bs, be, step=self.step, causal=self.causal,
                                  min_slots=self.min_slots)
        except Exception as e:  # a compiled step that fails falls back to the eager one, once
            if self.step is block_pass:
                raise
            print(f"distill: compiled teacher step failed ({type(e).__name__}: {str(e)[:300]}); eager from now on",
                  flush=True)
            self.step = block_pass
            return teacher_decode(self.teacher, ids, bs, be, step=self.step, causal=self.causal,
                                  min_slots=self.min_slots)

    def batches(self, dl, group=1):
        """Micro-batches from `dl` (ids already on the device), their teacher rows decoded `group`
        micro-batches at a time: one decode of group * k rows costs about what one of k rows does
        (the teacher's small block passes are bound by launch overhead, not arithmetic)."""
        while True:
            got = [next(dl) for _ in range(group)]
            ids = [g["ids"].to(self.device, non_blocking=True) for g in got]
            if group == 1:
                out = [self(ids[0], got[0])]
            else:
                n = [x.shape[0] for x in ids]
                k = [int(round(self.mix * m)) for m in n]
                cat = torch.cat([x[:kk] for x, kk in zip(ids, k)])
                cb = {key: torch.cat([g[key][:kk] for g, kk in zip(got, k)]) for key in ("bs", "be", "real")}
                new, cb = self(cat, cb, mix=1.0)
                out, o = [], 0
                for x, g, kk in zip(ids, got, k):
                    real = torch.cat([cb["real"][o:o + kk], g["real"][kk:].to(self.device)])
                    out.append((torch.cat([new[o:o + kk], x[kk:]]), dict(g, real=real)))
                    o += kk
            yield from out

    def __call__(self, ids, b, mix=None):
        n = ids.shape[0]
        k = int(round((self.mix if mix is None else mix) * n))
        if k == 0:
            return ids, b
        cuda = self.device.type == "cuda" and self.timed
        if cuda:
            e0 = torch.cuda.Event(enable_timing=True)
            e0.record()
        elif self.timed:
            t0 = time.perf_counter()
        bs = b["bs"][:k].to(self.device)
        be = b["be"][:k].to(self.device)
        new, real = self._decode(ids[:k], bs, be)
        same = (new == ids[:k]).all(-1).sum()
        self.same = same if self.same is None else self.same + same
        self.rows += k
        ids = torch.cat([new, ids[k:]])
        b = dict(b, real=torch.cat([real, b["real"][k:].to(self.device)]))
        if cuda:
            e1 = torch.cuda.Event(enable_timing=True)
            e1.record()
            self.events.append((e0, e1))
        elif self.timed:
            self.cpu_s += time.perf_counter() - t0
        return ids, b

    def take_stats(self):
        """(teacher seconds, share of teacher rows whose block equals the ground truth) since the last call."""
        secs = self.cpu_s
        if self.events:
            self.events[-1][1].synchronize()
            secs += sum(a.elapsed_time(z) for a, z in self.events) / 1000
        same = float(self.same) / self.rows if self.rows else float("nan")
        self.events, self.cpu_s, self.rows, self.same = [], 0.0, 0, None
        return secs, same
