#!/usr/bin/env python3
"""More TypeScript/JavaScript for training, from Debian's JavaScript *source* packages.

    python3 training/corpus/build_debsrc_js_corpus.py [--max-mb 300] [--jobs 8] [--offline]

npm tarballs of build tools and libraries written in TypeScript often ship only compiled `dist/`
code, which build_js_corpus.py drops. Debian packages the same projects from their upstream
release tarballs (`.orig.tar.*`), which hold the hand-written source. This reads them:
  1. Every source package of Section `javascript` in the apt source index (a `deb-src` entry for
     deb.debian.org; `apt-get update` first), its `.orig.tar.*` and `.orig-COMPONENT.tar.*` files of
     at most 20 MB, fetched from the mirror into training/data/debsrc-cache/ (kept between runs).
  2. Each tarball is read by build_js_corpus.process_tarball: the licence field of its shallowest
     package.json must be permissive (the npm corpus's rule, so a monorepo with an unlicensed
     private root is left out), and the same file filters apply (no dist/bundle/vendor/fixture
     paths, no minified, generated, .d.ts or compiled-beside-source files).
  3. No file can join validation: files under any package.json whose name the npm split puts in
     validation (sha1(name) % 20 == 0) are dropped, and the npm corpus's train and validation files
     are loaded first into the exact and near-duplicate filters (MinHash as build_js_corpus.py), so
     a file already in the npm corpus, or close to one, is dropped too.
  4. Packages in name order until --max-mb of text; written to training/data/js_debsrc_train.jsonl.xz
     (records as js_train's, plus `src`, the Debian source package) with MANIFEST_js_debsrc.json.
prep.py --js-extra FILE adds it to js_train only.
Standard library + numpy only.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import lzma
import os
import re
import subprocess
import sys
import tarfile
import urllib.request
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import build_js_corpus as B  # noqa: E402

CACHE = os.path.join(B.DATA, "debsrc-cache")
OUT = os.path.join(B.DATA, "js_debsrc_train.jsonl.xz")
MANIFEST = os.path.join(HERE, "MANIFEST_js_debsrc.json")
MIRROR = "http://deb.debian.org/debian"
MAX_TARBALL = 20_000_000
XZ_LIMIT = 60 * 1024 * 1024


def source_index() -> str:
    """The text of the apt source index (Sources), decompressed by apt's own helper."""
    paths = sorted(glob.glob("/var/lib/apt/lists/*_source_Sources*"))
    if not paths:
        sys.exit("no apt source index: add a deb-src entry for deb.debian.org and run apt-get update "
                 "(training/corpus/README.md)")
    return "".join(subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", p], check=True,
                                  capture_output=True, text=True).stdout for p in paths)


def stanza_field(st: str, key: str) -> str:
    """One field of a Sources stanza ("" when absent)."""
    m = re.search(rf"^{key}: (.*)$", st, re.M)
    return m[1] if m else ""


def stanza_tarballs(st: str, keep) -> list[dict]:
    """The `.tar.*` files (no signatures) of a Sources stanza's `Files:` list that keep(name, size)
    accepts, as {"file", "size"}."""
    files = re.search(r"^Files:\n((?: .*\n?)+)", st, re.M)
    out = []
    for line in files.group(1).strip("\n").split("\n") if files else []:
        _md5, size, name = line.split()
        if ".tar." in name and not name.endswith(".asc") and keep(name, int(size)):
            out.append({"file": name, "size": int(size)})
    return out


def candidates(text: str) -> list[dict]:
    """Section-javascript source packages, newest version each, with their orig tarballs."""
    best: dict[str, dict] = {}
    for st in text.split("\n\n"):
        if not re.search(r"^Section: javascript$", st, re.M):
            continue
        tars = stanza_tarballs(st, lambda name, size: ".orig" in name and size <= MAX_TARBALL)
        pkg, ver = stanza_field(st, "Package"), stanza_field(st, "Version")
        if not tars or B.BENCHMARK_NAMES.search(pkg):
            continue
        old = best.get(pkg)
        if old is None or vercmp_gt(ver, old["version"]):
            best[pkg] = {"source": pkg, "version": ver, "dir": stanza_field(st, "Directory"), "tarballs": tars}
    return [best[k] for k in sorted(best)]


