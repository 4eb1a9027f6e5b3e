#!/usr/bin/env bash
# What a device call carries, against its 64 MiB limit: every file that travels with the working
# tree (tracked, and untracked but not ignored) plus the carried paths given as arguments.
#   bash training/device/carry_size.sh [CARRIED_PATH ...]   (default: the two JS corpus files)
# Exits 1 when the total is over the limit.
set -u
cd "$(dirname "$0")/../.."
[ $# -eq 0 ] && set -- training/data/js_train.jsonl.xz training/data/js_val.jsonl.xz
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s -- 2>/dev/null | awk '{s+=$1} END {print s+0}')
carry=0
for p in "$@"; do
  [ -e "$p" ] || { echo "missing: $p" >&2; exit 2; }
  carry=$(( carry + $(du -sb -- "$p" | cut -f1) ))
done
limit=$(( 64 * 1024 * 1024 ))
total=$(( tree + carry ))
awk -v t="$tree" -v c="$carry" -v l="$limit" 'BEGIN { m = 1048576; printf "tree %.2f MiB + carried %.2f MiB = %.2f MiB of 64 (%.2f MiB left)\n", t / m, c / m, (t + c) / m, (l - t - c) / m }'
[ "$total" -le "$limit" ]
