#!/bin/sh
# arcanos-controller postremove. deb: postrm remove|purge|upgrade|...;
# rpm: %postun N (0 erase, 1 upgrade).
# The data directory (the fleet's CA, every run's history) and the arcanos
# user are never removed by a package tool: losing the CA means enrolling
# every agent again.
set -e

case "$1" in
purge)
	rm -f /etc/systemd/system/multi-user.target.wants/arcanos-controller.service
	echo "arcanos-controller: /var/lib/arcanos-controller (CA, history) and the arcanos user are kept; remove them by hand if you mean to" >&2
	;;
esac

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
