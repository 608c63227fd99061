#!/usr/bin/env bash
# A two-node lab in network namespaces: a tern node next to a real BIRD 2, as a Calico node would be
# next to another node (iBGP, AS 64512, node-to-node mesh), joined by a veth pair.
#
#   ternlab-tern  10.99.0.1  tern: learns its pod block from the kernel (a Felix-style blackhole),
#                            announces it, writes BIRD's block into its kernel table (proto bird)
#   ternlab-bird  10.99.0.2  BIRD 2: announces 10.244.2.0/26, graceful restart on
#
#   sudo examples/lab.sh up       build it, wait for the session, show what tern and BIRD see
#   sudo examples/lab.sh show     the tables again
#   sudo examples/lab.sh restart  a graceful restart of tern (`tern stop`), BIRD keeps the route stale
#   sudo examples/lab.sh down     stop both, delete the namespaces and the lab's files
#
# Needs root, iproute2 and BIRD 2 (Debian: apt-get install bird2; the lab starts its own bird, not
# the system's). tern runs from dist/ (npm ci builds it) or, without dist/, through tsx ($TERN_CMD
# overrides: the command that runs tern, split at spaces). Nothing
# outside the two namespaces is touched; the files live in $TERNLAB_DIR (default /tmp/ternlab).
# $TERNLAB_NAME (default ternlab) names the namespaces, <name>-tern and <name>-bird.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NAME=${TERNLAB_NAME:-ternlab}
DIR=${TERNLAB_DIR:-/tmp/$NAME}
NS_T=$NAME-tern
NS_B=$NAME-bird
T_ADDR=10.99.0.1
B_ADDR=10.99.0.2
T_BLOCK=10.244.1.0/26
B_BLOCK=10.244.2.0/26

if [[ -n "${TERN_CMD:-}" ]]; then
  read -r -a TERN <<<"$TERN_CMD" # e.g. TERN_CMD="node --import tsx $ROOT/src/cli/main.ts"
elif [[ -f "$ROOT/dist/cli/main.js" ]]; then
  TERN=(node "$ROOT/dist/cli/main.js")
else
  TERN=(node --import tsx "$ROOT/src/cli/main.ts")
fi

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
tern_ctl() { "${TERN[@]}" "$@" -s "$DIR/tern.ctl"; }
birdc_() { birdc -s "$DIR/bird.ctl" "$@"; }

need() {
  [[ $(id -u) -eq 0 ]] || { echo "lab.sh: needs root (network namespaces)" >&2; exit 1; }
  for c in ip bird birdc node; do
    command -v "$c" >/dev/null || { echo "lab.sh: $c not found (bird2 package for bird/birdc)" >&2; exit 1; }
  done
}

write_configs() {
  mkdir -p "$DIR"
  cat >"$DIR/tern.yaml" <<EOF
# tern, the node 10.99.0.1 (see docs/config.md)
routerId: $T_ADDR
asn: 64512
listen: { address: $T_ADDR, port: 179 }
holdTime: 30
connectRetryTime: 2
gracefulRestart: { enabled: true, restartTime: 120 }
pools:
  - { cidr: 10.244.0.0/16 }
kernel: { write: true }
peers:
  - { name: Mesh_10_99_0_2, address: $B_ADDR, asn: 64512, localAddress: $T_ADDR }
control: { socket: $DIR/tern.ctl, birdSocket: $DIR/tern-bird.ctl }
EOF
  cat >"$DIR/bird.conf" <<EOF
# BIRD 2, the node 10.99.0.2
router id $B_ADDR;
protocol device {}
protocol direct { ipv4; interface "veth-b"; }
protocol kernel { ipv4 { export none; }; }
protocol static blocks { ipv4; route $B_BLOCK blackhole; }
protocol bgp Mesh_10_99_0_1 {
  local $B_ADDR as 64512;
  neighbor $T_ADDR as 64512;
  graceful restart on;
  connect retry time 2;
  ipv4 { import all; export where proto = "blocks"; next hop self; };
}
EOF
}

