"""Build the training shards on the GPU machine.

Python: every `.py` file of that machine's own site-packages (300 B - 150 kB) whose package's
metadata names a permissive licence (training/corpus/py_licences.py; `--py-licence all` keeps every
package, as sessions 1-3 trained), split into train/validation by top-level package. TypeScript/JavaScript: `training/data/js_{train,val}.jsonl.xz`,
built here from npm packages by `training/corpus/build_js_corpus.py` and carried to the device.
`--py-extra FILE`: more Python for training only (Debian packages, training/corpus/build_deb_py_corpus.py).
`--py-stdlib`: the interpreter's own standard library and test suite, for training only.
`--js-extra FILE`: more TS/JS for training only (Debian source packages,
training/corpus/build_debsrc_js_corpus.py).

The tokenizer is trained once (byte-level BPE, 8k, a piece ends at every newline) and then frozen:
`training/tokenizer.json` is committed and reused by every later run, so checkpoints stay valid.

Usage: python3 training/prep.py --out /root/data [--tokenizer training/tokenizer.json]
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import lzma
import os
import sys
import sysconfig
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from data import SPECIALS  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "corpus"))
from py_filters import EXCLUDE, VAL_MOD, good_text, is_val  # noqa: E402,F401


def python_docs(licences=None, roots=None, skip_dirs=()):
    """(top-level package, text) of every usable .py file; with `licences` (py_licences.scan()),
    only files of packages whose licence is permissive. Folders named in `skip_dirs` are not read."""
    roots = roots or {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    seen, out = set(), []
    for root in sorted(roots):
        for dirpath, dirnames, files in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs)
            rel = os.path.relpath(dirpath, root)
            pkg = rel.split(os.sep)[0] if rel != "." else None
            for f in sorted(files):
                if not f.endswith(".py"):
                    continue
                p = os.path.join(dirpath, f)
                top = pkg or f[:-3]
                if any(e in p.lower() for e in EXCLUDE):
                    continue
                if licences is not None and not licences.get(top.split("-")[0].lower(), {}).get("permissive"):
                    continue
                try:
                    sz = os.path.getsize(p)
                    if not 300 <= sz <= 150_000:
                        continue
                    t = open(p, encoding="utf-8").read().replace("\r\n", "\n")
                except Exception:
                    continue
                h = hashlib.sha1(t.encode()).digest()
                if h in seen or not good_text(t):
                    continue
                seen.add(h)
                out.append((top.split("-")[0].lower(), t))
    return out


def stdlib_docs(seen, root=None):
    """(top-level module, text) of the interpreter's own standard library (PSF licence; its test
    suite included) for py_train: never a module the split puts in validation, never a file
    already in `seen` (which grows), only files Python 3 parses (the test suite's deliberate
    syntax errors and lib2to3's Python 2 test data are left out)."""
    import ast
    import warnings
    root = root or sysconfig.get_paths()["stdlib"]
    out = []
    for top, t in python_docs(None, {root}, skip_dirs={"site-packages", "dist-packages", "__pycache__"}):
        h = hashlib.sha1(t.encode()).digest()
        if is_val(top) or h in seen:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ast.parse(t)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        seen.add(h)
        out.append((top, t))
    print(f"py stdlib: {len(out)} files, {sum(len(t) for _, t in out) / 1e6:.1f} M characters from {root}", flush=True)
    return out


def js_docs(path):
    out = []
    if not os.path.exists(path):
        return out
    with lzma.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            out.append((r["pkg"], r["text"]))
    return out


def _extra(paths, seen, drop, label):
    """The records of jsonl.xz files whose text is new (not in `seen`, which grows) and that `drop`
    does not reject, in file order."""
    out = []
    for path in paths:
        n0 = len(out)
        with lzma.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                h = hashlib.sha1(r["text"].encode()).digest()
                if h in seen or drop(r):
                    continue
                seen.add(h)
                out.append(r)
        print(f"{label} extra: {len(out) - n0} files from {path}", flush=True)
    return out


def _npm_val(pkg):
    """The npm split of a `name@version` record (build_js_corpus.split_of)."""
    name = pkg.rsplit("@", 1)[0] if "@" in pkg[1:] else pkg
    return int(hashlib.sha1(name.encode()).hexdigest(), 16) % 20 == 0


def js_extra(paths, seen):
    """(pkg, text) of the --js-extra files (training/corpus/build_debsrc_js_corpus.py) for js_train:
    never a package the npm split puts in validation, never a file the npm corpus already holds."""
    return [(r["pkg"], r["text"]) for r in _extra(paths, seen, lambda r: _npm_val(r["pkg"]), "js")]


def py_extra(paths, seen):
    """Texts of the --py-extra files for training: never a validation package's (is_val of the
    top-level module, as the site-packages split), never a file the site-packages already hold."""
    drop = lambda r: is_val(r["top"]) or any(e in r.get("path", "").lower() for e in EXCLUDE)  # noqa: E731
    return [r["text"] for r in _extra(paths, seen, drop, "py")]


def train_tokenizer(texts, path, vocab=8192):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers, Regex

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex("\n"), "merged_with_previous"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=vocab, special_tokens=SPECIALS, min_frequency=2,
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=tr)
    tok.save(path)
    return tok


