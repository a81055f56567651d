#!/usr/bin/env bash
# Side by side through the real nix-daemon: `evalbox --store daemon store add` against
# `NIX_REMOTE=daemon nix-store --add`, in one hyperfine run per input so the ratio is measured
# under the same conditions. Every run adds fresh content (hyperfine --prepare rewrites the
# input), so both really add instead of finding the path valid. Inputs: a small file (latency:
# connect, handshake, one add), a 16 MiB file and a 512-file tree (throughput).
#
# EVALBOX_ADD=example times the `store_add` example of evalbox-daemon instead of the evalbox
# CLI (the same DaemonStore code path without building the wasm runtime).
# Needs hyperfine (apt-get install hyperfine) and a running nix-daemon. Added paths stay in
# /nix/store until the next `nix-store --gc`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine is missing (apt-get install hyperfine)" >&2; exit 1; }
command -v nix-store >/dev/null || { echo "nix-store is missing (scripts/install-nix.sh)" >&2; exit 1; }
socket=/nix/var/nix/daemon-socket/socket
[ -S "$socket" ] || { echo "no nix-daemon socket at $socket" >&2; exit 1; }
target=${CARGO_TARGET_DIR:-$PWD/target}
if [ "${EVALBOX_ADD:-cli}" = example ]; then
  cargo build --release -q -p evalbox-daemon --example store_add
  ours="$target/release/examples/store_add daemon"
else
  cargo build --release -q -p evalbox
  ours="$target/release/evalbox --store daemon store add"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Fresh content for every run: a random tag in the small file, a random head in the large one,
# a random file in the tree.
cat > "$work/fresh.sh" <<'SH'
#!/bin/sh
set -e
w=$1
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$w/small"
head -c 16777216 /dev/urandom > "$w/large"
if [ ! -d "$w/tree" ]; then
  mkdir -p "$w/tree"
  i=0
  while [ $i -lt 512 ]; do
    mkdir -p "$w/tree/d$((i % 16))"
    head -c 4096 /dev/urandom > "$w/tree/d$((i % 16))/f$i"
    i=$((i + 1))
  done
fi
head -c 32 /dev/urandom > "$w/tree/fresh"
SH
chmod +x "$work/fresh.sh"
"$work/fresh.sh" "$work"
for input in small large tree; do
  echo "== add-to-store through nix-daemon: $input"
  hyperfine --warmup 2 --runs "${RUNS:-20}" -N \
    --prepare "$work/fresh.sh $work" \
    -n evalbox "$ours $work/$input" \
    -n nix-store "env NIX_REMOTE=daemon nix-store --add $work/$input" \
    --export-markdown "$work/$input.md"
  cat "$work/$input.md"
done
