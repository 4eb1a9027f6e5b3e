"""The rules every Python file of the corpus passes, shared by training/prep.py (site-packages, on the
GPU machine) and build_deb_py_corpus.py (Debian packages, here). Standard library only."""
import hashlib

EXCLUDE = ("human_eval", "humaneval", "human-eval", "mbpp", "evalplus")  # never train on benchmarks
VAL_MOD = 20


def is_val(pkg: str) -> bool:
    """Validation split by top-level package: sha1(name) % 20 == 0."""
    return int(hashlib.sha1(pkg.encode()).hexdigest(), 16) % VAL_MOD == 0


def good_text(t: str) -> bool:
    """No NUL bytes, no line over 400 characters, under 100 characters per line on average."""
    if "\0" in t:
        return False
    lines = t.split("\n")
    if max(len(l) for l in lines) > 400:
        return False
    return len(t) / max(1, len(lines)) < 100
