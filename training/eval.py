"""Held-out exact match on validation packages (never trained on).

Kinds: `line` (a full line, cursor at its start), `rest` (rest of a line from a mid-line cursor),
`multi` (2-8 lines). Decoding: next-token greedy (`ar`), block diffusion parallel (`par`) and one
token per step (`seq`) — the latter two mirror the engine's sampler (see decode.py).

Also writes text tasks (JSONL: task_id, prefix, suffix, mode, target) so the TypeScript engine can be
measured on the very same held-out examples with `node dist/cli.js infill`.

Usage (GPU machine): python3 training/eval.py --ckpt /root/ckpt/latest.pt --data /root/data
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from data import MID, PRE, SUF, Shard, fim_example, line_table  # noqa: E402
from decode import ar_decode, block_decode  # noqa: E402


def make_tasks(shard_path, ends, n, kind, seed, T=512):
    sh = Shard(shard_path)
    rng = np.random.default_rng(seed)
    tasks = []
    while len(tasks) < n:
        d = sh.doc(rng)
        ctx, mid, _ = fim_example(d, rng, ends, T - 40, max_mid=96, kind=kind)
        if len(mid) == 0 or len(mid) > 90:
            continue
        if kind in ("line", "rest") and ends[mid].any():
            cut = int(np.flatnonzero(ends[mid])[0])
            mid = mid[:cut]
            if len(mid) == 0:
                continue
        tasks.append((ctx, mid))
    return tasks


def norm(s: str, kind: str) -> str:
    if kind in ("line", "rest"):
        return s.split("\n")[0].rstrip()
    return "\n".join(l.rstrip() for l in s.rstrip().split("\n"))


def evaluate(model, tok, ends, tasks, kind, method, device, bs=64, threshold=0.9, window=8):
    line = kind in ("line", "rest")
    hits, fw, ntok = 0, 0, 0
    for i in range(0, len(tasks), bs):
        chunk = tasks[i: i + bs]
        ctxs = [c.tolist() for c, _ in chunk]
        if method == "ar":
            outs, f = ar_decode(model, ctxs, 48 if line else 128, ends, line, device)
        else:
            outs, f = block_decode(model, ctxs, 32, line, ends, device, threshold=threshold, window=window,
                                   sequential=(method == "seq"), max_blocks=1 if line else 4)
        for (c, m), o, ff in zip(chunk, outs, f):
            hits += norm(tok.decode(o), kind) == norm(tok.decode(m.tolist()), kind)
            fw += ff
            ntok += len(o)
    return {"em": hits / len(tasks), "forwards": fw / len(tasks), "tokens": ntok / len(tasks)}


def split_ctx(tok, ctx):
    """Token context '<suf> S <pre> P <mid>' back to (prefix, suffix) text."""
    c = ctx.tolist()
    i_pre = c.index(PRE)
    return tok.decode(c[i_pre + 1: -1]), tok.decode(c[1:i_pre])


def write_text_tasks(tok, tasks_by, path):
    with open(path, "w") as f:
        for (lang, kind), tasks in tasks_by.items():
            for i, (ctx, mid) in enumerate(tasks):
                pre, suf = split_ctx(tok, ctx)
                f.write(json.dumps({"task_id": f"{lang}/{kind}/{i}", "lang": lang, "kind": kind,
                                    "mode": "line" if kind in ("line", "rest") else "span",
                                    "prefix": pre, "suffix": suf,
                                    "target": tok.decode(mid.tolist())}) + "\n")


def run_all(model, tok, ends, data, device, n=200, methods=("par", "seq"), kinds=("line", "rest", "multi"),
            text_tasks_out=None, seed=1234):
    res, tasks_by = {}, {}
    for lang in ("py", "js"):
        p = os.path.join(data, f"{lang}_val")
        if not os.path.exists(p + ".bin"):
            continue
        for kind in kinds:
            tasks = make_tasks(p, ends, n, kind, seed=seed + ("line", "rest", "multi", "span", "eof").index(kind))
            tasks_by[(lang, kind)] = tasks
            for m in methods:
                res[f"{lang}/{kind}/{m}"] = evaluate(model, tok, ends, tasks, kind, m, device)
    if text_tasks_out:
        write_text_tasks(tok, tasks_by, text_tasks_out)
    return res


def compare(res):
    """Lines putting par and seq side by side per cell (lang/kind): exact match, forwards per task, and
    par/seq forwards (the share of one-token-per-step forwards the parallel sampler needs)."""
    cells = {}
    for k, v in res.items():
        cell, m = k.rsplit("/", 1)
        cells.setdefault(cell, {})[m] = v
    out = []
    for cell, d in cells.items():
        if "par" not in d or "seq" not in d:
            continue
        p, q = d["par"], d["seq"]
        ratio = p["forwards"] / q["forwards"] if q["forwards"] else float("nan")
        out.append(f"{cell:12s} par em {p['em']*100:5.1f}% fw {p['forwards']:6.2f} | "
                   f"seq em {q['em']*100:5.1f}% fw {q['forwards']:6.2f} | par/seq fw {ratio:.2f}")
    return out


def main():
    from tokenizers import Tokenizer
    from ckpt import load_model
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=None, help="the model to evaluate (not needed with --tasks-only)")
    ap.add_argument("--tasks-only", action="store_true", help="write --tasks-out without evaluating a model")
    ap.add_argument("--seed", type=int, default=1234, help="task sampling seed (kind index added)")
    ap.add_argument("--data", default="/root/data")
    ap.add_argument("--tokenizer", default=os.path.join(os.path.dirname(__file__), "tokenizer.json"))
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--methods", default="par,seq")
    ap.add_argument("--kinds", default="line,rest,multi")
    ap.add_argument("--tasks-out", default=None)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tok = Tokenizer.from_file(a.tokenizer)
    if a.tasks_only:
        if not a.tasks_out:
            sys.exit("--tasks-only needs --tasks-out")
        run_all(None, tok, line_table(a.tokenizer, tok.get_vocab_size()), a.data, device, n=a.n, methods=(),
                kinds=tuple(a.kinds.split(",")), text_tasks_out=a.tasks_out, seed=a.seed)
        print(f"wrote {a.tasks_out}")
        return
    if not a.ckpt:
        sys.exit("--ckpt is required (or --tasks-only)")
    model, meta = load_model(a.ckpt, device)
    ends = line_table(a.tokenizer, model.cfg.vocab)
    res = run_all(model, tok, ends, a.data, device, n=a.n, methods=tuple(a.methods.split(",")),
                  kinds=tuple(a.kinds.split(",")), text_tasks_out=a.tasks_out, seed=a.seed)
    for k, v in res.items():
        print(f"{k:22s} em {v['em']*100:5.1f}%  forwards {v['forwards']:5.2f}  tokens {v['tokens']:5.2f}")
    for line in compare(res):
        print(line)
    if a.out:
        json.dump({"meta": meta, "results": res}, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
