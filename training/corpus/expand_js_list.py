#!/usr/bin/env python3
"""Propose more npm packages for the TS/JS corpus from the dependency graph of those it holds.

    python3 training/corpus/expand_js_list.py [--top 1500] [--min-refs 2] [--append BATCH_NO]

Reads the package.json of every tarball already in training/data/npm-cache/ (run
build_js_corpus.py first), counts how many listed packages name each dependency
(dependencies, peerDependencies, optionalDependencies and devDependencies), and prints the most
referenced names that the list does not hold yet. Names that build_js_corpus.py would drop anyway
(type-only @types/*, generated API clients, benchmark-like names) are left out; the licence is
checked later, by build_js_corpus.py, from each tarball's own package.json.
With --append N the names are appended to js_packages.txt as `# === batch N`, so they are
processed after the earlier batches and never displace their files in deduplication.
Standard library only.
"""
import argparse
import json
import os
import re
import sys
import tarfile
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import build_js_corpus as B  # noqa: E402

NAME_OK = re.compile(r"^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$")
# Packages that ship no hand-written source worth training on.
SKIP = re.compile(r"^@types/|^@esbuild/|^@rollup/rollup-|^@swc/core-|^@next/swc-|^@img/|"
                  r"-(darwin|linux|win32|android|freebsd)-(x64|arm64|ia32|arm)|^@parcel/watcher-|"
                  r"^@typescript/native-preview-|-wasm32-wasi$")


def package_json(path):
    """The package.json that build_js_corpus.py reads (the shallowest), or None."""
    try:
        with tarfile.open(path, "r:gz") as tf:
            top = B.top_package_json([m for m in tf.getmembers() if m.isfile()])
            return B.read_json_member(tf, top) if top else None
    except Exception:  # noqa: BLE001 - a broken tarball just contributes nothing
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--top", type=int, default=1500)
    ap.add_argument("--min-refs", type=int, default=2)
    ap.add_argument("--append", type=int, default=0, help="append as batch N to js_packages.txt")
    a = ap.parse_args()

    names = set(B.read_package_list())
    index = json.load(open(os.path.join(B.CACHE, "index.json")))
    refs = Counter()
    for name, info in index.items():
        if name not in names:  # only the listed packages' references (the cache may hold others)
            continue
        pj = package_json(os.path.join(B.CACHE, info["filename"]))
        if not pj:
            continue
        deps = set()
        for field in ("dependencies", "peerDependencies", "optionalDependencies", "devDependencies"):
            d = pj.get(field)
            if isinstance(d, dict):
                deps.update(d)
        for d in deps:
            refs[d] += 1
    picked = [n for n, c in refs.most_common()
              if c >= a.min_refs and n not in names and NAME_OK.match(n) and not SKIP.search(n)
              and not B.GENERATED_PKGS.search(n) and not B.BENCHMARK_NAMES.search(n)][:a.top]
    print(f"{len(refs)} dependency names, {len(picked)} new picked "
          f"(refs {refs[picked[0]] if picked else 0}..{refs[picked[-1]] if picked else 0})",
          file=sys.stderr)
    if a.append:
        with open(B.PKG_LIST, "a") as f:
            f.write(f"# === batch {a.append}: names most referenced by the packages of the earlier "
                    f"batches (expand_js_list.py --top {a.top} --min-refs {a.min_refs})\n")
            for n in sorted(picked):
                f.write(n + "\n")
    else:
        for n in picked:
            print(n)


if __name__ == "__main__":
    main()
