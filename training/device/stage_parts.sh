#!/usr/bin/env bash
# Plans the staging of corpora that do not fit one device call beside the tree (64 MiB in all):
# splits the given files into parts under training/ckpt/stage/ (git-ignored), then packs the parts
# into as few calls as fit and prints, per call, what to carry and what to run. The last call
# reassembles every file on the GPU machine at its own path, so `run.sh` finds it there.
#   bash training/device/stage_parts.sh FILE [FILE ...]
# e.g. bash training/device/stage_parts.sh training/data/py_deb_train.jsonl.xz \
#        training/data/js_train.jsonl.xz training/data/js_val.jsonl.xz
# Every call after the first must come within 30 s of the one before (the machine keeps /root
# only while warm); check `warm: true` in each reply.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -gt 0 ] || { echo "usage: stage_parts.sh FILE [FILE ...]" >&2; exit 2; }
PART=${PART:-4M}   # small parts pack the calls tightly; each call carries one folder of them
STAGE=training/ckpt/stage
limit=$(( 64 * 1024 * 1024 - 3 * 1024 * 1024 ))   # keep 3 MiB of room: the tree grows between
# sessions (evaluation outputs, logs), and session 35 found a part folder cut in session 34 too big
# counts only files present here: a tracked file moved aside (device/aside.sh) should not travel
# (seen on the machine in session 29: the deleted file stayed behind)
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s -- 2>/dev/null | awk '{s+=$1} END {print s+0}') || true
room=$(( limit - tree ))
[ "$room" -gt 0 ] || { echo "the tree alone is over the limit" >&2; exit 1; }
rm -rf "$STAGE" && mkdir -p "$STAGE"
parts=()
for f in "$@"; do
  [ -f "$f" ] || { echo "missing: $f" >&2; exit 2; }
  b=$(basename "$f")
  split -b "$PART" -d -a 3 "$f" "$STAGE/$b.part"
  for p in "$STAGE/$b".part*; do parts+=("$p"); done
done
# pack the parts into calls, in order
calls=()
cur="" used=0
for p in "${parts[@]}"; do
  s=$(stat -c %s "$p")
  [ "$s" -le "$room" ] || { echo "a part is bigger than a call's room: lower PART" >&2; exit 1; }
  if [ $(( used + s )) -gt "$room" ]; then calls+=("$cur"); cur="" used=0; fi
  cur="$cur $p" used=$(( used + s ))
done
[ -n "$cur" ] && calls+=("$cur")
n=${#calls[@]}
awk -v t="$tree" 'BEGIN { printf "tree %.2f MiB; ", t / 1048576 }'
echo "$n calls:"
# each call's parts go into a folder of their own (stage/c1, c2, ...): a call then carries one path,
# whatever the part size (`run` carries at most 8 paths)
for i in "${!calls[@]}"; do
  c=$(echo ${calls[$i]})
  d="$STAGE/c$(( i + 1 ))"
  mkdir -p "$d" && mv $c "$d/"
  sz=$(du -cb "$d"/* | tail -1 | cut -f1)
  echo
  awk -v a="$sz" -v t="$tree" -v k=$(( i + 1 )) 'BEGIN { printf "call %d: carry %.2f MiB (%.2f MiB with the tree)\n", k, a / 1048576, (a + t) / 1048576 }'
  echo "  carry: [\"$d\"]"
  if [ "$i" -lt $(( n - 1 )) ]; then
    echo "  command: mkdir -p /root/stage && cp $d/* /root/stage/"
  else
    cmd="mkdir -p /root/stage && cp $d/* /root/stage/"
    for f in "$@"; do cmd="$cmd && mkdir -p $(dirname "$f") && cat /root/stage/$(basename "$f").part* > $f"; done
    echo "  command: $cmd && sha1sum $* && <the run.sh chain command>"
  fi
done
