#!/usr/bin/env python3
"""More Python for training, from the *source* packages behind the Debian Python corpus.

    python3 training/corpus/build_debsrc_py_corpus.py [--max-mb 400] [--jobs 8] [--fetch-only] [--offline]

Debian's binary packages install a library's modules, not its test suite, examples, scripts or
documentation code. The upstream release tarballs (`.orig.tar.*`, or the whole tarball of a native
package) that Debian builds them from hold all of that. This reads them (session 33):
  1. The source packages of every binary package in MANIFEST_py_deb.json and
     MANIFEST_py_debapp.json (their `Source:` field in `apt-cache dumpavail`). Those binaries passed
     build_deb_py_corpus.py's licence rule, which reads the package's DEP-5 copyright file; that
     file describes the whole source package, so its tarballs are under the same permissive terms.
  2. Their tarballs of at most 40 MB (`.debian.tar.*` left out) from the apt source index (a `deb-src`
     entry, as for build_debsrc_js_corpus.py), fetched into training/data/debsrc-py-cache/.
  3. The `.py` files, filtered like the rest of the Python corpus (300 B-150 kB, py_filters.good_text,
     no benchmark names), none under `debian/` or `.pc/` (Debian's own patches). A file is dropped
     when any directory of its path, or its own module name, is a name prep.py's split puts in
     validation (sha1(name) % 20 == 0), so no vendored copy of a held-out package joins training.
  4. py_deb_train and py_debapp_train are loaded first into the exact and near-duplicate filters
     (MinHash as build_js_corpus.py), so the modules the binaries already gave are dropped and what
     is left is mostly tests, examples, tools and build scripts.
  5. Source packages in the order of sha1(name), at most 4 MB of text each, until --max-mb; written
     to training/data/py_debsrc_train.jsonl.xz (xz 9e; records `pkg`, `top`, `path`, `lang`,
     `text`, `src`) with MANIFEST_py_debsrc.json.
prep.py --py-extra FILE adds it to py_train (training/README.md: PY_EXTRA takes several files).
Standard library + numpy only.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import lzma
import os
import re
import subprocess
import sys
import tarfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import build_debsrc_js_corpus as D  # noqa: E402
from build_js_corpus import NearDup, minhash, write_jsonl_xz, write_manifest  # noqa: E402
from py_filters import EXCLUDE, good_text, is_val  # noqa: E402

DATA = os.path.join(HERE, "..", "data")
CACHE = os.path.join(DATA, "debsrc-py-cache")
OUT = os.path.join(DATA, "py_debsrc_train.jsonl.xz")
MANIFEST = os.path.join(HERE, "MANIFEST_py_debsrc.json")
BIN_MANIFESTS = ("MANIFEST_py_deb.json", "MANIFEST_py_debapp.json")
BIN_CORPORA = ("py_deb_train.jsonl.xz", "py_debapp_train.jsonl.xz")
MAX_TARBALL = 40_000_000
PER_SRC_CAP = 4_000_000
XZ_LIMIT = 60 * 1024 * 1024
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def binaries() -> dict:
    out = {}
    for m in BIN_MANIFESTS:
        with open(os.path.join(HERE, m)) as f:
            out.update(json.load(f)["packages"])
    return out


def source_names(bins: dict) -> dict:
    """{source package: [binary packages]} for the binaries named."""
    text = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, check=True).stdout
    out: dict[str, set] = {}
    for rec in text.split("\n\n"):
        f = dict(re.findall(r"^([A-Za-z-]+): (.*)$", rec, re.M))
        p = f.get("Package")
        if p in bins:
            out.setdefault(f.get("Source", p).split()[0], set()).add(p)
    return {k: sorted(v) for k, v in out.items()}


def candidates(index: str, srcs: dict) -> list[dict]:
    best: dict[str, dict] = {}
    for st in index.split("\n\n"):
        m = re.search(r"^Package: (.*)$", st, re.M)
        if not m or m[1] not in srcs:
            continue
        tars = D.stanza_tarballs(st, lambda name, size: ".debian.tar" not in name and size <= MAX_TARBALL)
        ver = D.stanza_field(st, "Version")
        old = best.get(m[1])
        if tars and (old is None or D.vercmp_gt(ver, old["version"])):
            best[m[1]] = {"source": m[1], "version": ver, "dir": D.stanza_field(st, "Directory"), "tarballs": tars,
                          "binaries": srcs[m[1]]}
    return sorted(best.values(), key=lambda c: hashlib.sha1(c["source"].encode()).hexdigest())


def held_out(path: str) -> bool:
    parts = path.split("/")
    names = [p for p in parts[:-1] if IDENT.match(p)]
    stem = parts[-1][:-3]
    if IDENT.match(stem) and stem != "__init__":
        names.append(stem)
    return any(is_val(n) for n in names)


def read_tarball(path: str):
    """[(path inside the tarball, text)] of the .py files that pass the filters, and drop counts."""
    drops, files = Counter(), []
    try:
        with tarfile.open(path, "r:*") as tf:
            for m in tf:
                if not m.isfile() or not m.name.endswith(".py"):
                    continue
                name = m.name.split("/", 1)[1] if "/" in m.name else m.name
                low = name.lower()
                if low.startswith(("debian/", ".pc/")) or "/.pc/" in low:
                    drops["debian_dir"] += 1; continue
                if any(e in low for e in EXCLUDE):
                    drops["benchmark_name"] += 1; continue
                if not 300 <= m.size <= 150_000:
                    drops["size"] += 1; continue
                if held_out(name):
                    drops["validation_name"] += 1; continue
                try:
                    text = tf.extractfile(m).read().decode("utf-8")
                except Exception:  # noqa: BLE001
                    drops["not_utf8"] += 1; continue
                text = text.replace("\r\n", "\n").replace("\r", "\n")
                if not good_text(text):
                    drops["long_lines"] += 1; continue
                files.append((name, text))
    except Exception as e:  # noqa: BLE001
        return None, Counter({f"bad_tarball": 1}), repr(e)
    files.sort()
    return files, drops, None


def work(args):
    key, path = args
    files, drops, err = read_tarball(path)
    return key, files or [], drops, err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-mb", type=float, default=400.0, help="text kept in total (MB)")
    ap.add_argument("--jobs", type=int, default=8, help="parallel downloads")
    ap.add_argument("--workers", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    ap.add_argument("--offline", action="store_true", help="use only cached tarballs")
    ap.add_argument("--fetch-only", action="store_true")
    a = ap.parse_args()
    os.makedirs(CACHE, exist_ok=True)
    bins = binaries()
    cands = candidates(D.source_index(), source_names(bins))
    jobs = [(c, t) for c in cands for t in c["tarballs"]]
    print(f"{len(bins)} binary packages, {len(cands)} source packages, {len(jobs)} tarballs, "
          f"{sum(t['size'] for _, t in jobs) / 1e6:.0f} MB", flush=True)
    paths = D.fetch_all(jobs, CACHE, a.offline, a.jobs)
    failed = sorted(t["file"] for (_, t), p in zip(jobs, paths) if p is None)
    print(f"fetched {sum(1 for p in paths if p)} tarballs, {len(failed)} failed", flush=True)
    if a.fetch_only:
        return

    exact, nd = set(), NearDup()
    for name in BIN_CORPORA:
        with lzma.open(os.path.join(DATA, name), "rt", encoding="utf-8") as f:
            for line in f:
                t = json.loads(line)["text"]
                exact.add(hashlib.sha1(t.encode()).digest())
                nd.check_add(minhash(t))
    print(f"binary corpus loaded: {len(exact)} files", flush=True)

    todo = [(f"{c['source']}/{t['file']}", p) for (c, t), p in zip(jobs, paths) if p]
    src_of = {f"{c['source']}/{t['file']}": c for c, t in jobs}
    drops, sources, out, total = Counter(), {}, [], 0
    cap = int(a.max_mb * 1e6)
    with ProcessPoolExecutor(a.workers) as ex:
        for key, files, d, err in ex.map(work, todo, chunksize=1):
            drops.update(d)
            c = src_of[key]
            e = sources.setdefault(c["source"], {
                "version": c["version"], "binaries": c["binaries"],
                "licence": sorted({l for b in c["binaries"] for l in bins[b].get("licence", [])}),
                "tarballs": [], "files": 0, "bytes": 0})
            e["tarballs"].append(key.split("/", 1)[1] + (f" (unreadable: {err})" if err else ""))
            for path, text in files:
                h = hashlib.sha1(text.encode()).digest()
                if h in exact:
                    drops["exact_dup"] += 1; continue
                n = len(text.encode("utf-8"))
                if e["bytes"] + n > PER_SRC_CAP:
                    drops["per_source_cap"] += 1; continue
                if total + n > cap:
                    drops["total_cap"] += 1; continue
                exact.add(h)
                if nd.check_add(minhash(text)):
                    drops["near_dup"] += 1; continue
                e["bytes"] += n
                e["files"] += 1
                total += n
                top = path.split("/")[0] if "/" in path else path[:-3]  # prep.py's py_extra reads it
                out.append({"pkg": f"{c['source']}@{c['version']}", "top": top, "path": path,
                            "lang": "python", "text": text, "src": c["source"]})
            if files:
                print(f"[build] {key} {e['files']} files {e['bytes'] / 1e6:.2f} MB "
                      f"(total {total / 1e6:.1f} MB)", flush=True)
    for e in sources.values():
        e["approx_tokens"] = int(e["bytes"] / 3.2)
    write_jsonl_xz(OUT, out)
    raw = sum(len(r["text"].encode()) for r in out)
    write_manifest(MANIFEST, {
        "description": "Python from the upstream tarballs of the Debian source packages behind "
                       "MANIFEST_py_deb.json and MANIFEST_py_debapp.json (licence: their DEP-5 copyright "
                       "files, read by build_deb_py_corpus.py); files those binaries already hold, or "
                       "close copies, dropped; training only; approx_tokens = bytes / 3.2.",
        "max_mb": a.max_mb,
        "totals": {"source_packages": len(cands), "tarballs": len(jobs),
                   "sources_with_files": sum(1 for e in sources.values() if e["files"]),
                   "files": len(out), "raw_bytes": raw, "approx_tokens": int(raw / 3.2),
                   "xz_bytes": os.path.getsize(OUT)},
        "dropped_files_by_reason": dict(sorted(drops.items())),
        "fetch_failed": failed,
        "sources": dict(sorted(sources.items())),
    })
    if os.path.getsize(OUT) > XZ_LIMIT:
        sys.exit(f"ERROR: {OUT} is over {XZ_LIMIT >> 20} MiB; lower --max-mb")


if __name__ == "__main__":
    main()
