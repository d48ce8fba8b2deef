#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Check that patches/ reproduces the project's kernel-tree files byte for
# byte: every tracked file of the project under rust/, drivers/ and tools/ must
# be in the tree that applying patches/series to the base gives, with the same
# content and executable bit, and every file that the series adds under those
# directories must be in the project. Fast: stages the series (git am, cached
# on the patches' content) without checking it out and builds nothing.
#
#   scripts/check-drift.sh [--against COMMIT]
#
# --against compares with COMMIT of the kernel repository instead of the staged
# series (scripts/export-series.sh uses it on the tree it exports).
#
# Prints one line per differing file and exits 1, or prints
# "drift check: N files identical" and exits 0. After editing a file of the
# project, put the change into the commit of the dev tree that owns it and run
# scripts/export-series.sh; after changing the dev tree, copy the file back.
. "$(dirname "$0")/lib.sh"

# Files of the project that are not in the kernel tree: the out-of-tree
# build's ignore list.
project_only=(drivers/.gitignore)
# Files that the series adds under the checked directories and that the
# project does not have: C files whose only source is their patch.
series_only=(rust/helpers/net/netdevice.c)
dirs=(rust drivers tools)

git -C "$XDPRX_TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
	die "$XDPRX_TOP is not a git work tree: the check compares the files git ls-files lists"
repo=$(xdprx_src_dir)
case "${1:-}" in
	--against)
		[ $# -eq 2 ] || die "usage: $0 [--against COMMIT]"
		commit=$(git -C "$repo" rev-parse -q --verify "$2^{commit}") ||
			die "$2 is not a commit of $repo"
		what="$2"
		;;
	"")
		commit=$("$XDPRX_TOP/scripts/stage.sh" --no-checkout)
		what="the series"
		;;
	*) die "usage: $0 [--against COMMIT]" ;;
esac

# The patch of the series that last changed a path, for the message.
mapfile -t steps < <(git -C "$repo" rev-list --reverse "base..$commit")
mapfile -t names < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$XDPRX_TOP/patches/series")
owner() {
	local c i
	c=$(git -C "$repo" log -1 --format=%H "base..$commit" -- "$1")
	[ -n "$c" ] || { echo "the base tree"; return; }
	for i in "${!steps[@]}"; do
		if [ "${steps[$i]}" = "$c" ]; then
			if [ "$what" = "the series" ] && [ -n "${names[$i]:-}" ]; then
				echo "patches/${names[$i]}"
			else
				git -C "$repo" log -1 --format='%h ("%s")' "$c"
			fi
			return
		fi
	done
	echo "$c"
}

declare -A skip
for f in "${project_only[@]}"; do skip[$f]=1; done
mapfile -t files < <(git -C "$XDPRX_TOP" ls-files -- "${dirs[@]}")

# mode and blob of the project's files in the staged tree
declare -A tree_blob tree_mode
while IFS=$'\t' read -r meta path; do
	read -r mode _ blob <<<"$meta"
	tree_blob[$path]=$blob
	tree_mode[$path]=$mode
done < <(git -C "$repo" ls-tree -r --full-tree "$commit" -- "${files[@]}")
bad=0
n=0
declare -A in_project
for f in "${files[@]}"; do
	in_project[$f]=1
	[ -z "${skip[$f]:-}" ] || continue
	n=$((n + 1))
	if [ ! -f "$XDPRX_TOP/$f" ]; then
		echo "drift: $f: deleted in the project, but in $what ($(owner "$f"))"
		bad=$((bad + 1))
		continue
	fi
	if [ -z "${tree_blob[$f]:-}" ]; then
		echo "drift: $f: not in $what"
		bad=$((bad + 1))
		continue
	fi
	blob=$(git -C "$XDPRX_TOP" hash-object --no-filters -- "$f")
	if [ "$blob" != "${tree_blob[$f]}" ]; then
		lines=$({ diff <(git -C "$repo" cat-file blob "${tree_blob[$f]}") "$XDPRX_TOP/$f" || true; } |
			awk '/^>/ { a++ } /^</ { d++ } END { printf "+%d -%d lines in the project", a, d }')
		echo "drift: $f: differs from $what ($(owner "$f")): $lines"
		bad=$((bad + 1))
		continue
	fi
	mode=100644
	[ -x "$XDPRX_TOP/$f" ] && mode=100755
	if [ "$mode" != "${tree_mode[$f]}" ]; then
		echo "drift: $f: mode $mode in the project, ${tree_mode[$f]} in $what ($(owner "$f"))"
		bad=$((bad + 1))
	fi
done

declare -A allowed
for f in "${series_only[@]}"; do allowed[$f]=1; done
while read -r f; do
	if [ -n "${in_project[$f]:-}" ] || [ -n "${allowed[$f]:-}" ]; then
		continue
	fi
	echo "drift: $f: added by $what ($(owner "$f")), missing from the project"
	bad=$((bad + 1))
done < <(git -C "$repo" diff --name-only --no-renames --diff-filter=A base "$commit" -- "${dirs[@]}")

if [ "$bad" -gt 0 ]; then
	echo "drift check: $bad of the project's kernel-tree files differ from $what"
	exit 1
fi
echo "drift check: $n files identical"
