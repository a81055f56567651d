#!/usr/bin/env bash
# Side by side: `evalbox store add` against `nix-store --add` on the same large file and large
# tree, each into a fresh store on every run (hyperfine), so the ratio is measured in one run.
# Needs hyperfine and nix-store (scripts/setup.sh --with-nix installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine is missing (apt-get install hyperfine)" >&2; exit 1; }
command -v nix-store >/dev/null || { echo "nix-store is missing (scripts/install-nix.sh)" >&2; exit 1; }
cargo build --release -q -p evalbox
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/evalbox
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import os, sys, random
w = sys.argv[1]; r = random.Random(7)
data = r.randbytes(64 << 20)
open(os.path.join(w, "large-file"), "wb").write(data)
for i in range(2048):
    d = os.path.join(w, "large-tree", f"d{i % 32}"); os.makedirs(d, exist_ok=True)
    open(os.path.join(d, f"f{i}"), "wb").write(data[i * 64:i * 64 + (32 << 10)])
PY
for input in large-file large-tree; do
  echo "== add-to-store of $input"
  hyperfine --warmup 1 --runs 10 -N \
    --prepare "sh -c 'chmod -R u+w $work/s 2>/dev/null; rm -rf $work/s'" \
    -n evalbox "$bin --store local?root=$work/s store add $work/$input" \
    -n nix-store "nix-store --store local?root=$work/s --add $work/$input" \
    --export-markdown "$work/$input.md"
done
