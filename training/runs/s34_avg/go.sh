set -e
mkdir -p /root/stage && cp training/ckpt/stage/c4/*.part* /root/stage/
mkdir -p training/data training/ckpt/s34avg
for f in py_deb_train py_debapp_train py_debsrc_train py_debcont_train py_debnew_train js_train js_val js_debsrc_train; do
  cat /root/stage/$f.jsonl.xz.part* > training/data/$f.jsonl.xz
done
cat /root/stage/compact.pt.part* > training/ckpt/s34avg/compact.pt
sha1sum training/data/*.xz training/ckpt/s34avg/compact.pt
PY_STDLIB=1 PY_EXTRA="training/data/py_deb_train.jsonl.xz training/data/py_debapp_train.jsonl.xz training/data/py_debsrc_train.jsonl.xz training/data/py_debcont_train.jsonl.xz training/data/py_debnew_train.jsonl.xz" JS_EXTRA=training/data/js_debsrc_train.jsonl.xz CK=/root/ckpt34 WAIT=570 bash training/device/run.sh chain diffill-code-24m -- diff ${MIN:-16} --init training/ckpt/s34avg/compact.pt --nt-mix 0.6 --lr 3e-4 --warmup 200 --js-weight 0.45 --decay-frac 0.7 --final-eval 0
