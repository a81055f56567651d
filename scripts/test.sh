#!/usr/bin/env bash
# The test command: formatting, lints, and every test of the workspace (guests are built for
# wasm32-wasip2 by the tests that need them). Set EVALBOX_REQUIRE_NIX=1 to make the
# differential tests fail, rather than skip, when real Nix is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The CLI tests run the evalbox binary: build it first, with the test targets in the same
# invocation so that dependencies get the same unified features as `cargo test --workspace`
# (`cargo build -p evalbox` alone unifies them differently and compiled wasmtime twice).
cargo build --quiet --workspace --bins --tests --examples
# On failure, the first lines of each failed test's panic are repeated at the end, where a CI
# log that keeps only its tail still shows why.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! cargo test --workspace --quiet 2>&1 | tee "$log"; then
  echo "[test] FAILED; each failure's first lines:"
  awk 'BEGIN { shown = 8 }
       /^---- .* ----$/ { shown = 0; print; next }
       /^failures:$/ { shown = 8 }
       shown < 8 && NF { print "    " $0; shown++ }' "$log" | head -n 300
  exit 1
fi
