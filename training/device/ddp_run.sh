#!/usr/bin/env bash
# One call on a multi-GPU machine: prepare data, continue training with torchrun over every GPU
# (DDP/NCCL), check the ranks' weights agree, evaluate, export; bring back the model and logs.
#   bash training/device/ddp_run.sh MINUTES [train.py args...]
set -u
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1
MIN=$1; shift
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
T0=$(date +%s)
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
NPROC=$(python3 -c "import torch; print(torch.cuda.device_count())")
python3 training/prep.py --out /root/data > "$OUT/prep.log" 2>&1 || { tail -20 "$OUT/prep.log"; exit 1; }
echo "prep done at $(( $(date +%s) - T0 )) s"
torchrun --standalone --nproc_per_node="$NPROC" training/train.py --phase diff --minutes "$MIN" --data /root/data \
  --out /root/ckpt --final-eval 0 --check-sync 1 "$@" > /root/train.log 2>&1
echo "train rc=$? at $(( $(date +%s) - T0 )) s"; tail -6 /root/train.log
python3 training/eval.py --ckpt /root/ckpt/latest.pt --data /root/data --n 150 --kinds line,rest --methods par,seq \
  --out /root/ckpt/eval.json 2>&1 | tail -8
python3 training/export.py --ckpt /root/ckpt/latest.pt --name diffill-code-29m --out /root/models --data /root/data 2>&1 | tail -2
cp /root/ckpt/log.jsonl /root/train.log /root/ckpt/eval.json /root/models/diffill-code-29m/ 2>/dev/null
(cd /root/models && tar cf - diffill-code-29m | split -b 15M -d - "$OUT/model.tar.part")
echo "done at $(( $(date +%s) - T0 )) s"; ls -la "$OUT"
