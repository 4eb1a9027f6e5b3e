#!/usr/bin/env bash
# Drives training on the lent GPU machine across calls of the `device` tool (see training/README.md).
#
#   start PHASE MINUTES [train.py args...]  prepare data (once per machine), launch training detached
#                                           (setsid, survives between calls while the machine is warm),
#                                           then collect until ~WAIT seconds into the call
#   collect                                 wait, then bring back the compact checkpoint + logs in $OUT
#   dump                                    wait for the trainer (train.py) to exit, then bring back its
#                                           last weights in fp16 (dump_w16.sh) + logs, without waiting
#                                           for the device-side export (export locally, --fidelity skip)
#   finish NAME                             wait for the run to end (it evaluates itself), export ONNX,
#                                           bring back models/NAME + logs
#   chain NAME -- PHASE MIN [args] -- PHASE MIN [args] ...
#                                           run several phases back to back in one detached job (e.g. a
#                                           new size: nt from scratch, then diff), then export models/NAME;
#                                           collect until WAIT; `finish NAME` then brings the model back
# Env: WAIT (seconds into the call at which to stop collecting; default 540), CK (checkpoint folder on
#      the GPU machine; default /root/ckpt; use another one per model size), PY_EXTRA (Python
#      corpus files for prep.py --py-extra, separated by spaces, staged on the machine by an earlier
#      call), JS_EXTRA (the same for prep.py --js-extra: the Debian-source TS/JS corpus),
#      PY_STDLIB=1 (prep.py --py-stdlib: the machine's own Python standard library and its tests).
set -u
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1
T0=$(date +%s)
WAIT=${WAIT:-540}
DATA=${DATA:-/root/data}
CK=${CK:-/root/ckpt}
mkdir -p "$CK"
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"

pack_ckpt() {
  cp "$CK/log.jsonl" "$OUT/log.jsonl" 2>/dev/null
  tail -c 200000 /root/train.log > "$OUT/train.log" 2>/dev/null
  if [ -f "$CK/compact.pt" ]; then
    (cd "$OUT" && split -b 15M -d "$CK/compact.pt" compact.pt.part)
  fi
  ls -la "$OUT"
}

prep_data() {
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  if [ ! -f "$DATA/stats.json" ]; then
    local extra=() f
    for f in ${PY_EXTRA:-}; do extra+=(--py-extra "$f"); done
    for f in ${JS_EXTRA:-}; do extra+=(--js-extra "$f"); done
    [ "${PY_STDLIB:-0}" = 1 ] && extra+=(--py-stdlib)
    python3 training/prep.py --out "$DATA" ${extra[@]+"${extra[@]}"} 2>&1 | tee "$OUT/prep.log" || exit 1
    cp training/tokenizer.json "$OUT/tokenizer.json"
    cp "$DATA/stats.json" "$OUT/stats.json"
  fi
}

trainer_cmd() {
  local n
  n=$(python3 -c "import torch; print(torch.cuda.device_count())")
  if [ "$n" -gt 1 ]; then echo "torchrun --standalone --nproc_per_node=$n training/train.py"; else echo "python3 training/train.py"; fi
}

running() { [ -f /root/train.pid ] && kill -0 "$(cat /root/train.pid)" 2>/dev/null; }

wait_until() {  # wait for the trainer to exit or until $1 seconds into this call
  while running && [ $(( $(date +%s) - T0 )) -lt "$1" ]; do sleep 5; done
}

case "${1:-}" in
start)
  PHASE=$2; MIN=$3; shift 3
  prep_data
  CMD=$(trainer_cmd)
  setsid nohup $CMD --phase "$PHASE" --minutes "$MIN" --data "$DATA" --out "$CK" "$@" > /root/train.log 2>&1 &
  echo $! > /root/train.pid
  sleep 60; tail -5 /root/train.log
  wait_until "$WAIT"; tail -25 /root/train.log; pack_ckpt
  ;;
