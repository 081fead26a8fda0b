#!/bin/sh
# install.sh installs the arcanos agent and/or controller on a host without a
# package manager, the way the .deb and .rpm do: binaries in /usr/bin, units
# in /etc/systemd/system, default configs in /etc/arcanos (an existing file is
# never overwritten), the log, state and data directories, the arcanos user
# for the controller; the units are enabled, not started. Run it again to
# upgrade: binaries and units are replaced, a running service is restarted.
#
#   make build && sudo deploy/install.sh --agent
#   sudo deploy/install.sh --controller --bin-dir /path/to/binaries
#
# Options: --agent, --controller (at least one), --bin-dir DIR (default: bin/
# of this tree), --no-enable.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
bindir=$top/bin
agent=0
controller=0
enable=1

usage() {
	sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--agent) agent=1 ;;
	--controller) controller=1 ;;
	--bin-dir)
		[ $# -ge 2 ] || usage
		bindir=$2
		shift
		;;
	--no-enable) enable=0 ;;
	-h | --help) usage ;;
	*)
		echo "install.sh: unknown option $1" >&2
		usage
		;;
	esac
	shift
done
[ "$agent" = 1 ] || [ "$controller" = 1 ] || usage
if [ "$(id -u)" != 0 ]; then
	echo "install.sh: run as root" >&2
	exit 1
fi

systemd_up=0
[ -d /run/systemd/system ] && systemd_up=1

# config SRC DST: install a default config unless the admin already has one.
config() {
	if [ -e "$2" ]; then
		echo "kept existing $2 (default in $1)"
	else
		install -D -m 0644 "$1" "$2"
		echo "installed $2"
	fi
}

# unit NAME: install or replace a unit; enable it on first install.
unit() {
	dst=/etc/systemd/system/$1
	first=1
	[ -e "$dst" ] && first=0
	install -D -m 0644 "$here/systemd/$1" "$dst"
	echo "installed $dst"
	[ "$systemd_up" = 1 ] && systemctl daemon-reload
	if [ "$first" = 1 ] && [ "$enable" = 1 ] && command -v systemctl >/dev/null 2>&1; then
		systemctl enable "$1"
	fi
	if [ "$first" = 0 ] && [ "$systemd_up" = 1 ]; then
		systemctl try-restart "$1"
	fi
}

binary() {
	if [ ! -x "$bindir/$1" ]; then
		echo "install.sh: $bindir/$1 not found; run 'make build' or give --bin-dir" >&2
		exit 1
	fi
	install -D -m 0755 "$bindir/$1" "/usr/bin/$1"
	echo "installed /usr/bin/$1"
}

if [ "$agent" = 1 ]; then
	binary arcanos-agent
	install -d -m 0755 /etc/arcanos
	config "$here/etc/arcanos/agent.yaml" /etc/arcanos/agent.yaml
	config "$top/config/authorized-services.json" /etc/arcanos/authorized-services.json
	install -d -m 0750 /var/log/arcanos
	install -d -m 0700 /var/lib/arcanos-agent
	unit arcanos-agent.service
	echo "arcanos-agent: enroll this host (arcanos-agent enroll --config /etc/arcanos/agent.yaml ...), then: systemctl start arcanos-agent"
fi

if [ "$controller" = 1 ]; then
	binary arcanos-controller
	binary arcanosctl
	install -d -m 0755 /etc/arcanos
	config "$here/etc/arcanos/controller.yaml" /etc/arcanos/controller.yaml
	install -D -m 0644 "$here/sysusers.d/arcanos-controller.conf" \
		/etc/sysusers.d/arcanos-controller.conf
	if ! getent passwd arcanos >/dev/null 2>&1; then
		if command -v systemd-sysusers >/dev/null 2>&1; then
			systemd-sysusers /etc/sysusers.d/arcanos-controller.conf
		else
			useradd --system --user-group --home-dir /var/lib/arcanos-controller \
				--no-create-home --shell /usr/sbin/nologin arcanos
		fi
	fi
	[ -d /var/lib/arcanos-controller ] ||
		install -d -m 0750 -o arcanos -g arcanos /var/lib/arcanos-controller
	unit arcanos-controller.service
	echo "arcanos-controller: review /etc/arcanos/controller.yaml, then: systemctl start arcanos-controller"
fi
