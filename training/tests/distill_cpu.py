"""CPU checks of the distillation phase (train.py --phase distill) on synthetic shards.

(a) a few distill steps through train.py: finite loss, teacher statistics logged;
(b) the batched, KV-cached teacher decodes every row exactly as the reference decoder
    decode.block_decode(sequential=True) does on that row's context alone (rows of different block
    sizes and context lengths in one batch), <eot> after the first <eot>, `real` as data.py counts it;
    the Distiller replaces the blocks of the first round(mix * n) rows only;
(c) checkpoints: a distill run saves full + compact checkpoints, a second run resumes from them
    (counters carry over, the optimizer state is reused within the phase).
Usage: python3 training/tests/distill_cpu.py
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import types

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import smoke_cpu  # noqa: F401,E402  (tokenizers stand-in)
import ckpt  # noqa: E402
import synthetic  # noqa: E402
from data import EOT, FimStream, collate, line_table  # noqa: E402
from decode import block_decode  # noqa: E402
from distill import Distiller, make_teacher, teacher_decode  # noqa: E402
from model import Model  # noqa: E402

TRAIN = os.path.join(os.path.dirname(HERE), "train.py")


def train(tmp, tj, phase, out, init, steps, extra=()):
    cfg_small = dict(vocab=synthetic.VOCAB, d=64, layers=2, heads=4, ffn=128)
    argv = ["train.py", "--phase", phase, "--data", tmp, "--out", out, "--tokenizer", tj,
            "--batch", "8", "--micro", "4", "--seq", "128", "--max-steps", str(steps), "--workers", "0",
            "--compile", "0", "--eval-n", "4", "--minutes", "5", "--model", json.dumps(cfg_small),
            "--init", init, "--lr", "3e-3", "--warmup", "5"] + list(extra)
    code = ("import sys, runpy; sys.path.insert(0, %r); import smoke_cpu; sys.argv = %r; "
            "runpy.run_path(%r, run_name='__main__')") % (HERE, argv, TRAIN)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=os.path.dirname(HERE))
    print(f"--- {phase} {steps} steps\n", r.stdout[-1200:], r.stderr[-3000:])
    assert r.returncode == 0, phase
    return r.stdout


def load(path):
    cfg, state, meta, _ = ckpt.load_state(path)
    m = Model(cfg)
    m.load_state_dict(state, strict=False)
    return m.eval(), meta


def check_teacher(model, tmp, ends):
    """(b): batched teacher == reference sequential decoder, row by row."""
    dev = torch.device("cpu")
    it = iter(FimStream([os.path.join(tmp, "py_train")], [1.0], ends, 128, "diff", 7))
    rows = stops = mids = 0
    sizes, starts = set(), set()
    for _ in range(4):
        b = collate([next(it) for _ in range(12)])
        ids, bs, be = b["ids"], b["bs"], b["be"]
        new, real = teacher_decode(model, ids, bs, be)
        assert new.shape == ids.shape
        for r in range(ids.shape[0]):
            s, e = int(bs[r]), int(be[r])
            B = e - s
            sizes.add(B)
            starts.add(s)
            assert torch.equal(new[r, :s], ids[r, :s]) and torch.equal(new[r, e:], ids[r, e:]), "only the block changes"
            ref, fw = block_decode(model, [ids[r, :s].tolist()], B, False, ends, dev, sequential=True, max_blocks=1)
            ref = ref[0]
            got = new[r, s:e].tolist()
            if len(ref) < B:  # stopped at <eot>: <eot> there and after
                stops += 1
                mids += 0 < len(ref)
                want = ref + [EOT] * (B - len(ref))
                assert int(real[r]) == len(ref) + 1, (int(real[r]), len(ref))
                assert fw[0] == len(ref) + 1
            else:
                want = ref
                assert int(real[r]) == B
            assert got == want, (r, B, got, want)
            rows += 1
    print(f"teacher == block_decode(sequential) on {rows} rows; block sizes {sorted(sizes)}, "
          f"{len(starts)} context lengths, {stops} stopped at <eot> ({mids} after slot 0)")
    assert len(sizes) > 1 and len(starts) > 1, "rows of one batch must differ in block size and start"
    return rows, stops, mids


@torch.no_grad()
def greedy_generate(model, ctx, B):
    """Reference next-token generation: full causal forward over context + generated, B tokens or
    up to and including the first <eot>."""
    out = []
    seq = list(ctx)
    for _ in range(B):
        logits = model(torch.tensor([seq]))[0, -1].float()
        logits[[0, 2, 3, 4, 5]] = -1e9  # distill.BANNED
        t = int(logits.argmax())
        out.append(t)
        seq.append(t)
        if t == EOT:
            break
    return out


def check_causal_teacher(model, tmp, ends):
    """(b') a next-token teacher (causal=True, blocks padded to 32 slots) decodes every row exactly as
    plain greedy generation does."""
    it = iter(FimStream([os.path.join(tmp, "py_train")], [1.0], ends, 128, "diff", 9))
    rows = stops = 0
    for _ in range(2):
        b = collate([next(it) for _ in range(10)])
        ids, bs, be = b["ids"], b["bs"], b["be"]
        new, real = teacher_decode(model, ids, bs, be, causal=True, min_slots=32)
        for r in range(ids.shape[0]):
            s, e = int(bs[r]), int(be[r])
            B = e - s
            ref = greedy_generate(model, ids[r, :s].tolist(), B)
            if ref and ref[-1] == EOT:
                stops += 1
                want = ref + [EOT] * (B - len(ref))
                assert int(real[r]) == len(ref)
            else:
                want = ref
                assert int(real[r]) == B
            assert new[r, s:e].tolist() == want, (r, B, new[r, s:e].tolist(), want)
            rows += 1
    print(f"causal teacher == greedy generation on {rows} rows ({stops} stopped at <eot>)")
    return rows, stops


def check_distiller(model, tmp, ends):
    dev = torch.device("cpu")
    it = iter(FimStream([os.path.join(tmp, "py_train")], [1.0], ends, 128, "diff", 8))
    # the Distiller decodes the first round(mix * n) rows only, the others keep the ground truth
    b = collate([next(it) for _ in range(8)])
    teacher, causal = make_teacher(model, "", dev)
    assert not causal, "a copy of a diffusion student decodes block-wise"
    d = Distiller(teacher, 0.25, dev)
    ids2, b2 = d(b["ids"].clone(), b)
    new, real = teacher_decode(model, b["ids"][:2], b["bs"][:2], b["be"][:2])
    assert torch.equal(ids2[:2], new) and torch.equal(ids2[2:], b["ids"][2:])
    assert torch.equal(b2["real"][:2], real) and torch.equal(b2["real"][2:], b["real"][2:])
    secs, same = d.take_stats()
    assert secs > 0 and 0 <= same <= 1
    # --teacher-group 3: the teacher rows of three micro-batches decoded together give each micro-batch
    # what decoding it alone gives
    group = [collate([next(it) for _ in range(8)]) for _ in range(3)]
    solo = [d(g["ids"].clone(), g) for g in group]
    grouped = d.batches(iter(group), group=3)
    for (si, sb), g in zip(solo, group):
        gi, gb = next(grouped)
        assert torch.equal(si, gi) and torch.equal(sb["real"], gb["real"])
        assert torch.equal(gb["bs"], g["bs"]) and torch.equal(gb["tgt"], g["tgt"])
    assert not torch.equal(solo[0][0], group[0]["ids"]), "the teacher changed some block"
    print("teacher group of 3 micro-batches == each decoded alone")
    return b2, ids2


def check_loss(model, b, ids):
    """(a) in-process: the distill loss is finite and has gradients."""
    from train import diffusion_loss
    model.train()
    for pm in (0.0, 0.5, 1.0):
        a = types.SimpleNamespace(ctx_loss=0.5, prefix_mask=pm)
        model.zero_grad()
        loss = diffusion_loss(model, ids, b["tgt"], b, model.cfg, a, torch.device("cpu"))
        loss.backward()
        assert math.isfinite(loss.item()) and loss.item() > 0, (pm, loss)
        g = sum(float(p.grad.abs().sum()) for p in model.parameters() if p.grad is not None)
        assert math.isfinite(g) and g > 0, pm
    model.eval()


def check_prefix_mask(model, b, ids):
    """--prefix-mask 1: every row's masked slots are exactly [bs + cut, be) with cut < real, apart
    from the one slot forced masked anywhere in the block; they are what the model reads."""
    import train
    seen = {}

    def fwd(x, mask):
        seen["x"] = x.clone()
        return model(x, mask)

    a = types.SimpleNamespace(ctx_loss=0.5, prefix_mask=1.0)
    torch.manual_seed(3)
    with torch.no_grad():
        train.diffusion_loss(fwd, ids, b["tgt"], b, model.cfg, a, torch.device("cpu"))
    x = seen["x"]
    for r in range(x.shape[0]):
        s, e, real = int(b["bs"][r]), int(b["be"][r]), int(b["real"][r])
        m = (x[r, s:e] == 2).tolist()  # MASK
        kept = [i for i, v in enumerate(m) if not v]
        start = kept[-1] + 1 if kept else 0  # the masked run that reaches the block's end
        assert start < len(m), (r, m)
        assert start <= real - 1, (r, m, real)  # cut < real: a real slot is always predicted
        assert sum(m[:start]) <= 1, (r, m)  # apart from the one slot forced masked anywhere
        assert torch.equal(x[r, :s], ids[r, :s]) and torch.equal(x[r, e:], ids[r, e:])
    print(f"prefix masking: {x.shape[0]} rows masked from a cut to the block end")


def main():
    torch.manual_seed(0)
    tmp = tempfile.mkdtemp()
    tj = synthetic.make(tmp)
    ends = line_table(tj, synthetic.VOCAB)
    ck = os.path.join(tmp, "ck")
    train(tmp, tj, "nt", ck, "none", 30)
    nt = os.path.join(tmp, "nt.pt")
    os.replace(os.path.join(ck, "latest.pt"), nt)
    train(tmp, tj, "diff", ck, nt, 30, ["--final-eval", "0"])
    model, _ = load(os.path.join(ck, "latest.pt"))
    # the briefly trained model, and a random one whose <eot> logit is inflated, so that some rows stop
    # at <eot> in the middle of the block and others fill it
    check_teacher(model, tmp, ends)
    torch.manual_seed(1)
    rnd = Model(model.cfg).eval()
    with torch.no_grad():
        rnd.emb.weight[EOT] *= 25
    rows, stops, mids = check_teacher(rnd, tmp, ends)
    assert stops + 5 < rows and mids >= 5, "full blocks and stops after slot 0 should both occur"
    check_causal_teacher(model, tmp, ends)
    check_causal_teacher(rnd, tmp, ends)
    b, ids = check_distiller(model, tmp, ends)
    check_loss(model, b, ids)
    check_prefix_mask(model, b, ids)

    # (a) + (c): distill through train.py, then resume
    dk = os.path.join(tmp, "dk")
    out1 = train(tmp, tj, "distill", dk, os.path.join(ck, "latest.pt"), 20, ["--final-eval", "0"])
    assert "distill: teacher initial weights" in out1 and "block), mix 0.5" in out1
    recs = [json.loads(l) for l in open(os.path.join(dk, "log.jsonl"))]
    steps = [r for r in recs if r.get("phase") == "distill" and "loss" in r]
    assert steps and all(math.isfinite(r["loss"]) and r["loss"] > 0 for r in steps), steps
    assert all(0 < r["teacher_share"] < 1 and 0 <= r["teacher_same"] <= 1 for r in steps), steps
    print("distill log:", steps[-1])
    _, meta1 = load(os.path.join(dk, "compact.pt"))
    assert meta1["last_phase"] == "distill" and meta1["phases"]["distill"] == 20 * 8 * 128, meta1
    # resume (with the final eval: par + seq), every row distilled, the teacher named
    out2 = train(tmp, tj, "distill", dk, "auto", 20, ["--distill-mix", "1.0", "--teacher", os.path.join(ck, "latest.pt")])
    assert f"init from {os.path.join(dk, 'latest.pt')}" in out2, out2
    assert f"distill: teacher {os.path.join(ck, 'latest.pt')}" in out2 and "block), mix 1.0" in out2, out2
    assert "optimizer state not reused" not in out2
    assert "par/seq fw" in out2, "final eval puts par and seq side by side"
    _, meta2 = load(os.path.join(dk, "latest.pt"))
    assert meta2["steps"] == meta1["steps"] + 20 and meta2["phases"]["distill"] == 40 * 8 * 128, meta2
    m2, _ = load(os.path.join(dk, "compact.pt"))
    _, full, _, _ = ckpt.load_state(os.path.join(dk, "latest.pt"))
    err = max(float((m2.state_dict()[k] - full[k].float()).abs().max() / (full[k].abs().max() + 1e-9)) for k in full)
    assert err < 0.02, err
    # a next-token teacher is detected (its last phase is nt) and generates causally; prefix masking on
    out3 = train(tmp, tj, "distill", os.path.join(tmp, "dk3"), os.path.join(ck, "latest.pt"), 6,
                 ["--final-eval", "0", "--teacher", nt, "--prefix-mask", "0.5", "--teacher-group", "2"])
    assert f"distill: teacher {nt}" in out3 and "causal), mix 0.5, prefix-mask 0.5, group 2" in out3, out3
    ntm, _ = load(nt)
    assert make_teacher(model, nt, torch.device("cpu"))[1], "nt weights decode causally"
    check_causal_teacher(ntm, tmp, ends)
    print("distill ok")


if __name__ == "__main__":
    main()
