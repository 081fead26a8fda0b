#!/usr/bin/env bash
# bench-procs.sh compares the process inventory of pkg/procs with
# `ps -eo pid,ppid,user,lstart,args` at N (default 2,000) processes.
#
# It builds the pkg/procs test binary, creates a PID namespace of its own
# (unshare --pid --fork --mount-proc, so root is needed), starts N `sleep`
# processes in it and then, in that same namespace, times ROUNDS rounds of:
#   ps     ps -eo pid,ppid,user,lstart,args > /dev/null
#   procs  the test binary's "inventory" helper mode: a fresh process that
#          runs procs.List once and prints the same columns > /dev/null
#   ports  the same with ListOptions{Ports: true}
# Each is timed by bash's `time` (wall, and user+sys CPU). It prints every
# round, the median and minimum of each, the ratios procs/ps, and then the
# in-process Go benchmarks BenchmarkList and BenchmarkListPorts.
#
# Usage: scripts/bench-procs.sh                 (N=2000 ROUNDS=11)
#        N=500 ROUNDS=5 scripts/bench-procs.sh
set -euo pipefail

N=${N:-2000}
ROUNDS=${ROUNDS:-11}

if [[ "${1:-}" != "--inner" ]]; then
	if [[ $(id -u) != 0 ]]; then
		echo "bench-procs: needs root to create a PID namespace" >&2
		exit 1
	fi
	cd "$(dirname "$0")/.."
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	go test -c -o "$tmp/procs.test" ./pkg/procs
	# --kill-child: the sleeps die with the namespace when this script ends.
	N=$N ROUNDS=$ROUNDS unshare --pid --fork --mount-proc --kill-child "$0" --inner "$tmp/procs.test"
	exit
fi

bin=$2

for ((i = 0; i < N; i++)); do
	sleep 100000 &
done
# Wait until every child has exec'd sleep, so all tools see the same table.
for ((try = 0; try < 600; try++)); do
	n=$(ps -e -o comm= | grep -cx sleep || true)
	[[ $n -ge $N ]] && break
	sleep 0.1
done
total=$(ps -e --no-headers | wc -l)

echo "machine: $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))," \
	"kernel $(uname -r), $(ps --version), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "processes in the namespace: $total ($N sleep)"

run_ps() { ps -eo pid,ppid,user,lstart,args >/dev/null; }
run_procs() { ARCANOS_PROCS_HELPER=inventory "$bin" >/dev/null; }
run_ports() { ARCANOS_PROCS_HELPER=inventory ARCANOS_PROCS_BENCH_PORTS=1 "$bin" >/dev/null; }

# timed TOOL prints "wall_ms cpu_ms" of one run of TOOL.
timed() {
	local out
	out=$({ TIMEFORMAT='%3R %3U %3S'; time "run_$1"; } 2>&1)
	awk '{printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000}' <<<"$out"
}

# stats prints the median and the minimum of its integer arguments.
stats() {
	printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1}
		END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%d %d\n", m, a[1]}'
}

# One warm-up round so the page cache and dentries are alike for all three.
run_ps
run_procs
run_ports

declare -A wall cpu
printf '%-5s %16s %16s %16s\n' round "ps wall/cpu ms" "procs wall/cpu" "ports wall/cpu"
for ((r = 1; r <= ROUNDS; r++)); do
	# Alternate the order so no tool always runs right after the same other.
	if ((r % 2)); then order="ps procs ports"; else order="ports procs ps"; fi
	line=()
	for tool in $order; do
		read -r w c < <(timed "$tool")
		wall[$tool]+="$w "
		cpu[$tool]+="$c "
		line+=("$tool=$w/$c")
	done
	printf '%-5s %s\n' "$r" "${line[*]}"
done

for tool in ps procs ports; do
	# shellcheck disable=SC2086
	read -r wm wmin < <(stats ${wall[$tool]})
	# shellcheck disable=SC2086
	read -r cm cmin < <(stats ${cpu[$tool]})
	declare "${tool}_w=$wm" "${tool}_wmin=$wmin" "${tool}_c=$cm"
	printf '%-6s wall median %4d ms (min %4d)  cpu median %4d ms (min %4d)\n' "$tool" "$wm" "$wmin" "$cm" "$cmin"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
echo "ratio procs/ps: wall median $(ratio "$procs_w" "$ps_w"), wall min $(ratio "$procs_wmin" "$ps_wmin"), cpu median $(ratio "$procs_c" "$ps_c")"
echo "ratio ports/ps: wall median $(ratio "$ports_w" "$ps_w"), wall min $(ratio "$ports_wmin" "$ps_wmin"), cpu median $(ratio "$ports_c" "$ps_c")"

echo "in-process List, same namespace (go test -bench):"
"$bin" -test.run '^$' -test.bench '^BenchmarkList' -test.benchtime 20x -test.count 3 | grep -E '^Benchmark'
