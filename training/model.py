"""Diffill's code model: a small decoder-only transformer used two ways.

* next-token FIM (fully causal), the phase that learns fastest per token;
* block diffusion: the context stays causal (so its KV cache is exact at inference), and a block of
  masked tokens at the end attends to the whole context and bidirectionally to itself.

Prediction convention (both phases): the output at position i predicts the token at i + 1. For a
block, the logits of block token j come from the position before it, so the first block token is
always predicted from a causal position, exactly as in next-token decoding. This keeps the head's
meaning unchanged when adapting a next-token checkpoint to diffusion.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

import compat  # noqa: F401  (older PyTorch on the dev machine)


@dataclass
class Config:
    vocab: int = 8192
    d: int = 512
    layers: int = 8
    heads: int = 8
    ffn: int = 1408
    rope_base: float = 10000.0
    max_len: int = 2048

    @property
    def head_dim(self) -> int:
        return self.d // self.heads

    def to_dict(self):
        return asdict(self)


def rope_tables(cfg: Config, device=None):
    inv = 1.0 / (cfg.rope_base ** (torch.arange(0, cfg.head_dim, 2, device=device).float() / cfg.head_dim))
    pos = torch.arange(cfg.max_len, device=device).float()
    ang = torch.outer(pos, inv)  # [max_len, head_dim/2]
    return torch.cos(ang), torch.sin(ang)


def apply_rope(x, cos, sin):
    # x: [B, H, T, Dh]; cos/sin: [T, Dh/2] (rotate-half form)
    x1, x2 = x.chunk(2, dim=-1)
    c = torch.cat([cos, cos], dim=-1)
    s = torch.cat([sin, sin], dim=-1)
    rot = torch.cat([-x2, x1], dim=-1)
    return x * c + rot * s


class Attention(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.qkv = nn.Linear(cfg.d, 3 * cfg.d, bias=False)
        self.out = nn.Linear(cfg.d, cfg.d, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        H, Dh = self.cfg.heads, self.cfg.head_dim
        q, k, v = self.qkv(x).view(B, T, 3, H, Dh).permute(2, 0, 3, 1, 4)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if mask is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(y.transpose(1, 2).reshape(B, T, -1))


class MLP(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.w1 = nn.Linear(cfg.d, cfg.ffn, bias=False)
        self.w3 = nn.Linear(cfg.d, cfg.ffn, bias=False)
        self.w2 = nn.Linear(cfg.ffn, cfg.d, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.n1 = nn.RMSNorm(cfg.d, eps=1e-5)
        self.attn = Attention(cfg)
        self.n2 = nn.RMSNorm(cfg.d, eps=1e-5)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask):
        x = x + self.attn(self.n1(x), cos, sin, mask)
        return x + self.mlp(self.n2(x))


class Model(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.emb = nn.Embedding(cfg.vocab, cfg.d)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.norm = nn.RMSNorm(cfg.d, eps=1e-5)
        cos, sin = rope_tables(cfg)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        self.apply(self._init)
        for b in self.blocks:  # scaled init of residual projections
            nn.init.normal_(b.attn.out.weight, std=0.02 / math.sqrt(2 * cfg.layers))
            nn.init.normal_(b.mlp.w2.weight, std=0.02 / math.sqrt(2 * cfg.layers))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, ids, mask=None):
        """ids [B, T] -> logits [B, T, V]. mask: None (causal) or bool [B, 1, T, T] (True = may attend)."""
        T = ids.shape[1]
        cos, sin = self.cos[:T], self.sin[:T]
        x = self.emb(ids)
        for b in self.blocks:
            x = b(x, cos, sin, mask)
        return F.linear(self.norm(x), self.emb.weight)


def block_mask(T: int, bs: torch.Tensor, be: torch.Tensor, device) -> torch.Tensor:
    """Attention mask for one block per sample: causal everywhere, plus the block [bs, be) sees all
    of itself. bs/be: [B] long. Returns bool [B, 1, T, T]."""
    i = torch.arange(T, device=device).view(1, T, 1)
    j = torch.arange(T, device=device).view(1, 1, T)
    causal = j <= i
    bs = bs.view(-1, 1, 1)
    be = be.view(-1, 1, 1)
    inb_i = (i >= bs) & (i < be)
    inb_j = (j >= bs) & (j < be)
    return (causal | (inb_i & inb_j)).unsqueeze(1)
