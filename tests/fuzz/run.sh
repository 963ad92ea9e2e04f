#!/bin/sh
# Builds the libFuzzer harnesses of the loader's untrusted-input code and runs
# each for a bounded time (CI: tests/fuzz/run.sh 60).
#
#   tests/fuzz/run.sh [SECONDS]     default 20 s per harness
#
# Environment: BUILD (default build; everything goes to $BUILD/fuzz, and the
# BPF skeleton the loader's sources include is made at $BUILD/ctrace.skel.h),
# CLANG (default clang), FUZZ_JOBS (parallel compiles, default nproc).
# Needs clang 14 with libclang-rt-14-dev (libFuzzer, ASan, UBSan).
#
# Every file under regressions/<harness>/ is replayed first; the fuzzing runs
# start from a copy of corpus/<harness>/ in $BUILD/fuzz (the committed corpus
# is never grown). A crash, leak, UB report, timeout or failed check prints its
# report and reproducer path and makes the script exit non-zero.
set -u
secs=${1:-20}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
BUILD=${BUILD:-build}
CLANG=${CLANG:-clang}
out=$BUILD/fuzz
fuzz=tests/fuzz
harnesses="fuzz_events fuzz_elf fuzz_jsonw fuzz_slice fuzz_jsonl fuzz_ctrace fuzz_keep_expr fuzz_keep_json"
libs="-lbpf -lelf -ldw -lcjson -lcapstone -lz -lstdc++ -lm"

die() { echo "fuzz: $*" >&2; exit 1; }
# the loader's sources as the Makefile builds them, plus sanitizers
compile() {
	"$CLANG" -O1 -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE \
		-DCTRACE_VERSION='"fuzz"' -Iinclude -Iuser -I"$BUILD" \
		-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer "$@"
}

case $secs in ''|*[!0-9]*) die "usage: $0 [SECONDS]";; esac
mkdir -p "$out/obj" || die "cannot create $out"
make --no-print-directory BUILD="$BUILD" "$BUILD/ctrace.skel.h" >/dev/null || die "cannot make $BUILD/ctrace.skel.h"

# the loader minus main.c and finish.c, as an archive: each harness pulls in what it uses
echo "fuzz: building the loader objects with $CLANG"
rm -f "$out"/obj/*.o "$out"/obj/*.failed "$out/libctrace-fuzz.a"
jobs=${FUZZ_JOBS:-$(nproc)}
[ "$jobs" -gt 0 ] 2>/dev/null || jobs=1
n=0
for src in user/*.c user/*/*.c; do
	case $src in user/preload/*) continue;; esac
	case $src in user/main.c | user/finish.c) continue;; esac
	obj=$out/obj/$(basename "$src" .c).o
	{ compile -fsanitize=fuzzer-no-link -c "$src" -o "$obj" || touch "$obj.failed"; } &
	n=$((n + 1))
	[ $((n % jobs)) -eq 0 ] && wait
done
wait
ls "$out"/obj/*.failed >/dev/null 2>&1 && die "compiling the loader failed"
ar rcs "$out/libctrace-fuzz.a" "$out"/obj/*.o || die "ar failed"

for h in $harnesses; do
	# fuzz_events unwinds crashes through a seed of fuzz_elf (it has CFI);
	# tests/unit holds the trace recorder fuzz_jsonl shares with the unit tests
	# shellcheck disable=SC2086
	compile -I"$fuzz" -Itests/unit -fsanitize=fuzzer -DFUZZ_UNWIND_ELF="\"$root/$fuzz/corpus/fuzz_elf/args-O2-g\"" \
		"$fuzz/$h.c" "$fuzz/fuzz_check.c" "$out/libctrace-fuzz.a" $libs -o "$out/$h" ||
		die "linking $h failed"
done

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
opts="-rss_limit_mb=2048 -timeout=25"
failed=0

for h in $harnesses; do
	dir=$fuzz/regressions/$h
	[ -d "$dir" ] || continue
	files=$(find "$dir" -type f | sort)
	[ -n "$files" ] || continue
	echo "fuzz: $h: replaying $(echo "$files" | wc -l) regression file(s)"
	# shellcheck disable=SC2086
	if ! "$out/$h" $opts $files > "$out/$h.regressions.log" 2>&1; then
		grep -v '^Running: \|^Executed \|^INFO: ' "$out/$h.regressions.log" | tail -n 40
		echo "fuzz: $h: a regression file fails again (log: $out/$h.regressions.log)" >&2
		failed=1
	fi
done

for h in $harnesses; do
	rm -rf "$out/corpus/$h" "$out/artifacts/$h"
	mkdir -p "$out/corpus" "$out/artifacts/$h"
	cp -r "$fuzz/corpus/$h" "$out/corpus/$h" || die "no seed corpus for $h"
	dict=
	[ -f "$fuzz/$h.dict" ] && dict="-dict=$fuzz/$h.dict"
	echo "fuzz: $h: fuzzing for $secs s"
	# shellcheck disable=SC2086
	"$out/$h" $opts -max_total_time="$secs" -print_final_stats=1 $dict \
		-artifact_prefix="$out/artifacts/$h/" "$out/corpus/$h" > "$out/$h.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$h.log" | tail -n 1)
	echo "fuzz: $h: ${execs:-?} executions, exit status $rc"
	if [ $rc -ne 0 ]; then
		grep -v '^#[0-9]\|^INFO: \|^stat::' "$out/$h.log" | tail -n 60
		echo "fuzz: $h: FAILED; reproducer: $(find "$out/artifacts/$h" -type f | head -n 1)" >&2
		echo "fuzz: $h: replay with $out/$h <file>; full log $out/$h.log" >&2
		failed=1
	fi
done
exit $failed
