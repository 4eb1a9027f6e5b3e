"""Stand-ins that let the training code run (slowly, on CPU) with older PyTorch, e.g. Debian's
python3-torch 1.13 on the dev machine: nn.RMSNorm (2.4+) and F.scaled_dot_product_attention (2.0+).
On the GPU machine's PyTorch these are no-ops."""
import torch
import torch.nn as nn
import torch.nn.functional as F

if not hasattr(nn, "RMSNorm"):
    class RMSNorm(nn.Module):
        def __init__(self, d, eps=1e-5):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(d))
            self.eps = eps

        def forward(self, x):
            return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + self.eps) * self.weight

    nn.RMSNorm = RMSNorm

if not hasattr(F, "scaled_dot_product_attention"):
    def _sdpa(q, k, v, attn_mask=None, is_causal=False):
        s = q @ k.transpose(-1, -2) / (q.shape[-1] ** 0.5)
        if is_causal:
            T = q.shape[-2]
            attn_mask = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
        if attn_mask is not None:
            s = s.masked_fill(~attn_mask, float("-inf"))
        return s.softmax(-1) @ v

    F.scaled_dot_product_attention = _sdpa
