#!/bin/sh
# Installs what ctrace-bpf needs to build, run and test, from Debian's archive.
# Run as root (`make setup` does, through tools/as-root). Safe to run again.
set -eu
PKGS="make gcc g++ clang llvm libbpf-dev libelf-dev libdw-dev libcjson-dev \
libcapstone-dev zlib1g-dev pkg-config bpftool python3 python3-pytest jq \
uftrace util-linux binutils time gdb valgrind \
chromium libclang-rt-14-dev protobuf-compiler \
dpkg-dev cmake autoconf automake libgtest-dev libgmock-dev"
# npm fetches speedscope, DevTools' frontend and esbuild for the viewer tests
# (tests/integration/viewers.py; node runs esbuild);
# a nodejs from elsewhere (NodeSource) brings its own npm and conflicts with Debian's
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
if [ "$(id -u)" != 0 ]; then
	echo "setup: run as root (make setup)" >&2
	exit 1
fi
# The real-program tests (tests/real) fetch Debian source packages with
# `apt-get source`: mirror the deb sources as deb-src when none is configured.
SRC_DIR=/etc/apt/sources.list.d
update=""
if ! grep -rqsE '^(Types:.*deb-src|deb-src[[:space:]])' /etc/apt/sources.list "$SRC_DIR"; then
	# deb822 stanzas of type deb (not disabled), comments dropped
	for f in "$SRC_DIR"/*.sources; do
		[ -f "$f" ] || continue
		awk -v RS= -v ORS='\n\n' '/(^|\n)Types:[ \t]*deb([ \t]|\n|$)/ && !/\nEnabled:[ \t]*no/' "$f" |
			grep -v '^#' | sed 's/^Types:.*/Types: deb-src/'
	done >"$SRC_DIR/ctrace-deb-src.sources"
	# one-line deb entries
	cat /etc/apt/sources.list "$SRC_DIR"/*.list 2>/dev/null |
		sed -n 's/^deb\([[:space:]]\)/deb-src\1/p' >"$SRC_DIR/ctrace-deb-src.list"
	for f in "$SRC_DIR/ctrace-deb-src.sources" "$SRC_DIR/ctrace-deb-src.list"; do
		[ -s "$f" ] || rm -f "$f"
	done
	echo "setup: added deb-src sources ($SRC_DIR/ctrace-deb-src.*)"
	update=1
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
export DEBIAN_FRONTEND=noninteractive
if [ -n "$missing$update" ]; then
	apt-get update -qq
fi
if [ -n "$missing" ]; then
	echo "setup: installing$missing"
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
echo "setup: all build and test dependencies are installed"
