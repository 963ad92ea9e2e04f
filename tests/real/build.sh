#!/bin/sh
# Builds the real-program tier's targets from Debian source packages, with
# -finstrument-functions -g, into OUT (default build/real):
#     OUT/lua-O2/lua  OUT/lua-O0/lua   lua5.4 (errors unwind with _longjmp)
#     OUT/leveldb-O2/db_bench          leveldb (C++, threads)
#     OUT/dash-O2/dash                 dash (forks; errors unwind with longjmp)
#     OUT/lighttpd-O2/lighttpd         lighttpd (a server; its modules, dlopened
#     OUT/lighttpd-O2/modules/         at start-up, are instrumented too)
#     OUT/gzip-O2/gzip                 gzip (its SIGTERM handler cleans up, re-raises)
#     OUT/libcount-hooks.so            the counting hooks (count_hooks.c)
#     OUT/batch/libctrace-hooks-batch.so   the same, and --probe batch's hooks
#                                      behind them (CTRACE_BATCH_LIB: count_hooks.c)
# Sources are fetched once with `apt-get source` into OUT/src and reused; a
# target is rebuilt only when its flags change (a stamp file holds them).
# Exit status: 0 built, 3 a source package could not be fetched (no deb-src
# line, no network: tools/setup.sh adds the lines), 1 anything else.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/../../build/real}
mkdir -p "$OUT/src"
OUT=$(cd "$OUT" && pwd)
JOBS=$(nproc 2>/dev/null || echo 2)
FLAGS="-g -finstrument-functions"

log() { echo "build.sh: $*" >&2; }

# fetch PKG: the unpacked source directory of PKG, fetched when absent (into
# a scratch directory first, so an interrupted fetch leaves nothing half done)
fetch() {
	dir=$(find "$OUT/src" -maxdepth 1 -type d -name "$1-[0-9]*" | head -n 1)
	if [ -z "$dir" ]; then
		log "apt-get source $1"
		tmp=$OUT/src/.fetch-$1
		rm -rf "$tmp" && mkdir -p "$tmp"
		if ! (cd "$tmp" && apt-get source -qq "$1" >"$tmp.log" 2>&1); then
			cat "$tmp.log" >&2
			log "cannot fetch the source package $1"
			exit 3
		fi
		dir=$(find "$tmp" -maxdepth 1 -type d -name "$1-[0-9]*" | head -n 1)
		[ -n "$dir" ] || { log "apt-get source $1 unpacked nothing"; exit 3; }
		mv "$dir" "$OUT/src/" && rm -rf "$tmp" "$tmp.log"
		dir=$OUT/src/$(basename "$dir")
	fi
	echo "$dir"
}

# fresh DIR STAMP: true when DIR was built with exactly STAMP
fresh() {
	[ -f "$1/.stamp" ] && [ "$(cat "$1/.stamp")" = "$2" ]
}

# start NAME STAMP: dst=OUT/NAME and stamp=STAMP; false (nothing to do) when
# dst was built with exactly STAMP, else dst is emptied for the build, which
# ends with `echo "$stamp" >"$dst/.stamp"`
start() {
	dst=$OUT/$1
	stamp=$2
	fresh "$dst" "$stamp" && return 1
	rm -rf "$dst"
	mkdir -p "$dst" || { log "cannot create $dst"; exit 1; }
}

# the lua interpreter alone: every src/*.c but the compiler luac.c
build_lua() {   # OPT
	opt=$1
	src=$(fetch lua5.4)/src
	start "lua$opt" "lua $opt $FLAGS seed0" || return 0
	log "lua $opt"
	# Debian's luaconf.h patch includes a header its rules generate
	echo "#define DEB_HOST_MULTIARCH \"$(gcc -print-multiarch)\"" >"$dst/lua5.4-deb-multiarch.h"
	set --
	for c in "$src"/*.c; do
		[ "${c##*/}" = luac.c ] || set -- "$@" "$c"
	done
	# a fixed string hash seed (lstate.c mixes in the time): two runs of a
	# script make the same calls, for the gdb comparison
	# shellcheck disable=SC2086 # $opt and $FLAGS are lists of options
	gcc -std=gnu99 $opt $FLAGS -I"$dst" '-Dluai_makeseed(L)=0' -DLUA_COMPAT_5_3 -DLUA_USE_LINUX \
		-o "$dst/lua" "$@" -Wl,-E -lm -ldl
	echo "$stamp" >"$dst/.stamp"
}

