#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Obtain the pristine base tree and commit it to the staging repository
# ($XDPRX_CACHE/linux, branch "base").
#
# Default: Debian's linux-source-7.3 from trixie-backports, fetched with a
# private apt configuration (the host's /etc/apt is never touched).
# KSRC=/path/to/linux: use your own tree instead (for example a net-next
# checkout); if it is a git repository its HEAD commit is the base.
#
# Prints the base version on stdout and records it in $XDPRX_CACHE/base-version.
. "$(dirname "$0")/lib.sh"

repo=$(xdprx_src_dir)
mkdir -p "$XDPRX_CACHE"

git_q() { git -C "$repo" -c user.name=xdprx -c user.email=xdprx@localhost "$@"; }

init_repo() {
	if [ ! -d "$repo/.git" ]; then
		mkdir -p "$repo"
		git -C "$repo" init -q -b stage
		git_q config core.autocrlf false
		git_q config gc.auto 0
	fi
}

# Commit the contents of directory $1 as branch "base" with message $2.
import_tree() {
	local dir=$1 msg=$2
	init_repo
	log "importing $msg into $repo (a few minutes for a full tree)"
	local tmpidx=$repo/.git/xdprx-import-index
	rm -f "$tmpidx"
	GIT_INDEX_FILE=$tmpidx GIT_WORK_TREE=$dir git -C "$repo" add -f -A . ||
		die "git add of $dir failed"
	local tree commit
	tree=$(GIT_INDEX_FILE=$tmpidx git -C "$repo" write-tree)
	rm -f "$tmpidx"
	commit=$(echo "$msg" | git_q commit-tree "$tree")
	git_q update-ref refs/heads/base "$commit"
}

if [ -n "${KSRC:-}" ]; then
	[ -d "$KSRC" ] || die "KSRC=$KSRC: no such directory"
	[ -f "$KSRC/Makefile" ] && grep -q '^VERSION = ' "$KSRC/Makefile" ||
		die "KSRC=$KSRC: not a Linux source tree (no top-level Makefile with VERSION)"
	[ -d "$KSRC/rust/kernel" ] ||
		die "KSRC=$KSRC: tree has no rust/kernel (Rust-for-Linux needs Linux >= 6.1; this project targets 7.3/net-next)"
	kver=$(make -s -C "$KSRC" kernelversion 2>/dev/null) ||
		die "KSRC=$KSRC: 'make kernelversion' failed"
	if git -C "$KSRC" rev-parse --verify -q HEAD >/dev/null 2>&1; then
		[ -z "$(git -C "$KSRC" status --porcelain --untracked-files=no)" ] ||
			die "KSRC=$KSRC: tree has uncommitted changes; commit or stash them first"
		head=$(git -C "$KSRC" rev-parse HEAD)
		ver="$kver (git $head from $KSRC)"
		init_repo
		if [ "$(git_q rev-parse -q --verify base 2>/dev/null)" != "$head" ]; then
			log "fetching $KSRC HEAD"
			git_q fetch -q "$KSRC" HEAD || die "git fetch from $KSRC failed"
			git_q update-ref refs/heads/base "$head"
		fi
	else
		ver="$kver (tree $KSRC)"
		stamp=$XDPRX_CACHE/base-version
		[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$ver" ] || import_tree "$KSRC" "base: $ver"
	fi
else
	stamp=$XDPRX_CACHE/base-version
	dl=$XDPRX_CACHE/download
	mkdir -p "$dl/lists/partial" "$dl/archives/partial"
	# Use the Debian mirror the host already uses, unless DEBIAN_MIRROR says otherwise.
	mirror=${DEBIAN_MIRROR:-}
	if [ -z "$mirror" ]; then
		mirror=$(grep -hs -E '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list 2>/dev/null |
			grep -oE '(https?|file)://[^ ]*/debian/?( |$)' | head -n1 | tr -d ' ' || true)
	fi
	[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt; set DEBIAN_MIRROR=URL"
	keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	[ -f "$keyring" ] || die "$keyring missing (apt-get install debian-archive-keyring)"
	echo "deb [signed-by=$keyring] $mirror $XDPRX_SRC_SUITE main" >"$dl/sources.list"
	aptopts=(-o Dir::Etc::sourcelist="$dl/sources.list" -o Dir::Etc::sourceparts=-
		-o Dir::State::Lists="$dl/lists" -o Dir::Cache::archives="$dl/archives"
		-o APT::Get::List-Cleanup=0 -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
	debs=("$dl"/${XDPRX_SRC_PKG}_*.deb)
	if [ ! -f "${debs[0]}" ] || [ -n "${XDPRX_REFRESH:-}" ]; then
		log "apt-get update ($XDPRX_SRC_SUITE, private configuration)"
		apt-get "${aptopts[@]}" update -qq >/dev/null ||
			die "apt-get update of $XDPRX_SRC_SUITE from $mirror failed"
		log "apt-get download $XDPRX_SRC_PKG"
		(cd "$dl" && apt-get "${aptopts[@]}" download -qq "$XDPRX_SRC_PKG" 2>&1 |
			grep -v 'unsandboxed' >&2 || true)
		debs=("$dl"/${XDPRX_SRC_PKG}_*.deb)
		[ -f "${debs[0]}" ] || die "apt-get download $XDPRX_SRC_PKG failed"
	fi
	deb=$(ls -1 "$dl"/${XDPRX_SRC_PKG}_*.deb | sort -V | tail -n1)
	ver="$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)"
	if ! { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$ver" ] &&
	       git -C "$repo" rev-parse -q --verify base >/dev/null 2>&1; }; then
		x=$XDPRX_CACHE/unpack
		rm -rf "$x"
		mkdir -p "$x"
		log "unpacking $(basename "$deb")"
		dpkg-deb -x "$deb" "$x/deb" || die "dpkg-deb -x $deb failed"
		tarball=$(ls "$x"/deb/usr/src/linux-source-*.tar.* | head -n1)
		[ -f "$tarball" ] || die "$deb holds no source tarball"
		tar -C "$x" -xf "$tarball" || die "untar $tarball failed"
		srcdir=$(find "$x" -mindepth 1 -maxdepth 1 -type d -name 'linux-source-*' | head -n1)
		import_tree "$srcdir" "base: $ver"
		rm -rf "$x"
	fi
fi
echo "$ver" >"$XDPRX_CACHE/base-version"
echo "$ver"
