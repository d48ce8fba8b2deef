# SPDX-License-Identifier: GPL-2.0
# Maps of the xdpvlan selftest's XDP program (xv_progs.bpf.c), through one
# bpftool call each. Sourced by xdpvlan.sh (and by the project's demo).
#
#   xv_bpf cfg MAPDIR IFINDEX LEVEL ACTION [TARGET]   configure a device
#   xv_bpf uncfg MAPDIR IFINDEX                       forget a device
#   xv_bpf reset MAPDIR                               zero the counters
#   xv_bpf stats MAPDIR                               'level count first last'

XV_LEVELS=4	# max_entries of xv_stat

# __xv_le32 N: N as the 4 bytes of a little-endian __u32, for bpftool's "hex".
__xv_le32() {
	printf '%02x %02x %02x %02x' $(($1 & 255)) $((($1 >> 8) & 255)) \
		$((($1 >> 16) & 255)) $((($1 >> 24) & 255))
}

xv_bpf() {
	local cmd=$1 dir=$2 lvl zero i j k n v b
	case $cmd in
	cfg)	# struct xv_cfg { __u32 level, action, target; }
		bpftool map update pinned "$dir/xv_cfg" key hex $(__xv_le32 "$3") \
			value hex $(__xv_le32 "$4") $(__xv_le32 "$5") $(__xv_le32 "${6:-0}")
		;;
	uncfg)
		bpftool map delete pinned "$dir/xv_cfg" key hex $(__xv_le32 "$3") 2>/dev/null
		return 0
		;;
	reset)	# struct xv_stat { __u64 count, first, last; }
		zero=$(printf ' 00%.0s' $(seq 24))
		for ((lvl = 0; lvl < XV_LEVELS; lvl++)); do
			echo "map update pinned $dir/xv_stat key hex $(__xv_le32 $lvl) value hex$zero"
		done | bpftool batch file - >/dev/null
		;;
	stats)	# one line per level, from the raw bytes of "bpftool -j map dump"
		v=$(bpftool -j map dump pinned "$dir/xv_stat") || {
			echo "xv_bpf stats: $v" >&2
			return 1
		}
		v=$(grep -o '"key":\[[^]]*\],"value":\[[^]]*\]' <<<"$v" |
			sed 's/"key":\[//; s/\],"value":\[/,/; s/\]$//; s/[",]/ /g')
		[ "$(grep -c . <<<"$v")" -eq $XV_LEVELS ] || {
			echo "xv_bpf stats: not $XV_LEVELS entries in $dir/xv_stat" >&2
			return 1
		}
		while read -r -a b; do
			lvl=$((b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24))
			printf '%d' $lvl
			for k in 0 1 2; do	# __u64 count, first, last
				i=$((4 + 8 * k)) n=0
				for ((j = 7; j >= 0; j--)); do
					n=$((n << 8 | b[i + j]))
				done
				printf ' %d' $n
			done
			echo
		done <<<"$v"
		;;
	*)
		echo "xv_bpf: unknown command $cmd" >&2
		return 1
		;;
	esac
}