build_leveldb() {   # OPT
	src=$(fetch leveldb)
	start "leveldb$1" "leveldb $1 $FLAGS" || return 0
	log "leveldb $1 (db_bench)"
	cmake -S "$src" -B "$dst/cmake" -DCMAKE_BUILD_TYPE=None \
		-DCMAKE_C_FLAGS="$1 $FLAGS" -DCMAKE_CXX_FLAGS="$1 $FLAGS" \
		-DLEVELDB_BUILD_TESTS=OFF -DLEVELDB_BUILD_BENCHMARKS=ON -DLEVELDB_INSTALL=OFF \
		-DBUILD_SHARED_LIBS=OFF >"$dst/cmake.log" 2>&1 || { cat "$dst/cmake.log" >&2; return 1; }
	cmake --build "$dst/cmake" -j "$JOBS" --target db_bench >"$dst/build.log" 2>&1 ||
		{ tail -n 50 "$dst/build.log" >&2; return 1; }
	cp "$dst/cmake/db_bench" "$dst/db_bench"
	echo "$stamp" >"$dst/.stamp"
}

build_dash() {   # OPT
	src=$(fetch dash)
	start "dash$1" "dash $1 $FLAGS" || return 0
	log "dash $1"
	mkdir -p "$dst/obj"
	# Debian's patches change configure.ac and src/Makefile.am (privmode adds priv.c)
	[ -f "$src/.autoreconf" ] || { (cd "$src" && autoreconf -fi >/dev/null 2>&1) &&
		touch "$src/.autoreconf"; } || { log "autoreconf failed in $src"; return 1; }
	(cd "$dst/obj" && "$src/configure" -q CFLAGS="$1 $FLAGS" \
		--disable-fnmatch --disable-lineno --disable-glob >../configure.log 2>&1 &&
		make -j "$JOBS" >../build.log 2>&1) ||
		{ tail -n 50 "$dst/configure.log" "$dst/build.log" >&2; return 1; }
	cp "$dst/obj/src/dash" "$dst/dash"
	echo "$stamp" >"$dst/.stamp"
}

# the server and its modules, without the optional libraries (TLS,
# compression, PCRE): what a fresh machine has is enough
build_lighttpd() {   # OPT
	src=$(fetch lighttpd)
	start "lighttpd$1" "lighttpd $1 $FLAGS" || return 0
	log "lighttpd $1"
	mkdir -p "$dst/obj" "$dst/modules"
	(cd "$dst/obj" && "$src/configure" -q CFLAGS="$1 $FLAGS" --without-pcre2 --without-zlib \
		--without-bzip2 --without-zstd --without-brotli --without-libdeflate \
		--without-openssl --without-uuid >../configure.log 2>&1 &&
		make -j "$JOBS" >../build.log 2>&1) ||
		{ tail -n 50 "$dst/configure.log" "$dst/build.log" >&2; return 1; }
	cp "$dst/obj/src/lighttpd" "$dst/lighttpd"
	cp "$dst"/obj/src/.libs/mod_*.so "$dst/modules/"
	echo "$stamp" >"$dst/.stamp"
}

# gzip alone: its manual needs makeinfo, its tests are not ours
build_gzip() {   # OPT
	src=$(fetch gzip)
	start "gzip$1" "gzip $1 $FLAGS" || return 0
	log "gzip $1"
	mkdir -p "$dst/obj"
	(cd "$dst/obj" && "$src/configure" -q CFLAGS="$1 $FLAGS" >../configure.log 2>&1 &&
		make -j "$JOBS" SUBDIRS="lib ." >../build.log 2>&1) ||
		{ tail -n 50 "$dst/configure.log" "$dst/build.log" >&2; return 1; }
	cp "$dst/obj/gzip" "$dst/gzip"
	echo "$stamp" >"$dst/.stamp"
}

gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$OUT/libcount-hooks.so" "$HERE/count_hooks.c"
# the batch library as the Makefile builds it, its hooks renamed for
# count_hooks.c's to call; its own name, which the tracer looks for
PRELOAD=$HERE/../../user/preload
mkdir -p "$OUT/batch"
gcc -c -fPIC -O2 -Wall -Wextra -Werror -fno-stack-protector -I"$HERE/../../include" \
	-D__cyg_profile_func_enter=ctrace_batch_enter -D__cyg_profile_func_exit=ctrace_batch_exit \
	-o "$OUT/batch/batch-hooks.o" "$PRELOAD/batch-hooks.c"
gcc -shared -fPIC -O2 -Wall -Wextra -Werror -fno-stack-protector -DCOUNT_BATCH \
	-Wl,-soname,libctrace-hooks-batch.so -Wl,-z,noexecstack \
	-o "$OUT/batch/libctrace-hooks-batch.so" "$HERE/count_hooks.c" "$OUT/batch/batch-hooks.o" \
	"$PRELOAD/batch-flush.S" "$PRELOAD/fork_fixup.c"
build_lua -O2
build_lua -O0
build_dash -O2
build_leveldb -O2
build_lighttpd -O2
build_gzip -O2
log "all built in $OUT"
