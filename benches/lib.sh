# Shared by the side-by-side scripts (sourced, from the workspace root): the tools a script
# needs, evalbox built in the bench profile ($evalbox), a work directory removed at exit
# ($work, with the guest's compile cache), and peak RSS.

# need TOOL...: every tool must be on PATH.
need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
  done
}

profile=${EVALBOX_BENCH_PROFILE:-release}
target=${CARGO_TARGET_DIR:-$PWD/target}
if [[ -z "${EVALBOX_BIN:-}" ]]; then
  cargo build --profile "$profile" -q -p evalbox --bin evalbox
fi
evalbox=${EVALBOX_BIN:-$target/$([[ $profile == dev ]] && echo debug || echo "$profile")/evalbox}
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export EVALBOX_CACHE_DIR=$work/cache
unset NIX_PATH NIX_REMOTE

# peak_rss COMMAND...: the largest peak RSS (KiB) of 3 runs.
peak_rss() {
  local m=0 r
  for _ in 1 2 3; do
    /usr/bin/time -f "%M" -o "$work/time" "$@" >/dev/null 2>&1 || true
    r=$(tail -1 "$work/time")
    (( r > m )) && m=$r
  done
  echo "$m"
}
