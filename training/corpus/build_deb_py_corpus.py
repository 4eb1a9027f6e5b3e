#!/usr/bin/env python3
"""More Python for training, from Debian's `python3-*` packages (the only Python registry here).

    python3 training/corpus/build_deb_py_corpus.py [--max-mb 800] [--jobs 4] [--offline] [--apps]

The Python corpus is otherwise the GPU machine's own site-packages (prep.py). This adds packages
that machine does not have:
  1. Every `python3-*` binary package of the apt sources (`apt-cache dumpavail`), newest version,
     at most 8 MB each; debug, doc and dev packages left out.
  2. `apt-get download` into training/data/deb-cache/ (already downloaded files are reused).
  3. Licence from the package's machine-readable `/usr/share/doc/<pkg>/copyright` (DEP-5): every
     stanza except those covering only `debian/*` must name only permissive licences (Expat/MIT,
     BSD, Apache-2.0, ISC, PSF/Python, Zlib, 0BSD, Unlicense, HPND); packages with a free-text
     copyright file, or any copyleft term, are left out.
  4. The `.py` files under usr/lib/python3/dist-packages/, filtered like prep.py (300 B-150 kB, no
     long lines, no benchmark names), grouped by top-level module. A top-level module the GPU
     machine's corpus already has (MANIFEST_py.json) or that prep.py's split puts in validation
     (sha1(name) % 20 == 0) is left out, so no file joins the held-out packages.
  5. Exact and near-duplicate removal (MinHash as build_js_corpus.py), packages in the order of
     sha1(name) (a sample across the alphabet) until --max-mb of text; written as training/data/py_deb_train.jsonl.xz (xz 9e) with
     MANIFEST_py_deb.json (package, version, licence, top-level modules, files, bytes, tokens ~ bytes/3.2).
prep.py --py-extra FILE adds it to py_train (training/README.md says how to carry it).

--apps (session 31): the same for the packages that step 1 leaves out, those not named python3-*
whose Depends or Pre-Depends name python3 (applications and tools written in Python, such as
alembic or the OpenStack services, which install their modules under dist-packages too). Their
`.py` files anywhere under usr/ are read (dist-packages, usr/share/APP/, usr/lib/APP/; the top-level
module of a file outside dist-packages is APP), top-level modules that MANIFEST_py_deb.json already
holds are left out as well, and the output is training/data/py_debapp_train.jsonl.xz with
MANIFEST_py_debapp.json.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from build_js_corpus import NearDup, minhash  # noqa: E402
from py_filters import EXCLUDE, good_text, is_val  # noqa: E402

DATA = os.path.join(ROOT, "training", "data")
CACHE = os.path.join(DATA, "deb-cache")
OUT = os.path.join(DATA, "py_deb_train.jsonl.xz")
MANIFEST = os.path.join(HERE, "MANIFEST_py_deb.json")
GPU_MANIFEST = os.path.join(HERE, "MANIFEST_py.json")
OUT_APPS = os.path.join(DATA, "py_debapp_train.jsonl.xz")
MANIFEST_APPS = os.path.join(HERE, "MANIFEST_py_debapp.json")
OUT_CONT = os.path.join(DATA, "py_debcont_train.jsonl.xz")
MANIFEST_CONT = os.path.join(HERE, "MANIFEST_py_debcont.json")
SITE = "usr/lib/python3/dist-packages/"
MAX_DEB = 8 << 20

# Exact licence names only: "MIT-style", "BSD-like" and the like name a free text that was not
# read, and BSD-4-clause carries the advertising clause; those packages are left out.
PERMISSIVE = re.compile(
    r"^(expat|mit(-0)?|bsd(-[23](-clause)?)?|apache(-2(\.0)?)?|isc|psf(-2(\.0)?)?|python(-2(\.0)?)?|zlib|0bsd|unlicense|hpnd|x11)$"
)
RESTRICTIVE = re.compile(r"gpl|mpl|epl|cddl|cc-by-nc|cc-by-sa|sspl|proprietary|artistic|non-free", re.I)


DEPENDS_PY3 = re.compile(r"(^|[\s,|])python3(:any)?(\s|,|\(|$)")


def contents_packages(paths):
    """Packages that ship .py files, from Debian's Contents indexes (`FILE  section/pkg,...`)."""
    out = set()
    for p in paths:
        with gzip.open(p, "rt", encoding="utf-8", errors="replace") as f:
            for line in f:
                file, _, locs = line.rstrip("\n").rpartition(" ")
                if file.strip().endswith(".py"):
                    out.update(l.rsplit("/", 1)[-1] for l in locs.split(","))
    return out


