#!/bin/bash
# What each option that traces less costs and saves (issue 14), in one run on
# one workload: tools/bench/requests.c, a request loop of ~16 calls a request
# where every 97th request fails and every 500th is slow. For each option:
# the workload's time per call against untraced, full tracing and the bare
# probe floor, the calls kept, and the bytes written, against full tracing.
#
#   sudo tools/bench_filters.sh            # 20,000 requests (320,041 calls), RUNS=3
#   sudo N=50000 RUNS=5 METRIC=elapsed tools/bench_filters.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000}
RUNS=${RUNS:-3}
METRIC=${METRIC:-cpu}
TOOL=build/ctrace-bpf
W=$(mktemp -d /tmp/ctrace-bench-filters.XXXXXX)
trap 'rm -rf "$W"' EXIT

[ -x "$TOOL" ] || { echo "bench_filters: build first (make)" >&2; exit 1; }
gcc -O2 -g -finstrument-functions -Itools/bench tools/bench/requests.c -o "$W/req"
CALLS=$("$W/req" "$N" | sed 's/.* calls=\([0-9]*\).*/\1/')

elapsed() { sed -n "s/.* ${METRIC}_ns=\([0-9]*\).*/\1/p"; }
# best of RUNS runs of the workload's own timing under "$@"; the last run's
# output file stays in $W/out.json
measure() {
	for _ in $(seq "$RUNS"); do
		rm -f "$W"/out*.json
		"$@" "$W/req" "$N" 2> "$W/err" | elapsed
	done | sort -n | head -1
}
base=$(measure env)
per() { awk -v t="$1" -v b="$base" -v c="$CALLS" 'BEGIN {printf "%7.0f", (t - b) / c}'; }

echo "workload: requests($N), $CALLS calls, -O2 -finstrument-functions; best of $RUNS runs ($METRIC)"
printf '%-44s %8s %8s %10s %12s %9s\n' "" "ns/call" "x floor" "calls kept" "bytes" "of full"
floor=$(measure "$TOOL" --bench-empty -o "$W/out.json" --)
printf '%-44s %8s\n' "bare uprobes, preloaded NOP hooks (floor)" "$(per "$floor")"
full_bytes=
row() {
	local what=$1 t kept bytes
	shift
	t=$(measure "$TOOL" "$@" -o "$W/out.json" --)
	kept=$(jq '.metadata.total_calls' "$W/out.json")
	bytes=$(stat -c %s "$W/out.json")
	full_bytes=${full_bytes:-$bytes}
	printf '%-44s %8s %7.2fx %10s %12s %8.2f%%\n' "$what" "$(per "$t")" \
		"$(awk -v t="$t" -v f="$floor" -v b="$base" 'BEGIN {print (t - b) / (f - b)}')" \
		"$kept" "$bytes" "$(awk -v a="$bytes" -v b="$full_bytes" 'BEGIN {print 100 * a / b}')"
}
row "full trace (default)"
row "--summary" --summary
row "--subtree lookup" --subtree lookup
row "--caller fail_path" --caller fail_path
row "--min-duration 100us" --min-duration 100us
row "--keep-if 'handle_request: retval < 0'" --keep-if 'handle_request: retval < 0'
row "--last 10000" --last 10000
# uftrace's own filters on the same workload, for comparison (its data
# directory's size; it records in the target, no kernel entry per call)
if command -v uftrace >/dev/null; then
	urow() {
		local what=$1 t
		shift
		t=$(for _ in $(seq "$RUNS"); do
			rm -rf "$W/u.data"
			uftrace record --no-libcall -d "$W/u.data" "$@" "$W/req" "$N" 2>/dev/null | elapsed
		done | sort -n | head -1)
		printf '%-44s %8s %8s %10s %12s\n' "$what" "$(per "$t")" "" "" \
			"$(du -sb "$W/u.data" | cut -f1)"
	}
	urow "uftrace record"
	urow "uftrace record -t 100us" -t 100us
	urow "uftrace record -F lookup" -F lookup
	urow "uftrace record -C fail_path" -C fail_path
fi
