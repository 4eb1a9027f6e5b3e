#!/usr/bin/env bash
# Two ranks on ONE GPU (gloo with CUDA tensors; NCCL refuses two ranks per device), 60 steps with the
# learning rate decaying over the run, --check-sync 1: the fixed trainer must end with identical
# weights; a control copy with the old per-rank clock must show the drift. Logs land in $OUT.
#   bash training/device/ddp_check.sh [INIT.onnx]      (after run.sh has prepared /root/data)
set -u
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1
OUT=${OUT:-/tmp/out}
INIT=${1:-$(ls models/*/model.onnx | head -1)}
[ -f /root/data/stats.json ] || python3 training/prep.py --out /root/data > "$OUT/prep.log" 2>&1 || exit 1
sed 's/elapsed = flag\[1\]\.item()/pass/' training/train.py > training/_nofix.py
cmp -s training/train.py training/_nofix.py && { echo "control copy identical: the clock fix moved"; exit 2; }
C="--phase diff --backend gloo --init $INIT --max-steps 60 --minutes 1 --decay-frac 1 --lr 5e-4 --warmup 10 --micro 32 --workers 4 --js-weight 0.25 --check-sync 1 --final-eval 0 --save-every 1e9 --compile 0 --data /root/data"
i=0
for v in train.py _nofix.py; do
  i=$((i+1)); echo "=== $v"
  timeout 150 torchrun --standalone --nproc_per_node=2 "training/$v" $C --out "/root/ck_ddp_$i" > "$OUT/ddp_run$i.log" 2>&1
  echo "rc=$?"; grep -E "backend|rank [01]:|identical|MISMATCH|Error|tok/s" "$OUT/ddp_run$i.log" | tail -12
done
rm -f training/_nofix.py