def vercmp_gt(a: str, b: str) -> bool:
    return subprocess.run(["dpkg", "--compare-versions", a, "gt", b]).returncode == 0


def fetch(c: dict, t: dict, cache: str = CACHE) -> str | None:
    """One mirror file (`c["dir"]`/`t["file"]`, `t["size"]` bytes) into `cache`; None if it fails."""
    path = os.path.join(cache, t["file"])
    if os.path.exists(path) and os.path.getsize(path) == t["size"]:
        return path
    try:
        with urllib.request.urlopen(f"{MIRROR}/{c['dir']}/{t['file']}", timeout=120) as r:
            data = r.read()
    except Exception as e:  # noqa: BLE001
        print(f"[fetch] {t['file']}: {e}", flush=True)
        return None
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return path


def fetch_all(jobs: list, cache: str, offline: bool, threads: int) -> list:
    """The local path of each (c, t) of `jobs` (None where missing), fetched unless `offline`."""
    if offline:
        return [os.path.join(cache, t["file"]) if os.path.exists(os.path.join(cache, t["file"])) else None
                for _, t in jobs]
    with ThreadPoolExecutor(threads) as ex:
        return list(ex.map(lambda ct: fetch(*ct, cache), jobs))


def val_dirs(path: str) -> list[str]:
    """Directories (relative to the tarball's package root) whose package.json names a package
    the npm split puts in validation."""
    out = []
    with tarfile.open(path, "r:*") as tf:
        members = [m for m in tf.getmembers() if m.isfile()]
        top = B.top_package_json(members)
        if top is None:
            return out
        prefix = top[: -len("package.json")]
        for m in members:
            if not m.name.endswith("/package.json") and m.name != "package.json":
                continue
            if "node_modules/" in m.name or not m.name.startswith(prefix):
                continue
            try:
                name = B.read_json_member(tf, m.name).get("name")
            except Exception:  # noqa: BLE001
                continue
            if isinstance(name, str) and B.split_of(name) == "val":
                out.append(m.name[len(prefix):-len("package.json")])
    return out


