#!/usr/bin/env bash
# Moves the shipped model's weights out of the working tree while staging, so that a device call
# has about 50 MiB of room instead of 21 (model.onnx is ~30 of the ~43 MiB that travel with every
# call). Only for runs that start from a carried checkpoint (--init training/ckpt/.../compact.pt or
# w16.pt): `--init models/.../model.onnx` needs the file on the machine.
#   bash training/device/aside.sh out [MODEL_DIR]   move MODEL_DIR/model.onnx to training/ckpt/aside/
#   bash training/device/aside.sh back [MODEL_DIR]  put it back, checked against the sha1 git holds
#   bash training/device/aside.sh status [MODEL_DIR]
# MODEL_DIR defaults to models/diffill-code-24m. Put the file back before committing, testing or
# evaluating: the engine and the tests read it.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmd=${1:-status}
dir=${2:-models/diffill-code-24m}
f="$dir/model.onnx"
keep="training/ckpt/aside/$(basename "$dir").model.onnx"
want=$(git rev-parse "HEAD:$f" 2>/dev/null) || { echo "aside: $f is not tracked at HEAD" >&2; exit 2; }
blob() { git hash-object "$1"; }
case "$cmd" in
out)
  [ -f "$f" ] || { echo "aside: $f is already gone (aside: $( [ -f "$keep" ] && echo yes || echo no))" >&2; exit 1; }
  [ "$(blob "$f")" = "$want" ] || { echo "aside: $f differs from HEAD; commit or restore it first" >&2; exit 1; }
  mkdir -p "$(dirname "$keep")"
  cp -p "$f" "$keep"
  [ "$(blob "$keep")" = "$want" ] || { echo "aside: the copy does not match; nothing removed" >&2; exit 1; }
  rm "$f"
  echo "aside: $f moved to $keep; run 'bash training/device/aside.sh back' after the last staging call"
  ;;
back)
  if [ -f "$f" ]; then echo "aside: $f is in place"; exit 0; fi
  if [ -f "$keep" ] && [ "$(blob "$keep")" = "$want" ]; then
    cp -p "$keep" "$f"
  else
    git checkout -- "$f"   # the copy is missing or wrong: git has the file
  fi
  [ "$(blob "$f")" = "$want" ] || { echo "aside: $f does not match HEAD after restoring" >&2; exit 1; }
  echo "aside: $f restored"
  ;;
status)
  if [ -f "$f" ]; then echo "in place: $f"; else echo "aside: $f (copy: $keep)"; fi
  ;;
*) echo "usage: aside.sh out|back|status [MODEL_DIR]" >&2; exit 2 ;;
esac
