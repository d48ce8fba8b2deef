# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Packet watchers for the selftests that count tagged frames (veth.sh,
# ../xdpvlan/xdpvlan.sh), sourced with TMP (a directory of the test's own)
# and PKT (xrh_pkt.py) set. A watcher (xrh_pkt.py watch) runs for the whole
# test: it counts the tagged frames and markers its devices receive, one file
# per device, tag and size, and sends frames when told on its input. Starting
# a process costs most of a second in the debug test guest, and Python
# several: nothing here starts one per frame batch or per wait, and Python
# starts with -S (xrh_pkt.py needs nothing from site-packages; the site
# module is 0.6 s of each start).

# nap SECONDS: sleep without a new process.
mkfifo "$TMP/nap"
exec {NAPFD}<>"$TMP/nap"
nap() { read -r -t "$1" -u "$NAPFD" || :; }

# wait_file FILE [SECONDS]: until FILE exists, for SECONDS (20) at most.
wait_file() {
	local i
	for ((i = 0; i < ${2:-20} * 10; i++)); do
		[ -e "$1" ] && return 0
		nap 0.1
	done
	[ -e "$1" ]
}

# wait_ready FILE PID: until the process PID has created FILE, for as long as
# it runs. The first Python of a boot loads its modules over the guest's 9p
# root: 19 s on an idle host, and more than 20 s with four test guests on
# the host's 2 cores (virtio_net.sh's first pair then failed its setup in
# both suites of that run). A process that dies fails at once; the 900 s
# are a backstop against a hang, not a measure of the host.
wait_ready() {
	local i
	for ((i = 0; i < 9000; i++)); do
		[ -e "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		nap 0.1
	done
	return 1
}

# WDIR[dev]: the directory of the watcher of dev; WPID[name]: its pid.
declare -A WDIR WPID

# watch_start NAME NETNS DEV...: a watcher on DEV... in NETNS (empty: this
# one), fed through the file descriptor in NAME_FD.
watch_start() {
	local name=$1 ns=$2 fd d
	shift 2
	mkdir -p "$TMP/$name"
	mkfifo "$TMP/$name.in"
	exec {fd}<>"$TMP/$name.in"
	if [ -n "$ns" ]; then
		ip netns exec "$ns" python3 -S "$PKT" watch "$TMP/$name" "$@" <"$TMP/$name.in" \
			>"$TMP/$name.log" 2>&1 &
	else
		python3 -S "$PKT" watch "$TMP/$name" "$@" <"$TMP/$name.in" >"$TMP/$name.log" 2>&1 &
	fi
	WPID[$name]=$!
	printf -v "${name}_FD" %s "$fd"
	for d in "$@"; do WDIR[$d]=$TMP/$name; done
	wait_ready "$TMP/$name/ready" "${WPID[$name]}"
}

watch_stop() {
	local pid=${WPID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "WPID[$1]"
}

# to_watcher NAME LINE: "send DEV DST_MAC COUNT TAG [SIZE [dup-lost]]" or
# "mark DEV DST_MAC TAG" (see xrh_pkt.py).
to_watcher() {
	local fd=${1}_FD
	echo "$2" >&"${!fd}"
}

# watch_count DEV TAG: the tagged frames of any size DEV received, in REPLY.
watch_count() {
	local f c
	REPLY=0
	for f in "${WDIR[$1]}/$1-$2-"*; do
		[ -e "$f" ] || continue
		read -r c <"$f"
		REPLY=$((REPLY + c))
	done
}
