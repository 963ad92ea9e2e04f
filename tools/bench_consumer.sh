#!/bin/bash
# Consumer throughput: CPU the tracer process (the drain loop and the writer)
# spends per event, and the events lost, on a multi-threaded call-heavy
# program (tools/bench/fib_mt.c: THREADS threads each computing fib(N), -O2
# -finstrument-functions). Default settings unless ARGS says otherwise.
#
#   sudo tools/bench_consumer.sh                  # N=27, 4 threads: 2.5M calls
#   sudo N=34 tools/bench_consumer.sh             # 73.8M calls, the issue's size
#   sudo OUT=t.ctrace ARGS="-b 64M" tools/bench_consumer.sh
#   sudo PERF=1 tools/bench_consumer.sh           # also: where the tracer's CPU goes
#
# Tracer CPU is read from /proc/PID/stat (its own threads, not the target's):
# "while tracing" when the target exits, "total" when the tracer exits (the
# zombie is read before it is reaped). An event is an entry or an exit.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-27}
THREADS=${THREADS:-4}
OUT=${OUT:-trace.json}
TOOL=build/ctrace-bpf
W=$(mktemp -d /tmp/ctrace-bench-consumer.XXXXXX)
trap 'rm -rf "$W"' EXIT

[ -x "$TOOL" ] || { echo "bench_consumer: build first (make)" >&2; exit 1; }
gcc -O2 -g -finstrument-functions -pthread tools/bench/fib_mt.c -o "$W/fib_mt"
elapsed() { sed -n 's/.*elapsed_ns=\([0-9]*\).*/\1/p'; }
base=$("$W/fib_mt" "$N" "$THREADS" | elapsed)
calls=$("$W/fib_mt" 1 "$THREADS" > /dev/null; "$W/fib_mt" "$N" "$THREADS" |
	sed 's/.*calls=\([0-9]*\).*/\1/')

# shellcheck disable=SC2086 # ARGS is a list of options
/usr/bin/python3 - "$W" "$TOOL" "$OUT" "${PERF:-}" "$W/fib_mt" "$N" "$THREADS" ${ARGS:-} <<'EOF'
import os, subprocess, sys, time

sys.path.insert(0, "tests/integration")
from procstat import alive, stat_fields  # shared with the tests' harness

w, tool, out, perf, prog, n, threads = sys.argv[1:8]
args = sys.argv[8:]
tick = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    """user, sys seconds of pid's threads (fields 14, 15 of /proc/PID/stat)"""
    fields = stat_fields(pid)
    return int(fields[11]) / tick, int(fields[12]) / tick


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


t0 = time.monotonic()
tracer = subprocess.Popen([tool, *args, "-o", os.path.join(w, out), "--", prog, n, threads],
                          stdout=open(os.path.join(w, "target.out"), "w"),
                          stderr=open(os.path.join(w, "tracer.err"), "w"))
profiler = None
if perf:
    profiler = subprocess.Popen(["perf", "record", "-q", "-g", "-o", os.path.join(w, "perf.data"),
                                 "-p", str(tracer.pid)], stderr=subprocess.DEVNULL)
target, during, t_target = None, None, None
while True:
    st = os.waitid(os.P_PID, tracer.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    if st:
        break
    try:
        now = cpu(tracer.pid)
    except OSError:
        continue
    if target is None:
        kids = children(tracer.pid)
        target = kids[0] if kids else None
    elif during is None and not alive(target):
        during, t_target = now, time.monotonic() - t0
    time.sleep(0.02)
total = cpu(tracer.pid)  # the zombie's, before it is reaped
t_total = time.monotonic() - t0
tracer.wait()
if profiler:
    profiler.wait()
if during is None:
    during, t_target = total, t_total
with open(os.path.join(w, "cpu"), "w") as f:
    print(*during, *total, f"{t_target:.2f}", f"{t_total:.2f}", tracer.returncode, file=f)
EOF

read -r du ds tu ts t_target t_total rc < "$W/cpu"
traced=$(elapsed < "$W/target.out")
summary=$(tail -1 "$W/tracer.err")
lost=$(echo "$summary" | sed -n 's/.* \([0-9]*\) lost events.*/\1/p')
got=$(echo "$summary" | sed -n 's/.*: \([0-9]*\) calls in.*/\1/p')
events=$((2 * calls))
pe() { awk -v s="$1" -v e="$events" 'BEGIN {printf "%.0f", s * 1e9 / e}'; }
echo "workload: fib_mt($N) on $THREADS threads, $calls calls ($events events); tracer exit $rc"
echo "untraced $((base / 1000000)) ms, traced $((traced / 1000000)) ms" \
	"(target done at ${t_target}s, tracer at ${t_total}s)"
echo "traced calls $got, lost events ${lost:-?}" \
	"($(awk -v l="${lost:-0}" -v e="$events" 'BEGIN {printf "%.2f", 100 * l / e}')%)"
echo "tracer CPU while tracing: user ${du}s sys ${ds}s = $(pe "$(awk -v u="$du" -v s="$ds" \
	'BEGIN {print u + s}')") ns/event"
echo "tracer CPU in total:      user ${tu}s sys ${ts}s = $(pe "$(awk -v u="$tu" -v s="$ts" \
	'BEGIN {print u + s}')") ns/event"
printf 'output %s: %.1f bytes per call\n' "$OUT" \
	"$(awk -v s="$(stat -c %s "$W/$OUT")" -v c="${got:-$calls}" 'BEGIN {print s / c}')"
if [ -n "${PERF:-}" ] && [ -f "$W/perf.data" ]; then
	echo "where the tracer's CPU goes (perf, self time, top 25):"
	perf report -i "$W/perf.data" --no-children --sort dso,sym -g none --percent-limit 0.5 \
		2>/dev/null | grep '%' | head -25
fi
