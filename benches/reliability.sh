#!/usr/bin/env bash
# Reliability figures (issue "Scale"): 64 guests adding to one embedded store at once (errors,
# duplicate registrations, whether the store verifies with evalbox and with real Nix), and
# the same evaluation 100 times (whether every output is bit-identical). Prints one line each.
# Needs nix-store (for Nix's verification; skipped without it).
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
store="local?root=$work/root"
"$evalbox" eval -E 1 >/dev/null

# 64 guests at once, each adding 50 text files (10 of them shared by all) and 20 derivations.
cat > "$work/add.nix" <<'NIX'
{ i }:
let
  shared = builtins.genList (n: builtins.toFile "shared-${toString n}" "shared ${toString n}") 10;
  own = builtins.genList (n: builtins.toFile "own-${toString i}-${toString n}" "own ${toString i} ${toString n}") 40;
  drvs = builtins.genList (n: derivation {
    name = "d-${toString (n + 20 * (i - i / 2 * 2))}"; system = "x"; builder = "/bin/sh";
    args = [ (builtins.elemAt shared (n - n / 10 * 10)) ];
  }) 20;
in builtins.length (builtins.filter (p: builtins.stringLength p > 0) (shared ++ own ++ map (d: d.drvPath) drvs))
NIX
start=$(date +%s.%N)
pids=()
for i in $(seq 1 64); do
  "$evalbox" --store "$store" eval --strict --arg i "$i" "$work/add.nix" >"$work/out.$i" 2>"$work/err.$i" &
  pids+=($!)
done
errors=0
for p in "${pids[@]}"; do wait "$p" || errors=$((errors + 1)); done
secs=$(echo "$(date +%s.%N) - $start" | bc)
wrong=$(grep -Lx 70 "$work"/out.* | wc -l)
paths=$("$evalbox" --store "$store" store gc --dry-run | wc -l)
unique=$("$evalbox" --store "$store" store gc --dry-run | sort -u | wc -l)
expected=$((10 + 64 * 40 + 40))
verify=ok
"$evalbox" --store "$store" store verify --check-contents 2>/dev/null || verify=FAILED
nix_verify=skipped
if command -v nix-store >/dev/null; then
  nix_verify=ok
  nix-store --store "$store" --verify --check-contents >/dev/null 2>&1 || nix_verify=FAILED
fi
echo "64 concurrent guests: ${secs}s, $errors failed, $wrong wrong results, $paths paths registered ($unique distinct, $expected expected), evalbox verify $verify, nix-store --verify $nix_verify"

# The same evaluation 100 times.
distinct=$(for _ in $(seq 1 100); do
  "$evalbox" eval --strict --json -E 'let x = builtins.genList (i: { n = i; s = builtins.hashString "sha256" (toString i); }) 200; in { inherit x; t = builtins.currentTime; r = builtins.toFile "r" (builtins.toJSON x); }' | sha256sum
done | sort -u | wc -l)
echo "100 identical evaluations: $distinct distinct output(s)"
