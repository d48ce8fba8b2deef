#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fail if a kernel log shows a splat: BUG, WARNING, Oops, KASAN, UBSAN,
# lockdep, RCU stall or suspicious RCU usage, a hung task, a kmemleak report,
# the OOM killer, or a device whose unregistration waits for a leaked reference.
# Prints the first lines of each report.
set -u
f=${1:?usage: check-dmesg.sh DMESG_FILE}
pat='(BUG:|WARNING:|Oops|general protection fault|Kernel panic|KASAN:|UBSAN:|'
pat+='possible (recursive|circular) locking|inconsistent lock state|'
pat+='suspicious RCU usage|rcu_(pre)?sched detected stalls|RCU detected stall|'
pat+='INFO: task .* blocked|unreferenced object|kmemleak:.*new suspected memory leaks|'
pat+='refcount_t:|list_(add|del) corruption|ODEBUG:|'
pat+='unregister_netdevice: waiting for|ref_tracker: .* has [0-9]+/[0-9]+ users|'
pat+='Out of memory|invoked oom-killer)'
if grep -n -E "$pat" "$f" >/tmp/xdprx-splat.$$; then
	echo "kernel log splat in $f:" >&2
	head -n 20 /tmp/xdprx-splat.$$ | sed 's/^/  /' >&2
	rm -f /tmp/xdprx-splat.$$
	exit 1
fi
rm -f /tmp/xdprx-splat.$$
exit 0
