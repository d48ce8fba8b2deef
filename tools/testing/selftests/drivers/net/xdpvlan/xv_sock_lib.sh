# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Helpers of the socket-traffic selftests (xdpvlan_sock.sh,
# xdpvlan_sock_virtio.sh), sourced after ktap_helpers.sh with DIR and TMP set.
#
# A case collects what went wrong in FAILS and ends with result DESCRIPTION.
# Counters are read into ST[TAG:WHERE:NAME] (TAG b before the traffic, a
# after it): ethtool -S of the devices in CHAIN ("netns:dev ..."), and the
# error counters of /proc/net/snmp and /proc/net/netstat of the namespaces in
# CASE_NS.

SOCK=$DIR/xv_sock.py
NEXT_PORT=5000
# Numbers the files of each run of a tool (a port may be used again).
RUN=0
FAILS=()
CHAIN=
CASE_NS=
declare -A ST
# UDP frames from pktgen that a leak check sends (leak_pktgen). In the debug
# guest pktgen's frames went through veth's skb path at about 150 a second
# (100000 in 696 s) and through virtio-net at about 330. 20000 still show a
# leak of an object per frame (the slab check's limit is a tenth of them,
# and the case prints the largest growth it saw against that limit) or of a
# page per frame (78 MB against a limit of 16 MB).
LEAK_SKBS=${XS_LEAK_SKBS:-20000}
# Frames sent before the leak checks' first reading, to fill the caches and
# page pools: eight times a veth ring (256) or a virtio-net queue (256), more
# than a page pool holds. After 5000 (10000 for XDP frames), as these were
# first, no slab cache grew by more than 28 objects over 20000 frames.
LEAK_WARMUP=2000
# A leak check fails when MemAvailable falls by this much (kB).
LEAK_MAX_KB=$((16 << 10))

mkfifo "$TMP/nap"
exec {NAPFD}<>"$TMP/nap"

# nap SECONDS: sleep without a new process.
nap() { read -r -t "$1" -u "$NAPFD" || :; }

# until_true CMD...: until CMD succeeds, for 20 s at most.
until_true() {
	local i
	for ((i = 0; i < 200; i++)); do
		"$@" && return 0
		nap 0.1
	done
	return 1
}

# in_ns NETNS CMD...: CMD in NETNS. Only the network namespace changes (ip
# netns exec would remount /sys and hide /sys/fs/bpf).
in_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

fail() { FAILS+=("$*"); }

# msg TEXT: a KTAP diagnostic line, TEXT as it is (ktap_print_msg lets the
# shell split and glob it).
msg() { printf '# %s\n' "$*"; }

# result DESCRIPTION: the case's KTAP line, with what went wrong before it.
result() {
	local f
	if [ "${#FAILS[@]}" -eq 0 ]; then
		ktap_test_pass "$1"
	else
		for f in "${FAILS[@]}"; do msg "  $f"; done
		ktap_test_fail "$1"
	fi
	FAILS=()
}

# py_bg NETNS OUT ARGS...: xv_sock.py ARGS in NETNS in the background, its
# line to OUT, stderr to OUT.err; its pid in REPLY. nsenter execs python, so
# the pid is python's own and a SIGTERM reaches it. python3 -S: xv_sock.py
# needs nothing from site-packages, and the site module took 0.6 of the 1.4 s
# of a "python3 -c pass" in the debug guest.
py_bg() {
	local ns=$1 out=$2
	shift 2
	nsenter --net="/run/netns/$ns" python3 -S "$SOCK" "$@" >"$out" 2>"$out.err" &
	REPLY=$!
}

# py_fg NETNS OUT ARGS...: the same in the foreground (xv_sock.py bounds its
# own time; timeout(1) is a backstop: PY_TIMEOUT seconds, default 400).
py_fg() {
	local ns=$1 out=$2
	shift 2
	timeout -k 5 "${PY_TIMEOUT:-400}" nsenter --net="/run/netns/$ns" python3 -S "$SOCK" "$@" \
		>"$out" 2>"$out.err"
}

