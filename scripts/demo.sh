#!/usr/bin/env bash
# demo.sh starts a controller on a temporary data directory and three agents
# on this machine (web-1, web-2, db-1), enrolled with single-use tokens, then
# runs `arcanosctl purge --hosts 'web-*' --dry-run`: a real fleet dry run of
# web-1 and web-2, not db-1. Everything it started is stopped on exit.
# KEEP=1 keeps the data directory for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=./bin
[ -x "$bin/arcanosctl" ] || make build >/dev/null

work=$(mktemp -d /tmp/arcanos-demo.XXXXXX)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	if [ "${KEEP:-0}" = 1 ]; then echo "demo: data kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
addr="127.0.0.1:$(freeport)"
metrics="127.0.0.1:$(freeport)"

say "starting arcanos-controller on $addr (data in $work/controller)"
"$bin/arcanos-controller" --data-dir "$work/controller" --listen "$addr" --metrics-listen "$metrics" --log-level warn \
	>"$work/controller.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
	[ -s "$work/controller/arcanosctl.yaml" ] && break
	sleep 0.1
done
export ARCANOS_CONFIG="$work/controller/arcanosctl.yaml"
for _ in $(seq 1 50); do "$bin/arcanosctl" hosts list >/dev/null 2>&1 && break; sleep 0.2; done

say "setting the central allowlist from config/authorized-services.json"
"$bin/arcanosctl" allowlist set config/authorized-services.json --comment "demo" >/dev/null

for host in web-1 web-2 db-1; do
	role=${host%-*}
	token_json=$("$bin/arcanosctl" token create --hostname "$host" --ttl 10m -o json)
	token=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' <<<"$token_json")
	fp=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["caFingerprint"])' <<<"$token_json")
	state="$work/agents/$host"
	"$bin/arcanos-agent" enroll --controller "$addr" --token "$token" --ca-fingerprint "$fp" \
		--hostname "$host" --labels "role=$role" --state-dir "$state" >/dev/null
	"$bin/arcanos-agent" run --state-dir "$state" --log-dir "$state/logs" --log-level warn \
		>"$work/agent-$host.log" 2>&1 &
	pids+=($!)
	echo "enrolled and started agent $host (role=$role)"
done

for _ in $(seq 1 100); do
	online=$("$bin/arcanosctl" hosts list -o json | python3 -c 'import json,sys
d=json.load(sys.stdin); hs=d.get("hosts", d) if isinstance(d, dict) else d
print(sum(1 for h in hs if h.get("online")))' 2>/dev/null || echo 0)
	[ "$online" = 3 ] && break
	sleep 0.2
done

say "arcanosctl hosts list"
"$bin/arcanosctl" hosts list

say "arcanosctl purge --hosts 'web-*' --dry-run"
set +e
"$bin/arcanosctl" purge --hosts 'web-*' --dry-run
code=$?
set -e

say "arcanosctl runs list"
"$bin/arcanosctl" runs list

say "curl http://$metrics/metrics (a few of the controller's figures)"
if command -v curl >/dev/null; then
	curl -fsS "http://$metrics/metrics" | grep -E '^arcanos_controller_(agents_connected|runs_total|findings_total|host_runs_total|store_size_bytes)' | grep -v ' 0$' || true
fi

echo
echo "demo: purge exit code $code (0 all authorized, 3 unauthorized findings, 4 hosts failed/offline)"
echo "demo: each agent's logs are in $work/agents/HOST/logs (KEEP=1 to keep them)"
case $code in 0|3) exit 0 ;; *) exit "$code" ;; esac
