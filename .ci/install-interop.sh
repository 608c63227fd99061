#!/usr/bin/env bash
# Installs what the interop tests (test/interop/) need on a fresh Debian machine: BIRD 2, GoBGP, FRR,
# ExaBGP, iproute2 from Debian, and BIRD 1.6 (Debian's `bird`, which conflicts with bird2) unpacked privately
# into $TERN_BIRD1_DIR (default /opt/tern-interop/bird1). Idempotent: does nothing when all is there.
# Quiet: one summary line; apt/dpkg output goes to a log that is printed only on failure.
set -euo pipefail

BIRD1_DIR="${TERN_BIRD1_DIR:-/opt/tern-interop/bird1}"
PACKAGES=(bird2 gobgpd frr exabgp iproute2 python3 libreadline8 etcd-server etcd-client)
LOG="$(mktemp -t tern-install-interop.XXXXXX.log)"

SUDO=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "install-interop: needs root (or passwordless sudo) to install Debian packages" >&2
    exit 1
  fi
fi

fail() {
  echo "install-interop: FAILED: $*" >&2
  echo "---- $LOG" >&2
  tail -n 60 "$LOG" >&2 || true
  exit 1
}

run() { "$@" >>"$LOG" 2>&1; }

apt_updated=0
apt_update() {
  if [ "$apt_updated" = 0 ]; then
    run "${SUDO[@]}" apt-get update -qq || fail "apt-get update"
    apt_updated=1
  fi
}

export DEBIAN_FRONTEND=noninteractive

# 1. Debian packages (only the missing ones).
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt_update
  run "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    || fail "apt-get install ${missing[*]}"
fi

# 2. BIRD 1.6, unpacked (never installed: it would replace bird2).
bird1_ok() {
  [ -x "$BIRD1_DIR/usr/sbin/bird" ] && [ -x "$BIRD1_DIR/usr/sbin/bird6" ] \
    && [ -x "$BIRD1_DIR/usr/sbin/birdc" ] && [ -x "$BIRD1_DIR/usr/sbin/birdc6" ] \
    && "$BIRD1_DIR/usr/sbin/bird" --version 2>&1 | grep -q 'version 1\.6'
}
if ! bird1_ok; then
  if ! apt-cache policy bird 2>/dev/null | grep -q 'Candidate: 1\.6'; then apt_update; fi
  version="$(apt-cache policy bird | awk '/Candidate:/ {print $2}')"
  case "$version" in 1.6*) ;; *) fail "Debian offers bird '$version', want 1.6.x" ;; esac
  work="$(mktemp -d)"
  chmod 0777 "$work" # apt-get download drops to the _apt user
  (cd "$work" && run "${SUDO[@]}" apt-get download "bird=$version") || fail "apt-get download bird=$version"
  deb="$(ls "$work"/bird_*.deb)"
  run "${SUDO[@]}" rm -rf "$BIRD1_DIR.new"
  run "${SUDO[@]}" mkdir -p "$BIRD1_DIR.new"
  run "${SUDO[@]}" dpkg -x "$deb" "$BIRD1_DIR.new" || fail "dpkg -x $deb"
  run "${SUDO[@]}" rm -rf "$BIRD1_DIR"
  run "${SUDO[@]}" mv "$BIRD1_DIR.new" "$BIRD1_DIR"
  rm -rf "$work"
  bird1_ok || fail "BIRD 1.6 unpacked into $BIRD1_DIR does not run"
fi
for b in bird bird6 birdc birdc6; do
  if ldd "$BIRD1_DIR/usr/sbin/$b" 2>/dev/null | grep -q 'not found'; then
    fail "$BIRD1_DIR/usr/sbin/$b: missing shared libraries: $(ldd "$BIRD1_DIR/usr/sbin/$b" | grep 'not found' | tr -s ' \n' ' ')"
  fi
done

# 3. Check what the tests will run.
ver() { "$@" 2>&1 | grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -n1; }
b2="$(ver /usr/sbin/bird --version)"
case "$b2" in 2.*) ;; *) fail "/usr/sbin/bird is BIRD '$b2', want 2.x (is Debian's bird 1.6 installed over bird2?)" ;; esac
for bin in /usr/sbin/birdc /usr/bin/gobgpd /usr/bin/gobgp /usr/lib/frr/bgpd /usr/bin/vtysh /usr/sbin/exabgp; do
  [ -x "$bin" ] || fail "$bin missing after install"
done
ip netns list >/dev/null 2>&1 || fail "'ip netns' does not work"

echo "install-interop: BIRD $b2, BIRD $(ver "$BIRD1_DIR/usr/sbin/bird" --version) ($BIRD1_DIR)," \
  "GoBGP $(ver /usr/bin/gobgpd --version), FRR $(ver /usr/lib/frr/bgpd --version), ExaBGP $(ver /usr/sbin/exabgp --version)"
rm -f "$LOG"
