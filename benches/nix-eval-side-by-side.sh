#!/usr/bin/env bash
# The Nix evaluator side by side, in one run: `evalbox eval --strict` (the nix-eval wasm guest
# in the sandbox, compiled-component cache warm), the same evaluator core as a native binary
# (`nix-eval`, optimised like the guest), and `nix-instantiate --eval --strict` (real Nix, 2.8 here), on the benchmark set
# (guests/nix-eval/bench: fib 25, foldl' over genList 1e6, a 20 000-attribute file, string
# building + replaceStrings, a 1 000-overlay fixpoint). Whole processes, timed by hyperfine
# (median wall time: this shared machine has outliers), peak RSS by GNU time (max of 3 runs);
# prints WASM/Nix and WASM/native, and WASM/native on evaluation alone: each side's start-up
# (`eval -E 1`, timed in the same run) subtracted.
# Needs hyperfine, GNU time (/usr/bin/time) and nix-instantiate.
set -euo pipefail
cd "$(dirname "$0")/.."
# EVALBOX_BENCH_PROFILE=dev reuses a test build of evalbox: the guest's machine code comes from
# cranelift either way, and the workspace builds dependencies (wasmtime) with opt-level 2.
# EVALBOX_BIN and NIX_EVAL_BIN name prebuilt binaries instead.
source benches/lib.sh
need hyperfine nix-instantiate python3 /usr/bin/time
unset EVALBOX_NIX_EVAL
# The native core is built with the guest's own profile (`guest` in Cargo.toml: fat LTO, one
# codegen unit, panic=abort): the same code, optimised the same way, on both sides.
if [[ -z "${NIX_EVAL_BIN:-}" ]]; then
  cargo build --profile guest -q -p nix-eval --bin nix-eval
fi
native=${NIX_EVAL_BIN:-$target/guest/nix-eval}
cases="fib fold attrs strings fix"
for c in $cases; do cp "guests/nix-eval/bench/$c.nix" "$work/"; done
python3 - "$work/attrs-data.nix" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("{\n")
    for i in range(20000):
        f.write(f'  a{i} = {{ x = {i}; y = "s{i}"; z = [ {i} {i+1} ]; }};\n')
    f.write("}\n")
PY
"$evalbox" eval -E 'builtins.nixVersion' >/dev/null   # compile the guest into the cache
hyperfine -N --warmup 3 --min-runs 50 --export-json "$work/start.json" \
  -n wasm "$evalbox eval -E 1" -n native "$native --eval -E 1" >/dev/null


for c in $cases; do
  f=$work/$c.nix
  if ! a=$("$evalbox" eval --strict "$f" 2>"$work/err"); then
    echo "$c: evalbox eval failed: $(tail -1 "$work/err")" >&2
    continue
  fi
  b=$("$native" --eval --strict "$f"); n=$(nix-instantiate --eval --strict "$f")
  [[ "$a" == "$b" && "$a" == "$n" ]] || { echo "$c: results differ: wasm=$a native=$b nix=$n" >&2; exit 1; }
  hyperfine -N --warmup 1 --min-runs 10 --export-json "$work/$c.json" \
    -n wasm "$evalbox eval --strict $f" \
    -n native "$native --eval --strict $f" \
    -n nix "nix-instantiate --eval --strict $f" >/dev/null
  echo "$(peak_rss "$evalbox" eval --strict "$f") $(peak_rss "$native" --eval --strict "$f") $(peak_rss nix-instantiate --eval --strict "$f")" > "$work/$c.mem"
done

python3 - "$work" $cases <<'PY'
import json, sys
work, cases = sys.argv[1], sys.argv[2:]
print(f"{'case':<8} {'wasm':>14} {'native':>14} {'nix 2.8':>14} {'wasm/nix':>9} {'wasm/native':>12} {'eval alone':>11}")
start = {x["command"]: x["median"] for x in json.load(open(f"{work}/start.json"))["results"]}
import os
for c in cases:
    if not os.path.exists(f"{work}/{c}.json"):
        print(f"{c:<8} (failed in the sandbox, see above)")
        continue
    r = {x["command"]: x for x in json.load(open(f"{work}/{c}.json"))["results"]}
    m = [int(x) // 1024 for x in open(f"{work}/{c}.mem").read().split()]
    w, n, x = (r[k]["median"] for k in ("wasm", "native", "nix"))
    alone = (w - start["wasm"]) / (n - start["native"])
    cell = lambda t, mb: f"{t*1e3:7.1f}ms {mb:3d}MB"
    print(f"{c:<8} {cell(w, m[0]):>14} {cell(n, m[1]):>14} {cell(x, m[2]):>14} {w/x:9.2f} {w/n:12.2f} {alone:11.2f}")
print(f"start-up (eval -E 1): wasm {start['wasm']*1e3:.2f} ms, native {start['native']*1e3:.2f} ms")
PY
