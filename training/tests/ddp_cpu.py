"""Two ranks (torchrun, gloo on CPU) train a few steps on synthetic shards and must end with
identical weights: gradients are averaged across ranks, each rank reading its own documents.
Exercises --check-sync: after step 1 the averaged gradients and the weights agree bit for bit, and at
the end the weights and the learning rate do, also with a schedule that follows the wall clock.
Usage: python3 training/tests/ddp_cpu.py
"""
import json
import os
import socket
import subprocess
import sys
import tempfile


HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import synthetic  # noqa: E402


def run(tmp, tj, extra, tag):
    """Two ranks, as torchrun --standalone --nproc_per_node=2 starts them; returns rank 0's output."""
    V = synthetic.VOCAB
    argv = ["--phase", "diff", "--data", tmp, "--out", os.path.join(tmp, "ck_" + tag), "--tokenizer", tj,
            "--batch", "8", "--micro", "2", "--seq", "128", "--workers", "0", "--compile", "0",
            "--init", "none", "--final-eval", "0", "--check-sync", "1",
            "--model", json.dumps(dict(vocab=V, d=64, layers=2, heads=4, ffn=128))] + extra
    code = ("import sys, runpy; sys.path.insert(0, %r); import smoke_cpu; sys.argv = ['train.py'] + sys.argv[1:]; "
            "runpy.run_path(%r, run_name='__main__')") % (HERE, os.path.join(os.path.dirname(HERE), "train.py"))
    script = os.path.join(tmp, "entry.py")
    open(script, "w").write(code)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    procs = []
    for rank in range(2):
        env = dict(os.environ, OMP_NUM_THREADS="1", RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
                   LOCAL_WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        procs.append(subprocess.Popen([sys.executable, script] + argv, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
    outs = [p.communicate(timeout=600)[0] for p in procs]
    print(f"--- {tag}: {' '.join(extra)}")
    print(outs[0][-2500:])
    assert all(p.returncode == 0 for p in procs), outs[1][-2000:]
    return outs[0]


def rank_lines(out, title):
    """The per-rank lines printed just before the line starting with `title`."""
    lines = out.splitlines()
    i = next(i for i, l in enumerate(lines) if l.startswith(title))
    return [l for l in lines[i - 2:i] if l.strip().startswith("rank ")]


def main():
    tmp = tempfile.mkdtemp()
    tj = synthetic.make(tmp, ("py_train", "py_val"))
    # 1. plain: step-based warm-up only; explicit gloo
    out = run(tmp, tj, ["--max-steps", "3", "--backend", "gloo"], "plain")
    assert "backend gloo on cpu" in out
    # 2. the learning rate follows the wall clock and decays from the start (as in a timed GPU run's
    # decay): every rank must read the same clock, or the ranks step with different learning rates
    out2 = run(tmp, tj, ["--max-steps", "4", "--minutes", "0.2", "--decay-frac", "1.0", "--warmup", "1"], "clock")
    for o in (out, out2):
        assert "step 1 gradients identical" in o, "the gradient all-reduce differs between ranks"
        g = rank_lines(o, "step 1 gradients")
        assert len(g) == 2 and all("max|dg| vs rank 0 0.000e+00  differing 0/" in l for l in g), g
        assert "step 1 weights identical" in o
        assert "sync check over 2 ranks: identical weights" in o
        w = rank_lines(o, "sync check over 2 ranks")
        assert len(w) == 2 and all("max|dw| vs rank 0 0.000e+00  differing 0/" in l for l in w), w
        lrs = {l.split("  lr ")[1] for l in w}
        assert len(lrs) == 1, f"ranks used different learning rates: {lrs}"
    print("ddp ok")


if __name__ == "__main__":
    main()
