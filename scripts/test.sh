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
cargo test --workspace --quiet
