#!/usr/bin/env bash
# bench-dryrun.sh measures a full six-phase dry run of this machine: wall
# time and the agent's peak RSS, over several rounds, against the targets of
# the issue (under 1 s, under 50 MB). It changes nothing on the host.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-7}
bin=${AGENT:-./bin/arcanos-agent}
[ -x "$bin" ] || make build >/dev/null

logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT

python3 - "$bin" "$logdir" "$rounds" <<'PY'
import os, resource, subprocess, sys, time, json, statistics

binary, logdir, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
walls, rss = [], []
for i in range(rounds):
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.execv(binary, [binary, "purge", "--dry-run", "-o", "json", "--log-dir", logdir])
    _, status, usage = os.wait4(pid, 0)
    walls.append(time.monotonic() - t0)
    rss.append(usage.ru_maxrss / 1024.0)  # KiB -> MiB
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):
        sys.exit(f"round {i}: agent exited {code}")

res = subprocess.run([binary, "purge", "--dry-run", "-o", "json", "--log-dir", logdir],
                     capture_output=True, text=True)
doc = json.loads(res.stdout)
phases = {p["name"]: p.get("status") for p in doc.get("phases", [])}
procs = sum(1 for p in doc["phases"] if p["name"] == "detect" for f in p.get("findings", []) if f["kind"] == "process")

print(f"full dry run, {rounds} rounds, {procs} processes on this host")
print(f"  phases: {phases}")
print(f"  wall time: median {statistics.median(walls)*1000:.0f} ms, max {max(walls)*1000:.0f} ms (target < 1000 ms)")
print(f"  peak RSS:  median {statistics.median(rss):.1f} MiB, max {max(rss):.1f} MiB (target < 50 MiB)")
print(f"  ratio to target: time {statistics.median(walls)/1.0:.2f}x, memory {max(rss)/50.0:.2f}x")
PY
