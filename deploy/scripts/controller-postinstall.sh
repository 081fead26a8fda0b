#!/bin/sh
# arcanos-controller postinstall. deb: postinst configure [OLD-VERSION];
# rpm: %post N (1 install, 2+ upgrade).
# Makes the arcanos system user and the data directory, and enables the unit
# on first install without starting it: the admin reviews
# /etc/arcanos/controller.yaml (listen address, server names) first.
set -e

case "$1" in
configure) [ -z "$2" ] && action=install || action=upgrade ;;
1) action=install ;;
[0-9]*) action=upgrade ;;
*) exit 0 ;;
esac

unit=arcanos-controller.service
datadir=/var/lib/arcanos-controller

if ! getent passwd arcanos >/dev/null 2>&1; then
	if command -v systemd-sysusers >/dev/null 2>&1; then
		systemd-sysusers arcanos-controller.conf
	elif command -v useradd >/dev/null 2>&1; then
		useradd --system --user-group --home-dir "$datadir" --no-create-home \
			--shell /usr/sbin/nologin --comment "arcanos controller" arcanos
	else
		adduser --system --group --home "$datadir" --no-create-home \
			--shell /usr/sbin/nologin --gecos "arcanos controller" arcanos
	fi
fi

# The unit's StateDirectory= makes it too, at every start; made here so that
# it exists with its owner before the first start.
if [ ! -d "$datadir" ]; then
	install -d -m 0750 -o arcanos -g arcanos "$datadir"
fi

if [ "$action" = install ] && command -v systemctl >/dev/null 2>&1; then
	systemctl enable "$unit" >/dev/null 2>&1 ||
		echo "arcanos-controller: could not enable $unit; run: systemctl enable $unit" >&2
fi

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
	if [ "$action" = upgrade ]; then
		systemctl try-restart "$unit" >/dev/null 2>&1 || true
	fi
fi

if [ "$action" = install ]; then
	cat <<'MSG'
arcanos-controller installed and enabled, not started. Review
/etc/arcanos/controller.yaml (it listens on 127.0.0.1:7443 until you change it), then:
  systemctl start arcanos-controller
  export ARCANOS_CONFIG=/var/lib/arcanos-controller/arcanosctl.yaml   # as root
  arcanosctl hosts list
MSG
fi
exit 0
