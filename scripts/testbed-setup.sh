#!/usr/bin/env bash
# testbed-setup.sh installs and starts the real components the tests use:
# a Docker engine, PM2 and the systemd test image. Each step is skipped when
# its component is already present, so it is cheap to run again.
set -euo pipefail

log() { printf 'testbed: %s\n' "$*" >&2; }

apt_updated=0
apt_install() {
	if [ "$apt_updated" = 0 ]; then
		log "apt-get update"
		apt-get update -qq >/dev/null
		apt_updated=1
	fi
	log "apt-get install $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# iproute2 (network namespaces of the partition test) and util-linux
# (unshare for PID namespaces) are in Debian's base, but check.
command -v ip >/dev/null 2>&1 || apt_install iproute2
command -v unshare >/dev/null 2>&1 || apt_install util-linux

# Docker engine. Debian's docker.io ships dockerd (API 1.41).
if ! command -v dockerd >/dev/null 2>&1; then
	apt_install docker.io
fi

if ! docker info >/dev/null 2>&1; then
	if ! pgrep -x dockerd >/dev/null 2>&1; then
		# An engine ended without a clean stop leaves its pid file behind and the
		# next dockerd refuses to start while it exists.
		rm -f /var/run/docker.pid
	fi
	log "starting dockerd (--bridge=none)"
	nohup dockerd --bridge=none --iptables=false >/var/log/arcanos-dockerd.log 2>&1 &
	for _ in $(seq 1 60); do
		docker info >/dev/null 2>&1 && break
		sleep 0.5
	done
	docker info >/dev/null 2>&1 || { log "dockerd did not come up; see /var/log/arcanos-dockerd.log"; exit 1; }
fi

# PM2 from the npm registry.
if ! command -v pm2 >/dev/null 2>&1; then
	if ! command -v npm >/dev/null 2>&1; then
		apt_install nodejs npm
	fi
	log "npm install -g pm2"
	npm install -g pm2 >/dev/null 2>&1
fi

# The systemd test image, built once by debootstrap and cached by Docker.
if ! docker image inspect arcanos-systemd-test >/dev/null 2>&1; then
	command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
	mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	mirror=${mirror:-http://deb.debian.org/debian}
	dir=$(mktemp -d /var/tmp/arcanos-systemd-root.XXXXXX)
	log "debootstrap systemd root into $dir from $mirror"
	debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm "$dir" "$mirror" >/var/log/arcanos-debootstrap.log 2>&1
	tar -C "$dir" -c . | docker import - arcanos-systemd-test >/dev/null
	rm -rf "$dir"
fi

log "ready: $(docker version --format 'engine {{.Server.Version}} api {{.Server.APIVersion}}'), pm2 $(node -p "require('$(npm root -g)/pm2/package.json').version")"
