"""Train Diffill's model: next-token FIM first, then block-diffusion adaptation, then (optional)
self-distillation so the parallel sampler commits more tokens per forward (distill.py).

Single GPU:  python3 training/train.py --phase nt --minutes 20
N GPUs:      torchrun --standalone --nproc_per_node=N training/train.py --phase diff --minutes 10

The global batch (--batch sequences of --seq tokens) and the time-based learning-rate schedule are
the same whatever N is: each rank takes batch / N sequences, split into micro-batches of at most
--micro, with gradient accumulation, so a checkpoint resumes on any number of GPUs.
Rank 0 alone writes checkpoints, logs and evaluations.

Resume order (--init auto): <out>/latest.pt (this lease), training/ckpt/compact.pt (carried),
models/<name>/model.onnx (the shipped model). Counters (tokens seen, time) carry over.
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import random
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from ckpt import load_state, save_compact, save_full  # noqa: E402
from data import BLOCK_SIZES, EOT, MASK, line_table, loader  # noqa: E402
from distill import Distiller, make_teacher  # noqa: E402
from model import Config, Model, block_mask  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def find_init(out):
    for p in [os.path.join(out, "latest.pt"), os.path.join(HERE, "ckpt", "latest.pt"),
              os.path.join(HERE, "ckpt", "compact.pt")] + sorted(glob.glob(os.path.join(ROOT, "models", "*", "model.onnx"))):
        if os.path.exists(p):
            return p
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--phase", choices=["nt", "diff", "distill"], required=True)
    ap.add_argument("--minutes", type=float, default=10, help="wall-clock limit of this run")
    ap.add_argument("--tokens", type=float, default=0,
                    help="planned tokens of this run: the schedule follows tokens, not time, so it is the same on any "
                         "number of GPUs (0 = follow the wall clock)")
    ap.add_argument("--final-eval", type=int, default=1, help="evaluate at the end of the run")
    ap.add_argument("--check-sync", type=int, default=0,
                    help="DDP: after step 1 and at the end, compare the ranks: loss and lr per rank, averaged "
                         "gradients (step 1), weights (max |difference| against rank 0, elements that differ)")
    ap.add_argument("--backend", choices=["auto", "nccl", "gloo"], default="auto",
                    help="DDP backend; auto = nccl when there is a GPU per rank, else gloo (gloo with CUDA tensors "
                         "lets several ranks share one GPU: rank r uses cuda:(r %% device count))")
    ap.add_argument("--fused-adam", type=int, default=1, help="fused AdamW on CUDA (0 = the foreach implementation)")
    ap.add_argument("--data", default="/root/data")
    ap.add_argument("--out", default="/root/ckpt")
    ap.add_argument("--init", default="auto", help="auto | none | path (.pt full/compact or .onnx)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--micro", type=int, default=128)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--decay-frac", type=float, default=0.25, help="last fraction of the time spent decaying")
    ap.add_argument("--js-weight", type=float, default=0.35)
    ap.add_argument("--ctx-loss", type=float, default=0.5, help="weight of next-token loss on the context (diff)")
    ap.add_argument("--distill-mix", "--teacher-frac", dest="distill_mix", type=float, default=0.5,
                    help="distill: fraction of each micro-batch's rows whose block holds the teacher's decode "
                         "(only those rows are decoded); the others keep the ground truth")
    ap.add_argument("--teacher", default="", help="distill: teacher weights (path); default: the initial weights")
    ap.add_argument("--teacher-compile", type=int, default=0,
                    help="distill: torch.compile the teacher's block pass (static shapes; CUDA only)")
    ap.add_argument("--teacher-mode", choices=["auto", "causal", "block"], default="auto",
                    help="distill: 'causal' = the teacher is a next-token model and generates left to right; "
                         "'block' = a diffusion model decoding one slot per step; auto = causal when the "
                         "teacher's last phase was nt")
    ap.add_argument("--teacher-group", type=int, default=1,
                    help="distill: decode the teacher rows of this many micro-batches in one batch")
    ap.add_argument("--prefix-mask", type=float, default=0.0,
                    help="diff/distill: fraction of rows whose block is masked from a random slot to its end "
                         "(the states of left-to-right decoding) instead of uniformly at random")
    ap.add_argument("--nt-mix", type=float, default=0.0,
                    help="diff/distill: share of micro-batches trained next-token on whole FIM sequences "
                         "(the middle included); the engine's causal path verifies its drafts")
    ap.add_argument("--save-every", type=float, default=90, help="seconds")
    ap.add_argument("--eval-every", type=float, default=0, help="seconds; 0 = only at the end")
    ap.add_argument("--eval-n", type=int, default=150)
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "tokenizer.json"))
    ap.add_argument("--workers", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--compile", type=int, default=1)
    ap.add_argument("--model", default="{}", help='Config overrides for a new model, JSON: {"d": 384, "layers": 6}')
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (tests)")
    a = ap.parse_args()

    ddp = "RANK" in os.environ
    if ddp:
        os.environ.setdefault("NCCL_NVLS_ENABLE", "0")
        os.environ.setdefault("TORCH_SYMM_MEM_DISABLE_MULTICAST", "1")
        local = int(os.environ.get("LOCAL_RANK", 0))
        ngpu = torch.cuda.device_count() if torch.cuda.is_available() else 0
        backend = a.backend
        if backend == "auto":
            backend = "nccl" if ngpu >= int(os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"])) else "gloo"
        if backend == "nccl" and local >= ngpu:
            sys.exit(f"--backend nccl needs one GPU per rank (local rank {local}, {ngpu} GPUs): use --backend gloo")
        dist.init_process_group(backend)
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world, local, ngpu, backend = 0, 1, 0, torch.cuda.device_count() if torch.cuda.is_available() else 0, "-"
    device = torch.device(f"cuda:{local % ngpu}" if ngpu else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
    master = rank == 0
    os.makedirs(a.out, exist_ok=True)

    init = find_init(a.out) if a.init == "auto" else (None if a.init == "none" else a.init)
    meta = {"tokens": 0, "seconds": 0.0, "steps": 0, "phases": {}}
    opt_state = None
    if init:
        cfg, state, m0, opt_state = load_state(init)
        meta.update({k: v for k, v in m0.items() if k in meta})
        model = Model(cfg)
        model.load_state_dict(state, strict=False)
        if master:
            print(f"init from {init}: {meta['tokens']/1e9:.3f} B tokens so far", flush=True)
    else:
        cfg = Config(**json.loads(a.model))
        torch.manual_seed(a.seed)
        model = Model(cfg)
        if master:
            print("init: from scratch", flush=True)
    model.to(device)
    if master:
        print(f"params {model.num_params()/1e6:.2f} M  world {world}  phase {a.phase}"
              + (f"  backend {backend} on {device.type}" if ddp else ""), flush=True)

    distiller = None
    if a.phase == "distill":  # frozen before the student is wrapped (DDP, compile) or trained
        teacher, causal = make_teacher(model, a.teacher, device, a.teacher_mode)
        distiller = Distiller(teacher, a.distill_mix, device, timed=master, causal=causal,
                              compile_step=bool(a.teacher_compile and device.type == "cuda"),
                              min_slots=max(BLOCK_SIZES))
        if master:
            print(f"distill: teacher {a.teacher or 'initial weights'} ({teacher.num_params()/1e6:.1f} M, "
                  f"{'causal' if causal else 'block'}), mix {a.distill_mix}, prefix-mask {a.prefix_mask}, "
                  f"group {a.teacher_group}", flush=True)

    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (decay if p.ndim == 2 else no_decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8, **({"fused": True} if device.type == "cuda" and a.fused_adam else {}))
    if opt_state is not None and meta.get("last_phase") == a.phase:
        try:
            opt.load_state_dict(opt_state)
        except Exception as e:  # different shapes/groups: start the moments afresh
            print("optimizer state not reused:", e)
    fwd = model
    if ddp:
        fwd = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if a.compile and device.type == "cuda":
        fwd = torch.compile(fwd)

    ends = line_table(a.tokenizer, cfg.vocab)
    per_rank = a.batch // world
    assert per_rank * world == a.batch, "batch must divide by the number of ranks"
    micro = min(a.micro, per_rank)
    accum = per_rank // micro
    assert micro * accum == per_rank
    shards = [os.path.join(a.data, "py_train"), os.path.join(a.data, "js_train")]
    weights = [1 - a.js_weight, a.js_weight]
    if not os.path.exists(shards[1] + ".bin"):
        shards, weights = shards[:1], [1.0]
    seed = a.seed * 1000 + meta["steps"]  # a resumed run draws new examples
    dl = iter(loader(shards, weights, ends, a.seq, "diff" if a.phase == "distill" else a.phase, micro, seed, rank,
                     world, a.workers))

    if distiller is not None:
        dl = distiller.batches(dl, max(1, a.teacher_group))
    dl_nt = None
    if a.nt_mix > 0 and a.phase != "nt":  # whole FIM sequences, causal, for the next-token share
        dl_nt = iter(loader(shards, weights, ends, a.seq, "nt", micro, seed + 7919, rank, world, max(2, a.workers // 2)))
    mix_rng = random.Random(seed + 31)  # the same draws on every rank (same seed): ranks agree on the kind

    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__("now", True))
    budget = a.minutes * 60
    t_start = time.time()
    last_save = t_start
    last_eval = t_start
    step0, tok0, sec0 = meta["steps"], meta["tokens"], meta["seconds"]
    logf = open(os.path.join(a.out, "log.jsonl"), "a") if master else None
    step = 0
    ema = None
    last_log = t_start

    def lr_at(elapsed):
        w = min(1.0, (step + 1) / a.warmup)
        frac = (step * a.batch * a.seq / a.tokens) if a.tokens else elapsed / budget
        start = 1 - a.decay_frac
        if frac <= start:
            d = 1.0
        else:
            x = min(1.0, (frac - start) / a.decay_frac)
            d = a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * x))
        return a.lr * w * d

    def snapshot(final=False):
        elapsed = time.time() - t_start
        m = dict(meta, steps=step0 + step, tokens=tok0 + step * a.batch * a.seq, seconds=sec0 + elapsed,
                 last_phase=a.phase)
        m["phases"] = dict(meta["phases"])
        m["phases"][a.phase] = m["phases"].get(a.phase, 0) + (step * a.batch * a.seq if final else 0)
        save_full(os.path.join(a.out, "latest.pt"), model, opt, m)
        save_compact(os.path.join(a.out, "compact.pt"), model.state_dict(), cfg, m)
        return m

    while True:
        elapsed = time.time() - t_start
        done_tokens = a.tokens and step * a.batch * a.seq >= a.tokens
        if ddp:  # every rank stops at the same step and reads the same clock: the schedule follows it, and
            # ranks started a little apart would otherwise step with different learning rates (weights drift)
            flag = torch.tensor([float(elapsed >= budget or stop["now"]), elapsed], dtype=torch.float64, device=device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            out_of_time = flag[0].item() > 0
            elapsed = flag[1].item()
        else:
            out_of_time = elapsed >= budget or stop["now"]
        if out_of_time or done_tokens or (a.max_steps and step >= a.max_steps):
            break
        lr = lr_at(elapsed)
        for g in opt.param_groups:
            g["lr"] = lr
        tot = 0.0
        for mi in range(accum):
            nt_now = a.phase == "nt" or (dl_nt is not None and mix_rng.random() < a.nt_mix)
            if nt_now and a.phase != "nt":
                b = next(dl_nt)
                ids = b["ids"].to(device, non_blocking=True)
            elif distiller is not None:
                ids, b = next(dl)
            else:
                b = next(dl)
                ids = b["ids"].to(device, non_blocking=True)
            tgt = b["tgt"].to(device, non_blocking=True)
            sync = (mi == accum - 1)
            ctxm = _ddp(fwd).no_sync() if (ddp and not sync) else _null()
            with ctxm, torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                if nt_now:
                    logits = fwd(ids)
                    loss = F.cross_entropy(logits.float().view(-1, cfg.vocab), tgt.view(-1), ignore_index=-100)
                else:
                    loss = diffusion_loss(fwd, ids, tgt, b, cfg, a, device)
                (loss / accum).backward()
            tot += loss.item() / accum if ((step + 1) % 20 == 0) else 0.0
        if ddp and a.check_sync and step == 0:  # averaged gradients must agree bit for bit (the all-reduce)
            sync_check("step 1 gradients", [p.grad for p in model.parameters() if p.grad is not None], "dg",
                       rank, world, loss=loss, lr=lr)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        if ddp and a.check_sync and step == 1:  # then the weights after one optimizer step
            sync_check("step 1 weights", list(model.parameters()), "dw", rank, world)
        if master and step % 20 == 0:
            ema = tot if ema is None else 0.9 * ema + 0.1 * tot
            el = time.time() - t_start
            rec = {"phase": a.phase, "step": step0 + step, "tokens": tok0 + step * a.batch * a.seq,
                   "loss": round(tot, 4), "lr": lr, "elapsed": round(el, 1),
                   "tok_s": round(step * a.batch * a.seq / el), "world": world}
            if distiller is not None:
                tsec, same = distiller.take_stats()
                rec["teacher_share"] = round(tsec / max(el - (last_log - t_start), 1e-9), 3)
                rec["teacher_same"] = round(same, 4)  # teacher rows whose block equals the ground truth
            last_log = time.time()
            logf.write(json.dumps(rec) + "\n")
            logf.flush()
            if step % 100 == 0:
                extra = (f"  teacher {rec['teacher_share']*100:.0f}% of time, same as truth {rec['teacher_same']*100:.0f}%"
                         if distiller is not None else "")
                print(f"step {step0+step} loss {tot:.3f} (ema {ema:.3f}) lr {lr:.2e} "
                      f"{rec['tok_s']/1e6:.2f} Mtok/s  {(tok0 + step*a.batch*a.seq)/1e9:.3f} B tok  {el:.0f}s{extra}",
                      flush=True)
        if master and time.time() - last_save > a.save_every:
            snapshot()
            last_save = time.time()
        if master and a.eval_every and time.time() - last_eval > a.eval_every:
            run_eval(model, a, cfg, ends, device, step0 + step, tok0 + step * a.batch * a.seq, logf, quick=True)
            last_eval = time.time()
    if master:
        m = snapshot(final=True)
        print(f"done: {step} steps this run, {m['tokens']/1e9:.3f} B tokens in all", flush=True)
        if a.final_eval:
            run_eval(model, a, cfg, ends, device, m["steps"], m["tokens"], logf, quick=False)
    if ddp and a.check_sync:
        sync_check(f"sync check over {world} ranks:", list(model.parameters()), "dw", rank, world,
                   loss=loss if step else None, lr=lr if step else None, ok_text="identical weights")
    if ddp:
        dist.destroy_process_group()


def _gather(x, rank, world):
    """Row r = rank r's x, through all_reduce (gloo has no all_gather for CUDA tensors); exact (x + 0)."""
    buf = torch.zeros((world,) + tuple(x.shape), dtype=x.dtype, device=x.device)
    buf[rank] = x
    dist.all_reduce(buf)
    return buf