def write_shard(tok, texts, path, chunk=2048):
    """Token ids of every text, back to back, as uint16 (`.bin`), and the offsets (`.idx`).

    Encodes `chunk` texts at a time (each batch runs on every core) and writes each batch's ids at
    once, so no more than one batch of Encoding objects (ids, offsets, token strings) is alive: the
    whole Python shard in one `encode_batch` held about 281 M of each. `encode_batch_fast` (newer
    tokenizers) skips the offsets; the ids are the same."""
    enc = getattr(tok, "encode_batch_fast", None) or tok.encode_batch
    lens = []
    with open(path + ".bin", "wb") as f:
        for i in range(0, len(texts), chunk):
            ids = [e.ids for e in enc(texts[i: i + chunk], add_special_tokens=False)]
            n = [len(x) for x in ids]
            lens += n
            np.fromiter(itertools.chain.from_iterable(ids), dtype=np.uint16, count=sum(n)).tofile(f)
    idx = np.concatenate([[0], np.cumsum(np.array(lens, dtype=np.int64))]).astype(np.int64)
    idx.tofile(path + ".idx")
    return int(idx[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/root/data")
    ap.add_argument("--tokenizer", default=os.path.join(os.path.dirname(__file__), "tokenizer.json"))
    ap.add_argument("--js", default=os.path.join(os.path.dirname(__file__), "data"))
    ap.add_argument("--py-extra", action="append", default=[],
                    help="more Python for py_train only: a jsonl.xz of {top, text} records "
                         "(training/corpus/build_deb_py_corpus.py); repeatable")
    ap.add_argument("--js-extra", action="append", default=[],
                    help="more TS/JS for js_train only: a jsonl.xz of js_train records "
                         "(training/corpus/build_debsrc_js_corpus.py); repeatable")
    ap.add_argument("--py-stdlib", action="store_true",
                    help="add the interpreter's standard library and its tests to py_train (PSF licence)")
    ap.add_argument("--val-only", action="store_true",
                    help="write only the validation shards (enough for eval.py --tasks-only)")
    ap.add_argument("--py-licence", choices=["permissive", "all"], default="permissive",
                    help="permissive: only packages whose dist-info names a permissive licence "
                         "(training/corpus/py_licences.py); all: every package (sessions 1-3)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    licences = None
    if a.py_licence == "permissive":
        from py_licences import scan
        licences = scan()
        json.dump(licences, open(os.path.join(a.out, "py_licences.json"), "w"), indent=1, sort_keys=True)
    py = python_docs(licences)
    seen_py = {hashlib.sha1(t.encode()).digest() for _, t in py}
    extra = py_extra(a.py_extra, seen_py)
    std = stdlib_docs(seen_py) if a.py_stdlib else []
    js_tr, js_va = js_docs(os.path.join(a.js, "js_train.jsonl.xz")), js_docs(os.path.join(a.js, "js_val.jsonl.xz"))
    js_tr += js_extra(a.js_extra, {hashlib.sha1(t.encode()).digest() for _, t in js_tr + js_va})
    print(f"python files {len(py)}  js train {len(js_tr)} val {len(js_va)}  ({time.time()-t0:.0f}s)", flush=True)
    from tokenizers import Tokenizer
    if os.path.exists(a.tokenizer):
        tok = Tokenizer.from_file(a.tokenizer)
        print("tokenizer: reused", a.tokenizer)
    else:
        rng = np.random.default_rng(0)
        sample = [t for p, t in py if not is_val(p) and rng.random() < 0.2]
        sample += [t for p, t in js_tr if rng.random() < 0.5]
        tok = train_tokenizer(sample, a.tokenizer)
        print(f"tokenizer: trained on {sum(map(len, sample))/1e6:.0f} MB ({time.time()-t0:.0f}s)")
    stats = {}
    parts = {
        "py_train": [t for p, t in py if not is_val(p)] + extra + [t for _, t in std],
        "py_val": [t for p, t in py if is_val(p)],
        "js_train": [t for _, t in js_tr],
        "js_val": [t for _, t in js_va],
    }
    for name, texts in parts.items():
        if a.val_only and not name.endswith("_val"):
            continue
        if texts:
            t1 = time.time()
            n = write_shard(tok, texts, os.path.join(a.out, name))
            stats[name] = {"files": len(texts), "chars": sum(map(len, texts)), "tokens": n,
                           "seconds": round(time.time() - t1, 1)}
            print(name, stats[name], flush=True)
    # which packages went to validation (for the manifest; never trained on)
    stats["py_val_packages"] = sorted({p for p, _ in py if is_val(p)})
    stats["py_licence"] = a.py_licence
    stats["py_extra"] = {"files": a.py_extra, "docs": len(extra)}
    stats["py_stdlib"] = {"docs": len(std), "chars": sum(len(t) for _, t in std)}
    stats["js_extra"] = {"files": a.js_extra}
    stats["py_packages"] = len({p for p, _ in py})
    json.dump(stats, open(os.path.join(a.out, "stats.json"), "w"), indent=1)
    print(f"prep done in {time.time()-t0:.0f}s")


if __name__ == "__main__":
    main()