up() {
  need
  if ip netns list | grep -qE "^$NS_T( |$)"; then echo "lab.sh: the lab is up already (lab.sh down first)" >&2; exit 1; fi
  write_configs
  say "namespaces $NS_T ($T_ADDR) and $NS_B ($B_ADDR), joined by a veth pair"
  ip netns add "$NS_T"
  ip netns add "$NS_B"
  ip link add veth-t netns "$NS_T" type veth peer name veth-b netns "$NS_B"
  ip -n "$NS_T" addr add "$T_ADDR/24" dev veth-t
  ip -n "$NS_B" addr add "$B_ADDR/24" dev veth-b
  for ns in "$NS_T" "$NS_B"; do ip -n "$ns" link set lo up; done
  ip -n "$NS_T" link set veth-t up
  ip -n "$NS_B" link set veth-b up
  # what Felix writes for the block this node owns: tern learns it and announces it
  ip -n "$NS_T" route add blackhole "$T_BLOCK" proto 80

  say "BIRD 2 in $NS_B"
  ip netns exec "$NS_B" bird -c "$DIR/bird.conf" -s "$DIR/bird.ctl" -P "$DIR/bird.pid"

  say "tern in $NS_T (log: $DIR/tern.log)"
  "${TERN[@]}" check -c "$DIR/tern.yaml"
  start_tern
  wait_established
  show
}

start_tern() {
  # setsid: tern outlives this script; lab.sh down stops it by the PID written here
  ip netns exec "$NS_T" setsid "${TERN[@]}" run -c "$DIR/tern.yaml" --watch 0 "$@" \
    >>"$DIR/tern.log" 2>&1 </dev/null &
  echo $! >"$DIR/tern.pid"
}

wait_established() {
  for _ in $(seq 1 60); do
    if tern_ctl show protocols --json 2>/dev/null | grep -q '"state": "Established"'; then
      sleep 1 # the routes follow the session
      return 0
    fi
    sleep 0.5
  done
  echo "lab.sh: no session after 30 s; tern's log:" >&2
  tail -20 "$DIR/tern.log" >&2
  exit 1
}

show() {
  say "tern show protocols"
  tern_ctl show protocols
  say "tern show routes --all"
  tern_ctl show routes --all
  say "birdc show protocols (BIRD 2, in $NS_B)"
  birdc_ show protocols
  say "birdc show route (BIRD 2 learnt tern's block)"
  birdc_ show route
  say "ip route in $NS_T (tern wrote BIRD's block, proto bird)"
  ip -n "$NS_T" route
  say "birdc on tern's BIRD-compatible socket (what calicoctl node status reads)"
  birdc -s "$DIR/tern-bird.ctl" show protocols
}

restart() {
  need
  say "tern stop: a graceful restart, no NOTIFICATION"
  tern_ctl stop
  sleep 1
  say "BIRD keeps tern's block, stale, while tern is away"
  birdc_ show route all "$T_BLOCK" | sed -n '1,3p;/BGP.next_hop/p' || true
  birdc_ show protocols all Mesh_10_99_0_1 | grep -iE 'state|restart' || true
  say "tern run --graceful"
  start_tern --graceful
  wait_established
  show
}

down() {
  [[ $(id -u) -eq 0 ]] || { echo "lab.sh: needs root" >&2; exit 1; }
  if [[ -f "$DIR/tern.pid" ]] && kill -0 "$(cat "$DIR/tern.pid")" 2>/dev/null; then
    say "tern stop --withdraw"
    tern_ctl stop --withdraw --wait 10 || kill "$(cat "$DIR/tern.pid")" 2>/dev/null || true
  fi
  if [[ -f "$DIR/bird.pid" ]] && kill -0 "$(cat "$DIR/bird.pid")" 2>/dev/null; then
    say "BIRD down"
    kill "$(cat "$DIR/bird.pid")" || true
  fi
  for ns in "$NS_T" "$NS_B"; do
    if ip netns list | grep -qE "^$ns( |$)"; then ip netns del "$ns"; fi
  done
  rm -rf "$DIR"
  say "lab removed"
}

case "${1:-}" in
  up) up ;;
  show) show ;;
  restart) restart ;;
  down) down ;;
  *)
    echo "usage: $0 up|show|restart|down" >&2
    exit 2
    ;;
esac
