#!/usr/bin/env bash
# Seeds the fuzz corpora from the crate's test vectors.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/nar_reader corpus/aterm_parser
cp ../testdata/nar/*.nar ../testdata/out/*.nar corpus/nar_reader/
cp ../testdata/drv/*.drv ../testdata/drv-extra/*.drv corpus/aterm_parser/
