#!/usr/bin/env bash
# `evalbox eval-jobs` side by side, in one run: a generated jobset (GROUPS x 50 attributes,
# default 20, each derivation doing a little arithmetic, with throws and failed asserts among
# them) walked by evalbox with 1 and 2 workers, by `nix-env -qaP --drv-path` (Nix 2.8; one
# process, no workers) and by a loop of `nix-instantiate -A` over every job (what a script
# without nix-eval-jobs does). Every side instantiates each job; the warm-up run leaves the
# `.drv` files valid in each store (the embedded stores here, Nix's /nix/store), so the timed
# runs measure evaluation, not file creation.
# Whole processes timed by hyperfine (median wall time), peak RSS by GNU time (max of 3).
# Needs hyperfine, GNU time (/usr/bin/time), nix-env, nix-instantiate and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
need hyperfine nix-env nix-instantiate python3 /usr/bin/time
groups=${GROUPS_N:-20}

cat > "$work/jobset.nix" <<'NIX'
{ groups }:
let
  mk = name: work: derivation {
    inherit name;
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "echo > $out" ];
    sum = toString (builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x * work) 5000));
  };
  member = i: j:
    if j == 7 then assert i < -1; mk "asserted-too" i
    else if j == 11 then assert i < 0; mk "asserted" i
    else mk "pkg-${toString i}-${toString j}" (i * 50 + j);
  group = i: { recurseForDerivations = true; } // builtins.listToAttrs (builtins.genList
    (j: { name = "p${toString j}"; value = member i j; }) 50);
in
builtins.listToAttrs (builtins.genList (i: { name = "g${toString i}"; value = group i; }) groups)
NIX
cd "$work"
"$evalbox" eval -E 1 >/dev/null   # compile the guest into the cache
jobs=$(EVALBOX_STORE=$work/s "$evalbox" eval-jobs --arg groups "$groups" jobset.nix | python3 -c '
import json, sys
for line in sys.stdin:
    j = json.loads(line)
    if "drvPath" in j: print(j["attr"])')
echo "$jobs" > "$work/attrs"
echo "$(wc -l < "$work/attrs") jobs" >&2
cat > "$work/loop.sh" <<SH
while read -r a; do nix-instantiate --arg groups $groups -A "\$a" jobset.nix >/dev/null 2>&1 || true; done < $work/attrs
SH
one="env EVALBOX_STORE=$work/s1 $evalbox eval-jobs --workers 1 --arg groups $groups jobset.nix"
two="env EVALBOX_STORE=$work/s2 $evalbox eval-jobs --workers 2 --arg groups $groups jobset.nix"
env_q="nix-env -qaP --drv-path --arg groups $groups -f jobset.nix"
hyperfine -N -i --warmup 1 --min-runs "${RUNS:-5}" \
  --export-json "$work/times.json" -n one "$one" -n two "$two" -n nix-env "$env_q" >/dev/null
hyperfine -i --runs 1 --export-json "$work/loop.json" -n loop "bash $work/loop.sh" >/dev/null
python3 - "$work" \
  "$(peak_rss $one)" "$(peak_rss $two)" "$(peak_rss $env_q)" <<'PY'
import json, sys
work, *mem = sys.argv[1:]
t = {r["command"]: r["median"] for r in json.load(open(f"{work}/times.json"))["results"]}
t["loop"] = json.load(open(f"{work}/loop.json"))["results"][0]["median"]
mem = dict(zip(["one", "two", "nix-env"], (int(m) / 1024 for m in mem)))
print("| run | wall | peak RSS |")
print("| --- | --- | --- |")
for k, label in [("one", "evalbox eval-jobs, 1 worker"), ("two", "evalbox eval-jobs, 2 workers"),
                 ("nix-env", "nix-env -qaP --drv-path"), ("loop", "nix-instantiate -A, one per job")]:
    rss = f"{mem[k]:.0f} MB" if k in mem else "—"
    print(f"| {label} | {t[k]*1e3:.0f} ms | {rss} |")
print(f"\n2 workers / 1: {t['one']/t['two']:.2f}x faster; 2 workers / nix-env: {t['two']/t['nix-env']:.2f}; "
      f"2 workers / nix-instantiate loop: {t['two']/t['loop']:.3f}")
PY
