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
from build_deb_py_corpus import DEPENDS_PY3, is_val as deb_is_val, licence_of, py_path  # noqa: E402

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


def test_apps_paths():
    # python3-* packages: dist-packages only; --apps: usr/share/APP/ and usr/lib/APP/ too
    dist = "usr/lib/python3/dist-packages/"
    assert py_path(dist + "foo/bar.py", False) == ("foo/bar.py", "foo")
    assert py_path(dist + "single.py", False) == ("single.py", "single")
    assert py_path("usr/share/scons/SCons/Script.py", False) is None
    assert py_path("usr/share/scons/SCons/Script.py", True) == ("scons/SCons/Script.py", "scons")
    assert py_path("usr/lib/mailman/bin/x.py", True) == ("mailman/bin/x.py", "mailman")
    assert py_path("usr/share/loose.py", True) is None  # no application folder
    assert py_path("usr/lib/python3.11/site-packages/x/y.py", True) is None
    assert py_path("etc/app/conf.py", True) is None
    # which packages --apps reads: a python3 dependency, whatever else the field holds
    for dep in ("python3", "libc6, python3:any", "foo | python3 (>= 3.9)", "python3 (>= 3.11~), adduser"):
        assert DEPENDS_PY3.search(dep), dep
    for dep in ("python3-yaml", "libpython3.11", "python3.11-minimal"):
        assert not DEPENDS_PY3.search(dep), dep


def test_stdlib():
    import prep

    val = next(t for t in ("regex", "xxhash", "tiktoken", "flatbuffers") if prep.is_val(t))
    train = next(t for t in ("attr", "requests", "yaml", "six", "click") if not prep.is_val(t))
    files = {
        f"{train}/ok.py": "def f(x):\n    return x + 1\n" * 20,
        f"{val}/v.py": "def g(x):\n    return x * 2\n" * 20,
        "test/badsyntax_x.py": "def f(:\n    pass\n" * 30,
        "lib2to3_data.py": "print 'python 2'\n" * 30,
        "seen.py": "y = [i for i in range(3)]\n" * 20,
        "site-packages/thirdparty/t.py": "def t():\n    return 0\n" * 20,
    }
    with tempfile.TemporaryDirectory() as d:
        for rel, t in files.items():
            os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
            with open(os.path.join(d, rel), "w") as f:
                f.write(t)
        out = prep.stdlib_docs({hashlib.sha1(files["seen.py"].encode()).digest()}, root=d)
    # kept: the training module only (validation module, syntax errors, Python 2, a file already
    # in the corpus and site-packages below the stdlib folder are left out)
    assert out == [(train, files[f"{train}/ok.py"])], out


if __name__ == "__main__":
    test_licences()
    test_py_extra()
    test_apps_paths()
    test_stdlib()
    print("deb corpus ok")
