#!/usr/bin/env bash
# Rebuilds every corpus file that training needs into training/data/ on a new development machine
# (git-ignored, so a new machine has none): about 50 minutes here, mostly downloads.
#   bash training/corpus/rebuild.sh
# 1. Debian packages the builders and CPU checks need (numpy; torch and onnx for export.py and the
#    CPU checks), and a deb-src entry for the Debian-source TS/JS corpus.
# 2. In parallel: the npm download at the manifest's versions (--pin), and the Debian Python
#    corpora (python3-* packages, --apps, source tarballs, --contents, trixie).
# 3. The npm corpus offline, then the Debian-source TS/JS corpus (it drops what the npm one holds).
# The builders rewrite their manifests; the committed ones describe what the model was trained on,
# so they are restored and the sha1s are printed beside the committed corpus's. The Debian files
# can differ a little, with the mirror's versions (training/corpus/README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
LOG=training/data/logs
mkdir -p "$LOG"

if ! $PY -c "import numpy, torch, onnx" 2>/dev/null; then
  apt-get install -y python3-numpy python3-torch python3-onnx > "$LOG/apt.log" 2>&1
fi
if ! ls /var/lib/apt/lists/*_source_Sources* > /dev/null 2>&1; then
  printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    > /etc/apt/sources.list.d/debsrc.sources
  apt-get update > "$LOG/apt-update.log" 2>&1
fi

echo "rebuild: npm download and Debian Python corpora (logs in $LOG)"
nice -n 10 $PY training/corpus/build_js_corpus.py --fetch-only --pin training/corpus/MANIFEST_js.json > "$LOG/npm-fetch.log" 2>&1 &
npm_pid=$!
# corpus v6 (session 33): source tarballs, Contents-index packages and trixie's packages, in this
# order (each drops what the ones before it hold)
CONTENTS=training/data/contents
( nice -n 10 $PY training/corpus/build_deb_py_corpus.py > "$LOG/py_deb.log" 2>&1 &&
  nice -n 10 $PY training/corpus/build_deb_py_corpus.py --apps > "$LOG/py_debapp.log" 2>&1 &&
  nice -n 10 $PY training/corpus/build_debsrc_py_corpus.py > "$LOG/py_debsrc.log" 2>&1 &&
  mkdir -p "$CONTENTS" &&
  curl -sf -o "$CONTENTS/all.gz" http://deb.debian.org/debian/dists/bookworm/main/Contents-all.gz &&
  curl -sf -o "$CONTENTS/amd64.gz" http://deb.debian.org/debian/dists/bookworm/main/Contents-amd64.gz &&
  nice -n 10 $PY training/corpus/build_deb_py_corpus.py --contents "$CONTENTS/all.gz" "$CONTENTS/amd64.gz" > "$LOG/py_debcont.log" 2>&1 &&
  nice -n 10 $PY training/corpus/build_deb_py_newer.py --suite trixie > "$LOG/py_debnew.log" 2>&1 ) &
deb_pid=$!
wait "$npm_pid"
echo "rebuild: npm corpus"
nice -n 10 $PY training/corpus/build_js_corpus.py --offline > "$LOG/npm-build.log" 2>&1
echo "rebuild: Debian-source TS/JS corpus"
nice -n 10 $PY training/corpus/build_debsrc_js_corpus.py > "$LOG/js_debsrc.log" 2>&1
wait "$deb_pid"

git checkout -- training/corpus/MANIFEST_js.json training/corpus/MANIFEST_js_debsrc.json \
  training/corpus/MANIFEST_py_deb.json training/corpus/MANIFEST_py_debapp.json \
  training/corpus/MANIFEST_py_debsrc.json training/corpus/MANIFEST_py_debcont.json training/corpus/MANIFEST_py_debnew.json
echo "rebuild: done. sha1 (first 8) here, and of the corpus the manifests describe:"
for f in js_train:bec125a4 js_val:3f9ec6aa js_debsrc_train:c82a7d63 py_deb_train:e4db78b3 py_debapp_train:a8c462e1 py_debsrc_train:3e3a2093 py_debcont_train:14fee944 py_debnew_train:7d328ed5; do
  name=${f%%:*}
  got=$(sha1sum "training/data/$name.jsonl.xz" | cut -c1-8)
  echo "  $name.jsonl.xz $got (${f##*:})"
done