def sync_check(title, tensors, sym, rank, world, loss=None, lr=None, ok_text="identical"):
    """Compares every rank's flattened tensors with rank 0's (broadcast): max |difference|, elements that
    differ, and checksums (sum, sum of squares, every 997th element) per rank; loss and lr per rank too.
    Prints on rank 0: '<title> <ok_text>' or '<title> MISMATCH max|<sym>|=...'. Returns True when identical."""
    flat = torch.cat([t.detach().float().flatten() for t in tensors])
    ref = flat.clone()
    dist.broadcast(ref, 0)
    diff = (flat - ref).abs()
    n_diff = (flat != ref).sum()
    f64 = flat.double()
    row = torch.stack([diff.max().double(), n_diff.double(), f64.sum(), (f64 * f64).sum(), f64[::997].sum(),
                       torch.tensor(float("nan") if loss is None else float(loss), dtype=torch.float64,
                                    device=flat.device),
                       torch.tensor(float("nan") if lr is None else float(lr), dtype=torch.float64,
                                    device=flat.device)])
    rows = _gather(row, rank, world).tolist()
    ok = all(r[1] == 0 for r in rows)
    if rank == 0:
        for r, v in enumerate(rows):
            print(f"  rank {r}: sum {v[2]!r} sumsq {v[3]!r} sub {v[4]!r}  max|{sym}| vs rank 0 {v[0]:.3e}  "
                  f"differing {int(v[1])}/{flat.numel()}"
                  + ("" if loss is None else f"  loss {v[5]:.6f}") + ("" if lr is None else f"  lr {v[6]!r}"),
                  flush=True)
        worst = max(r[0] for r in rows)
        n = max(int(r[1]) for r in rows)
        print(f"{title} {ok_text}" if ok else f"{title} MISMATCH max|{sym}|={worst:.3e} ({n} of {flat.numel()} "
              f"elements differ)", flush=True)
    return ok


