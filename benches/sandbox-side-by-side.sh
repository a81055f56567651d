#!/usr/bin/env bash
# P1 side by side: evalbox's warm create + run + tear down of an empty guest (criterion,
# in-process) next to an OS sandbox, `bwrap --ro-bind / / --unshare-all true`, and a plain
# `true` (hyperfine), printing the ratio in one run. Also times a whole `evalbox run` process
# (compiled-component cache warm) for a like-for-like process-level figure.
# Needs bubblewrap and hyperfine (apt-get install bubblewrap hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in bwrap hyperfine python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install bubblewrap hyperfine)" >&2; exit 1; }
done
./scripts/build-guests.sh >/dev/null
cargo build --release -q -p evalbox
target=${CARGO_TARGET_DIR:-$PWD/target}
bin=$target/release/evalbox
empty=${EVALBOX_GUEST_TARGET_DIR:-$PWD/target/guests}/wasm32-wasip2/release/empty.wasm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export EVALBOX_CACHE_DIR=$work/cache
"$bin" run "$empty"   # fills the compile cache

cargo bench -q -p evalbox-benches --bench sandbox -- 'sandbox/p1_empty_guest' >/dev/null
estimates=$target/criterion/sandbox/p1_empty_guest/new/estimates.json

hyperfine --warmup 5 --runs 100 -N --export-json "$work/h.json" \
  -n bwrap "bwrap --ro-bind / / --unshare-all true" \
  -n true "true" \
  -n "evalbox run (process)" "$bin run $empty" >/dev/null

python3 - "$estimates" "$work/h.json" <<'PY'
import json, sys
p1 = json.load(open(sys.argv[1]))["median"]["point_estimate"] / 1e3  # ns -> µs
runs = {r["command"]: r for r in json.load(open(sys.argv[2]))["results"]}
bwrap = runs["bwrap"]["median"] * 1e6
true = runs["true"]["median"] * 1e6
proc = runs["evalbox run (process)"]["median"] * 1e6
print(f"P1 evalbox warm create+run+teardown (in-process, median): {p1:10.1f} µs")
print(f"bwrap --ro-bind / / --unshare-all true (median):           {bwrap:10.1f} µs")
print(f"plain `true` process (median):                              {true:10.1f} µs")
print(f"evalbox run empty.wasm, whole process, cache warm (median): {proc:10.1f} µs")
print(f"ratio bwrap / P1:           {bwrap / p1:8.0f}x")
print(f"ratio (bwrap - true) / P1:  {(bwrap - true) / p1:8.0f}x  (the sandbox's own cost)")
print(f"ratio evalbox-process / bwrap: {proc / bwrap:5.2f}")
PY
