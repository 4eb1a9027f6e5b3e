#!/usr/bin/env bash
# Installs what the end-to-end test needs: Debian's chromium (driven by playwright-core), the headers
# code-server's native modules build against, and -- in test/e2e/node_modules, kept out of the
# extension's own dependency tree -- code-server 4.139.1 (VS Code 1.139), Node 24 (code-server runs
# on it) and playwright-core. Idempotent: a second run with nothing to do takes about a second.
#
#   bash test/e2e/setup.sh            # what `npm run test:e2e` and .ci/run call
#   DIFFILL_E2E_SKIP_APT=1 bash ...   # when the Debian packages are known to be present
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
t0=$(date +%s)

# ---- Debian packages -------------------------------------------------------------------------
APT_PKGS=(chromium fonts-dejavu-core libkrb5-dev libsecret-1-dev libx11-dev libxkbfile-dev)
if [[ "${DIFFILL_E2E_SKIP_APT:-}" != 1 ]]; then
  missing=()
  for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "setup: installing Debian packages: ${missing[*]}"
    SUDO=""; [[ $(id -u) == 0 ]] || SUDO="sudo"
    # Another process may hold the dpkg lock; wait for it rather than fail.
    APT=($SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q -y)
    for attempt in 1 2 3; do
      if "${APT[@]}" update >/dev/null && "${APT[@]}" install --no-install-recommends "${missing[@]}" >/dev/null; then
        break
      fi
      [[ $attempt == 3 ]] && { echo "setup: apt-get failed" >&2; exit 1; }
      echo "setup: apt-get failed (attempt $attempt), retrying in 15 s" >&2; sleep 15
    done
  fi
fi
[[ -x /usr/bin/chromium ]] || { echo "setup: /usr/bin/chromium missing" >&2; exit 1; }

# ---- npm packages (code-server, node@24, playwright-core) ------------------------------------
# Skipped when node_modules was installed from exactly this package-lock.json and still works.
stamp="node_modules/.diffill-e2e-stamp"
want="$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)"
ok() {
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
    [[ "$(node_modules/.bin/node --version 2>/dev/null)" == v24.* ]] &&
    [[ -f node_modules/code-server/out/node/entry.js ]] &&
    [[ -d node_modules/code-server/lib/vscode/node_modules ]] &&
    [[ -f node_modules/playwright-core/package.json ]]
}
if ! ok; then
  echo "setup: npm install in test/e2e (code-server needs Node 24 to run, but installs under Node 20 with FORCE_NODE_VERSION=20)"
  export FORCE_NODE_VERSION=20
  if [[ -f package-lock.json ]]; then cmd=(ci); else cmd=(install); fi
  for attempt in 1 2; do
    if npm "${cmd[@]}" --no-audit --no-fund --loglevel=error; then break; fi
    [[ $attempt == 2 ]] && { echo "setup: npm ${cmd[*]} failed" >&2; exit 1; }
    echo "setup: npm failed, retrying" >&2; rm -rf node_modules; sleep 5
  done
  want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
  echo "$want" > "$stamp"
  ok || { echo "setup: install finished but code-server/node@24/playwright-core are not usable" >&2; exit 1; }
fi

echo "setup: ready in $(( $(date +%s) - t0 )) s: $(node_modules/.bin/node --version), code-server $(node -p 'require("./node_modules/code-server/package.json").version'), playwright-core $(node -p 'require("./node_modules/playwright-core/package.json").version'), $(/usr/bin/chromium --version 2>/dev/null | head -1)"
