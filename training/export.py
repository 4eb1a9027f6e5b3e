"""Export a checkpoint to the ONNX graph the engine runs, quantise it, and check it against PyTorch.

Graph contract, format 3 (engine/model-format.md has the full text):
  inputs   input_ids  int64 [1, N]                 new tokens
           new_mask   bool [N, N]                  which new tokens a new token may attend to
                                                   (every new token always sees the whole cache)
           pos_ids    int64 [N]                    new token i sits at position P + pos_ids[i]
                                                   (0..N-1 for a sequence; a draft tree: depths)
           past_k_<l> float32 [1, H, Dh, P]        cached keys of layer l, transposed
           past_v_<l> float32 [1, H, P, Dh]        cached values of layer l
  outputs  logits     float32 [1, N, V]            row i predicts the token after new token i
           new_k      float32 [L, 1, H, Dh, N]     the new tokens' keys (append to past_k along P)
           new_v      float32 [L, 1, H, N, Dh]     the new tokens' values

Quantisation: every MatMul weight (the tied output head too) becomes an 8-bit MatMulNBits
(block 32, symmetric) with accuracy_level 4 (int8 compute). --fp32-matmuls names weights that keep
8 bits but compute at level 1 (fp32 on weights ONNX Runtime dequantises on every call: slow);
--float-matmuls names weights left unquantised (fp16 in the file, one fp32 copy in memory). Until
session 22 the feed-forward down projections were at level 1 (`--fp32-matmuls mlp.w2`), for 0.001
of top-1 agreement; that made a one-token pass of the 21m take 7.6-7.9 ms against 3.8 ms with int8
compute everywhere (`node scripts/pass-latency.mjs DIR`; MODEL_CARD.md, *Session 22*).
The embedding table is int8, with one scale per 32 values. Norm weights stay fp32.

Usage: python3 training/export.py --ckpt /root/ckpt/latest.pt --name diffill-code-24m --out models
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from ckpt import load_model, quantize_rows  # noqa: E402
from data import EOT, MASK, MID, PAD, PRE, SUF  # noqa: E402
from logit_rows import add_logit_rows  # noqa: E402

QB = 32


class ExportModel(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.cfg = model.cfg
        self.names = {}
        for pname, p in model.named_parameters():
            if pname == "emb.weight":
                continue
            safe = "w_" + pname.replace(".", "_")
            t = p.detach().float()
            self.register_buffer(safe, t.t().contiguous() if t.ndim == 2 else t.clone())
            self.names[safe] = pname
        w = model.emb.weight.detach().float()
        q, s = quantize_rows(w, QB)
        self.register_buffer("emb_q", q)
        self.register_buffer("emb_scale", s.float())
        self.register_buffer("w_head", w.t().contiguous())
        cfg = self.cfg
        self.register_buffer("inv_freq", 1.0 / (cfg.rope_base ** (torch.arange(0, cfg.head_dim, 2).float() / cfg.head_dim)))

    def W(self, pname):
        return getattr(self, "w_" + pname.replace(".", "_"))

    @staticmethod
    def rms(x, w):
        return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + 1e-5) * w

    def forward(self, input_ids, new_mask, pos_ids, *past):
        """pos_ids [N]: new token i sits at position P + pos_ids[i] (0..N-1 for a plain sequence; a
        tree of drafts gives each node its depth). past = (past_k_0, past_v_0, past_k_1, ...): keys as [1, H, Dh, P] (transposed, so the
        score product needs no copy), values as [1, H, P, Dh]. Returns logits and the NEW tokens'
        keys [L, 1, H, Dh, N] and values [L, 1, H, N, Dh]; the caller appends them to its cache.
        Nothing here copies the cache: a refinement step reads it once."""
        cfg = self.cfg
        H, Dh, d = cfg.heads, cfg.head_dim, cfg.d
        ids = input_ids[0]
        N = ids.shape[0]
        P = past[1].shape[2]
        g = self.emb_q[ids].float().view(N, d // QB, QB) * self.emb_scale[ids].unsqueeze(-1)
        x = g.view(1, N, d)
        pos = (pos_ids + P).float()
        ang = pos.unsqueeze(1) * self.inv_freq.unsqueeze(0)
        cos, sin = torch.cos(ang), torch.sin(ang)
        c = torch.cat([cos, cos], -1)
        s = torch.cat([sin, sin], -1)
        bias_new = torch.where(new_mask, torch.zeros_like(new_mask, dtype=torch.float32), torch.full_like(new_mask, -1e9, dtype=torch.float32))
        scale = 1.0 / (Dh ** 0.5)
        new_k, new_v = [], []
        for l in range(cfg.layers):
            pre = f"blocks.{l}."
            h = self.rms(x, self.W(pre + "n1.weight"))
            qkv = (h @ self.W(pre + "attn.qkv.weight")).view(N, 3, H, Dh).permute(1, 2, 0, 3)  # [3,H,N,Dh]
            q, k, v = qkv[0], qkv[1], qkv[2]

            def rope(t):
                t1, t2 = t[..., : Dh // 2], t[..., Dh // 2:]
                return t * c + torch.cat([-t2, t1], -1) * s

            q, k = rope(q), rope(k)
            pk, pv = past[2 * l][0], past[2 * l + 1][0]  # [H,Dh,P], [H,P,Dh]
            kt = k.transpose(1, 2)  # [H,Dh,N]
            sp = (q @ pk) * scale  # [H,N,P]
            sn = (q @ kt) * scale + bias_new  # [H,N,N]
            att = torch.softmax(torch.cat([sp, sn], -1), -1)
            y = att[..., :P] @ pv + att[..., P:] @ v  # [H,N,Dh]
            y = y.transpose(0, 1).reshape(1, N, d)
            x = x + y @ self.W(pre + "attn.out.weight")
            h = self.rms(x, self.W(pre + "n2.weight"))
            a1 = h @ self.W(pre + "mlp.w1.weight")
            a3 = h @ self.W(pre + "mlp.w3.weight")
            x = x + (torch.nn.functional.silu(a1) * a3) @ self.W(pre + "mlp.w2.weight")
            new_k.append(kt.unsqueeze(0))
            new_v.append(v.unsqueeze(0))
        logits = self.rms(x, self.W("norm.weight")) @ self.w_head
        return logits, torch.stack(new_k, 0), torch.stack(new_v, 0)


def onnx_io(cfg):
    """Names, dummy inputs and dynamic axes of the graph (format 3)."""
    N, P = 5, 3
    names, dummy, axes = ["input_ids", "new_mask", "pos_ids"], [torch.randint(10, 100, (1, N)), torch.ones(N, N, dtype=torch.bool).tril(), torch.arange(N)], \
        {"input_ids": {1: "N"}, "new_mask": {0: "N", 1: "N"}, "pos_ids": {0: "N"}, "logits": {1: "N"}, "new_k": {4: "N"}, "new_v": {3: "N"}}
    for l in range(cfg.layers):
        names += [f"past_k_{l}", f"past_v_{l}"]
        dummy += [torch.zeros(1, cfg.heads, cfg.head_dim, P), torch.zeros(1, cfg.heads, P, cfg.head_dim)]
        axes[f"past_k_{l}"] = {3: "P"}
        axes[f"past_v_{l}"] = {2: "P"}
    return names, tuple(dummy), axes


def export_onnx(em, path):
    names, dummy, axes = onnx_io(em.cfg)
    kw = {"dynamo": False} if "dynamo" in torch.onnx.export.__code__.co_varnames else {}
    torch.onnx.export(em, dummy, path, opset_version=17, input_names=names,
                      output_names=["logits", "new_k", "new_v"], dynamic_axes=axes, do_constant_folding=True, **kw)


def to_matmulnbits(model_proto, names, accuracy=4, head_accuracy=None, block=None, fp32_match=None,
                   float_match=None):
    """Replace MatMul nodes whose weight is one of ours with 8-bit MatMulNBits (block QB).
    accuracy_level 4 = int8 activations (fast on CPU), 1 = fp32 compute on dequantised weights (exact
    but slower); the output head can take its own level (it decides the top-1 token), and weights whose
    parameter name matches the regular expression `fp32_match` take level 1. Weights whose name
    matches `float_match` ("head" names the output head) are not quantised: stored fp16, cast to
    fp32 once when ONNX Runtime loads the graph (constant folding), a plain MatMul."""
    import re
    QB_ = block or QB
    import onnx
    from onnx import helper, numpy_helper

    g = model_proto.graph
    inits = {i.name: i for i in g.initializer}
    producers = {}
    new_nodes, drop = [], set()
    for node in g.node:
        if node.op_type == "MatMul" and node.input[1] in inits:
            wname = node.input[1]
            pname = names.get(wname, "head" if wname == "w_head" else None)
            if pname is None:
                new_nodes.append(node)
                continue
            if float_match and re.search(float_match, pname):
                W16 = numpy_helper.to_array(inits[wname]).astype(np.float16)
                hn = wname + "_f16"
                g.initializer.append(numpy_helper.from_array(W16, hn))
                drop.add(wname)
                new_nodes.append(helper.make_node("Cast", [hn], [wname + "_f32"], to=onnx.TensorProto.FLOAT,
                                                  name="cast/" + pname))
                new_nodes.append(helper.make_node("MatMul", [node.input[0], wname + "_f32"], list(node.output),
                                                  name="f/" + pname))
                continue
            W = numpy_helper.to_array(inits[wname]).astype(np.float32)  # [K, N]
            K, Nn = W.shape
            q, s = quantize_rows(torch.from_numpy(W.T.copy()), QB_)  # rows = outputs
            b = (q.numpy().astype(np.int16) + 128).astype(np.uint8).reshape(Nn, K // QB_, QB_)
            sc = s.float().numpy().reshape(Nn * (K // QB_))
            bn, sn = wname + "_q8", wname + "_scales"
            g.initializer.append(numpy_helper.from_array(b, bn))
            g.initializer.append(numpy_helper.from_array(sc, sn))
            drop.add(wname)
            new_nodes.append(helper.make_node("MatMulNBits", [node.input[0], bn, sn], list(node.output),
                                              name=("q/" + pname) if pname != "head" else "qhead",
                                              domain="com.microsoft", K=K, N=Nn, bits=8, block_size=QB_,
                                              accuracy_level=(head_accuracy if (pname == "head" and head_accuracy)
                                                              else 1 if (fp32_match and re.search(fp32_match, pname))
                                                              else accuracy)))
        else:
            new_nodes.append(node)
    del g.node[:]
    g.node.extend(new_nodes)
    keep = [i for i in g.initializer if i.name not in drop]
    del g.initializer[:]
    g.initializer.extend(keep)
    if not any(o.domain == "com.microsoft" for o in model_proto.opset_import):
        model_proto.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model_proto


def rename_initializers(model_proto, names):
    """Norm weights keep a recoverable name: p/<param name> (used to seed training from the ONNX)."""
    g = model_proto.graph
    ren = {}
    for i in g.initializer:
        if i.name in names and names[i.name].endswith("weight") and len(i.dims) == 1:
            ren[i.name] = "p/" + names[i.name]
            i.name = ren[i.name]
    for n in g.node:
        for k, inp in enumerate(n.input):
            if inp in ren:
                n.input[k] = ren[inp]


def fidelity(model, sess, data, device, n=24, ctx_len=320, B=32, seed=7):
    """Top-1 agreement of ONNX (extend context, then one refinement step with the cache) with the
    PyTorch fp32 model on held-out code, half of a 32-token block masked."""
    from data import Shard
    rng = np.random.default_rng(seed)
    shards = [Shard(os.path.join(data, p)) for p in ("py_val", "js_val") if os.path.exists(os.path.join(data, p + ".bin"))]
    agree, total, maxdiff = 0, 0, 0.0
    L, H, Dh = model.cfg.layers, model.cfg.heads, model.cfg.head_dim
    for i in range(n):
        sh = shards[i % len(shards)]
        d = sh.doc(rng)
        while len(d) < ctx_len + B + 1:
            d = sh.doc(rng)
        st = int(rng.integers(0, len(d) - ctx_len - B))
        ctx = d[st: st + ctx_len]
        blk = d[st + ctx_len: st + ctx_len + B].copy()
        blk[rng.random(B) < 0.5] = MASK
        # PyTorch: full sequence, block mask
        seq = torch.as_tensor(np.concatenate([ctx, blk]))[None].to(device)
        T = seq.shape[1]
        from model import block_mask
        with torch.no_grad():
            ref = model(seq, block_mask(T, torch.tensor([ctx_len], device=device), torch.tensor([T], device=device), device))
        ref = ref[0, ctx_len - 1: T - 1].float().cpu().numpy()
        # ONNX: extend with ctx[:-1] causally (keeping the new keys/values as the cache), then
        # step [ctx[-1], block] against that cache
        c = ctx[:-1]
        feeds = {"input_ids": c[None].astype(np.int64), "new_mask": np.tril(np.ones((len(c), len(c)), bool)),
                 "pos_ids": np.arange(len(c), dtype=np.int64), "logit_rows": np.zeros(0, np.int64)}
        for l in range(L):
            feeds[f"past_k_{l}"] = np.zeros((1, H, Dh, 0), np.float32)
            feeds[f"past_v_{l}"] = np.zeros((1, H, 0, Dh), np.float32)
        _, nk, nv = sess.run(None, feeds)
        inp = np.concatenate([ctx[-1:], blk])[None].astype(np.int64)
        m = np.ones((B + 1, B + 1), bool)
        m[0, 1:] = False
        feeds = {"input_ids": inp, "new_mask": m, "pos_ids": np.arange(B + 1, dtype=np.int64),
                 "logit_rows": np.arange(B + 1, dtype=np.int64)}
        for l in range(L):
            feeds[f"past_k_{l}"] = nk[l]
            feeds[f"past_v_{l}"] = nv[l]
        lg = sess.run(["logits"], feeds)[0]
        got = lg[0, :B]
        agree += int((got.argmax(-1) == ref.argmax(-1)).sum())
        total += B
        maxdiff = max(maxdiff, float(np.abs(got - ref).max()))
    return agree / total, maxdiff


def main():
    from ckpt import load_state
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--name", default="diffill-code-24m")
    ap.add_argument("--out", default="models")
    ap.add_argument("--data", default="/root/data")
    ap.add_argument("--tokenizer", default=os.path.join(os.path.dirname(__file__), "tokenizer.json"))
    ap.add_argument("--block-size", type=int, default=32)
    ap.add_argument("--min-agreement", type=float, default=0.98)
    ap.add_argument("--accuracy", type=int, default=4, help="MatMulNBits accuracy_level of the blocks (4: int8 compute, 1: fp32)")
    ap.add_argument("--head-accuracy", type=int, default=0, help="accuracy_level of the output head (0: same as --accuracy)")
    ap.add_argument("--fp32-matmuls", default="",
                    help="regular expression: weights whose parameter name matches stay 8-bit but compute at "
                         "accuracy_level 1 (dequantised on every call: slow); '' = none")
    ap.add_argument("--float-matmuls", default="",
                    help="regular expression: weights whose parameter name matches stay unquantised "
                         "(fp16 in the file, an fp32 copy in memory: mlp.w2 costs the 21m ~20 MB of RSS); "
                         "'head' = the output head; '' = none")
    ap.add_argument("--qblock", type=int, default=32, help="weights per quantisation scale")
    ap.add_argument("--fidelity-n", type=int, default=96, help="held-out windows in the fidelity check (32 slots each)")
    ap.add_argument("--fidelity", default="ort", choices=["ort", "skip"],
                    help="skip: no Python onnxruntime here; check with `node scripts/fidelity.mjs` instead")
    ap.add_argument("--keep-config", default=None,
                    help="re-export of a shipped model: take training counters and the recorded fidelity from this config.json")
    a = ap.parse_args()
    device = torch.device("cpu")
    model, meta = load_model(a.ckpt, device)
    model.float()
    em = ExportModel(model).eval()
    cfg = model.cfg
    out_dir = os.path.join(a.out, a.name)
    os.makedirs(out_dir, exist_ok=True)
    fp32 = os.path.join(out_dir, "model.fp32.onnx")
    t0 = time.time()
    export_onnx(em, fp32)
    import onnx
    mp = onnx.load(fp32)
    names = dict(em.names)
    to_matmulnbits(mp, names, a.accuracy, a.head_accuracy or None, a.qblock, a.fp32_matmuls or None,
                   a.float_matmuls or None)
    rename_initializers(mp, names)
    add_logit_rows(mp)  # the head runs on the rows asked for only (training/logit_rows.py)
    q8 = os.path.join(out_dir, "model.onnx")
    onnx.save(mp, q8)
    os.remove(fp32)
    if a.fidelity == "ort":
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = 4
        sess = ort.InferenceSession(q8, so, providers=["CPUExecutionProvider"])
        agree, maxdiff = fidelity(model, sess, a.data, device, n=a.fidelity_n)
    else:
        agree, maxdiff = float("nan"), float("nan")
    if a.keep_config:
        old = json.load(open(a.keep_config))
        meta = old.get("training", meta)
    print(f"export {time.time()-t0:.0f}s  size {os.path.getsize(q8)/1e6:.1f} MB  top-1 agreement {agree:.4f}  max |dlogit| {maxdiff:.3f}")
    shutil.copy(a.tokenizer, os.path.join(out_dir, "tokenizer.json"))
    conf = {
        "name": a.name,
        "format": 3,
        "model": cfg.to_dict(),
        "params": model.num_params(),
        "block_size": a.block_size,
        "special_tokens": {"pad": PAD, "eot": EOT, "mask": MASK, "pre": PRE, "suf": SUF, "mid": MID},
        "layout": "<suf> suffix <pre> prefix <mid> middle <eot>",
        "quantization": {"matmul": f"MatMulNBits bits=8 block={a.qblock} symmetric accuracy_level={a.accuracy}"
                                   + (f" (output head: accuracy_level={a.head_accuracy})" if a.head_accuracy else "")
                                   + (f" (weights matching '{a.fp32_matmuls}': accuracy_level=1)" if a.fp32_matmuls else "")
                                   + (f" (weights matching '{a.float_matmuls}': not quantised, fp16 stored, fp32 compute)" if a.float_matmuls else ""),
                         "embedding": f"int8, one fp32 scale per {QB} values"},
        "fidelity": {"top1_agreement_vs_fp32": round(agree, 4), "max_abs_logit_diff": round(maxdiff, 3),
                     "check": f"{a.fidelity_n} held-out windows, 320 context + 32-token block half masked, ORT CPU vs PyTorch fp32"},
        "training": meta,
    }
    if a.fidelity == "skip":
        conf["fidelity"] = {"check": "not run by export.py: see scripts/fidelity.mjs"}
    json.dump(conf, open(os.path.join(out_dir, "config.json"), "w"), indent=1)
    if a.fidelity == "ort" and agree < a.min_agreement:
        print(f"FIDELITY CHECK FAILED: {agree:.4f} < {a.min_agreement}")
        sys.exit(3)


if __name__ == "__main__":
    main()
