#!/usr/bin/env bash
# Real code side by side, in one run: nixpkgs' lib (../shared/nixpkgs-lib) evaluated by
# `evalbox eval --strict` (the nix-eval guest in the sandbox, compile cache warm), the same
# evaluator core as a native binary (`nix-eval`, built like the guest) and
# `nix-instantiate --eval --strict` (real Nix, 2.8 here).
# Cases: the module system (`lib.evalModules` over N options, each an
# `attrsOf (submodule { x: int; s: str; })` with two definitions, `deepSeq` of the config) at
# N = 100, 300, 1000; `lib/tests/systems.nix`; `lib/tests/misc.nix` (evalbox and the native core
# only: Nix 2.8 lacks `builtins.readFileType`); `lib/tests/modules.sh` end to end, through
# the drop-in `nix-instantiate` against Nix's own (Nix 2.8 fails 11 of its checks; the time is
# still the suite's); `lib/fileset/tests.sh` end to end through the drop-in (evalbox only);
# `builtins.fetchGit` of a clone of this repository, clean and dirty.
# Whole processes timed by hyperfine (median wall time), peak RSS by GNU time (max of 3 runs).
# Needs hyperfine, GNU time (/usr/bin/time), nix-instantiate, git and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source benches/lib.sh
need hyperfine nix-instantiate git python3 /usr/bin/time
if [[ -z "${NIX_EVAL_BIN:-}" ]]; then
  cargo build --profile guest -q -p nix-eval --bin nix-eval
fi
native=${NIX_EVAL_BIN:-$target/guest/nix-eval}
nixpkgs=$(cd ../shared/nixpkgs-lib && pwd)
lib=$nixpkgs/lib
export EVALBOX_STORE=$work/store
unset EVALBOX_NIX_EVAL

cat > "$work/modules.nix" <<NIX
{ n }:
let
  lib = import $lib;
  inherit (lib) types mkOption;
  names = builtins.genList (i: "o\${toString i}") n;
  each = f: lib.listToAttrs (map (name: lib.nameValuePair name (f name)) names);
  item = types.submodule {
    options.x = mkOption { type = types.int; };
    options.s = mkOption { type = types.str; };
  };
  declarations = {
    options = each (_: mkOption { type = types.attrsOf item; default = { }; });
  };
  first = { config = each (_: { a = { x = 1; s = "a"; }; }); };
  second = { config = each (_: { b = { x = 2; s = "b"; }; }); };
  result = lib.evalModules { modules = [ declarations first second ]; };
in
builtins.deepSeq result.config (builtins.length (builtins.attrNames result.config))
NIX
mkdir -p "$work/bin"
ln -s "$evalbox" "$work/bin/nix-instantiate"

"$evalbox" eval -E 1 >/dev/null   # compile the guest into the cache
q() { printf '%q ' "$@"; }
rows=()
# case, then for each side: a command (or "-" when that side does not run the case).
bench() {
  local name=$1 wasm=$2 nat=$3 nix=$4 args=()
  [[ $wasm != - ]] && args+=(-n wasm "$wasm")
  [[ $nat != - ]] && args+=(-n native "$nat")
  [[ $nix != - ]] && args+=(-n nix "$nix")
  hyperfine -N -i --warmup 1 --min-runs "${RUNS:-10}" --export-json "$work/$name.json" "${args[@]}" >/dev/null
  local mem=()
  for c in "$wasm" "$nat" "$nix"; do
    if [[ $c == - ]]; then mem+=(0); else mem+=("$(eval "peak_rss $c")"); fi
  done
  rows+=("$name|${mem[0]}|${mem[1]}|${mem[2]}")
}
for n in 100 300 1000; do
  f=$work/modules.nix
  a=$("$evalbox" eval --strict --src "$nixpkgs" --arg n "$n" "$f")
  b=$("$native" --eval --strict --arg n "$n" "$f")
  c=$(nix-instantiate --eval --strict --arg n "$n" "$f")
  [[ "$a" == "$n" && "$b" == "$n" && "$c" == "$n" ]] || { echo "modules $n: results differ: $a $b $c" >&2; exit 1; }
  bench "modules-$n" "$(q "$evalbox" eval --strict --src "$nixpkgs" --arg n "$n" "$f")" \
    "$(q "$native" --eval --strict --arg n "$n" "$f")" \
    "$(q nix-instantiate --eval --strict --arg n "$n" "$f")"
