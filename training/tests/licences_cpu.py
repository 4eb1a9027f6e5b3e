"""CPU check of the Python corpus's licence filter (training/corpus/py_licences.py, prep.python_docs).

A fake site-packages: a MIT package (dist-info with top_level.txt), a GPL one, a BSD one that only
RECORD names, an egg-info package under Apache-2.0, a whole MIT licence text pasted into `License`,
and a loose module without metadata. Only the permissive packages' files reach the corpus.
Usage: python3 training/tests/licences_cpu.py
"""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "corpus"))

import py_licences  # noqa: E402
from prep import python_docs  # noqa: E402

CODE = "def f(x):\n    return x + 1\n" * 20  # > 300 bytes, short lines


def write(root, rel, text):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(text)


def main():
    root = tempfile.mkdtemp()
    write(root, "alpha/__init__.py", CODE + "# alpha\n")
    write(root, "alpha-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\nLicense: MIT\n")
    write(root, "alpha-1.0.dist-info/top_level.txt", "alpha\n")
    write(root, "beta/core.py", CODE + "# beta\n")
    write(root, "beta-2.0.dist-info/METADATA",
          "Metadata-Version: 2.1\nName: beta\nVersion: 2.0\nClassifier: License :: OSI Approved :: GNU General Public License v3 (GPLv3)\n")
    write(root, "beta-2.0.dist-info/top_level.txt", "beta\n")
    write(root, "gamma/x.py", CODE + "# gamma\n")
    write(root, "gamma-0.1.dist-info/METADATA", "Metadata-Version: 2.4\nName: gamma\nVersion: 0.1\nLicense-Expression: BSD-3-Clause\n")
    write(root, "gamma-0.1.dist-info/RECORD", "gamma/x.py,sha256=abc,10\ngamma-0.1.dist-info/METADATA,,\n")
    write(root, "delta/y.py", CODE + "# delta\n")
    write(root, "delta-3.egg-info/PKG-INFO", "Metadata-Version: 1.1\nName: delta\nVersion: 3\nLicense: Apache-2.0\n")
    write(root, "delta-3.egg-info/installed-files.txt", "../delta/y.py\nPKG-INFO\n")
    mit_text = ("Copyright (c) 2020 Someone\n        \n        Permission is hereby granted, free of charge, to any person "
                "obtaining a copy of this software" + " and associated documentation files" * 10)
    write(root, "eps/z.py", CODE + "# eps\n")
    write(root, "eps-1.dist-info/METADATA", "Metadata-Version: 2.1\nName: eps\nVersion: 1\nLicense: " + mit_text + "\n")
    write(root, "eps-1.dist-info/top_level.txt", "eps\n")
    write(root, "loose.py", CODE + "# loose\n")

    tab = py_licences.scan([root])
    want = {"alpha": True, "beta": False, "gamma": True, "delta": True, "eps": True}
    for top, ok in want.items():
        assert tab[top]["permissive"] is ok, (top, tab[top])
    assert "loose" not in tab
    assert tab["gamma"]["licence"] == "BSD" and tab["delta"]["licence"] == "Apache" and tab["eps"]["licence"] == "MIT"
    assert py_licences.classify(["MIT OR GPL-2.0"]) == ("MIT OR GPL-2.0", False), "a GPL option is not taken"
    assert py_licences.classify(["UNKNOWN"]) == ("unknown", False)

    every = {p for p, _ in python_docs(None, [root])}
    kept = {p for p, _ in python_docs(tab, [root])}
    assert every == {"alpha", "beta", "gamma", "delta", "eps", "loose"}, every
    assert kept == {"alpha", "gamma", "delta", "eps"}, kept
    print(f"licences ok: {sorted(kept)} kept of {sorted(every)}")


if __name__ == "__main__":
    main()
