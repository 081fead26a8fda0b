#!/usr/bin/env bash
# bench-fleet.sh measures one controller under a simulated fleet (issue 3):
# it starts bin/arcanos-controller on a new temp data dir on 127.0.0.1,
# enrolls and connects N simulated agents (test/fleetsim: one process, each
# agent with its own certificate, connection and stream, answering a real
# host's dry-run result), dispatches a fleet-wide dry run through
# ControlService.StartPurge and times it until every result is durable in
# bbolt, with the controller's RSS and memory per connected agent. It
# prints each round, then the median per fleet size and its ratio to the
# target (5 s at 1,000 agents). Loopback only; nothing on the host changes.
#
#   SIZES=1000,2000   fleet sizes measured ROUNDS times each
#   ROUNDS=3          rounds per size (the machine is shared: read the median)
#   LARGE=5000        sizes measured once more, to show the trend toward
#                     10,000 ("" skips; 5,000 needs ~5,300 open files and
#                     takes about 3 minutes)
#   ENROLL=true       enroll through tokens (false: sign with the CA)
#   REPORTS=both      how agents send results for SIZES: ref (phases by
#                     reference, today's agents), whole (phases repeated,
#                     as agents before phases_by_reference) or both,
#                     alternating rounds; LARGE sizes use ref
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=${SIZES:-1000,2000}
rounds=${ROUNDS:-3}
large=${LARGE-5000}
enroll=${ENROLL:-true}
reports=${REPORTS:-both}

mkdir -p bin
make -s build >/dev/null
go build -o bin/fleetsim ./test/fleetsim/cmd/fleetsim

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
run() {
	./bin/fleetsim -controller bin/arcanos-controller -agents "$1" -rounds "$2" -reports "$3" \
		-enroll="$enroll" -allowlist config/authorized-services.json
}
run "$sizes" "$rounds" "$reports"
if [ -n "$large" ]; then
	run "$large" 1 ref
fi
echo "after: load average $(cut -d' ' -f1-3 /proc/loadavg)"
