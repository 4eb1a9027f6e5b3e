#!/usr/bin/env bash
# `npm run test:e2e`: install what the end-to-end test needs (cached), package the extension, and
# run it in code-server + headless Chromium. Arguments go to run.mjs (--media, --self-test).
#
#   DIFFILL_VSIX=path/to/x.vsix bash test/e2e/run-e2e.sh   # test that .vsix, skip packaging
#   bash test/e2e/run-e2e.sh --self-test                   # the harness alone, with a stub extension
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
t0=$(date +%s)

bash "$HERE/setup.sh"
t1=$(date +%s)

if [[ -z "${DIFFILL_VSIX:-}" && " $* " != *" --self-test "* ]]; then
  cd "$ROOT"
  [[ -d node_modules ]] || npm ci --no-audit --no-fund
  stamp="$(mktemp)"
  echo "run-e2e: npm run package"
  npm run package
  # The .vsix this packaging wrote (newer than the stamp), else the newest one at the root.
  vsix="$(find "$ROOT" -maxdepth 1 -name '*.vsix' -newer "$stamp" -printf '%T@ %p\n' | sort -rn | head -1 | cut -d' ' -f2-)"
  rm -f "$stamp"
  [[ -n "$vsix" ]] || vsix="$(ls -t "$ROOT"/*.vsix 2>/dev/null | head -1 || true)"
  [[ -n "$vsix" ]] || { echo "run-e2e: npm run package made no .vsix at $ROOT" >&2; exit 1; }
  export DIFFILL_VSIX="$vsix"
fi
t2=$(date +%s)
echo "run-e2e: setup $((t1 - t0)) s, packaging $((t2 - t1)) s"

cd "$ROOT"
exec "$HERE/node_modules/.bin/node" "$HERE/run.mjs" "$@"
