#!/usr/bin/env bash
# Instantiation and a trivial build side by side, in one run: `evalbox instantiate`/`build`
# (the nix-eval guest on the store capability) against `nix-instantiate`/`nix-build` (real Nix,
# 2.8 here), each on the embedded store / a chroot local store, and both through the
# nix-daemon. Cases: a chain of 1 000 derivations (each depends on the one before), a fan of
# 1 000 independent ones, a 1 000-file source tree through `filterSource` into one derivation,
# and a trivial build (`echo > $out`, a new derivation each run, so it really builds).
# Instantiation runs into a fresh store each time on the local stores ("cold": every path is
# written); through the daemon the paths stay valid after the first run ("warm").
# Whole processes timed by hyperfine (median wall time), peak RSS by GNU time (max of 3 runs).
# Needs hyperfine, GNU time (/usr/bin/time), nix-instantiate and nix-build; the daemon rows
# need a nix-daemon at the default socket (skipped otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
need hyperfine nix-instantiate nix-build python3 /usr/bin/time
daemon=no
[[ -S /nix/var/nix/daemon-socket/socket ]] && daemon=yes

# The cases.
cat > "$work/chain.nix" <<'NIX'
let
  mk = n: prev: derivation {
    name = "chain-${toString n}"; system = "x86_64-linux"; builder = "/bin/sh";
    args = [ "-c" "echo ${toString n} ${prev} > $out" ];
  };
in builtins.foldl' (prev: n: mk n prev) "start" (builtins.genList (i: i) 1000)
NIX
cat > "$work/fan.nix" <<'NIX'
builtins.genList (n: derivation {
  name = "fan-${toString n}"; system = "x86_64-linux"; builder = "/bin/sh";
  args = [ "-c" "echo ${toString n} > $out" ];
}) 1000
NIX
cat > "$work/tree.nix" <<'NIX'
derivation {
  name = "tree"; system = "x86_64-linux"; builder = "/bin/sh";
  src = builtins.filterSource (p: t: baseNameOf p != "skip") ./tree;
  args = [ "-c" "cp -r $src $out" ];
}
NIX
cat > "$work/build.nix" <<'NIX'
derivation {
  name = "trivial-${builtins.readFile ./nonce}"; system = "x86_64-linux"; builder = "/bin/sh";
  args = [ "-c" "echo > $out" ];
}
NIX
for d in $(seq 0 39); do
  mkdir -p "$work/tree/d$d"
  for f in $(seq 0 24); do echo "file $d $f" > "$work/tree/d$d/f$f.txt"; done
done
echo skipped > "$work/tree/skip"
printf 0 > "$work/nonce"

cd "$work"
"$evalbox" eval -E 1 >/dev/null   # compile the guest into the cache
# Preparations run before each timed run (as scripts: hyperfine -N runs them without a shell).
echo 'date +%s%N | tr -d "\n" > nonce' > "$work/nonce.sh"
echo 'chmod -R u+w ours theirs 2>/dev/null || true; rm -rf ours theirs' > "$work/wipe.sh"
nonce="bash $work/nonce.sh"
wipe="bash $work/wipe.sh"
opts=(--option sandbox true --option sandbox-paths "/bin /usr /lib /lib64?")
q() { printf '%q ' "$@"; }  # one command line for hyperfine
run() {  # name prepare command...
  local name=$1 prepare=$2; shift 2
  hyperfine -N --warmup 2 --min-runs 10 --prepare "$prepare" \
    --export-json "$work/$name.json" "$@" >/dev/null
}
peak() {  # prepare command: max RSS in KiB over 3 runs
  local m=0 r prepare=$1; shift
  for _ in 1 2 3; do
    bash -c "$prepare"
    /usr/bin/time -f "%M" -o "$work/time" "$@" >/dev/null 2>&1
    r=$(tail -1 "$work/time")
    (( r > m )) && m=$r
  done
  echo "$m"
}
rows=()
for c in chain fan tree; do
  ours=("$evalbox" --store "local?root=$work/ours" instantiate "$c.nix")
  theirs=(nix-instantiate --store "local?root=$work/theirs" "$c.nix")
  run "$c-local" "$wipe" -n ours "$(q "${ours[@]}")" -n theirs "$(q "${theirs[@]}")"
  rows+=("$c|local|$(peak "$wipe" "${ours[@]}")|$(peak "$wipe" "${theirs[@]}")")
  if [[ $daemon == yes ]]; then
    ours=("$evalbox" --store daemon instantiate "$c.nix")
    theirs=(env NIX_REMOTE=daemon nix-instantiate "$c.nix")
    run "$c-daemon" true -n ours "$(q "${ours[@]}")" -n theirs "$(q "${theirs[@]}")"
    rows+=("$c|daemon|$(peak true "${ours[@]}")|$(peak true "${theirs[@]}")")
  fi
done
ours=("$evalbox" --store "local?root=$work/ours" build build.nix "${opts[@]}")
theirs=(nix-build --store "local?root=$work/theirs" --no-out-link build.nix "${opts[@]}")
run build-local "$nonce" -n ours "$(q "${ours[@]}")" -n theirs "$(q "${theirs[@]}")"
rows+=("build|local|$(peak "$nonce" "${ours[@]}")|$(peak "$nonce" "${theirs[@]}")")
if [[ $daemon == yes ]]; then
  ours=("$evalbox" --store daemon build build.nix)
  theirs=(env NIX_REMOTE=daemon nix-build --no-out-link build.nix)
  run build-daemon "$nonce" -n ours "$(q "${ours[@]}")" -n theirs "$(q "${theirs[@]}")"
  rows+=("build|daemon|$(peak "$nonce" "${ours[@]}")|$(peak "$nonce" "${theirs[@]}")")
fi

python3 - "$work" "${rows[@]}" <<'PY'
import json, sys
work, rows = sys.argv[1], sys.argv[2:]
print("| case | store | evalbox | Nix | evalbox/Nix | peak RSS evalbox | peak RSS Nix |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for row in rows:
    case, store, ours_kib, theirs_kib = row.split("|")
    res = {r["command"]: r["median"] for r in json.load(open(f"{work}/{case}-{store}.json"))["results"]}
    o, t = res["ours"], res["theirs"]
    print(f"| {case} | {store} | {o*1e3:.1f} ms | {t*1e3:.1f} ms | {o/t:.2f} | "
          f"{int(ours_kib)/1024:.0f} MiB | {int(theirs_kib)/1024:.0f} MiB |")
PY