# running PID: PID is a background job of this shell that has not ended (so
# its pid cannot belong to anybody else yet).
running() {
	local p
	jobs -rp >"$TMP/jobs"
	while read -r p; do
		[ "$p" = "$1" ] && return 0
	done <"$TMP/jobs"
	return 1
}

ready_or_gone() { [ -e "$1" ] || ! running "$2"; }

# wait_ready FILE PID: until FILE exists (the receiver listens) or PID ended,
# for 120 s at most: right after the leak case dropped the page cache, Python
# took more than 20 s to load its modules again over the guest's 9p root (seen:
# the MTU case's receiver "not listening").
wait_ready() {
	local i
	for ((i = 0; i < 1200; i++)); do
		ready_or_gone "$1" "$2" && break
		nap 0.1
	done
	[ -e "$1" ]
}

# stop_py PID SECONDS: let PID end by itself for SECONDS, then SIGTERM it
# (a receiver then prints what it has); reap it.
stop_py() {
	local pid=$1 i
	for ((i = 0; i < $2 * 10; i++)); do
		running "$pid" || break
		nap 0.1
	done
	if running "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			running "$pid" || break
			nap 0.1
		done
		running "$pid" && kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
}

# stop_all_py: end the background jobs still running (cleanup).
stop_all_py() {
	local p pids=()
	jobs -rp >"$TMP/jobs" 2>/dev/null || return
	while read -r p; do pids+=("$p"); done <"$TMP/jobs"
	[ "${#pids[@]}" -gt 0 ] || return
	kill -TERM "${pids[@]}" 2>/dev/null
	wait "${pids[@]}" 2>/dev/null
}

# first_line FILE: the result line of a tool, or what it said on stderr.
first_line() {
	local l=
	[ -s "$1" ] && read -r l <"$1"
	if [ -z "$l" ] && [ -s "$1.err" ]; then
		l="(no result; stderr: $(tail -n 1 "$1.err"))"
	fi
	echo "${l:-(no result)}"
}

# The counters a case must not move: checksum and header errors, receive
# errors (Udp InErrors includes RcvbufErrors: a datagram lost at a full socket
# fails the case too).
snmp_watched() {
	case $1 in
	*CsumErrors | InErrs | InErrors | InHdrErrors | RcvbufErrors) return 0 ;;
	esac
	return 1
}

# A process that stays in each namespace a case reads counters of (started
# the first time), so that they are read from /proc/PID/net/ by the shell
# itself: starting nsenter and awk for each reading cost about 2 s a
# namespace in the debug guest.
declare -A NS_PID
ns_pid() {
	local pid=${NS_PID[$1]:-}
	if [ -z "$pid" ] || ! running "$pid"; then
		nsenter --net="/run/netns/$1" sleep infinity &
		pid=$!
		NS_PID[$1]=$pid
	fi
	REPLY=$pid
}

# net_errors TAG NETNS: /proc/net/snmp and /proc/net/netstat come in pairs of
# lines, "Prefix: names..." and "Prefix: values...".
net_errors() {
	local f p i hdr
	local -a k v
	ns_pid "$2"
	for f in "/proc/$REPLY/net/snmp" "/proc/$REPLY/net/netstat"; do
		hdr=
		while read -r -a v; do
			if [ -z "$hdr" ]; then
				k=("${v[@]}") hdr=${v[0]%:}
				continue
			fi
			p=$hdr hdr=
			[ "${v[0]%:}" = "$p" ] || continue
			for ((i = 1; i < ${#k[@]}; i++)); do
				snmp_watched "${k[i]}" && ST[$1:$2:$p.${k[i]}]=${v[i]}
			done
		done <"$f"
	done
}

# dev_stats TAG NETNS DEV
dev_stats() {
	local k v
	while read -r k v; do
		ST[$1:$3:${k%:}]=$v
	done < <(in_ns "$2" ethtool -S "$3" 2>/dev/null)
}

# snapshot TAG: the counters of CASE_NS and CHAIN.
snapshot() {
	local ns nd
	for ns in $CASE_NS; do net_errors "$1" "$ns"; done
	for nd in $CHAIN; do dev_stats "$1" "${nd%%:*}" "${nd#*:}"; done
}

# begin NETNS_LIST CHAIN: start a case.
begin() {
	CASE_NS=$1 CHAIN=$2 FAILS=() ST=()
	CASE_T0=$SECONDS
	snapshot b
}

# delta DEV COUNTER: how much an ethtool counter of DEV grew, empty if unknown.
delta() {
	local b=${ST[b:$1:$2]:-} a=${ST[a:$1:$2]:-}
	[ -n "$a" ] && [ -n "$b" ] && echo $((a - b))
}

# expect_delta DEV COUNTER OP VALUE: fail unless the growth of COUNTER
# compares (-eq, -ge, -le) to VALUE.
expect_delta() {
	local d ok
	d=$(delta "$1" "$2")
	if [ -z "$d" ]; then
		fail "$1: no counter $2"
		return
	fi
	case $3 in
	-eq) ok=$((d == $4)) ;;
	-ge) ok=$((d >= $4)) ;;
	-le) ok=$((d <= $4)) ;;
	*) ok=0 ;;
	esac
	[ "$ok" = 1 ] || fail "$1: $2 grew by $d, want $3 $4"
}

