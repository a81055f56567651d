#!/usr/bin/env bash
# The test command: formatting, lints, and every test of the workspace (guests are built for
# wasm32-wasip2 by the tests that need them). Set EVALBOX_REQUIRE_NIX=1 to make the
# differential tests fail, rather than skip, when real Nix is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The CLI tests run the evalbox binary: build it first even when only the tests crate is asked for.
cargo build --quiet -p evalbox
cargo test --workspace --quiet
