"""Checks of the Debian Python corpus (training/corpus/build_deb_py_corpus.py) and of how prep.py
adds it (--py-extra): licence reading, and that nothing of a validation package or already in
site-packages joins py_train. No network, no GPU.

    python3 training/tests/deb_corpus_cpu.py
"""
import hashlib
import json
import lzma
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "corpus"))
from build_deb_py_corpus import is_val as deb_is_val, licence_of  # noqa: E402

HEAD = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: x\n\n"


def stanza(files, lic):
    return f"Files: {files}\nCopyright: someone\nLicense: {lic}\n\n"


def test_licences():
    # upstream Expat, packaging GPL: the packaging does not count
    assert licence_of(HEAD + stanza("*", "Expat") + stanza("debian/*", "GPL-2+")) == (["Expat"], True)
    assert licence_of(HEAD + stanza("*", "BSD-3-clause") + stanza("src/x.py", "Apache-2.0"))[1]
    assert licence_of(HEAD + stanza("*", "PSF-2"))[1]
    # copyleft anywhere upstream, a dual licence with GPL, or an unknown name: left out
    assert not licence_of(HEAD + stanza("*", "Expat") + stanza("vendor/*", "LGPL-2.1+"))[1]
    assert not licence_of(HEAD + stanza("*", "Expat or GPL-2+"))[1]
    assert not licence_of(HEAD + stanza("*", "ZPL-2.1"))[1]
    for loose in ("MIT-style", "MIT-like", "BSD-style", "BSD-like", "BSD-2-Clause-alike", "BSD-4-clause"):
        assert not licence_of(HEAD + stanza("*", loose))[1], loose
    for exact in ("MIT", "BSD-3", "BSD-2-Clause", "BSD", "Apache-2", "ISC"):
        assert licence_of(HEAD + stanza("*", exact))[1], exact
    # free-text copyright files are not read
    assert licence_of("This package was debianized by ...\nLicense: MIT\n") == (["free-text"], False)
    # a file with only debian/* stanzas names no upstream licence
    assert not licence_of(HEAD + stanza("debian/*", "Expat"))[1]


def test_py_extra():
    import prep

    assert deb_is_val("regex") == prep.is_val("regex")  # the same split rule on both sides
    val = next(t for t in ("regex", "xxhash", "tiktoken", "flatbuffers") if prep.is_val(t))
    train = next(t for t in ("attr", "requests", "yaml", "six", "click") if not prep.is_val(t))
    site = "import os\nprint(os.getcwd())\n" * 20
    recs = [
        {"pkg": "python3-a", "top": train, "path": f"{train}/a.py", "text": "def a():\n    return 1\n" * 20},
        {"pkg": "python3-b", "top": val, "path": f"{val}/b.py", "text": "def b():\n    return 2\n" * 20},
        {"pkg": "python3-c", "top": train, "path": f"{train}/c.py", "text": site},
        {"pkg": "python3-d", "top": train, "path": f"{train}/human_eval/d.py", "text": "x = 1\n" * 80},
        {"pkg": "python3-e", "top": train, "path": f"{train}/a2.py", "text": "def a():\n    return 1\n" * 20},
    ]
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "extra.jsonl.xz")
        with lzma.open(p, "wt", encoding="utf-8") as f:
            for r in recs:
                f.write(json.dumps(r) + "\n")
        out = prep.py_extra([p], {hashlib.sha1(site.encode()).digest()})
    # kept: only the first file (the val package, the site-packages copy, the benchmark path and
    # the exact duplicate are dropped)
    assert out == [recs[0]["text"]], out


if __name__ == "__main__":
    test_licences()
    test_py_extra()
    print("deb corpus ok")
