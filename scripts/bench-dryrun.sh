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
pm2home=""
cleanup() {
	if [ -n "$pm2home" ]; then PM2_HOME="$pm2home" pm2 kill >/dev/null 2>&1 || true; rm -rf "$pm2home"; fi
	rm -rf "$logdir"
}
trap cleanup EXIT

# WITH_PM2=1 measures with a PM2 daemon running two apps, in a PM2_HOME of
# this script's own, so the pm2 source has something to read.
if [ "${WITH_PM2:-0}" = 1 ]; then
	pm2home=$(mktemp -d /tmp/arcanos-bench-pm2.XXXXXX)
	printf 'setInterval(() => {}, 1 << 30);\n' > "$pm2home/app.js"
	PM2_HOME="$pm2home" pm2 start "$pm2home/app.js" --name bench-a >/dev/null
	PM2_HOME="$pm2home" pm2 start "$pm2home/app.js" --name bench-b >/dev/null
fi

python3 - "$bin" "$logdir" "$rounds" <<'PY'
import os, resource, subprocess, sys, time, json, statistics

binary, logdir, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
walls, rss, tree = [], [], []
for i in range(rounds):
    errpath = os.path.join(logdir, "stderr.json")
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        efd = os.open(errpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(efd, 2)
        os.execv(binary, [binary, "purge", "--dry-run", "-o", "json", "--log-dir", logdir,
                          "--log-level", "info", "--log-format", "json"])
    _, status, usage = os.wait4(pid, 0)
    walls.append(time.monotonic() - t0)
    # ru_maxrss of a waited child also covers its own children (a pm2 run
    # is a node process); the agent's own peak comes from its log line.
    tree.append(usage.ru_maxrss / 1024.0)
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):
        sys.exit(f"round {i}: agent exited {code}")
    for line in open(errpath):
        ev = json.loads(line)
        if ev.get("msg") == "run finished":
            rss.append(ev["peak_rss_kib"] / 1024.0)

res = subprocess.run([binary, "purge", "--dry-run", "-o", "json", "--log-dir", logdir],
                     capture_output=True, text=True)
doc = json.loads(res.stdout)
phases = {p["name"]: p.get("status") for p in doc.get("phases", [])}
procs = sum(1 for p in doc["phases"] if p["name"] == "detect" for f in p.get("findings", []) if f["kind"] == "process")

print(f"full dry run, {rounds} rounds, {procs} processes on this host")
print(f"  phases: {phases}")
print(f"  wall time: median {statistics.median(walls)*1000:.0f} ms, max {max(walls)*1000:.0f} ms (target < 1000 ms)")
print(f"  agent peak RSS: median {statistics.median(rss):.1f} MiB, max {max(rss):.1f} MiB (target < 50 MiB)")
print(f"  largest process of the run incl. pm2 children: max {max(tree):.1f} MiB")
print(f"  ratio to target: time {statistics.median(walls)/1.0:.2f}x, memory {max(rss)/50.0:.2f}x")
PY
