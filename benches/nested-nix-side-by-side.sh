#!/usr/bin/env bash
# What a nested Nix evaluation (`evalbox:guest/nix`) costs a guest, in one run: the C example
# frontend on a package that depends on a Nix-defined package (`[nix] greeting =
# "pkgs.nix#greeting"`, a derivation using nixpkgs' lib from ../shared/nixpkgs-lib) against the
# same frontend on the package without it; their difference against a fresh `evalbox
# nix-instantiate pkgs.nix -A greeting` (what the nested evaluation does, as its own process)
# and Nix 2.8's `nix-instantiate`. Every `.drv` is in the store already on each side (warm
# runs). Whole processes timed by hyperfine (median), peak RSS by GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
need hyperfine /usr/bin/time nix-instantiate
lib=$(cd ../shared/nixpkgs-lib && pwd)
cargo build -q -p componentize-c
target/debug/componentize-c build examples/c-frontend/frontend.c -o "$work/c.wasm"
for p in plain nix; do cp -r examples/hello "$work/$p"; done
cat > "$work/nix/pkgs.nix" <<NIX
let lib = import $lib/lib; in {
  greeting = derivation {
    name = "greeting"; system = "x86_64-linux"; builder = "/bin/sh";
    args = [ "-c" "echo \${lib.concatMapStringsSep " " toString (lib.range 1 10)} > \$out" ];
  };
}
NIX
printf '\n[nix]\ngreeting = "pkgs.nix#greeting"\n' >> "$work/nix/package.toml"
export EVALBOX_STORE=$work/store
run() { echo "$evalbox run --src $work/$1 --src $lib $work/c.wasm -- $work/$1"; }
fresh="$evalbox nix-instantiate --src $lib $work/nix/pkgs.nix -A greeting"
nix="nix-instantiate --store $work/nix-store $work/nix/pkgs.nix -A greeting"
hyperfine -N --warmup 3 --min-runs 20 --export-json "$work/t.json" \
  -n plain "$(run plain)" -n nested "$(run nix)" -n fresh "$fresh" -n nix "$nix" >/dev/null
python3 - "$work/t.json" "$(peak_rss $(run plain))" "$(peak_rss $(run nix))" \
  "$(peak_rss $fresh)" "$(peak_rss $nix)" <<'PY'
import json, sys
t = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
mem = dict(zip(["plain", "nested", "fresh", "nix"], (int(m) / 1024 for m in sys.argv[2:])))
rows = [("plain", "C frontend, no Nix package"), ("nested", "C frontend + nested Nix evaluation"),
        ("fresh", "evalbox nix-instantiate -A greeting"), ("nix", "nix-instantiate 2.8 -A greeting")]
print("| run | wall time | peak RSS |")
print("| --- | --- | --- |")
for k, label in rows:
    print(f"| {label} | {t[k]*1e3:.1f} ms | {mem[k]:.0f} MB |")
nested = t["nested"] - t["plain"]
print(f"\nnested evaluation: {nested*1e3:.1f} ms; fresh evalbox process: {t['fresh']*1e3:.1f} ms "
      f"(nested/fresh {nested/t['fresh']:.2f})")
PY
