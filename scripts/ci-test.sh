#!/usr/bin/env bash
# ci-test.sh runs every test with the real components required. Under
# ARCANOS_TESTBED_STRICT=1 a missing component fails its test; this script
# also fails the run when any test was skipped for another reason.
set -euo pipefail
cd "$(dirname "$0")/.."

out=$(mktemp)
trap 'rm -f "$out"' EXIT

set +e
go test -count=1 -timeout 15m -v ./... 2>&1 | tee "$out" | grep -E '^(=== RUN|--- (PASS|FAIL|SKIP)|PASS|FAIL|ok|panic|\s+--- )' | grep -vE '^=== RUN' | grep -vE '^\s+--- PASS'
status=${PIPESTATUS[0]}
set -e

skips=$(grep -E -- '--- SKIP' "$out" || true)
passed=$(grep -cE -- '--- PASS' "$out" || true)
failed=$(grep -cE -- '--- FAIL' "$out" || true)
nskip=$(printf '%s' "$skips" | grep -c . || true)

if [ -n "$skips" ]; then
	echo "ci: tests were skipped, which CI does not allow:"
	echo "$skips"
	status=1
fi
if [ "$status" -ne 0 ]; then
	grep -E -B2 -A20 -- '--- FAIL' "$out" | head -200 || true
fi
echo "${passed} passed, ${failed} failed, ${nskip} skipped"
exit "$status"
