#!/usr/bin/env bash
# Frontends in four languages side by side, in one run: `evalbox run` of the Rust
# (hello-frontend), Python (componentize-py), JavaScript (componentize-js) and C
# (componentize-c) example frontends on examples/hello, compile cache warm, against native `python3` running the same
# Python frontend against a stub store (benches/native-stub: answers without hashing or
# writing, so it is a lower bound for the native side); and each component's first start
# (compiled, no cache). Whole processes timed by hyperfine (median), peak RSS by GNU time.
# Needs hyperfine, GNU time, python3 (3.11+), and the tools scripts/setup.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
need hyperfine python3 /usr/bin/time
py=target/tools/python/bin/componentize-py
js=target/tools/js/node_modules/.bin/componentize-js
[[ -x $py && -x $js ]] || { echo "run scripts/setup.sh first (componentize-py, componentize-js)" >&2; exit 1; }
cargo build --release -q --target wasm32-wasip2 -p hello-frontend --target-dir "$work/rust"
"$py" -d guest-abi/wit -w evaluator componentize -p guest-abi/python -p examples/python-frontend \
  app -o "$work/python.wasm" >/dev/null
"$js" examples/js-frontend/app.js -w guest-abi/wit -n evaluator -o "$work/js.wasm" >/dev/null
cargo build -q -p componentize-c
target/debug/componentize-c build examples/c-frontend/frontend.c -o "$work/c.wasm"
cp "$work/rust/wasm32-wasip2/release/hello-frontend.wasm" "$work/rust.wasm"
pkg=$PWD/examples/hello
export EVALBOX_STORE=$work/store
run() { echo "$evalbox run --src $pkg $work/$1.wasm -- $pkg"; }
# The interpreter itself, not a wrapper such as pyenv's shim (which adds its own start-up).
python=$(python3 -c 'import sys; print(sys.executable)')
native="env PYTHONPATH=$PWD/benches/native-stub:$PWD/guest-abi/python:$PWD/examples/python-frontend $python -c 'import app; app.main([\"app\", \"$pkg\"])'"
first() { echo "$evalbox run --no-cache --src $pkg $work/$1.wasm -- $pkg"; }
hyperfine -N --warmup 2 --min-runs 10 --export-json "$work/warm.json" \
  -n rust "$(run rust)" -n python "$(run python)" -n js "$(run js)" -n c "$(run c)" >/dev/null
hyperfine --warmup 2 --min-runs 10 --export-json "$work/native.json" -n native-python "$native" >/dev/null
hyperfine -N --runs 3 --export-json "$work/first.json" \
  -n rust-first "$(first rust)" -n python-first "$(first python)" -n js-first "$(first js)" \
  -n c-first "$(first c)" >/dev/null
python3 - "$work" "$(peak_rss $(run rust))" "$(peak_rss $(run python))" "$(peak_rss $(run js))" \
  "$(peak_rss $(run c))" <<'PY'
import json, sys
work, *mem = sys.argv[1:]
t = {}
for f in ("warm", "native", "first"):
    t.update({r["command"]: r["median"] for r in json.load(open(f"{work}/{f}.json"))["results"]})
mem = dict(zip(["rust", "python", "js", "c"], (int(m) / 1024 for m in mem)))
print("| frontend | warm start | first start (compiles) | peak RSS |")
print("| --- | --- | --- | --- |")
for k in ("rust", "python", "js", "c"):
    print(f"| {k} | {t[k]*1e3:.1f} ms | {t[k + '-first']*1e3:.0f} ms | {mem[k]:.0f} MB |")
print(f"| native python3, stub store | {t['native-python']*1e3:.1f} ms | — | — |")
print(f"\nwarm Python guest / native python3: {t['python']/t['native-python']:.2f}")
PY
