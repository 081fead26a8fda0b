#!/bin/sh
# arcanos-agent preremove. deb: prerm remove|upgrade|deconfigure|failed-upgrade;
# rpm: %preun N (0 erase, 1 upgrade). An upgrade leaves the agent running; the
# postinstall of the new version restarts it.
set -e

unit=arcanos-agent.service
case "$1" in
remove | deconfigure)
	# deb: the enablement stays until purge, like a conffile.
	if [ -d /run/systemd/system ]; then
		systemctl stop "$unit" >/dev/null 2>&1 || true
	fi
	;;
0)
	# rpm has no purge: an erase disables it too.
	if [ -d /run/systemd/system ]; then
		systemctl disable --now "$unit" >/dev/null 2>&1 || true
	elif command -v systemctl >/dev/null 2>&1; then
		systemctl disable "$unit" >/dev/null 2>&1 || true
	fi
	;;
esac
exit 0
