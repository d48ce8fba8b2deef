#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# For reviewers of the test command: a clone of this repository (its HEAD)
# with deliberate faults, each of which the test command must turn into a
# non-zero exit and a one-line reason.
#
#   scripts/fault-demo.sh DIR FAULT...      then: cd DIR && scripts/test.sh
#
#   missing  virtio_net.sh is dropped from its Makefile's TEST_PROGS (guest b
#            discovers the selftests, so it just does not run)
#   skip     a case of xdpvlan.sh (case_show) reports "# SKIP"
#   killed   the test runner of guest b is killed with SIGKILL, as the OOM
#            killer would, when xdpvlan_sock.sh starts
#   devhold  xrh_testmod (veth.sh) takes a reference on the lower device with
#            netdev_hold() and never drops it
#   chain    case_l2 of xdpvlan.sh sends frame 3 twice and frame 5 never: the
#            totals stay right, each level sees N frames
#
# Files under rust/, drivers/ and tools/ must be reproduced by patches/ (the
# drift check), so each fault goes into the patch that owns its file too: in
# a worktree of the staged series, as a fixup of that patch, exported into the
# clone's patches/. The clone's last commit names the faults.
. "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || die "usage: $0 DIR FAULT... (missing skip killed devhold chain)"
dir=$1
shift
[ ! -e "$dir" ] || die "$dir exists"
st=tools/testing/selftests/drivers/net

# inject FAULT ROOT: edit ROOT's copy of the fault's file; print its path.
inject() {
	local f r=$2
	# shellcheck disable=SC2016 # sed scripts: $ is sed's, or the shell's in the file
	case $1 in
	missing)
		f=$st/xdp_rx_handler/Makefile
		sed -i 's/^\(TEST_PROGS := veth.sh\) virtio_net.sh$/\1/' "$r/$f" ;;
	skip)
		f=$st/xdpvlan/xdpvlan.sh
		sed -i '/^case_show() {$/a\	ktap_test_skip "forced by scripts/fault-demo.sh"; return' "$r/$f" ;;
	killed)
		f=$st/xdpvlan/xdpvlan_sock.sh
		sed -i '/^ktap_set_plan \$PLAN$/a pkill -KILL -f scripts/guest/run-tests.sh # scripts/fault-demo.sh' "$r/$f" ;;
	devhold)
		f=$st/xdp_rx_handler/xrh_testmod/xrh_testmod.c
		sed -i '/^\tnetdev_put(xrh.dev, &xrh.tracker);$/d' "$r/$f" ;;
	chain)
		f=$st/xdpvlan/xdpvlan.sh
		sed -i '/^case_l2() {$/,/^}$/s/^\ttraffic \$MAC_U2 u2$/\tSEND_HOW=dup-lost traffic $MAC_U2 u2/' "$r/$f" ;;
	*) die "unknown fault $1 (missing skip killed devhold chain)" ;;
	esac
	echo "$f"
}

git clone -q "$XDPRX_TOP" "$dir"
dir=$(cd "$dir" && pwd)
repo=$(xdprx_src_dir)
commit=$("$dir/scripts/stage.sh" --no-checkout)
wt=$XDPRX_CACHE/fault-demo-wt
git -C "$repo" worktree remove --force "$wt" 2>/dev/null || rm -rf "$wt"
git -C "$repo" worktree prune
git -C "$repo" worktree add -q --detach "$wt" "$commit"
trap 'git -C "$repo" worktree remove --force "$wt" 2>/dev/null || :' EXIT
for fault in "$@"; do
	f=$(inject "$fault" "$wt")
	inject "$fault" "$dir" >/dev/null
	! git -C "$wt" diff --quiet -- "$f" || die "fault $fault: no change to $f (the file changed?)"
	# The patch, not an earlier fault's fixup of it.
	owner=$(git -C "$wt" log --format='%H %s' base..HEAD -- "$f" | grep -v -m1 '^[0-9a-f]* fixup! ' | cut -d' ' -f1)
	[ -n "$owner" ] || die "no patch of the series owns $f"
	git -C "$wt" -c user.name=fault-demo -c user.email=fault-demo@invalid commit -q --fixup="$owner" -- "$f"
	log "fault $fault: $f (patch: $(git -C "$wt" log -1 --format=%s "$owner"))"
done
GIT_SEQUENCE_EDITOR=: git -C "$wt" -c user.name=fault-demo -c user.email=fault-demo@invalid rebase -q -i --autosquash base
"$dir/scripts/export-series.sh" "$wt" >/dev/null
git -C "$dir" -c user.name=fault-demo -c user.email=fault-demo@invalid commit -q -a \
	-m "fault demo: $*"
log "$dir: HEAD has the faults ($*); run: cd $dir && scripts/test.sh"