def _ddp(m):
    return getattr(m, "_orig_mod", m)


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *x):
        return False


def diffusion_loss(fwd, ids, tgt, b, cfg, a, device):
    """Masked-diffusion loss on the block (weighted 1/t) + next-token loss on the causal context."""
    n, T = ids.shape
    bs = b["bs"].to(device)
    be = b["be"].to(device)
    real = b["real"].to(device)
    pos = torch.arange(T, device=device).view(1, T)
    inb = (pos >= bs.view(-1, 1)) & (pos < be.view(-1, 1))
    t = torch.rand(n, 1, device=device).clamp(0.05, 1.0)
    noisy = inb & (torch.rand(n, T, device=device) < t)
    if a.prefix_mask > 0:  # some rows: slots from a random cut to the end masked (left-to-right states)
        B = (be - bs).float()
        cut = (torch.rand(n, device=device) * real.float()).long()  # in [0, real): a real slot stays masked
        pre = torch.rand(n, device=device) < a.prefix_mask
        noisy = torch.where(pre.view(-1, 1), inb & (pos >= (bs + cut).view(-1, 1)), noisy)
        t = torch.where(pre.view(-1, 1), ((B - cut.float()) / B).view(-1, 1), t)
    # at least one masked slot per block
    force = bs + (torch.rand(n, device=device) * (be - bs).float()).long()
    noisy[torch.arange(n, device=device), force] = True
    x = torch.where(noisy, torch.full_like(ids, MASK), ids)
    logits = fwd(x, block_mask(T, bs, be, device))
    # shifted: slot j of the block is read from position j - 1
    pred = logits[:, :-1].float()
    target = ids[:, 1:]
    m = noisy[:, 1:]
    slot = pos[:, 1:] - bs.view(-1, 1)
    w = torch.where(slot <= real.view(-1, 1) - 1, 1.0, 0.1) / t  # repeated <eot> after the first weigh less
    ce = F.cross_entropy(pred.reshape(-1, cfg.vocab), target.reshape(-1), reduction="none").view(n, T - 1)
    blk = (ce * w * m).sum() / (be - bs).sum()
    ctx = F.cross_entropy(pred.reshape(-1, cfg.vocab), tgt[:, :-1].reshape(-1), ignore_index=-100)
    return blk + a.ctx_loss * ctx