def candidates(apps=False, contents=None):
    """{package: (version, size)} of python3-* packages (with `apps`: of the other packages that
    depend on python3; with `contents`, a set of names: of those names, less the python3-* and
    `apps` packages), newest version each."""
    out = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, check=True).stdout
    best = {}
    for rec in out.split("\n\n"):
        f = dict(re.findall(r"^([A-Za-z-]+): (.*)$", rec, re.M))
        name = f.get("Package", "")
        if not name or re.search(r"-(dbg|dbgsym)$" if contents is not None else r"-(dbg|doc|dev|dbgsym|tests?)$", name):
            continue  # (--contents: -doc and -tests packages hold examples and test suites)
        if contents is not None:
            if name not in contents or name.startswith("python3-") or \
                    DEPENDS_PY3.search(f"{f.get('Depends', '')},{f.get('Pre-Depends', '')}"):
                continue
        elif apps:
            if name.startswith("python3-") or not DEPENDS_PY3.search(f"{f.get('Depends', '')},{f.get('Pre-Depends', '')}"):
                continue
        elif not name.startswith("python3-"):
            continue
        size = int(f.get("Size", "0") or 0)
        if size > MAX_DEB:
            continue
        ver = f.get("Version", "")
        if name not in best or subprocess.run(["dpkg", "--compare-versions", ver, "gt", best[name][0]]).returncode == 0:
            best[name] = (ver, size)
    return best


def download(names, jobs):
    os.makedirs(CACHE, exist_ok=True)
    have = {f.split("_")[0] for f in os.listdir(CACHE) if f.endswith(".deb")}
    todo = [n for n in names if n not in have]
    batches = [todo[i:i + 24] for i in range(0, len(todo), 24)]

    def get(batch):
        r = subprocess.run(["apt-get", "download", "-q", *batch], cwd=CACHE, capture_output=True, text=True)
        if r.returncode != 0:  # one bad name fails the batch: retry one by one
            for n in batch:
                subprocess.run(["apt-get", "download", "-q", n], cwd=CACHE, capture_output=True)
    with ThreadPoolExecutor(jobs) as ex:
        for i, _ in enumerate(ex.map(get, batches)):
            if i % 10 == 0:
                print(f"[fetch] {min((i + 1) * 24, len(todo))}/{len(todo)}", flush=True)


def licence_of(copyright_text: str):
    """(names, permissive?) from a DEP-5 copyright file; free-text files are not read."""
    if not re.search(r"^Format:", copyright_text, re.M):
        return ["free-text"], False
    names, ok = [], True
    for stanza in re.split(r"\n\s*\n", copyright_text):
        files = re.search(r"^Files:(.*(?:\n[ \t].*)*)", stanza, re.M)
        lic = re.search(r"^License:[ \t]*(.*)$", stanza, re.M)
        if not files or not lic:
            continue
        pats = files.group(1).split()
        if pats and all(p.startswith("debian/") for p in pats):
            continue  # Debian's packaging, not the upstream code we read
        name = lic.group(1).strip()
        names.append(name)
        if RESTRICTIVE.search(name):
            ok = False
            continue
        parts = [p.strip().lower() for p in re.split(r"\s+(?:or|and)\s+|,", name) if p.strip()]
        if not parts or not all(PERMISSIVE.match(p.rstrip("+")) for p in parts):
            ok = False
    return sorted(set(names)) or ["none"], ok and bool(names)


def py_path(p, anywhere):
    """(path relative to its module root, top-level name) of a .py file in a .deb, or None."""
    if p.startswith(SITE):
        rel = p[len(SITE):]
    elif anywhere and p.startswith("usr/share/doc/"):
        rel = p[len("usr/share/doc/"):]  # PKG/examples/...: top-level name PKG
        if "/" not in rel:
            return None
    elif anywhere and p.startswith(("usr/share/", "usr/lib/")) and "/dist-packages/" not in p and "/site-packages/" not in p:
        rel = p.split("/", 2)[2]  # APP/...
        if "/" not in rel:
            return None
    else:
        return None
    top = rel.split("/")[0]
    return rel, top[:-3] if top.endswith(".py") else top


