#!/usr/bin/env python3
"""Documents the model never trained on, from the same sources as its corpus, for the memorisation
check (`node scripts/train-val-nll.mjs`, MODEL_CARD.md). Never trained on, never committed.

    python3 training/corpus/unseen_sets.py js --names FILE --out training/data/unseen_js.jsonl.xz [--limit 300]
    python3 training/corpus/unseen_sets.py py --out training/data/unseen_py.jsonl.xz [--packages 250] [--seed 5]

js: the npm packages named in FILE (one per line) that js_packages.txt does not list, fetched into
    training/data/unseen-npm-cache/ and read by build_js_corpus.process_tarball (the corpus's own
    licence and file rules); files whose text js_train or js_val holds are dropped. Session 31 used
    the first 300 names of `expand_js_list.py --top 600 --min-refs 2` before batch 4 was appended
    (`unseen_js_names_s31.txt`) with the list of that time (`--list`: `git show
    a58b3c7:training/corpus/js_packages.txt`); batch 4 lists them now, so a later check needs
    other names.
py: Python of python3-* packages in build_deb_py_corpus.py's .deb cache that it left out for their
    licence (so never trained on), in a seeded random order; top-level modules that the GPU
    machine's corpus (any licence) holds and validation modules are dropped.
"""
import argparse
import hashlib
import json
import lzma
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def unseen_js(a):
    os.environ.setdefault("DIFFILL_NPM_CACHE", os.path.join(HERE, "..", "data", "unseen-npm-cache"))
    import build_js_corpus as B

    listed = set(B.read_package_list(a.list or B.PKG_LIST))
    names = [n.strip() for n in open(a.names) if n.strip() and not n.startswith("#")]
    names = [n for n in names if n not in listed and not B.GENERATED_PKGS.search(n)][: a.limit]
    index, _failed = B.fetch(names, 4)
    seen = set()
    for f in ("js_train", "js_val"):
        with lzma.open(os.path.join(B.DATA, f"{f}.jsonl.xz"), "rt", encoding="utf-8") as fh:
            for line in fh:
                seen.add(hashlib.sha1(json.loads(line)["text"].encode()).digest())
    files = pkgs = 0
    with lzma.open(a.out, "wt", encoding="utf-8") as out:
        for name in names:
            if name not in index:
                continue
            meta, got, _drops = B.process_tarball((name, os.path.join(B.CACHE, index[name]["filename"])))
            if meta.get("error"):
                continue
            k = 0
            for path, text in got:
                if hashlib.sha1(text.encode()).digest() in seen:
                    continue
                out.write(json.dumps({"pkg": f"{name}@{meta.get('version')}", "path": path,
                                      "lang": B.lang_of(path), "text": text}) + "\n")
                k += 1
            files += k
            pkgs += k > 0
    print(f"unseen js: {pkgs} packages, {files} files -> {a.out}")


def unseen_py(a):
    import build_deb_py_corpus as P
    from py_filters import is_val

    gpu = {k.lower() for k in json.load(open(os.path.join(HERE, "MANIFEST_py.json")))["packages"]}
    kept = set(json.load(open(os.path.join(HERE, "MANIFEST_py_deb.json")))["packages"])
    debs = sorted(f for f in os.listdir(P.CACHE) if f.endswith(".deb") and f.startswith("python3-"))
    random.Random(a.seed).shuffle(debs)
    files = pkgs = 0
    with lzma.open(a.out, "wt", encoding="utf-8") as out:
        for f in debs:
            if pkgs >= a.packages:
                break
            if f.split("_")[0] in kept:
                continue
            try:
                name, _lic, ok, tops = P.read_deb(os.path.join(P.CACHE, f))
            except Exception:  # noqa: BLE001
                continue
            if ok or not tops:  # permissive ones may be in the training corpus
                continue
            k = 0
            for top, fl in sorted(tops.items()):
                if top in gpu or is_val(top):
                    continue
                for rel, text in fl:
                    out.write(json.dumps({"pkg": name, "top": top, "path": rel, "lang": "python", "text": text}) + "\n")
                    k += 1
            files += k
            pkgs += k > 0
    print(f"unseen py: {pkgs} packages, {files} files -> {a.out}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["js", "py"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--names", help="js: npm names, one per line")
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--list", help="js: the package list whose names are left out (default js_packages.txt)")
    ap.add_argument("--packages", type=int, default=250)
    ap.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()
    if a.kind == "js":
        if not a.names:
            sys.exit("js needs --names FILE")
        unseen_js(a)
    else:
        unseen_py(a)


if __name__ == "__main__":
    main()
