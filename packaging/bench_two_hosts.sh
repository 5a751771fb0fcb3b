#!/usr/bin/env bash
# Benchmark (not a test): a migration between two network namespaces joined by a veth pair,
# optionally through a tbf-shaped link, with TLS and the destination's address checked.
# Needs root. Prints the source's JSON figures next to the ideal time for the link.
#   packaging/bench_two_hosts.sh [RATE] [RAM] [DIRTY] [CONTENT]   e.g. 1gbit 2G 0 random
#   (RATE "none": unshaped; CONTENT as --guest-content: mixed, random or zero)
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-1gbit}
ram=${2:-2G}
dirty=${3:-0}
content=${4:-mixed}
binary=build/app/migrascope
((EUID == 0)) || { echo "needs root (network namespaces)" >&2; exit 2; }
[[ -x $binary ]] || { echo "build first: packaging/dev.sh test" >&2; exit 2; }

id=$$
src=bench-src-$id dst=bench-dst-$id
work=$(mktemp -d)
cleanup() {
    [[ -n ${daemon:-} ]] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
    ip netns del "$src" 2>/dev/null || true
    ip netns del "$dst" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$src"
ip netns add "$dst"
ip link add "bs$id" type veth peer name "bd$id"
ip link set "bs$id" netns "$src"
ip link set "bd$id" netns "$dst"
ip -n "$src" addr add 10.198.0.1/24 dev "bs$id"
ip -n "$dst" addr add 10.198.0.2/24 dev "bd$id"
for ns in "$src" "$dst"; do ip -n "$ns" link set lo up; done
ip -n "$src" link set "bs$id" up
ip -n "$dst" link set "bd$id" up
if [[ $rate != none ]]; then
    # The source's egress is the migration's direction.
    ip netns exec "$src" tc qdisc add dev "bs$id" root tbf rate "$rate" burst 256kb latency 50ms
fi

# Both ends use the generated test PKI in a private XDG tree; its server certificate names
# localhost, so the source checks that name (--tls-hostname) on the other host.
export XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data
ip netns exec "$dst" "$binary" --incoming tls://10.198.0.2:4444 \
    --history "$work/dst.sqlite" 2> "$work/daemon.log" &
daemon=$!
for _ in $(seq 100); do grep -q "listening on port" "$work/daemon.log" 2>/dev/null && break; sleep 0.1; done

ip netns exec "$src" "$binary" --headless --destination 10.198.0.2:4444 --tls-hostname localhost \
    --ram-size "$ram" --dirty-rate "$dirty" --guest-content "$content" --json --history "$work/src.sqlite" \
    > "$work/result.json" 2> "$work/source.log" || true
python3 - "$work/result.json" "$rate" <<'PY'
import json, re, sys
result = json.load(open(sys.argv[1]))
rate = sys.argv[2]
ram = result["ram"]
print(f"status {result['status']}  integrity {result['integrity']}")
print(f"RAM {ram['total'] / 2**30:.2f} GiB, sent {ram['transferred'] / 2**30:.2f} GiB, "
      f"{ram['duplicate']} zero pages")
print(f"total time {result['total-time'] / 1000:.2f} s, setup {result['setup-time']:.0f} ms, "
      f"downtime {result.get('downtime', 0):.0f} ms, "
      f"average {ram['mbps']:.0f} Mbit/s")
match = re.fullmatch(r"(\d+)([kmg])bit", rate)
if match:
    bits = int(match.group(1)) * {"k": 1e3, "m": 1e6, "g": 1e9}[match.group(2)]
    print(f"ideal for {ram['transferred'] / 2**30:.2f} GiB at {rate}: "
          f"{ram['transferred'] * 8 / bits:.1f} s")
PY
