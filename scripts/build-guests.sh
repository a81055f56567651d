#!/usr/bin/env bash
# Builds the wasm32-wasip2 guests (guests/test-programs, guests/hello-frontend) the way the
# tests do, into target/guests (override with EVALBOX_GUEST_TARGET_DIR), installing the
# rustup target first if it is missing. Prints where the components are.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi
target_dir=${EVALBOX_GUEST_TARGET_DIR:-$PWD/target/guests}
env -u CARGO_TARGET_DIR -u RUSTFLAGS cargo build --release --target wasm32-wasip2 --bins \
  --target-dir "$target_dir" -p test-programs -p hello-frontend
echo "guests: $target_dir/wasm32-wasip2/release/*.wasm"
