#!/bin/bash
# Per-call overhead of ctrace-bpf against the bare probe cost and uftrace,
# measured in one run on the same workload (recursive fib, -O2
# -finstrument-functions). Every figure is the best of RUNS runs (noise only ever adds time) of the
# workload's own timing of fib(N), so start-up, attach and exit are excluded.
#
#   sudo tools/bench.sh            # N=27 (635,621 calls), RUNS=5
#   sudo N=25 RUNS=3 tools/bench.sh
#   sudo BENCH_RSS=1 tools/bench.sh   # also: peak tracer RSS on an 11.4M-call trace
#   sudo OLD=/other/build/ctrace-bpf tools/bench.sh   # also: launch mode of another build
#   sudo QUICK=1 tools/bench.sh       # only the floor, launch mode, --summary (and OLD) and uftrace
#   sudo METRIC=cpu tools/bench.sh    # the workload's CPU time, not its wall time: steadier
#                                     # on a shared machine (the probes run in its thread)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-27}
RUNS=${RUNS:-5}
TOOL=build/ctrace-bpf
W=$(mktemp -d /tmp/ctrace-bench.XXXXXX)
trap 'rm -rf "$W"; [ -n "${BG:-}" ] && kill $BG 2>/dev/null; true' EXIT

[ -x "$TOOL" ] || { echo "bench: build first (make)" >&2; exit 1; }
gcc -O2 -g -finstrument-functions tools/bench/fib.c -o "$W/fib"
gcc -O2 -g -finstrument-functions tools/bench/fib_args.c -o "$W/fib3"
gcc -O2 -g -finstrument-functions tools/bench/fib_str.c -o "$W/fibs"
CALLS=$("$W/fib" "$N" | sed 's/.*calls=\([0-9]*\).*/\1/')

METRIC=${METRIC:-elapsed}
elapsed() { sed -n "s/.* ${METRIC}_ns=\([0-9]*\).*/\1/p"; }
best() { sort -n | head -1; }
# median elapsed ns of RUNS runs of: "$@" fib N
measure() {
	for _ in $(seq "$RUNS"); do "$@" "$W/fib" "$N" 2>/dev/null | elapsed; done | best
}
# the same with the three-int-parameter workload
measure3() {
	for _ in $(seq "$RUNS"); do "$@" "$W/fib3" "$N" 2>/dev/null | elapsed; done | best
}
# the same with the struct-with-strings workload
measures() {
	for _ in $(seq "$RUNS"); do "$@" "$W/fibs" "$N" 2>/dev/null | elapsed; done | best
}
attach_once() {
	rm -f "$W/go"
	"$W/fib" "$N" x "$W/go" > "$W/attach.out" &
	BG=$!
	"$TOOL" -v -p $BG -o "$W/attach.json" 2> "$W/attach.err" &
	local tp=$!
	for _ in $(seq 500); do grep -q "attached in" "$W/attach.err" && break; sleep 0.01; done
	touch "$W/go"
	wait $BG || true
	BG=
	wait $tp || true
	elapsed < "$W/attach.out"
}