# expect_no_errors: none of the error counters of CASE_NS moved.
expect_no_errors() {
	local ns k n b a
	for ns in $CASE_NS; do
		n=0
		for k in "${!ST[@]}"; do
			[ "${k#b:"$ns":}" != "$k" ] || continue
			n=$((n + 1))
			b=${ST[$k]} a=${ST[a:${k#b:}]:-}
			if [ -z "$a" ]; then
				fail "$ns: counter ${k##*:} missing afterwards"
			elif [ "$a" != "$b" ]; then
				fail "$ns: ${k##*:} grew by $((a - b))"
			fi
		done
		# Udp InCsumErrors at least must have been read.
		[ -n "${ST[b:$ns:Udp.InCsumErrors]:-}" ] || fail "$ns: cannot read /proc/net/snmp"
	done
}

# expect_path MODE MIN_NATIVE MIN_SKB: the frames came by MODE's path on
# every device of CHAIN: native, rx_native grew by MIN_NATIVE or more and
# rx_skb not at all; skb, rx_skb grew by MIN_SKB or more and rx_native not at
# all.
expect_path() {
	local nd d
	for nd in $CHAIN; do
		d=${nd#*:}
		if [ "$1" = native ]; then
			expect_delta "$d" rx_native -ge "$2"
			expect_delta "$d" rx_skb -eq 0
		else
			expect_delta "$d" rx_skb -ge "$3"
			expect_delta "$d" rx_native -eq 0
		fi
	done
}

# finish MODE MIN_NATIVE MIN_SKB: read the counters again and check them.
finish() {
	snapshot a
	expect_no_errors
	expect_path "$@"
	msg "$((SECONDS - CASE_T0)) s"
}

# tcp_run PEER_NS TARGET_NS ADDR NBYTES WRITESIZE [PROTO]: NBYTES over TCP
# (or PROTO sctp) from PEER_NS to a listener on ADDR in TARGET_NS; fails
# unless the receiver read exactly what the sender sent.
tcp_run() {
	local pns=$1 tns=$2 addr=$3 n=$4 w=$5 p=${6:-tcp} port=$((NEXT_PORT++)) r s pid sl rl
	r=$TMP/$((++RUN))-$p-recv s=$TMP/$RUN-$p-send
	py_bg "$tns" "$r" "$p-recv" "$addr" "$port" "$r.ready"
	pid=$REPLY
	if ! wait_ready "$r.ready" "$pid"; then
		stop_py "$pid" 0
		fail "$p receiver in $tns: not listening: $(first_line "$r")"
		return
	fi
	# The receiver ends at EOF; after a failed sender there is none.
	if py_fg "$pns" "$s" "$p-send" "$addr" "$port" "$n" "$w"; then
		stop_py "$pid" 20
	else
		stop_py "$pid" 1
	fi
	sl=$(first_line "$s") rl=$(first_line "$r")
	if ! [[ "$sl" =~ ^bytes=$n\ sha256=[0-9a-f]{64}$ ]] || [ "$rl" != "$sl" ]; then
		fail "$p $n bytes to $addr: sender: $sl"
		fail "$p $n bytes to $addr: receiver: $rl"
	fi
}

# udp_run PEER_NS TARGET_NS ADDR PORT N SIZE: N datagrams of SIZE bytes;
# fails unless all arrive once and intact (PORT - takes the next free one).
udp_run() {
	local pns=$1 tns=$2 addr=$3 port=$4 n=$5 size=$6 r s pid sl rl
	[ "$port" = - ] && port=$((NEXT_PORT++))
	r=$TMP/$((++RUN))-udp-recv s=$TMP/$RUN-udp-send
	py_bg "$tns" "$r" udp-recv "$addr" "$port" "$n" "$size" "$r.ready"
	pid=$REPLY
	if ! wait_ready "$r.ready" "$pid"; then
		stop_py "$pid" 0
		fail "UDP receiver in $tns: not bound: $(first_line "$r")"
		return
	fi
	py_fg "$pns" "$s" udp-send "$addr" "$port" "$n" "$size"
	# It ends by itself once it has all N; else it is told to stop, and
	# still counts what its socket holds.
	stop_py "$pid" 10
	sl=$(first_line "$s") rl=$(first_line "$r")
	[ "$sl" = "sent=$n" ] || fail "UDP to $addr:$port: sender: $sl"
	[ "$rl" = "got=$n bad=0 dup=0" ] || fail "UDP to $addr:$port: receiver: $rl (of $n)"
}

# ping_run PEER_NS ADDR: five ICMP echo requests, all answered.
ping_run() {
	local out
	if ! command -v ping >/dev/null; then
		fail "no ping command (install iputils-ping)"
		return
	fi
	if ! out=$(in_ns "$1" ping -c 5 -i 0.2 -W 2 -q "$2" 2>&1); then
		fail "ping $2: $(echo "$out" | grep -m1 -E 'transmitted|rror|nknown')"
		return
	fi
	echo "$out" | grep -q ' 5 received' || fail "ping $2: $(echo "$out" | grep -m1 transmitted)"
}

le32() {
	printf '%02x %02x %02x %02x' $(($1 & 255)) $((($1 >> 8) & 255)) \
		$((($1 >> 16) & 255)) $((($1 >> 24) & 255))
}

# ifidx NETNS DEV: DEV's ifindex in NETNS, in REPLY.
ifidx() {
	REPLY=$(ip -n "$1" -o link show dev "$2" 2>/dev/null | awk -F': ' '{ print $1; exit }')
	[[ "$REPLY" =~ ^[0-9]+$ ]]
}

# tx_csum_off NETNS DEV: no checksum offload on DEV: it sends complete
# checksums. Devices without the feature show "off [fixed]".
tx_csum_off() {
	in_ns "$1" ethtool -K "$2" tx off >/dev/null 2>&1
	in_ns "$1" ethtool -k "$2" 2>/dev/null | grep -q '^tx-checksumming: off'
}

# mem_avail: MemAvailable in kB in REPLY, with the page cache dropped and the
# slab caches shrunk. Shrinking a cache also empties KASAN's quarantine of
# its objects: the quarantine (up to 1/32 of the memory) would otherwise
# look like a leak of tens of MB after 100000 frames.
mem_avail() {
	local f k v
	sync
	echo 3 >/proc/sys/vm/drop_caches
	for f in /sys/kernel/slab/*/shrink; do
		echo 1 >"$f"
	done 2>/dev/null
	REPLY=
	while read -r k v _; do
		[ "$k" = MemAvailable: ] && REPLY=$v
	done </proc/meminfo
	[ -n "$REPLY" ]
}

# mem_snap TAG: after mem_avail, MemAvailable (kB) in MEM[TAG] and the active
# objects of each slab cache in SLAB[TAG:cache] (/proc/slabinfo).
declare -A MEM SLAB SLAB_SIZE
mem_snap() {
	local name act
	local -a f
	mem_avail || return 1
	MEM[$1]=$REPLY
	{
		read -r _
		read -r _
		while read -r -a f; do
			name=${f[0]} act=${f[1]}
			SLAB[$1:$name]=$act SLAB_SIZE[$name]=${f[3]}
		done
	} </proc/slabinfo
}

# Slab caches of the debug kernel's own bookkeeping. debug_objects_cache
# grew by about 1.9 objects per frame (56 B each) with no xdpvlan on the
# path at all (pktgen to the veth itself): debugobjects frees the objects of
# RCU heads back to the slab only while its use falls, and keeps the rest in
# its pool. kmemleak_object follows every allocation.
bookkeeping_cache() {
	case $1 in debug_objects_cache | kmemleak_object) return 0 ;; esac
	return 1
}

# expect_no_leak FRAMES: since mem_snap b, over FRAMES frames, no slab cache
# (but the bookkeeping ones) may have gained FRAMES / 10 objects or more
# (a leaked object per frame, whatever its size), and MemAvailable may have
# fallen by less than LEAK_MAX_KB plus what the bookkeeping caches grew
# (leaked pages). Freed memory can come back late (RCU, deferred work): up
# to eight readings, a second apart, until one passes.
expect_no_leak() {
	local n=$1 i k name d book grown drop top top_d
	for ((i = 0; i < 8; i++)); do
		mem_snap a || { fail "cannot read MemAvailable and /proc/slabinfo"; return; }
		book=0 grown=() top=none top_d=0
		for k in "${!SLAB[@]}"; do
			[ "${k%%:*}" = a ] || continue
			name=${k#a:}
			d=$((${SLAB[a:$name]} - ${SLAB[b:$name]:-0}))
			if bookkeeping_cache "$name"; then
				book=$((book + d * ${SLAB_SIZE[$name]} / 1024))
				continue
			fi
			if [ "$d" -gt "$top_d" ]; then
				top=$name top_d=$d
			fi
			if [ "$d" -ge $((n / 10)) ]; then
				grown+=("slab cache $name grew by $d objects")
				grown[-1]+=" of ${SLAB_SIZE[$name]} B"
			fi
		done
		drop=$((MEM[b] - MEM[a] - book))
		[ "${#grown[@]}" = 0 ] && [ "$drop" -lt "$LEAK_MAX_KB" ] && break
		nap 1
	done
	msg "MemAvailable: ${MEM[b]} kB before, ${MEM[a]} kB after" \
		"(change $((MEM[a] - MEM[b])) kB; the bookkeeping caches grew by $book kB)"
	# The margin of the slab check: what grew most, against the limit.
	msg "largest slab growth: $top +$top_d objects (limit: $((n / 10)))"
	for k in "${grown[@]}"; do fail "$k over $n frames"; done
	[ "$drop" -lt "$LEAK_MAX_KB" ] ||
		fail "MemAvailable fell by $drop kB besides the bookkeeping caches," \
			"want less than $LEAK_MAX_KB kB"
}

# wait_counter NETNS DEV COUNTER: until DEV's ethtool COUNTER stops growing
# (read every 2 s; 120 s at most).
wait_counter() {
	local k v last=-1 cur i
	for ((i = 0; i < 60; i++)); do
		cur=
		while read -r k v; do
			[ "$k" = "$3:" ] && cur=$v
		done < <(in_ns "$1" ethtool -S "$2" 2>/dev/null)
		[ "$cur" = "$last" ] && return
		last=$cur
		nap 2
	done
}

# snmp_get NETNS NAME: the counter NAME ("Udp.NoPorts") of NETNS's
# /proc/net/snmp in REPLY.
snmp_get() {
	local hdr='' i
	local -a k v
	REPLY=
	ns_pid "$1"
	while read -r -a v; do
		if [ -z "$hdr" ]; then
			k=("${v[@]}") hdr=${v[0]%:}
			continue
		fi
		if [ "${v[0]%:}" = "$hdr" ] && [ "$hdr" = "${2%%.*}" ]; then
			for ((i = 1; i < ${#k[@]}; i++)); do
				[ "${k[i]}" = "${2#*.}" ] && REPLY=${v[i]}
			done
		fi
		hdr=
	done <"/proc/$REPLY/net/snmp"
	[ -n "$REPLY" ]
}

# pktgen_load: load pktgen (from the build tree if it is not installed).
pktgen_load() {
	modprobe pktgen 2>/dev/null ||
		{ [ -n "${XDPRX_BUILD:-}" ] &&
			insmod "$XDPRX_BUILD/net/core/pktgen.ko" 2>/dev/null; } ||
		grep -q '^pktgen ' /proc/modules
}

# pktgen_udp NETNS DEV COUNT DST_MAC SRC_IP DST_IP: COUNT UDP datagrams of 60
# bytes to port 9 out of DEV in NETNS, with the UDP checksum (pktgen leaves it
# to the device, CHECKSUM_PARTIAL, if DEV offers checksum offload). Returns
# when pktgen has sent them (fails unless it sent them all), 1800 s at most
# (a guard against a hang: the debug guest sent 110000 in 15 min while a
# kernel build shared the host).
pktgen_udp() {
	local pg=/proc/net/pktgen out
	out=$(timeout -k 5 1800 nsenter --net="/run/netns/$1" bash -c "
		echo rem_device_all > $pg/kpktgend_0 &&
		echo add_device $2 > $pg/kpktgend_0 &&
		for c in 'count $3' 'clone_skb 0' 'pkt_size 60' 'delay 0' \
			'dst_mac $4' 'src_min $5' 'src_max $5' 'dst $6' \
			'udp_src_min 9999' 'udp_src_max 9999' \
			'udp_dst_min 9' 'udp_dst_max 9' 'flag UDPCSUM'; do
			echo \"\$c\" > $pg/$2 || { echo \"pktgen: \$c: rejected\"; exit 1; }
		done &&
		echo start > $pg/pgctrl &&
		grep -o 'pkts-sofar: [0-9]*' $pg/$2
		echo rem_device_all > $pg/kpktgend_0" 2>&1)
	[ "$out" = "pkts-sofar: $3" ] && return 0
	fail "pktgen $3 frames out of $2: ${out:-no result}"
	return 1
}

# leak_pktgen PEER_NS PEER_DEV NETNS DEV MAC SRC_IP DST_IP COUNTER: a warm-up
# of LEAK_WARMUP frames (it fills the caches and page pools), then LEAK_SKBS
# UDP frames from PEER_DEV to DEV (in NETNS, address DST_IP), nothing
# listening.
# At least 90 % must take the path of DEV's ethtool COUNTER and reach UDP
# (NoPorts) in NETNS; nothing may leak (expect_no_leak); no error counter of
# CASE_NS may move (checked after the warm-up).
leak_pktgen() {
	local pns=$1 pdev=$2 ns=$3 dev=$4 mac=$5 src=$6 dst=$7 ctr=$8 np
	pktgen_udp "$pns" "$pdev" "$LEAK_WARMUP" "$mac" "$src" "$dst" || return
	wait_counter "$ns" "$dev" "$ctr"
	mem_snap b || { fail "cannot read MemAvailable and /proc/slabinfo"; return; }
	snapshot b
	snmp_get "$ns" Udp.NoPorts || { fail "$ns: cannot read Udp NoPorts"; return; }
	np=$REPLY
	pktgen_udp "$pns" "$pdev" "$LEAK_SKBS" "$mac" "$src" "$dst" || return
	wait_counter "$ns" "$dev" "$ctr"
	snapshot a
	snmp_get "$ns" Udp.NoPorts || { fail "$ns: cannot read Udp NoPorts"; return; }
	np=$((REPLY - np))
	msg "$dev: $ctr +$(delta "$dev" "$ctr") of $LEAK_SKBS, Udp NoPorts +$np in $ns"
	# A frame that finds the ring full may be dropped; the rest must come by
	# the path, and UDP must find each one's checksum good.
	expect_delta "$dev" "$ctr" -ge $((LEAK_SKBS * 9 / 10))
	[ "$np" -ge $((LEAK_SKBS * 9 / 10)) ] ||
		fail "$ns: Udp NoPorts grew by $np, want -ge $((LEAK_SKBS * 9 / 10))"
	expect_no_errors
	expect_no_leak "$LEAK_SKBS"
	msg "$((SECONDS - CASE_T0)) s"
}
