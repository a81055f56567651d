#!/usr/bin/env bash
# Side-by-side timing of nix-eval (native release build) and nix-instantiate on the
# benchmark expressions: best user+sys CPU of 3 runs and peak RSS. Usage: bench/run.sh
# (builds the release binary into $CARGO_TARGET_DIR or target/).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${CARGO_TARGET_DIR:-$here/../../../target}"
cargo build --release -q -p nix-eval --bin nix-eval
ours="$target/release/nix-eval"
if [ ! -f "$here/attrs-data.nix" ]; then
  python3 -c "
print('{')
for i in range(20000): print(f'  a{i} = {{ x = {i}; y = \"s{i}\"; z = [ {i} {i+1} ]; }};')
print('}')" > "$here/attrs-data.nix"
fi
best() {
  local b=999 m=0
  for _ in 1 2 3; do
    read -r u s rss < <( { /usr/bin/time -f "%U %S %M" "$@" >/dev/null; } 2>&1 | tail -1)
    t=$(echo "$u + $s" | bc)
    if (( $(echo "$t < $b" | bc) )); then b=$t; m=$rss; fi
  done
  echo "$b ${m}KB"
}
printf "%-10s %-18s %-18s\n" bench nix-instantiate nix-eval
for f in fib fold attrs strings fix; do
  n=$(best nix-instantiate --eval --strict "$here/$f.nix")
  o=$(best "$ours" --eval --strict "$here/$f.nix")
  printf "%-10s %-18s %-18s\n" "$f" "$n" "$o"
done
