#!/usr/bin/env bash
# Last call of a staged run (see stage_parts.sh): reassembles the corpus files and the seed from the
# parts copied to /root/stage by the earlier calls plus the parts this call carries, prints their
# sha1s, then starts `run.sh chain` on corpus v6. Run from the repository root on the GPU machine:
#   SEED=training/ckpt/s34avg/compact.pt MIN=16 bash training/device/go_staged.sh STAGE_DIR
# STAGE_DIR is the last part folder this call carries (e.g. training/ckpt/stage/c4).
# Env: SEED (the seed's path; its parts are named after its file name), MIN (minutes of training,
# default 16), CK (checkpoint folder on the machine, default /root/ckpt34), WAIT (default 570);
# LR (3e-4), WARMUP (200), DECAY (0.7), JSW (0.45): the recipe.
set -e
stage=${1:?usage: go_staged.sh STAGE_DIR}
: "${SEED:?set SEED to the path of the seed checkpoint}"
mkdir -p /root/stage && cp "$stage"/*.part* /root/stage/
mkdir -p training/data "$(dirname "$SEED")"
files="py_deb_train py_debapp_train py_debsrc_train py_debcont_train py_debnew_train js_train js_val js_debsrc_train"
for f in $files; do cat /root/stage/$f.jsonl.xz.part* > training/data/$f.jsonl.xz; done
cat /root/stage/"$(basename "$SEED")".part* > "$SEED"
sha1sum training/data/*.xz "$SEED"
PY_STDLIB=1 \
PY_EXTRA="training/data/py_deb_train.jsonl.xz training/data/py_debapp_train.jsonl.xz training/data/py_debsrc_train.jsonl.xz training/data/py_debcont_train.jsonl.xz training/data/py_debnew_train.jsonl.xz" \
JS_EXTRA=training/data/js_debsrc_train.jsonl.xz CK=${CK:-/root/ckpt34} WAIT=${WAIT:-570} \
  bash training/device/run.sh chain diffill-code-24m -- diff "${MIN:-16}" --init "$SEED" --nt-mix 0.6 \
  --lr "${LR:-3e-4}" --warmup "${WARMUP:-200}" --js-weight "${JSW:-0.45}" --decay-frac "${DECAY:-0.7}" --final-eval 0
