"""Licences of the Python packages that the training corpus reads (the GPU machine's site-packages).

Every installed distribution's `*.dist-info/METADATA` names its licence (`License-Expression`,
`License`, `Classifier: License :: ...`); `top_level.txt` or `RECORD` says which top-level import
names it owns. `scan()` maps each top-level name to its distribution, version, licence text and a
verdict: permissive (MIT, BSD, Apache, ISC, PSF, 0BSD, Zlib, Unlicense, HPND) or not (copyleft,
proprietary, or nothing found). `training/prep.py --py-licence permissive` keeps only the
permissive ones.

Usage (writes the manifest that training/corpus/MANIFEST_py.json holds):
    python3 training/corpus/py_licences.py --out MANIFEST_py.json
"""
from __future__ import annotations

import argparse
import email.parser
import json
import os
import re
import sysconfig

PERMISSIVE = [
    (r"\bmit\b|permission is hereby granted, free of charge", "MIT"),
    (r"\bbsd\b|redistribution and use in source and binary forms", "BSD"),
    (r"apache", "Apache"),
    (r"\bisc\b", "ISC"),
    (r"\bpsf\b|python software foundation", "PSF"),
    (r"\b0bsd\b", "0BSD"),
    (r"\bzlib\b", "Zlib"),
    (r"\bunlicense\b", "Unlicense"),
    (r"\bhpnd\b|historical permission notice", "HPND"),
]
# any of these anywhere in the licence text makes the package not permissive (dual licences such as
# "MIT OR GPL" are rare here, and the conservative reading costs little data)
RESTRICTIVE = r"\bgpl|general public|\bmpl\b|mozilla public|proprietary|commercial|\beula\b|non-commercial|\bcc-by-nc|\bsspl|business source"


def classify(texts: list[str]) -> tuple[str, bool]:
    """(short licence name, permissive?) from the licence strings of one distribution."""
    joined = " | ".join(t for t in texts if t and t.strip().upper() not in ("UNKNOWN", "NONE"))
    low = joined.lower()
    if not low.strip():
        return "unknown", False
    if re.search(RESTRICTIVE, low):
        return joined[:80], False
    for pat, name in PERMISSIVE:
        if re.search(pat, low):
            return name, True
    return joined[:80], False


def _metadata(path: str) -> dict:
    with open(path, encoding="utf-8", errors="replace") as f:
        msg = email.parser.Parser().parse(f, headersonly=True)
    texts = []
    for key in ("License-Expression", "License"):
        v = msg.get(key)
        if v:
            texts.append(v.split("\n")[0] if len(v) > 200 else v)  # a whole licence pasted in: its first line
            if len(v) > 200:
                texts.append(v[:2000])
    texts += [c.split("::")[-1].strip() for c in msg.get_all("Classifier") or [] if c.startswith("License ::")]
    return {"name": msg.get("Name", ""), "version": msg.get("Version", ""), "texts": texts}


def _top_levels(dist_info: str) -> set[str]:
    """Top-level import names of a *.dist-info (top_level.txt, RECORD) or *.egg-info (top_level.txt,
    installed-files.txt) folder."""
    tl = os.path.join(dist_info, "top_level.txt")
    names = set()
    if os.path.exists(tl):
        names = {l.strip().split("/")[0] for l in open(tl, encoding="utf-8", errors="replace") if l.strip()}
    rec = os.path.join(dist_info, "RECORD")
    if not os.path.exists(rec):
        rec = os.path.join(dist_info, "installed-files.txt")  # egg-info: paths relative to the folder
        if os.path.exists(rec):
            for line in open(rec, encoding="utf-8", errors="replace"):
                parts = line.strip().split("/")
                if len(parts) >= 2 and parts[0] == "..":
                    first = parts[1]
                    if not first.endswith((".egg-info", ".dist-info")) and first != "__pycache__":
                        names.add(first[:-3] if first.endswith(".py") else first)
            rec = ""
    if rec and os.path.exists(rec):  # RECORD also covers packages that top_level.txt forgets (namespace packages)
        for line in open(rec, encoding="utf-8", errors="replace"):
            first = line.split(",")[0].split("/")[0]
            if not first or first.endswith((".dist-info", ".data")) or first.startswith(("..", "__pycache__")):
                continue
            names.add(first[:-3] if first.endswith(".py") else first)
    return {n.lower() for n in names if n}


def scan(roots=None) -> dict:
    """{top-level name (lower case): {"dist", "version", "licence", "permissive"}}. A name owned by
    several distributions is permissive only if all of them are."""
    roots = roots or sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    out: dict = {}
    for root in roots:
        if not os.path.isdir(root):
            continue
        for d in sorted(os.listdir(root)):
            if not d.endswith((".dist-info", ".egg-info")):
                continue
            di = os.path.join(root, d)
            meta_path = os.path.join(di, "METADATA" if d.endswith(".dist-info") else "PKG-INFO")
            if not os.path.exists(meta_path):
                continue
            m = _metadata(meta_path)
            lic, ok = classify(m["texts"])
            for top in _top_levels(di):
                prev = out.get(top)
                rec = {"dist": m["name"], "version": m["version"], "licence": lic, "permissive": ok}
                if prev is None or (prev["permissive"] and not ok):
                    out[top] = rec
    return out


def py_bytes(roots) -> dict:
    """Bytes of .py files of 300 B - 150 kB (prep.py's size filter) per top-level name."""
    out: dict = {}
    for root in roots:
        for dirpath, dirnames, files in os.walk(root):
            rel = os.path.relpath(dirpath, root)
            for f in files:
                if f.endswith(".py"):
                    top = (rel.split(os.sep)[0] if rel != "." else f[:-3]).split("-")[0].lower()
                    try:
                        sz = os.path.getsize(os.path.join(dirpath, f))
                    except OSError:
                        continue
                    if 300 <= sz <= 150_000:
                        out[top] = out.get(top, 0) + sz
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--root", action="append", help="site-packages folder (default: this Python's)")
    a = ap.parse_args()
    roots = a.root or sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    tab = scan(roots)
    size = py_bytes(roots)
    for top, b in size.items():
        tab.setdefault(top, {"dist": None, "version": None, "licence": "no distribution metadata", "permissive": False})
        tab[top]["py_bytes"] = b
    kept = sum(r.get("py_bytes", 0) for r in tab.values() if r["permissive"])
    total = sum(size.values())
    json.dump({"roots": roots, "py_bytes_total": total, "py_bytes_permissive": kept, "packages": tab},
              open(a.out, "w"), indent=1, sort_keys=True)
    ok = sum(r["permissive"] for r in tab.values())
    print(f"{len(tab)} top-level names, {ok} permissive, {len(tab) - ok} not; "
          f".py bytes {total/1e6:.1f} MB, permissive {kept/1e6:.1f} MB")


if __name__ == "__main__":
    main()
