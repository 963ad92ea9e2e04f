#!/bin/sh
# Installs what ctrace-bpf needs to build, run and test, from Debian's archive.
# Run as root (sudo make setup). Safe to run again.
set -eu
PKGS="make gcc g++ clang llvm libbpf-dev libelf-dev libdw-dev libcjson-dev \
libcapstone-dev zlib1g-dev pkg-config bpftool python3 python3-pytest jq \
uftrace util-linux binutils time gdb \
chromium libclang-rt-14-dev"
if [ "$(id -u)" != 0 ]; then
	echo "setup: run as root (sudo make setup)" >&2
	exit 1
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
echo "setup: all build and test dependencies are installed"
