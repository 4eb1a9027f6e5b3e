"""training/prep.py end to end, as run.sh calls it on the GPU machine with two --py-extra files, a
--js-extra file and --py-stdlib: the shards are written, extra and stdlib files land in py_train only,
validation stays as it was, and stats.json says what came from where. A stub stands in for
`tokenizers` (not installed here) and a small fake site-packages for this machine's. No GPU.

    python3 training/tests/prep_main_cpu.py
"""
import json
import lzma
import os
import sys
import tempfile
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
from prep_shard_cpu import Tok as ShardTok  # noqa: E402  (token = code point mod 8192)


class Tok(ShardTok):
    @staticmethod
    def from_file(path):
        return Tok()


sys.modules["tokenizers"] = types.SimpleNamespace(Tokenizer=Tok)
import prep  # noqa: E402


def write_xz(path, recs):
    with lzma.open(path, "wt", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")


def main():
    val = next(t for t in ("regex", "xxhash", "tiktoken", "flatbuffers") if prep.is_val(t))
    train = next(t for t in ("attr", "requests", "yaml", "six", "click") if not prep.is_val(t))
    site = [(train, "def site_a():\n    return 1\n" * 20), (val, "def site_v():\n    return 2\n" * 20)]
    real = prep.python_docs
    # the GPU machine's site-packages (roots None) is faked; the stdlib walk (roots given) is real
    prep.python_docs = lambda licences=None, roots=None, skip_dirs=(): site if roots is None else real(licences, roots, skip_dirs)
    with tempfile.TemporaryDirectory() as d:
        data, out, std = os.path.join(d, "data"), os.path.join(d, "out"), os.path.join(d, "stdlib")
        os.makedirs(data)
        os.makedirs(os.path.join(std, "test"))
        with open(os.path.join(std, "test", "test_x.py"), "w") as f:
            f.write("import unittest\n\nclass T(unittest.TestCase):\n    def test_a(self):\n        self.assertTrue(1)\n" * 5)
        with open(os.path.join(std, "broken.py"), "w") as f:
            f.write("def f(:\n    pass\n" * 30)
        write_xz(os.path.join(data, "js_train.jsonl.xz"), [{"pkg": "a@1", "text": "export const a = 1;\n" * 20}])
        write_xz(os.path.join(data, "js_val.jsonl.xz"), [{"pkg": "b@1", "text": "export const b = 2;\n" * 20}])
        write_xz(os.path.join(data, "debsrc.jsonl.xz"), [{"pkg": "c@1", "text": "export const c = 3;\n" * 20}])
        deb = os.path.join(d, "deb.jsonl.xz")
        app = os.path.join(d, "app.jsonl.xz")
        write_xz(deb, [{"top": train, "path": f"{train}/d.py", "text": "def deb():\n    return 3\n" * 20}])
        write_xz(app, [{"top": "scons", "path": "scons/e.py", "text": "def app():\n    return 4\n" * 20},
                       {"top": val, "path": f"{val}/v.py", "text": "def appv():\n    return 5\n" * 20}])
        stdlib_docs = prep.stdlib_docs
        prep.stdlib_docs = lambda seen: stdlib_docs(seen, root=std)
        sys.argv = ["prep.py", "--out", out, "--js", data, "--tokenizer", os.path.join(d, "tok.json"),
                    "--py-licence", "all", "--py-extra", deb, "--py-extra", app,
                    "--js-extra", os.path.join(data, "debsrc.jsonl.xz"), "--py-stdlib"]
        open(os.path.join(d, "tok.json"), "w").close()  # "reused": the stub loads it
        prep.main()
        stats = json.load(open(os.path.join(out, "stats.json")))
        # py_train: site train module + deb + app (not its val module) + stdlib test (not the broken file)
        assert stats["py_train"]["files"] == 4, stats["py_train"]
        assert stats["py_val"]["files"] == 1, stats["py_val"]
        assert stats["py_extra"]["docs"] == 2, stats["py_extra"]
        assert stats["py_stdlib"]["docs"] == 1, stats["py_stdlib"]
        assert stats["js_train"]["files"] == 2 and stats["js_val"]["files"] == 1, stats
        for name in ("py_train", "py_val", "js_train", "js_val"):
            idx = np.fromfile(os.path.join(out, name + ".idx"), dtype=np.int64)
            assert idx[-1] == stats[name]["tokens"] == os.path.getsize(os.path.join(out, name + ".bin")) // 2
    print("prep_main_cpu: ok")


if __name__ == "__main__":
    main()
