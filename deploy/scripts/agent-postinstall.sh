#!/bin/sh
# arcanos-agent postinstall. deb: postinst configure [OLD-VERSION];
# rpm: %post N (1 install, 2+ upgrade).
# The agent is enabled on first install but never started here: it needs an
# enrollment first (`arcanos-agent enroll`), then `systemctl start`. The unit's
# ConditionPathExists skips it until then, even across reboots.
set -e

case "$1" in
configure) [ -z "$2" ] && action=install || action=upgrade ;;
1) action=install ;;
[0-9]*) action=upgrade ;;
*) exit 0 ;;
esac

unit=arcanos-agent.service

# Enabling only writes symlinks, so it also works in an image build where
# systemd is not running; a later upgrade keeps the admin's choice.
if [ "$action" = install ] && command -v systemctl >/dev/null 2>&1; then
	systemctl enable "$unit" >/dev/null 2>&1 ||
		echo "arcanos-agent: could not enable $unit; run: systemctl enable $unit" >&2
fi

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
	# An agent that was running is restarted on the new binary; a stopped
	# one stays stopped.
	if [ "$action" = upgrade ]; then
		systemctl try-restart "$unit" >/dev/null 2>&1 || true
	fi
fi

if [ "$action" = install ]; then
	cat <<'MSG'
arcanos-agent installed and enabled, not started. Enroll this host, then start it:
  arcanos-agent enroll --config /etc/arcanos/agent.yaml --controller HOST:7443 \
    --token-file FILE --ca-fingerprint sha256:...
  systemctl start arcanos-agent
MSG
fi
exit 0