base=$(measure env)
ctrace=$(measure "$TOOL" --probe preload -o "$W/t.json" --)
lost=$(jq .metadata.lost_events "$W/t.json")
traced=$(jq .metadata.total_calls "$W/t.json")
floor_pre=$(measure "$TOOL" --bench-empty -o "$W/e.json" --)
summary=$(measure "$TOOL" --summary -o "$W/s.json" --)
summed=$(jq .metadata.total_calls "$W/s.json")
batch=$(measure "$TOOL" --probe batch -o "$W/b.json" --)
blost=$(jq .metadata.lost_events "$W/b.json")
btraced=$(jq .metadata.total_calls "$W/b.json")
[ -n "${OLD:-}" ] && old=$(measure "$OLD" -o "$W/o.json" --)
srcline=$(measure "$TOOL" --srcline -o "$W/l.json" --)
if [ -n "${QUICK:-}" ]; then
	per() { awk -v t="$1" -v b="$base" -v c="$CALLS" 'BEGIN {printf "%7.0f", (t - b) / c}'; }
	ratio() { awk -v a="$1" -v f="$2" -v b="$base" 'BEGIN {printf "%.2fx", (a - b) / (f - b)}'; }
	echo "workload: fib($N), $CALLS calls; best of $RUNS runs ($METRIC); ns/call"
	echo "floor (bare uprobes, preloaded NOP hooks) $(per "$floor_pre")"
	echo "--probe preload   $(per "$ctrace")   $(ratio "$ctrace" "$floor_pre") of floor, lost $lost"
	echo "--summary launch  $(per "$summary")   $(ratio "$summary" "$floor_pre") of floor, $summed calls"
	echo "--srcline launch  $(per "$srcline")   $(ratio "$srcline" "$floor_pre") of floor"
	echo "default (batch)   $(per "$batch")   $(ratio "$batch" "$floor_pre") of floor, lost $blost, traced $btraced calls"
	[ -n "${OLD:-}" ] && echo "OLD launch        $(per "$old")   $(ratio "$old" "$floor_pre") of floor"
	command -v uftrace >/dev/null &&
		echo "uftrace record    $(per "$(measure uftrace record --no-libcall -d "$W/uftrace.data")")"
	exit 0
fi
follow=$(measure "$TOOL" --follow-forks -o "$W/f.json" --)
callsite=$(measure "$TOOL" --probe callsite -o "$W/c.json" --)
floor_cs=$(measure "$TOOL" --probe callsite --bench-empty -o "$W/e.json" --)
attach=$(for _ in $(seq "$RUNS"); do attach_once; done | best)
base3=$(measure3 env)
plain3=$(measure3 "$TOOL" -o "$W/p3.json" --)
args3=$(measure3 "$TOOL" --args -o "$W/a3.json" --)
bases=$(measures env)
argss=$(measures "$TOOL" --args -o "$W/as.json" --)
if command -v uftrace >/dev/null; then
	uft=$(measure uftrace record --no-libcall -d "$W/uftrace.data")
else
	uft=
fi

per() { awk -v t="$1" -v b="$base" -v c="$CALLS" 'BEGIN {printf "%7.0f", (t - b) / c}'; }
ratio() { awk -v a="$1" -v f="$2" -v b="$base" 'BEGIN {printf "%.2fx", (a - b) / (f - b)}'; }
echo "workload: fib($N), $CALLS calls, -O2 -finstrument-functions; best of $RUNS runs ($METRIC)"
echo "untraced: $((base / 1000)) us total"
printf '%-46s %9s\n' "" "ns/call"
printf '%-46s %9s\n' "bare uprobes, preloaded NOP hooks (floor)" "$(per "$floor_pre")"
printf '%-46s %9s   %s of floor, lost %s, traced %s calls\n' "ctrace-bpf launch --probe preload (per event)" \
	"$(per "$ctrace")" "$(ratio "$ctrace" "$floor_pre")" "$lost" "$traced"
printf '%-46s %9s   %s of floor, %s calls counted\n' "ctrace-bpf --summary (in BPF, no events)" \
	"$(per "$summary")" "$(ratio "$summary" "$floor_pre")" "$summed"
printf '%-46s %9s   %s of floor, lost %s, traced %s calls\n' "ctrace-bpf launch (default: --probe batch)" \
	"$(per "$batch")" "$(ratio "$batch" "$floor_pre")" "$blost" "$btraced"
[ -n "${OLD:-}" ] && printf '%-46s %9s   %s of floor\n' "OLD build: launch (default)" \
	"$(per "$old")" "$(ratio "$old" "$floor_pre")"
printf '%-46s %9s   %s of floor (links not pid-filtered, BPF filters)\n' \
	"ctrace-bpf launch --follow-forks" "$(per "$follow")" "$(ratio "$follow" "$floor_pre")"
