#!/usr/bin/env bash
# Seeds both corpora with Nix's language suite (`../shared/nix-lang-tests`).
set -euo pipefail
cd "$(dirname "$0")"
suite=../../../../shared/nix-lang-tests
mkdir -p corpus/parse corpus/eval
cp "$suite"/*.nix corpus/parse/
cp "$suite"/*.nix corpus/eval/
