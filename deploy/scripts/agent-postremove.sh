#!/bin/sh
# arcanos-agent postremove. deb: postrm remove|purge|upgrade|...;
# rpm: %postun N (0 erase, 1 upgrade).
set -e

case "$1" in
purge)
	# The unit file is gone, so `systemctl disable` cannot read its
	# [Install] section: remove the one symlink it made.
	rm -f /etc/systemd/system/multi-user.target.wants/arcanos-agent.service
	# The host's enrollment (key, certificates, unsent reports) and its logs.
	rm -rf /var/lib/arcanos-agent /var/log/arcanos
	;;
esac

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
