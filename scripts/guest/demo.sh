#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run in the guest by scripts/demo.sh: show what the patched kernel does.
set -u
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
mountpoint -q /sys/kernel/tracing || mount -t tracefs none /sys/kernel/tracing 2>/dev/null

echo "== kernel: $(uname -r)"
echo "== the XDP rx handler API in this kernel:"
awk '$3 ~ /^(netdev_rx_xdp_handler_(un)?register|xdp_do_pass)$/ { print "   " $3 }' /proc/kallsyms
if [ -d /sys/kernel/tracing/events/xdp/xdp_rx_handler ]; then
	echo "== tracepoint xdp:xdp_rx_handler:"
	sed 's/^/   /' /sys/kernel/tracing/events/xdp/xdp_rx_handler/format | grep -E 'field:(int|u32)'
fi
echo "== KUnit suite xdp_rx_handler (ran at boot):"
r=/sys/kernel/debug/kunit/xdp_rx_handler/results
if [ -f "$r" ]; then
	grep -E '^\s+(not )?ok [0-9]+ ' "$r" | sed 's/^\s*/   /'
	grep -E '^# xdp_rx_handler:|^# Totals' "$r" | sed 's/^/   /'
else
	echo "   (not built into this kernel)"
fi
if [ -x "$XDPRX_TOP/scripts/guest/demo-veth.sh" ]; then
	bash "$XDPRX_TOP/scripts/guest/demo-veth.sh"
fi
if [ -x "$XDPRX_TOP/scripts/guest/demo-xdpvlan.sh" ]; then
	bash "$XDPRX_TOP/scripts/guest/demo-xdpvlan.sh"
fi
if [ -x "$XDPRX_TOP/scripts/guest/demo-sockets.sh" ]; then
	bash "$XDPRX_TOP/scripts/guest/demo-sockets.sh"
fi
