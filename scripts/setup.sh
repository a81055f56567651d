#!/usr/bin/env bash
# One-time set-up of a fresh Debian machine for evalbox: the Rust wasm targets the guests are
# built for, the Debian tools the tests and benchmarks use (clang and wasi-libc for the C guests
# among them), componentize-py (PyPI, pinned) and componentize-js (npm, pinned) for the Python
# and JavaScript guests, and (with --with-nix) real Nix 2.8 with a running nix-daemon for the
# differential tests. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
with_nix=0
for a in "$@"; do
  case "$a" in
    --with-nix) with_nix=1 ;;
    *) echo "usage: $0 [--with-nix]" >&2; exit 2 ;;
  esac
done
log() { echo "[setup] $*" >&2; }
command -v cargo >/dev/null || { log "cargo not found: install Rust with rustup first"; exit 1; }
installed=$(rustup target list --installed)
for t in wasm32-wasip2 wasm32-wasip1; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done
rustup component list --installed | grep -q '^clippy' || rustup component add clippy rustfmt
need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v jq >/dev/null || need+=(jq)
# clang with wasi-libc, which componentize-c drives to build the C frontend guests.
wasi_cc() { "$1" --target=wasm32-wasi -print-file-name=crt1-reactor.o 2>/dev/null | grep -q '^/'; }
wasi_cc clang || wasi_cc clang-14 || need+=(clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    log "tools missing: ${need[*]} (bubblewrap: builds in the embedded store; hyperfine: benchmarks; jq: nixpkgs' lib suites; clang and wasi-libc: C guests); install them with apt-get"
  fi
fi
# componentize-py (pinned), which builds the Python frontend guests, in a virtualenv of its own.
venv=target/tools/python
if [ ! -x "$venv/bin/componentize-py" ]; then
  if ! python3 -m venv "$venv" 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
      python3 -m venv "$venv"
    else
      log "python3-venv missing (for componentize-py): install it with apt-get"
    fi
  fi
  [ -x "$venv/bin/pip" ] && "$venv/bin/pip" install -q componentize-py==0.25.1
fi
# componentize-js (npm, pinned), which builds the JavaScript frontend guests.
if [ ! -x target/tools/js/node_modules/.bin/componentize-js ]; then
  if command -v npm >/dev/null; then
    npm install --silent --no-audit --no-fund --prefix target/tools/js \
      @bytecodealliance/componentize-js@0.23.0
  else
    log "npm missing (for componentize-js): install Node.js 20 or later"
  fi
fi
if [ "$with_nix" = 1 ]; then
  bash scripts/install-nix.sh
fi
log "ready"
