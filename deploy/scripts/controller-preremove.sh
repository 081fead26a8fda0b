#!/bin/sh
# arcanos-controller preremove. deb: prerm remove|upgrade|deconfigure|...;
# rpm: %preun N (0 erase, 1 upgrade). An upgrade leaves it running; the
# postinstall of the new version restarts it.
set -e

unit=arcanos-controller.service
case "$1" in
remove | deconfigure)
	if [ -d /run/systemd/system ]; then
		systemctl stop "$unit" >/dev/null 2>&1 || true
	fi
	;;
0)
	if [ -d /run/systemd/system ]; then
		systemctl disable --now "$unit" >/dev/null 2>&1 || true
	elif command -v systemctl >/dev/null 2>&1; then
		systemctl disable "$unit" >/dev/null 2>&1 || true
	fi
	;;
esac
exit 0
