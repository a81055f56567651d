#!/usr/bin/env bash
# Install real Nix 2.8 (Debian's nix-bin) on a fresh Debian machine, as root, configure it for
# offline use and start nix-daemon. Idempotent: a second run only (re)starts what is missing.
# Used by .ci/run; the differential tests compare evalbox against this Nix.
set -euo pipefail
log() { echo "[install-nix] $*" >&2; }
export DEBIAN_FRONTEND=noninteractive
if ! command -v nix-store >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { log "must run as root to install nix-bin"; exit 1; }
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nix-bin >/dev/null
fi
# Build users: normally created by nix-setup-systemd's postinst, which pulls in systemd.
groupadd --force --system nix-users
groupadd --force --system nixbld
for n in $(seq 1 10); do
  id "nixbld$n" >/dev/null 2>&1 || useradd --system --comment "Nix build user $n" --home-dir /var/empty \
    --gid nixbld --groups nixbld --no-user-group --shell /usr/sbin/nologin "nixbld$n"
done
mkdir -p /etc/nix /nix/var/nix/daemon-socket
cat > /etc/nix/nix.conf <<'CONF'
sandbox = false
substituters =
experimental-features = nix-command
build-users-group = nixbld
trusted-users = root
CONF
nix-store --version >&2
sock=/nix/var/nix/daemon-socket/socket
if ! NIX_REMOTE=daemon nix-store -q --hash /dev/null >/dev/null 2>&1 && ! NIX_REMOTE=daemon nix store ping >/dev/null 2>&1; then
  rm -f "$sock"
  log=${NIX_DAEMON_LOG:-/var/log/nix-daemon.log}
  setsid nix-daemon >"$log" 2>&1 </dev/null &
  for _ in $(seq 1 200); do [ -S "$sock" ] && break; sleep 0.05; done
  [ -S "$sock" ] || { cat "$log" >&2; exit 1; }
fi
NIX_REMOTE=daemon nix store ping >&2
log "nix-daemon is up at $sock"
