#!/usr/bin/env bash
# capture.sh: re-record web-1.dryrun.json, the run result every simulated
# agent of the fleet simulator answers with. It runs a real
# `arcanos-agent purge --dry-run -o json` inside a new PID namespace (so the
# process list is this script's own small "web host", never the machine's)
# next to a few long-lived stand-ins for a web host's daemons. Docker is
# pointed at a socket that does not exist, so no container of this machine
# is recorded. Needs root (unshare) and `make build`.
#
#   sudo bash test/fleetsim/testdata/capture.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
agent="$root/bin/arcanos-agent"
[ -x "$agent" ] || { echo "build the agent first: make build" >&2; exit 2; }
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# Inside the namespace: pid 1 is this bash; every process it starts dies
# with it when the capture ends.
unshare --pid --fork --mount-proc bash -c '
  python3 -m http.server 18080 --bind 127.0.0.1 >/dev/null 2>&1 &
  for name in nginx "nginx: worker process" "node /srv/app/server.js" \
      "redis-server 127.0.0.1:6379" "/usr/sbin/cron -f" "/usr/sbin/sshd -D" \
      "xmrig --donate-level 1"; do
    (exec -a "$name" sleep 600) &
  done
  sleep 600 &
  sleep 0.5
  "$0" purge --dry-run -o json --hostname web-1 --log-dir "$1" \
    --allowlist "$2" --docker-host unix:///nonexistent.sock || [ $? -eq 3 ]
' "$agent" "$logs" "$root/config/authorized-services.json" > "$here/web-1.dryrun.json"
echo "wrote $here/web-1.dryrun.json ($(wc -c < "$here/web-1.dryrun.json") bytes)"