chain)
  NAME=$2; shift 2
  prep_data
  CMD=$(trainer_cmd)
  JOB=/root/chain_${NAME}.sh
  {
    echo "set -u"
    seg=()
    for x in "$@" --; do
      if [ "$x" = "--" ]; then
        if [ ${#seg[@]} -gt 0 ]; then
          printf '%s --phase %q --minutes %q --data %q --out %q' "$CMD" "${seg[0]}" "${seg[1]}" "$DATA" "$CK"
          printf ' %q' "${seg[@]:2}"
          echo ' || exit 1'
        fi
        seg=()
      else
        seg+=("$x")
      fi
    done
    printf 'python3 training/export.py --ckpt %q --name %q --out /root/models --data %q > /root/export.log 2>&1; echo "export rc=$?" >> /root/export.log\n' "$CK/latest.pt" "$NAME" "$DATA"
    printf 'cp %q %q %q /root/export.log /root/models/%q/ 2>/dev/null\n' "$CK/eval_tasks.jsonl" "$CK/log.jsonl" /root/train.log "$NAME"
    printf 'gzip -9 -n -f /root/models/%q/eval_tasks.jsonl\n' "$NAME"
    printf 'touch /root/models/%q/.done\n' "$NAME"
  } > "$JOB"
  cat "$JOB"
  setsid nohup bash "$JOB" > /root/train.log 2>&1 &
  echo $! > /root/train.pid
  sleep 60; tail -5 /root/train.log
  wait_until "$WAIT"; tail -25 /root/train.log; pack_ckpt
  ;;
collect)
  running || echo "trainer not running"
  wait_until "$WAIT"; tail -25 /root/train.log; pack_ckpt
  ;;
finish)
  NAME=$2
  wait_until "$WAIT"
  if running; then echo "still training: collecting instead"; pack_ckpt; exit 0; fi
  tail -40 /root/train.log
  if [ ! -f /root/models/"$NAME"/.done ]; then
    python3 training/export.py --ckpt "$CK/latest.pt" --name "$NAME" --out /root/models --data "$DATA" 2>&1 | tee /root/export.log
    echo "export rc=${PIPESTATUS[0]}" >> /root/export.log
  fi
  cp "$CK/eval_tasks.jsonl" /root/models/"$NAME"/ 2>/dev/null && gzip -9 -n -f /root/models/"$NAME"/eval_tasks.jsonl
  cp "$CK/log.jsonl" /root/train.log /root/export.log /root/models/"$NAME"/ 2>/dev/null
  # export.py exits 3 when the fidelity check fails, but the files are written: say so loudly
  grep -q '^export rc=0$' /root/export.log || echo "WARNING: export did not pass (see export.log): $(tail -2 /root/export.log | tr '\n' ' ')"
  (cd /root/models && tar cf - "$NAME" | split -b 15M -d - "$OUT/model.tar.part")
  ls -la "$OUT"
  ;;
dump)
  # the bracketed pattern never matches a command line that quotes it (pgrep -f matches itself
  # otherwise: session 13 lost its last device minutes to `while pgrep -f training/train.py` typed
  # into the device command, which matched its own shell); it matches torchrun ranks too.
  while pgrep -f "[t]raining/train[.]py --phase" >/dev/null && [ $(( $(date +%s) - T0 )) -lt "$WAIT" ]; do sleep 3; done
  if pgrep -f "[t]raining/train[.]py --phase" >/dev/null; then echo "still training: collecting instead"; pack_ckpt; exit 0; fi
  tail -30 /root/train.log
  rm -f "$OUT"/compact.pt.part* "$OUT"/tokenizer.json "$OUT"/stats.json   # a call returns <= 8 files
  CK="$CK" OUT="$OUT" bash training/device/dump_w16.sh
  cp "$CK/log.jsonl" "$OUT/" 2>/dev/null
  [ -f "$CK/eval_tasks.jsonl" ] && gzip -9 -n -c "$CK/eval_tasks.jsonl" > "$OUT/eval_tasks.jsonl.gz"
  tail -c 100000 /root/train.log > "$OUT/train.log"
  ls -la "$OUT"
  ;;
*) echo "usage: run.sh start|chain|collect|dump|finish"; exit 2 ;;
esac
