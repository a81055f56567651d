#!/usr/bin/env bash
# The main job on the embedded store: build evalbox and the example frontend guest, run the
# guest in the sandbox (its only capabilities: store operations and the read-only example
# directory), and show the derivation it wrote; then evaluate Nix with the sandboxed evaluator.
# The store lives in $EVALBOX_STORE (default: ~/.local/share/evalbox/root).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p evalbox
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/evalbox
./scripts/build-guests.sh >/dev/null
guest=$PWD/target/guests/wasm32-wasip2/release/hello-frontend.wasm
example=$(realpath examples/hello)
echo "== evalbox inspect (the capability audit)"
"$bin" inspect "$guest"
echo "== evalbox run hello-frontend on the embedded store"
out=$("$bin" run --src "$example" "$guest" -- "$example")
echo "$out"
drv=$(head -n1 <<<"$out")
echo "== the derivation it wrote"
"$bin" store show-derivation "$drv"
echo "== evalbox eval (the Nix evaluator, sandboxed)"
"$bin" eval --strict -E 'let fib = n: if n < 2 then n else fib (n - 1) + fib (n - 2); in { fib20 = fib 20; sys = builtins.currentSystem; }'