def read_deb(path, anywhere=False):
    """(package, licence names, permissive?, {top: [(path, text)]}) of one .deb; `anywhere`: .py
    files under usr/share/ and usr/lib/ too, not only dist-packages."""
    name = os.path.basename(path).split("_")[0]
    tar_bytes = subprocess.run(["dpkg-deb", "--fsys-tarfile", path], capture_output=True, check=True).stdout
    tops, copyright_text = {}, ""
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tf:
        for m in tf.getmembers():
            p = m.name.lstrip("./")
            if p == f"usr/share/doc/{name}/copyright" and m.isfile():
                copyright_text = tf.extractfile(m).read().decode("utf-8", "replace")
            if not (m.isfile() and p.endswith(".py")):
                continue
            where = py_path(p, anywhere)
            if where is None:
                continue
            if not 300 <= m.size <= 150_000 or any(e in p.lower() for e in EXCLUDE):
                continue
            rel, top = where
            try:
                t = tf.extractfile(m).read().decode("utf-8").replace("\r\n", "\n")
            except UnicodeDecodeError:
                continue
            if good_text(t):
                tops.setdefault(top.split("-")[0].lower(), []).append((rel, t))
    names, ok = licence_of(copyright_text)
    return name, names, ok, tops


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-mb", type=float, default=800, help="text kept, MB (xz 9e: ~0.14 of it)")
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--offline", action="store_true", help="only the .deb files already in the cache")
    ap.add_argument("--apps", action="store_true", help="packages not named python3-* that depend on python3")
    ap.add_argument("--contents", nargs="+", metavar="Contents-ARCH.gz",
                    help="the other packages that ship .py files, from Debian's Contents indexes")
    a = ap.parse_args()
    if a.contents:
        a.apps = True  # .py files anywhere under usr/, as for --apps
        out_path, man_path = OUT_CONT, MANIFEST_CONT
        cands = candidates(contents=contents_packages(a.contents))
        kind = "other packages with .py files (Contents index)"
    else:
        out_path, man_path = (OUT_APPS, MANIFEST_APPS) if a.apps else (OUT, MANIFEST)
        cands = candidates(a.apps)
        kind = "other packages depending on python3" if a.apps else "python3-* packages"
    print(f"{len(cands)} {kind}, of at most {MAX_DEB >> 20} MB", flush=True)
    if not a.offline:
        download(sorted(cands), a.jobs)
    gpu_tops = {k.lower() for k in json.load(open(GPU_MANIFEST))["packages"]}
    if a.apps:  # what the python3-* corpus (and, for --contents, the apps corpus) holds already
        for m in (MANIFEST, MANIFEST_APPS) if a.contents else (MANIFEST,):
            for e in json.load(open(m))["packages"].values():
                gpu_tops |= {t.lower() for t in e["top_level"]}
    debs = [os.path.join(CACHE, f) for f in os.listdir(CACHE) if f.endswith(".deb") and f.split("_")[0] in cands]
    # a sample across the alphabet when the cap is reached, the same on every machine
    debs.sort(key=lambda p: hashlib.sha1(os.path.basename(p).split("_")[0].encode()).hexdigest())
    drops = {"licence": 0, "on_gpu_machine": 0, "validation_split": 0, "duplicate": 0, "near_duplicate": 0, "cap": 0, "no_python": 0}
    near, seen, recs, pkgs = NearDup(), set(), [], {}
    if a.contents:  # nothing the other Debian corpora hold, or anything close, is added again
        for p in (OUT, OUT_APPS, os.path.join(DATA, "py_debsrc_train.jsonl.xz")):
            if os.path.exists(p):
                with lzma.open(p, "rt", encoding="utf-8") as f:
                    for line in f:
                        t = json.loads(line)["text"]
                        seen.add(hashlib.sha1(t.encode()).digest())
                        near.check_add(minhash(t))
        print(f"other Debian corpora loaded: {len(seen)} files", flush=True)
    total, cap = 0, int(a.max_mb * 1e6)
    with ThreadPoolExecutor(a.jobs) as ex:
        for i, (name, lic, ok, tops) in enumerate(ex.map(lambda d: read_deb(d, a.apps), debs)):
            if total >= cap - 50_000:  # full: the packages after this one are not read
                drops["cap"] = f"{drops['cap']} files, then {len(debs) - i} packages not read"
                ex.shutdown(wait=False, cancel_futures=True)
                break
            if not tops:
                drops["no_python"] += 1
                continue
            if not ok:
                drops["licence"] += 1
                continue
            kept_tops, files, nbytes = [], 0, 0
            for top, fl in sorted(tops.items()):
                if top in gpu_tops:
                    drops["on_gpu_machine"] += len(fl)
                    continue
                if is_val(top):
                    drops["validation_split"] += len(fl)
                    continue
                for rel, t in fl:
                    h = hashlib.sha1(t.encode()).digest()
                    if h in seen:
                        drops["duplicate"] += 1
                        continue
                    seen.add(h)
                    if near.check_add(minhash(t)):
                        drops["near_duplicate"] += 1
                        continue
                    n = len(t.encode())
                    if total + n > cap:
                        drops["cap"] += 1
                        continue
                    total += n
                    files += 1
                    nbytes += n
                    recs.append({"pkg": name, "top": top, "path": rel, "text": t})
                kept_tops.append(top)
            if files:
                ver = cands[name][0]
                pkgs[name] = {"version": ver, "licence": lic, "top_level": kept_tops, "files": files,
                              "bytes": nbytes, "approx_tokens": int(nbytes / 3.2)}
                print(f"[build] {name} {ver} {'/'.join(lic)[:40]} {files} files {nbytes / 1e6:.2f} MB (total {total / 1e6:.1f} MB)", flush=True)
    with lzma.open(out_path, "wt", encoding="utf-8", preset=9 | lzma.PRESET_EXTREME) as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    man = {"source": "Debian packages that ship .py files (Contents index), not named python3-* and not "
                     "depending on python3 (apt sources of the development machine)" if a.contents else
           "Debian packages not named python3-* that depend on python3 (apt sources of the development machine)"
           if a.apps else "Debian python3-* packages (apt sources of the development machine)",
           "totals": {"packages": len(pkgs), "files": len(recs), "raw_bytes": total,
                      "approx_tokens": int(total / 3.2), "xz_bytes": os.path.getsize(out_path)},
           "dropped": drops, "max_mb": a.max_mb, "packages": pkgs}
    json.dump(man, open(man_path, "w"), indent=1, sort_keys=True)
    print(json.dumps(man["totals"]), json.dumps(drops))


if __name__ == "__main__":
    main()