def run_eval(model, a, cfg, ends, device, step, tokens, logf, quick):
    from tokenizers import Tokenizer
    from eval import compare, run_all
    model.eval()
    tok = Tokenizer.from_file(a.tokenizer)
    # diff and distill: the parallel sampler, and at the end the one-token-per-step baseline beside it
    methods = ("ar",) if a.phase == "nt" else (("par",) if quick else ("par", "seq"))
    if a.phase != "nt" and a.nt_mix > 0:  # the causal path verifies the engine's drafts: measure it too
        methods = ("ar",) + methods
    kinds = ("line",) if quick else ("line", "rest", "multi")
    t0 = time.time()
    res = run_all(model, tok, ends, a.data, device, n=a.eval_n, methods=methods, kinds=kinds,
                  text_tasks_out=None if quick else os.path.join(a.out, "eval_tasks.jsonl"))
    model.train()
    rec = {"eval": res, "step": step, "tokens": tokens, "phase": a.phase, "secs": round(time.time() - t0, 1)}
    logf.write(json.dumps(rec) + "\n")
    logf.flush()
    for k, v in res.items():
        print(f"  eval {k:18s} em {v['em']*100:5.1f}%  forwards {v['forwards']:.2f}", flush=True)
    for line in compare(res):
        print("  " + line, flush=True)


if __name__ == "__main__":
    main()
