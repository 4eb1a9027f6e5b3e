"""Two ranks (torchrun, gloo on CPU) train a few steps on synthetic shards and must end with
identical weights: gradients are averaged across ranks, each rank reading its own documents.
Usage: python3 training/tests/ddp_cpu.py
"""
import json
import os
import subprocess
import sys
import tempfile


HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import synthetic  # noqa: E402


def main():
    tmp = tempfile.mkdtemp()
    V = synthetic.VOCAB
    tj = synthetic.make(tmp, ("py_train", "py_val"))
    argv = ["--phase", "diff", "--data", tmp, "--out", os.path.join(tmp, "ck"), "--tokenizer", tj,
            "--batch", "8", "--micro", "2", "--seq", "128", "--max-steps", "3", "--workers", "0", "--compile", "0",
            "--init", "none", "--final-eval", "0", "--check-sync", "1",
            "--model", json.dumps(dict(vocab=V, d=64, layers=2, heads=4, ffn=128))]
    code = ("import sys, runpy; sys.path.insert(0, %r); import smoke_cpu; sys.argv = ['train.py'] + sys.argv[1:]; "
            "runpy.run_path(%r, run_name='__main__')") % (HERE, os.path.join(os.path.dirname(HERE), "train.py"))
    script = os.path.join(tmp, "entry.py")
    open(script, "w").write(code.replace("sys.argv[1:]", "sys.argv[1:]"))
    # what torchrun --standalone --nproc_per_node=2 does: two processes with the rendezvous variables
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    procs = []
    for rank in range(2):
        env = dict(os.environ, OMP_NUM_THREADS="1", RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        procs.append(subprocess.Popen([sys.executable, script] + argv, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
    outs = [p.communicate(timeout=600)[0] for p in procs]
    print(outs[0][-2000:])
    assert all(p.returncode == 0 for p in procs), outs[1][-2000:]
    assert "sync check over 2 ranks: identical weights" in outs[0]
    print("ddp ok")


if __name__ == "__main__":
    main()
