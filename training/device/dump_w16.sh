#!/usr/bin/env bash
# The trainer's last weights as an fp16 state dict, split into 15 MB parts in $OUT (a device call
# returns files of <= 16 MiB). Run after `run.sh finish` in the same call; here:
#   cat w16.pt.part* > training/ckpt/w16.pt   (then export.py --ckpt, or --init for the next run)
set -eu
CK=${CK:-/root/ckpt}
OUT=${OUT:-/tmp/out}
python3 - "$CK/latest.pt" /root/w16.pt <<'PY'
import sys, torch
c = torch.load(sys.argv[1], map_location="cpu", weights_only=False)
torch.save({"cfg": c["cfg"], "model": {k: v.half() for k, v in c["model"].items()}, "opt": None, "meta": c["meta"]}, sys.argv[2])
PY
(cd "$OUT" && split -b 15M -d /root/w16.pt w16.pt.part)
ls -la "$OUT"