def work(args):
    spec, path = args
    meta, files, drops = B.process_tarball((spec, path))
    if meta.get("error"):
        return meta, [], drops
    try:
        vd = val_dirs(path)
    except Exception as e:  # noqa: BLE001
        meta["error"] = f"bad tarball: {e!r}"
        return meta, [], drops
    if B.split_of(meta["name"]) == "val" or "" in vd:
        meta["error"] = "validation_package"
        return meta, [], drops
    kept = []
    for p, text in files:
        if any(p.startswith(d) for d in vd):
            drops["validation_subpackage"] += 1
            continue
        kept.append((p, text))
    return meta, kept, drops


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-mb", type=float, default=300.0, help="text kept in total (MB)")
    ap.add_argument("--jobs", type=int, default=8, help="parallel downloads")
    ap.add_argument("--workers", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    ap.add_argument("--offline", action="store_true", help="use only cached tarballs")
    a = ap.parse_args()
    os.makedirs(CACHE, exist_ok=True)
    cands = candidates(source_index())
    jobs = [(c, t) for c in cands for t in c["tarballs"]]
    print(f"{len(cands)} javascript source packages, {len(jobs)} orig tarballs, "
          f"{sum(t['size'] for _, t in jobs) / 1e6:.0f} MB", flush=True)
    paths = fetch_all(jobs, CACHE, a.offline, a.jobs)
    failed = sorted(t["file"] for (_, t), p in zip(jobs, paths) if p is None)

    # the npm corpus first: nothing it holds (train or validation), or anything close, is added
    exact, nd = set(), B.NearDup()
    for path in (B.OUT_TRAIN, B.OUT_VAL):
        with lzma.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                t = json.loads(line)["text"]
                exact.add(hashlib.sha1(t.encode()).digest())
                nd.check_add(B.minhash(t))
    print(f"npm corpus loaded: {len(exact)} files", flush=True)

    todo = [(f"debian:{c['source']}/{t['file']}", p) for (c, t), p in zip(jobs, paths) if p]
    src_of = {f"debian:{c['source']}/{t['file']}": c for c, t in jobs}
    drops, packages, out, total = Counter(), {}, [], 0
    cap = int(a.max_mb * 1e6)
    with ProcessPoolExecutor(a.workers) as ex:
        for meta, files, d in ex.map(work, todo, chunksize=1):
            drops.update(d)
            c = src_of[meta["spec"]]
            key = meta["spec"].split(":", 1)[1]
            entry = {"source": c["source"], "debian_version": c["version"], "name": meta.get("name"),
                     "version": meta.get("version"), "license": meta.get("license"),
                     "files": 0, "bytes": 0, "approx_tokens": 0}
            if meta.get("error"):
                entry["skipped"] = meta["error"]
                packages[key] = entry
                continue
            pkg_bytes = 0
            for path, text in files:
                h = hashlib.sha1(text.encode()).digest()
                if h in exact:
                    drops["exact_dup"] += 1; continue
                n = len(text.encode("utf-8"))
                if pkg_bytes + n > B.PER_PKG_CAP:
                    drops["per_package_cap"] += 1; continue
                if total + n > cap:
                    drops["total_cap"] += 1; continue
                exact.add(h)
                if nd.check_add(B.minhash(text)):
                    drops["near_dup"] += 1; continue
                pkg_bytes += n
                total += n
                out.append({"pkg": f"{meta['name']}@{meta['version']}", "path": path,
                            "lang": B.lang_of(path), "text": text, "src": c["source"]})
                entry["files"] += 1
            entry["bytes"], entry["approx_tokens"] = pkg_bytes, int(pkg_bytes / 3.2)
            packages[key] = entry
            if entry["files"]:
                print(f"[build] {key} {meta['name']}@{meta['version']} {entry['license']} "
                      f"{entry['files']} files {pkg_bytes / 1e6:.2f} MB (total {total / 1e6:.1f} MB)", flush=True)

    out.sort(key=lambda r: (r["src"], r["pkg"], r["path"]))
    B.write_jsonl_xz(OUT, out)
    lang = Counter(r["lang"] for r in out)
    raw = sum(len(r["text"].encode()) for r in out)
    manifest = {
        "description": "TS/JS from the orig tarballs of Debian's Section-javascript source packages, "
                       "licence from each tarball's package.json; training only; approx_tokens = bytes / 3.2.",
        "allowed_licenses": sorted(B.ALLOWED_LICENSES),
        "totals": {"source_packages": len(cands), "tarballs": len(jobs),
                   "tarballs_with_files": sum(1 for p in packages.values() if p["files"]),
                   "files": len(out), "files_by_lang": dict(lang), "raw_bytes": raw,
                   "approx_tokens": int(raw / 3.2), "xz_bytes": os.path.getsize(OUT)},
        "dropped_files_by_reason": dict(sorted(drops.items())),
        "skipped_tarballs_by_reason": dict(Counter(p["skipped"] for p in packages.values() if "skipped" in p)),
        "fetch_failed": failed,
        "tarballs": dict(sorted(packages.items())),
    }
    B.write_manifest(MANIFEST, manifest)
    if os.path.getsize(OUT) > XZ_LIMIT:
        sys.exit(f"ERROR: {OUT} is over {XZ_LIMIT >> 20} MiB; lower --max-mb")


if __name__ == "__main__":
    main()
