#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run in the guest after the command: scan for leaks, save the kernel log.
out=${XDPRX_OUT:?}
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
if [ -w /sys/kernel/debug/kmemleak ]; then
	# kmemleak reports objects unreferenced for two scans and older than
	# its minimum age (5 s).
	echo scan >/sys/kernel/debug/kmemleak
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >"$out/kmemleak.txt"
	# Make them show up in the log that the host checks.
	if [ -s "$out/kmemleak.txt" ]; then
		echo "kmemleak: new suspected memory leaks (see kmemleak.txt)" >/dev/kmsg
		cat "$out/kmemleak.txt" >/dev/kmsg
	fi
fi
dmesg >"$out/dmesg.txt"