done
cd "$lib"
bench systems "$(q "$evalbox" eval --strict tests/systems.nix)" \
  "$(q "$native" --eval --strict tests/systems.nix)" \
  "$(q nix-instantiate --eval --strict tests/systems.nix)"
bench misc "$(q "$evalbox" eval --strict tests/misc.nix)" \
  "$(q "$native" --eval --strict tests/misc.nix)" -
# hyperfine ignores exit codes (-i: Nix 2.8 fails parts of suites written for newer Nix), so
# each suite is first run once through evalbox and must pass there.
passes() {
  "$@" >/dev/null 2>&1 || { echo "$* failed through evalbox: no row for it" >&2; exit 1; }
}
modules_sh=(env PATH="$work/bin:$PATH" EVALBOX_SRC="$nixpkgs" bash tests/modules.sh)
passes "${modules_sh[@]}"
RUNS=3 bench modules.sh "$(q "${modules_sh[@]}")" - "$(q bash tests/modules.sh)"
# The fileset suite inspects the store paths it makes on disk, so it runs on the nix-daemon's
# store (as the tests do), reading the whole file system; evalbox only (Nix 2.8 lacks
# `builtins.readFileType`, and the native core has no store to add to).
if nix --extra-experimental-features nix-command store ping --store daemon >/dev/null 2>&1; then
  fileset_sh=(env PATH="$work/bin:$PATH" EVALBOX_SRC=/ NIX_REMOTE=daemon bash fileset/tests.sh)
  passes "${fileset_sh[@]}"
  RUNS=3 bench fileset "$(q "${fileset_sh[@]}")" - -
else
  echo "no nix-daemon answers: the fileset row is left out" >&2
fi

# builtins.fetchGit of a working tree: a packed clone of this repository, clean (Nix 2.8 then
# answers from its fetcher cache, keyed by the revision) and with a modified file.
git clone -q "$root" "$work/repo" && git -C "$work/repo" gc -q
fetch="(builtins.fetchGit $work/repo).narHash"
for state in clean dirty; do
  [[ $state == dirty ]] && echo changed >> "$work/repo/README.md"
  a=$("$evalbox" eval --strict --src "$work/repo" -E "$fetch" 2>/dev/null)
  c=$(nix-instantiate --eval --strict -E "$fetch" 2>/dev/null)
  [[ "$a" == "$c" ]] || { echo "fetchGit $state: results differ: $a $c" >&2; exit 1; }
  bench "fetchGit-$state" "$(q "$evalbox" eval --strict --src "$work/repo" -E "$fetch")" \
    "$(q "$native" --eval --strict -E "$fetch")" \
    "$(q nix-instantiate --eval --strict -E "$fetch")"
done

python3 - "$work" "${rows[@]}" <<'PY'
import json, sys
work, rows = sys.argv[1], sys.argv[2:]
print("| case | evalbox (sandbox) | native core | nix-instantiate 2.8 | evalbox/Nix | evalbox/native |")
print("| --- | --- | --- | --- | --- | --- |")
for row in rows:
    name, *mem = row.split("|")
    res = {r["command"]: r["median"] for r in json.load(open(f"{work}/{name}.json"))["results"]}
    mem = dict(zip(["wasm", "native", "nix"], (int(m) for m in mem)))
    cell = lambda k: f"{res[k]*1e3:.0f} ms, {mem[k]/1024:.0f} MB" if k in res else "—"
    ratio = lambda a, b: f"{res[a]/res[b]:.2f}" if a in res and b in res else "—"
    print(f"| {name} | {cell('wasm')} | {cell('native')} | {cell('nix')} | {ratio('wasm','nix')} | {ratio('wasm','native')} |")
PY
