#!/usr/bin/env bash
# Regenerates the extra vectors of nix-formats with a real Nix 2.8 (see README.md).
# Run from this directory: ./gen-extra.sh
set -euo pipefail
cd "$(dirname "$0")"
export NIX_CONFIG="experimental-features = nix-command ca-derivations impure-derivations"
rm -rf drv-extra json-extra && mkdir -p drv-extra json-extra
: > drv-extra/outputs.txt
sri=$(nix hash to-sri --type sha512 "$(printf 'hi\n' | sha512sum | cut -d' ' -f1)")
inst() { # file attr
  local drv
  drv=$(nix-instantiate "$1" --argstr sha512Sri "$sri" -A "$2" | sed 's/!.*//')
  cp "$drv" drv-extra/ && chmod u+w "drv-extra/$(basename "$drv")"
  nix show-derivation "$drv" > "json-extra/$2.show-derivation.json"
  echo "$drv"
}
for a in $(nix-instantiate --eval --strict -E 'builtins.attrNames (import ./exprs/extra.nix { sha512Sri = ""; })' | tr -d '[]"'); do
  drv=$(inst exprs/extra.nix "$a")
  # Input derivations are needed to recompute hashDerivationModulo.
  for d in $(nix-store -q --references "$drv" | grep '\.drv$' || true); do
    cp -n "$d" drv-extra/ && chmod u+w "drv-extra/$(basename "$d")"
  done
  echo "$(basename "$drv") $(nix-store -q --outputs "$drv" | xargs -n1 basename | sort | tr '\n' ' ')" >> drv-extra/outputs.txt
done
for a in floating floatingFlat deferred impure; do
  drv=$(nix-instantiate exprs/ca.nix -A "$a")
  cp "$drv" drv-extra/ && chmod u+w "drv-extra/$(basename "$drv")"
  nix show-derivation "$drv" > "json-extra/$a.show-derivation.json"
done
sort -o drv-extra/outputs.txt drv-extra/outputs.txt

# Hashes of hello.txt (flat) and of the NAR of the vector tree, every
# algorithm and spelling: "<file> <algo> <base16> <nix32> <sri>".
tmp=$(mktemp -d) && trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
nix-store --restore "$tmp/tree" < nar/tree.nar
: > hashes.txt
for algo in md5 sha1 sha256 sha512; do
  for f in inputs/hello.txt tree; do
    if [ "$f" = tree ]; then p="$tmp/tree"; flat=; label=nar/tree.nar; else p=$f; flat=--flat; label=$f; fi
    b16=$(nix-hash --type "$algo" $flat "$p")
    echo "$label $algo $b16 $(nix-hash --type "$algo" --to-base32 "$b16") $(nix hash to-sri --type "$algo" "$b16")" >> hashes.txt
  done
done
# Fixed-output store paths of the tree for every algorithm and method:
# "<method> <algo> <store path>".
: > fixed-paths.txt
for algo in md5 sha1 sha256 sha512; do
  echo "flat $algo $(nix-store --add-fixed "$algo" inputs/hello.txt)" >> fixed-paths.txt
  echo "recursive $algo $(nix-store --add-fixed --recursive "$algo" "$tmp/tree")" >> fixed-paths.txt
done

# builtins.toFile paths for edge-case names (Nix 2.8 accepts a leading '.',
# even "." and ".."; 211 characters is the longest name): "<name> <path>",
# all with content "x".
: > tofile-paths.txt
long=$(printf 'a%.0s' $(seq 211))
for n in . .. ... .foo .- - + '?=' "$long"; do
  echo "$n $(nix-instantiate --eval -E "builtins.toFile \"$n\" \"x\"" | tr -d '"')" >> tofile-paths.txt
done
