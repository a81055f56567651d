#!/usr/bin/env bash
# The main job on the embedded store: build evalbox and the example frontend guest, run the
# guest in the sandbox (its only capabilities: store operations and the read-only example
# directory), show the derivation it wrote and build it in the store's sandbox (the builder
# sees the host's shell); then evaluate, instantiate and build Nix with the sandboxed evaluator.
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
# Builders see only their inputs; these give them the host's shell and coreutils.
host_tools=(--option sandbox-paths "/bin /usr /lib /lib64?")
echo "== evalbox store realise (built in the embedded store's sandbox)"
built=$("$bin" store realise "$drv" "${host_tools[@]}")
echo "$built"
ls -R $(sed "s|^|${EVALBOX_STORE:-$HOME/.local/share/evalbox/root}|" <<<"$built")
echo "== evalbox eval (the Nix evaluator, sandboxed)"
"$bin" eval --strict -E 'let fib = n: if n < 2 then n else fib (n - 1) + fib (n - 2); in { fib20 = fib 20; sys = builtins.currentSystem; }'
echo "== evalbox build (a Nix expression, instantiated and built)"
"$bin" build "${host_tools[@]}" -E 'derivation { name = "greeting"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo hello from ${builtins.toFile "who" "nix"} > $out" ]; }'
