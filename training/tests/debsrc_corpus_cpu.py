"""Checks of the TS/JS corpus from Debian source packages (training/corpus/build_debsrc_js_corpus.py)
and of how prep.py adds it (--js-extra): the source index is read right, licences and file filters
are the npm corpus's, and nothing of a validation package joins js_train. No network, no GPU.

    python3 training/tests/debsrc_corpus_cpu.py
"""
import hashlib
import io
import json
import lzma
import os
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "corpus"))
import build_debsrc_js_corpus as D  # noqa: E402
import build_js_corpus as B  # noqa: E402


def name_in(split, start=0):
    i = start
    while B.split_of(f"pkg{i}") != split:
        i += 1
    return f"pkg{i}"


VAL = name_in("val")
TRAIN, TRAIN2 = name_in("train"), name_in("train", int(name_in("train")[3:]) + 1)
CODE = "export function add(a: number, b: number): number {\n  return a + b;\n}\n" * 6


def tarball(path, files):
    with tarfile.open(path, "w:xz") as tf:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def pj(name, lic="MIT"):
    return json.dumps({"name": name, "version": "1.0.0", "license": lic})


def test_candidates():
    stanza = ("Package: {p}\nVersion: {v}\nSection: {s}\nDirectory: pool/main/n/{p}\nFiles:\n"
              " 00 100 {p}_{v}.dsc\n 00 2000 {p}_{v}.orig.tar.gz\n 00 300 {p}_{v}.orig-types-x.tar.xz\n"
              " 00 30000000 {p}_{v}.orig-huge.tar.xz\n 00 10 {p}_{v}.orig.tar.gz.asc\n 00 50 {p}_{v}-1.debian.tar.xz\n")
    text = "\n".join([stanza.format(p="node-a", v="1.0", s="javascript"),
                      stanza.format(p="node-a", v="2.0", s="javascript"),
                      stanza.format(p="python-b", v="1.0", s="python")])
    c = D.candidates(text)
    assert [x["source"] for x in c] == ["node-a"], c
    assert c[0]["version"] == "2.0" and c[0]["dir"] == "pool/main/n/node-a"
    # the orig tarball and its component, not the signature, the Debian patches or one over 20 MB
    assert [t["file"] for t in c[0]["tarballs"]] == ["node-a_2.0.orig.tar.gz", "node-a_2.0.orig-types-x.tar.xz"]


def test_work_drops_validation_subpackages(tmp):
    p = os.path.join(tmp, "mono.orig.tar.xz")
    tarball(p, {"mono-1.0/package.json": pj(TRAIN), "mono-1.0/src/a.ts": CODE,
                f"mono-1.0/packages/v/package.json": pj(VAL), "mono-1.0/packages/v/src/b.ts": CODE + "//b\n",
                "mono-1.0/packages/t/package.json": pj(TRAIN2), "mono-1.0/packages/t/src/c.ts": CODE + "//c\n",
                "mono-1.0/dist/a.js": CODE.replace(": number", ""), "mono-1.0/src/a.d.ts": CODE})
    meta, kept, drops = D.work(("debian:mono/mono.orig.tar.xz", p))
    assert not meta.get("error"), meta
    assert sorted(path for path, _ in kept) == ["packages/t/src/c.ts", "src/a.ts"], kept
    assert drops["validation_subpackage"] == 1 and drops["bundle_dist_path"] == 1 and drops["d_ts"] == 1, drops


def test_work_skips_validation_root_and_licence(tmp):
    p = os.path.join(tmp, "val.orig.tar.xz")
    tarball(p, {"v-1.0/package.json": pj(VAL), "v-1.0/src/a.ts": CODE})
    assert D.work(("debian:v/val.orig.tar.xz", p))[0]["error"] == "validation_package"
    p = os.path.join(tmp, "gpl.orig.tar.xz")
    tarball(p, {"g-1.0/package.json": pj(TRAIN, "GPL-3.0"), "g-1.0/src/a.ts": CODE})
    assert D.work(("debian:g/gpl.orig.tar.xz", p))[0]["error"] == "licence"


def test_prep_js_extra(tmp):
    from prep import js_extra
    f = os.path.join(tmp, "extra.jsonl.xz")
    recs = [{"pkg": f"{VAL}@1.0.0", "path": "a.ts", "text": CODE + "//1\n"},          # validation package
            {"pkg": f"{TRAIN}@1.0.0", "path": "b.ts", "text": CODE},                  # already in the npm corpus
            {"pkg": f"{TRAIN}@1.0.0", "path": "c.ts", "text": CODE + "//3\n"},        # kept
            {"pkg": f"@scope/{TRAIN2}@2.0.0", "path": "d.ts", "text": CODE + "//4\n"}]
    with lzma.open(f, "wt", encoding="utf-8") as w:
        for r in recs:
            w.write(json.dumps(r) + "\n")
    seen = {hashlib.sha1(CODE.encode()).digest()}
    out = js_extra([f], seen)
    scoped_val = B.split_of(f"@scope/{TRAIN2}") == "val"
    want = [f"{TRAIN}@1.0.0"] + ([] if scoped_val else [f"@scope/{TRAIN2}@2.0.0"])
    assert [p for p, _ in out] == want, out


def main():
    test_candidates()
    with tempfile.TemporaryDirectory() as tmp:
        test_work_drops_validation_subpackages(tmp)
        test_work_skips_validation_root_and_licence(tmp)
        test_prep_js_extra(tmp)
    print("debsrc corpus checks passed")


if __name__ == "__main__":
    main()
