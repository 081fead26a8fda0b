#!/usr/bin/env bash
# package-version.sh prints the version of the .deb and .rpm packages, taken
# from git, in a form both dpkg and rpm order correctly:
#   on tag v1.2.3               -> 1.2.3
#   4 commits after v1.2.3      -> 1.2.3+git4.gabc1234
#   no release tag yet          -> 0.0.0+git123.gabc1234  (123 = commits so far)
# A tree with uncommitted changes gets ".dirty" appended.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! git rev-parse --verify -q HEAD >/dev/null 2>&1; then
	echo "0.0.0+unknown"
	exit 0
fi

hash=$(git rev-parse --short HEAD)
if desc=$(git describe --tags --match 'v[0-9]*' --long 2>/dev/null); then
	# v1.2.3-4-gabc1234
	base=${desc%-*-g*}
	base=${base#v}
	base=$(printf %s "$base" | tr - '~') # v1.2.3-rc1: a pre-release sorts before 1.2.3
	count=${desc%-g*}
	count=${count##*-}
	if [ "$count" = 0 ]; then
		version=$base
	else
		version="$base+git$count.g$hash"
	fi
else
	version="0.0.0+git$(git rev-list --count HEAD).g$hash"
fi

if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	version="$version.dirty"
fi
echo "$version"
