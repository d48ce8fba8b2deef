# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Maps of the xdpvlan selftest's XDP program (xv_progs.bpf.c), through one
# bpftool call each, parsed by the shell itself (each process started costs
# about a second in the debug guest). Sourced by xdpvlan.sh (and by the
# project's demo).
#
#   xv_bpf cfg MAPDIR IFINDEX LEVEL ACTION [TARGET]   configure a device
#   xv_bpf uncfg MAPDIR IFINDEX                       forget a device
#   xv_bpf reset MAPDIR                               zero the counters
#   xv_bpf stats MAPDIR                               'level count first last'
#   xv_bpf frames MAPDIR                              'level index count seq' of
#                                                     each frame index a level saw

XV_LEVELS=4	# max_entries of xv_stat
XV_FRAMES=16	# frame indexes per level in xv_frame (XV_FRAMES in the program)

# __xv_le32 N: N as the 4 bytes of a little-endian __u32, for bpftool's
# "hex", in REPLY (printf -v: a command substitution would fork).
__xv_le32() {
	printf -v REPLY '%02x %02x %02x %02x' $(($1 & 255)) $((($1 >> 8) & 255)) \
		$((($1 >> 16) & 255)) $((($1 >> 24) & 255))
}

# __xv_dump MAP ENTRIES: the entries of the array MAP as lines of bytes (key,
# then value; numbers bash arithmetic takes), from "bpftool -j map dump";
# fails unless there are ENTRIES.
__xv_dump() {
	local v line n=0 re='^key:\[([^]]*)\],value:\[([^]]*)\]'
	v=$(bpftool -j map dump pinned "$1") || {
		echo "xv_bpf: cannot dump $1: $v" >&2
		return 1
	}
	v=${v//\"/}
	v=${v//key:/$'\n'key:}
	XV_DUMP=()
	while read -r line; do
		[[ "$line" =~ $re ]] || continue
		XV_DUMP+=("${BASH_REMATCH[1]//,/ } ${BASH_REMATCH[2]//,/ }")
		n=$((n + 1))
	done <<<"$v"
	[ "$n" -eq "$2" ] || {
		echo "xv_bpf: $n entries in $1, not $2" >&2
		return 1
	}
}

# __xv_u OFFSET SIZE: the little-endian number at OFFSET in the bytes b[] of a
# dump line, in REPLY (no command substitution: a fork each).
__xv_u() {
	local j
	REPLY=0
	for ((j = $1 + $2 - 1; j >= $1; j--)); do
		REPLY=$((REPLY << 8 | b[j]))
	done
}

xv_bpf() {
	local cmd=$1 dir=$2 lvl zero i line out
	local -a b
	case $cmd in
	cfg)	# struct xv_cfg { __u32 level, action, target; }
		__xv_le32 "$3"
		out="key hex $REPLY value hex"
		for i in "$4" "$5" "${6:-0}"; do
			__xv_le32 "$i"
			out+=" $REPLY"
		done
		# shellcheck disable=SC2086 # the bytes are separate words
		bpftool map update pinned "$dir/xv_cfg" $out
		;;
	uncfg)
		__xv_le32 "$3"
		# shellcheck disable=SC2086
		bpftool map delete pinned "$dir/xv_cfg" key hex $REPLY 2>/dev/null
		return 0
		;;
	reset)	# struct xv_stat { __u64 count, first, last; },
		# struct xv_frame { __u32 count, seq; }
		out=
		printf -v zero ' 00%.0s' {1..24}
		for ((lvl = 0; lvl < XV_LEVELS; lvl++)); do
			__xv_le32 $lvl
			out+="map update pinned $dir/xv_stat key hex $REPLY value hex$zero"$'\n'
		done
		printf -v zero ' 00%.0s' {1..8}
		for ((i = 0; i < XV_LEVELS * XV_FRAMES; i++)); do
			__xv_le32 $i
			out+="map update pinned $dir/xv_frame key hex $REPLY value hex$zero"$'\n'
		done
		bpftool batch file - <<<"$out" >/dev/null
		;;
	stats)	# key __u32 level, value __u64 count, first, last
		__xv_dump "$dir/xv_stat" $XV_LEVELS || return 1
		for line in "${XV_DUMP[@]}"; do
			read -r -a b <<<"$line"
			__xv_u 0 4
			out=$REPLY
			for i in 4 12 20; do
				__xv_u $i 8
				out+=" $REPLY"
			done
			echo "$out"
		done
		;;
	frames)	# key __u32 level * XV_FRAMES + index, value __u32 count, seq
		__xv_dump "$dir/xv_frame" $((XV_LEVELS * XV_FRAMES)) || return 1
		for line in "${XV_DUMP[@]}"; do
			read -r -a b <<<"$line"
			[ $((b[4] | b[5] | b[6] | b[7])) = 0 ] && continue
			__xv_u 0 4
			out="$((REPLY / XV_FRAMES)) $((REPLY % XV_FRAMES))"
			__xv_u 4 4
			out+=" $REPLY"
			__xv_u 8 4
			echo "$out $REPLY"
		done
		;;
	*)
		echo "xv_bpf: unknown command $cmd" >&2
		return 1
		;;
	esac
}
