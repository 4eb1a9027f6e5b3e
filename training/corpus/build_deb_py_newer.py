#!/usr/bin/env python3
"""More Python for training, from the next Debian release's `python3-*` packages (session 33).

    python3 training/corpus/build_deb_py_newer.py [--suite trixie] [--jobs 8] [--offline]

build_deb_py_corpus.py reads the python3-* packages of this machine's apt sources (bookworm). The
next release (trixie) has about 1,400 python3-* packages that bookworm does not, and newer versions
of most that it does. This reads them with the same rules:
  1. The suite's package indexes (`dists/SUITE/main/binary-{all,amd64}/Packages.xz`, fetched from the
     mirror into training/data/SUITE-lists/). Candidates: python3-* packages of at most 8 MB (debug,
     doc, dev and test packages left out) that bookworm does not have (`new`), and newer versions of
     those MANIFEST_py_deb.json holds (`newer`).
  2. The .deb files, fetched by their `Filename` into training/data/deb-cache-SUITE/.
  3. build_deb_py_corpus.read_deb and its licence rule (DEP-5 copyright, permissive terms only).
  4. A `new` package keeps its top-level modules that no other corpus holds (the GPU machine's
     MANIFEST_py.json, MANIFEST_py_deb.json, MANIFEST_py_debapp.json) and that prep.py's split does
     not put in validation. A `newer` package keeps only files at paths its bookworm version did not
     have (new modules, not edited copies of old ones).
  5. Exact and near-duplicate removal (MinHash as build_js_corpus.py) with every other Debian Python
     corpus loaded first; written as training/data/py_debnew_train.jsonl.xz with
     MANIFEST_py_debnew.json. prep.py --py-extra adds it to py_train.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import os
import re
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import build_deb_py_corpus as P  # noqa: E402
from build_js_corpus import NearDup, minhash  # noqa: E402
from py_filters import is_val  # noqa: E402

MIRROR = "http://deb.debian.org/debian"
OUT = os.path.join(P.DATA, "py_debnew_train.jsonl.xz")
MANIFEST = os.path.join(HERE, "MANIFEST_py_debnew.json")
OTHER = ("py_deb_train.jsonl.xz", "py_debapp_train.jsonl.xz", "py_debsrc_train.jsonl.xz",
         "py_debcont_train.jsonl.xz")


def suite_packages(suite: str, offline: bool) -> dict:
    d = os.path.join(P.DATA, f"{suite}-lists")
    os.makedirs(d, exist_ok=True)
    recs = {}
    for arch in ("all", "amd64"):
        path = os.path.join(d, f"Packages-{arch}.xz")
        if not offline and not os.path.exists(path):
            urllib.request.urlretrieve(f"{MIRROR}/dists/{suite}/main/binary-{arch}/Packages.xz", path)
        with lzma.open(path, "rt", encoding="utf-8") as f:
            for st in f.read().split("\n\n"):
                r = dict(re.findall(r"^([A-Za-z-]+): (.*)$", st, re.M))
                if "Package" in r:
                    recs[r["Package"]] = r
    return recs


def fetch(cache: str, r: dict) -> str | None:
    path = os.path.join(cache, os.path.basename(r["Filename"]))
    if os.path.exists(path) and os.path.getsize(path) == int(r["Size"]):
        return path
    try:
        with urllib.request.urlopen(f"{MIRROR}/{r['Filename']}", timeout=120) as resp:
            data = resp.read()
    except Exception as e:  # noqa: BLE001
        print(f"[fetch] {r['Package']}: {e}", flush=True)
        return None
    with open(path + ".part", "wb") as f:
        f.write(data)
    os.replace(path + ".part", path)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", default="trixie")
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--offline", action="store_true")
    a = ap.parse_args()
    recs = suite_packages(a.suite, a.offline)
    bookworm = set(P.candidates().keys())  # python3-* of this machine's sources
    deb_man = json.load(open(P.MANIFEST))["packages"]
    cands = {}
    for n, r in recs.items():
        if not n.startswith("python3-") or re.search(r"-(dbg|doc|dev|dbgsym|tests?)$", n):
            continue
        if int(r.get("Size", "0") or 0) > P.MAX_DEB:
            continue
        if n not in bookworm:
            cands[n] = "new"
        elif n in deb_man and r["Version"] != deb_man[n]["version"]:
            cands[n] = "newer"
    print(f"{a.suite}: {sum(v == 'new' for v in cands.values())} new python3-* packages, "
          f"{sum(v == 'newer' for v in cands.values())} newer versions of corpus packages", flush=True)
    cache = os.path.join(P.DATA, f"deb-cache-{a.suite}")
    os.makedirs(cache, exist_ok=True)
    names = sorted(cands, key=lambda n: hashlib.sha1(n.encode()).hexdigest())
    if a.offline:
        paths = {n: os.path.join(cache, os.path.basename(recs[n]["Filename"])) for n in names}
        paths = {n: p for n, p in paths.items() if os.path.exists(p)}
    else:
        with ThreadPoolExecutor(a.jobs) as ex:
            got = list(ex.map(lambda n: fetch(cache, recs[n]), names))
        paths = {n: p for n, p in zip(names, got) if p}
    print(f"{len(paths)} .deb files", flush=True)

    taken = {k.lower() for k in json.load(open(P.GPU_MANIFEST))["packages"]}
    for m in (P.MANIFEST, P.MANIFEST_APPS):
        for e in json.load(open(m))["packages"].values():
            taken |= {t.lower() for t in e["top_level"]}
    seen, near, old_paths = set(), NearDup(), {}
    for name in OTHER:
        p = os.path.join(P.DATA, name)
        if not os.path.exists(p):
            continue
        with lzma.open(p, "rt", encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                seen.add(hashlib.sha1(r["text"].encode()).digest())
                near.check_add(minhash(r["text"]))
                if name == OTHER[0]:
                    old_paths.setdefault(r["pkg"], set()).add(r["path"])
    print(f"other Debian corpora loaded: {len(seen)} files", flush=True)
    # bookworm paths a `newer` package had, its dropped files included: read from the old .deb
    old_debs = {f.split("_")[0]: os.path.join(P.CACHE, f) for f in os.listdir(P.CACHE) if f.endswith(".deb")}

    drops = {"licence": 0, "no_python": 0, "taken_or_validation": 0, "old_path": 0, "duplicate": 0,
             "near_duplicate": 0}
    out, pkgs = [], {}
    order = [n for n in names if n in paths]
    with ThreadPoolExecutor(2) as ex:
        for n, (name, lic, ok, tops) in zip(order, ex.map(lambda n: P.read_deb(paths[n]), order)):
            if not tops:
                drops["no_python"] += 1; continue
            if not ok:
                drops["licence"] += 1; continue
            kind = cands[n]
            had = set()
            if kind == "newer":
                had = set(old_paths.get(n, ()))
                if n in old_debs:
                    try:
                        had |= {rel for fl in P.read_deb(old_debs[n])[3].values() for rel, _ in fl}
                    except Exception:  # noqa: BLE001
                        pass
            files, nbytes, kept_tops = 0, 0, []
            for top, fl in sorted(tops.items()):
                if is_val(top) or (kind == "new" and top in taken):
                    drops["taken_or_validation"] += len(fl); continue
                for rel, t in fl:
                    if rel in had:
                        drops["old_path"] += 1; continue
                    h = hashlib.sha1(t.encode()).digest()
                    if h in seen:
                        drops["duplicate"] += 1; continue
                    seen.add(h)
                    if near.check_add(minhash(t)):
                        drops["near_duplicate"] += 1; continue
                    files += 1
                    nbytes += len(t.encode())
                    out.append({"pkg": n, "top": top, "path": rel, "text": t})
                    if top not in kept_tops:
                        kept_tops.append(top)
            if files:
                pkgs[n] = {"version": recs[n]["Version"], "kind": kind, "licence": lic, "top_level": kept_tops,
                           "files": files, "bytes": nbytes, "approx_tokens": int(nbytes / 3.2)}
                print(f"[build] {n} {kind} {'/'.join(lic)[:40]} {files} files {nbytes / 1e6:.2f} MB", flush=True)
    with lzma.open(OUT, "wt", encoding="utf-8", preset=9 | lzma.PRESET_EXTREME) as f:
        for r in out:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    raw = sum(p["bytes"] for p in pkgs.values())
    man = {"source": f"Debian {a.suite} python3-* packages: new since bookworm, and new files of newer versions",
           "totals": {"packages": len(pkgs), "new": sum(p["kind"] == "new" for p in pkgs.values()),
                      "newer": sum(p["kind"] == "newer" for p in pkgs.values()), "files": len(out),
                      "raw_bytes": raw, "approx_tokens": int(raw / 3.2), "xz_bytes": os.path.getsize(OUT)},
           "dropped": drops, "packages": pkgs}
    json.dump(man, open(MANIFEST, "w"), indent=1, sort_keys=True)
    print(json.dumps(man["totals"]), json.dumps(drops))


if __name__ == "__main__":
    main()
