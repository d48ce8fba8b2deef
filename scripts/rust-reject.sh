#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The misuses of the kernel::net API that the compiler must reject, as
# compile_fail tests would check them (the kernel's rustdoc runs doctests as
# KUnit and has no compile_fail): each case in
# tools/testing/selftests/drivers/net/rust_net/reject/ is compiled as a module
# against the built kernel crate, with the flags of the out-of-tree module
# (drivers/net/xdpvlan), and must fail with the error its "// expect:" line
# names; 00-control.rs, the same uses done right, must compile.
#
# Needs the kernel and the out-of-tree module built. Prints KTAP; exits
# non-zero if a case did not behave.
. "$(dirname "$0")/lib.sh"

build=$(xdprx_build_dir)
dir=$XDPRX_TOP/tools/testing/selftests/drivers/net/rust_net/reject
cmdf=$XDPRX_TOP/drivers/net/xdpvlan/.xdpvlan.o.cmd
[ -f "$cmdf" ] || die "no $cmdf: build the out-of-tree module first (make)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The module's rustc command, compiling a case to metadata only (type and
# borrow checks) in $tmp.
base=$(sed -n 1p "$cmdf" | sed 's/^savedcmd_[^ ]* := //; s/ ; .*objtool.*$//;
	s# --emit=dep-info=[^ ]*##; s# --emit=obj=[^ ]*##; s# --crate-name xdpvlan# --crate-name reject#')
[[ $base == *" drivers/net/xdpvlan/xdpvlan.rs"* ]] || die "unexpected command in $cmdf"

cases=("$dir"/[0-9][0-9]-*.rs)
echo "TAP version 13"
echo "1..${#cases[@]}"
i=0 bad=0
for c in "${cases[@]}"; do
	i=$((i + 1))
	desc=$(sed -n '2s#^// ##p' "$c")
	want=$(sed -n 's#^// expect: ##p' "$c")
	cat "$dir/head.rs.in" "$c" >"$tmp/case.rs"
	cmd=${base/ drivers\/net\/xdpvlan\/xdpvlan.rs/ $tmp/case.rs}
	rc=0
	out=$(cd "$XDPRX_TOP" && RUSTC_BOOTSTRAP=1 bash -c "$cmd --emit=metadata=$tmp/lib.rmeta" 2>&1) ||
		rc=$?
	err=$(grep -m1 -E '^error' <<<"$out" || true)
	if [ "$want" = ok ]; then
		if [ $rc = 0 ]; then echo "ok $i $desc"; else
			echo "not ok $i $desc"; echo "# $err"; bad=$((bad + 1))
		fi
	elif [ $rc != 0 ] && [[ $err == *"$want"* ]]; then
		echo "ok $i rejected: $desc"
		echo "# $err"
	else
		echo "not ok $i rejected: $desc (want an error with '$want', exit $rc)"
		echo "# ${err:-compiled}"
		bad=$((bad + 1))
	fi
done
[ $bad = 0 ]