printf '%-46s %9s\n' "bare uprobes, hook call sites (floor)" "$(per "$floor_cs")"
printf '%-46s %9s   %s of floor\n' "ctrace-bpf launch --probe callsite" "$(per "$callsite")" \
	"$(ratio "$callsite" "$floor_cs")"
printf '%-46s %9s   %s of call-site floor\n' "ctrace-bpf attach (-p, call sites)" "$(per "$attach")" \
	"$(ratio "$attach" "$floor_cs")"
[ -n "$uft" ] && printf '%-46s %9s\n' "uftrace record --no-libcall" "$(per "$uft")"
# what a call costs on disk: the trace as written, against uftrace's data
bpc() { awk -v s="$1" -v c="$2" 'BEGIN {printf "%.1f", s / c}'; }
# the compact record (-o T.ctrace) of one more traced run, and the Perfetto
# conversion of the JSON, per call of their own traces
"$TOOL" -o "$W/t.ctrace" -- "$W/fib" "$N" > /dev/null 2>&1
"$TOOL" convert "$W/t.json" --to perfetto -o "$W/t.perfetto-trace"
printf 'bytes per call written: ctrace-bpf JSON %s, .ctrace %s, perfetto %s' \
	"$(bpc "$(stat -c %s "$W/t.json")" "$traced")" \
	"$(bpc "$(stat -c %s "$W/t.ctrace")" "$CALLS")" \
	"$(bpc "$(stat -c %s "$W/t.perfetto-trace")" "$traced")"
[ -n "$uft" ] && printf ', uftrace data %s' \
	"$(bpc "$(du -sb "$W/uftrace.data" | cut -f1)" "$CALLS")"
echo
per3() { awk -v t="$1" -v b="$base3" -v c="$CALLS" 'BEGIN {printf "%7.0f", (t - b) / c}'; }
printf '%-46s %9s\n' "fib3(a,b,c) workload, default capture" "$(per3 "$plain3")"
printf '%-46s %9s   +%s per call over default\n' "fib3(a,b,c) workload, --args (3 ints)" "$(per3 "$args3")" \
	"$(awk -v a="$args3" -v p="$plain3" -v b="$base3" 'BEGIN {printf "%.0f%%", ((a - b) / (p - b) - 1) * 100}')"
printf '%-46s %9s\n' "fibs(n,&s) workload, --args (2 char * members)" \
	"$(awk -v t="$argss" -v b="$bases" -v c="$CALLS" 'BEGIN {printf "%7.0f", (t - b) / c}')"

# attach + detach on a program with 2,000 instrumented functions
tools/bench/gen_many.sh 2000 > "$W/many.c"
gcc -O2 -finstrument-functions "$W/many.c" -o "$W/many"
"$W/many" & BG=$!
sleep 0.2
start=$(date +%s%N)
"$TOOL" -v -p $BG --duration 0.2 -o "$W/many.json" 2> "$W/many.err"
end=$(date +%s%N)
kill $BG; wait $BG 2>/dev/null || true; BG=
a=$(sed -n 's/.*attached in \([0-9.]*\) ms.*/\1/p' "$W/many.err")
d=$(sed -n 's/.*detached in \([0-9.]*\) ms.*/\1/p' "$W/many.err")
s=$(sed -n 's/.*probes, \([0-9]*\) call sites.*/\1/p' "$W/many.err")
echo "attach: 2,000 functions, $s call sites: attach $a ms, detach $d ms," \
	"whole run with --duration 0.2: $(( (end - start) / 1000000 )) ms"

if [ -n "${BENCH_RSS:-}" ]; then
	/usr/bin/time -f '%M' -o "$W/rss" "$TOOL" -o "$W/big.json" -- "$W/fib" 33 > /dev/null 2>&1
	echo "peak tracer RSS, fib(33) = $(jq .metadata.total_calls "$W/big.json") calls:" \
		"$(( $(cat "$W/rss") / 1024 )) MiB (lost $(jq .metadata.lost_events "$W/big.json"))," \
		"trace $(( $(stat -c %s "$W/big.json") / 1048576 )) MiB"
fi
