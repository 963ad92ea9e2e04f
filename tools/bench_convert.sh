#!/bin/sh
# Throughput and peak memory of the trace readers: report, report --tree and
# convert to chrome, folded and svg, on one large trace.
#
#   tools/bench_convert.sh [TRACE.json]
#
# Without a trace it writes a synthetic one of $CALLS calls (default 1,000,000)
# shaped like ctrace-bpf's output: 3 threads, loops of parse > lex, a recursion
# 6 deep, arguments and return values on some calls, and a partial call named
# after its children. Needs /usr/bin/time (Debian package time) and
# /usr/bin/python3 for the synthetic trace; no root.
set -eu

cd "$(dirname "$0")/.."
TOOL=${CTRACE_BPF:-build/ctrace-bpf}
CALLS=${CALLS:-1000000}
WORK=$(mktemp -d /tmp/bench_convert.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

[ -x "$TOOL" ] || { echo "bench_convert: $TOOL is not built (run make)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_convert: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

if [ $# -ge 1 ]; then
	TRACE=$1
else
	TRACE=$WORK/synthetic.json
	/usr/bin/python3 - "$CALLS" "$TRACE" <<'EOF'
import sys

calls, path = int(sys.argv[1]), sys.argv[2]
NODE = '{"function":"%s","address":"0x55d0c0a0%04x","module":"synth","start_ns":%d,"children":['
END = '],"end_ns":%d,"duration_ns":%d}'
ARGS = (',"arguments":[{"name":"n","type":"int","value":%d},{"name":"s","type":"const char *",'
        '"value":"token","address":"0x55d0c0b01000"}],"return_value":{"type":"long","value":%d}')
names = ["parse_expression", "lex_token", "eval", "fib", "hash_lookup",
         "std::vector<int, std::allocator<int> >::push_back(int const&)"]
per_thread = (calls - 3) // 3


def thread(w, t0, n):
    """main > n calls: step > (parse > lex x3), eval(n, s) > fib x6 deep, hash_lookup"""
    t = [t0]
    left = [n]

    def call(name, kids=(), args=None, first=False):
        start = t[0]
        t[0] += 37
        w(("" if first else ",") + NODE % (name, names.index(name) if name in names else 99, start))
        for i, k in enumerate(kids):
            if left[0] <= 0:
                break
            left[0] -= 1
            k(i == 0)
        t[0] += 41
        end = t[0]
        w(END % (end, end - start) if args is None else
          (END[:-1] % (end, end - start)) + ARGS % args + "}")

    def lex(first):
        call("lex_token", first=first)

    def parse(first):
        call("parse_expression", (lex, lex, lex), first=first)

    def fib(depth):
        return lambda first: call("fib", (fib(depth - 1),) if depth > 1 else (), first=first)

    def ev(first):
        call("eval", (fib(6),), args=(t[0] % 1000, t[0] % 7777), first=first)

    def hl(first):
        call("hash_lookup", first=first)

    def push(first):
        call(names[5], first=first)

    def step(first):
        call("step", (parse, ev, hl, push), first=first)

    first = True
    while left[0] > 0:
        left[0] -= 1
        step(first)
        first = False
    return t[0]


with open(path, "w", buffering=1 << 20) as f:
    w = f.write
    w('{"metadata":{"tool":"ctrace-bpf","version":"synthetic","format_version":1,'
      '"timestamp":"2026-01-01T00:00:00.000000Z","duration_ns":999999999999,"command":["./synth"],'
      '"pid":4000,"executable":"/tmp/synth","total_calls":%d,"threads":3,"lost_events":0,'
      '"exit_code":0,"exit_signal":null,"options":{}},"call_trees":{' % (3 * per_thread + 3))
    for k in range(3):
        tid = 4000 + k
        w('%s"%d":{"thread_id":%d,"thread_name":"%s","total_calls":%d,"lost_events":0,"root_calls":['
          % ("," if k else "", tid, tid, "synth" if k == 0 else "worker-%d" % k, per_thread + 1))
        if k == 2:   # already running when tracing started: named after its children
            w('{"children":[')
            end = thread(w, 1000, per_thread)
            w('],"function":"worker","address":null,"module":null,"start_ns":null,"end_ns":%d,'
              '"duration_ns":null,"partial":true,"partial_reason":"entry not observed (already '
              'running when tracing started)"}' % (end + 50))
        else:
            w(NODE % ("main", 1, 500))
            end = thread(w, 1000, per_thread)
            w(END % (end + 50, end - 450))
        w(']}')
    w('},"crash":null}\n')
EOF
fi

calls=$(/usr/bin/python3 -c '
import re, sys
head = open(sys.argv[1], "rb").read(1 << 20).decode("utf-8", "replace")
m = re.search(r"\"total_calls\":(\d+)", head)
print(m.group(1) if m else 0)' "$TRACE")
size=$(du -m "$TRACE" | cut -f1)
echo "trace: $TRACE, $calls calls, ${size} MiB; $(nproc) CPUs"
printf '%-22s %9s %12s %11s\n' "command" "seconds" "calls/s" "peak RSS"
run() {
	label=$1
	shift
	/usr/bin/time -f '%e %M' -o "$WORK/time" "$TOOL" "$@" > /dev/null
	read -r secs rss < "$WORK/time"
	/usr/bin/python3 -c 'import sys
c, s, r, label = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
print("%-22s %9.2f %12s %8.1f MiB" % (label, s, "{:,.0f}".format(c / s) if s > 0 else "-", r / 1024))' \
		"$calls" "$secs" "$rss" "$label"
}
run "report" report "$TRACE"
run "report --tree" report "$TRACE" --tree
run "convert --to chrome" convert "$TRACE" --to chrome -o /dev/null
run "convert --to folded" convert "$TRACE" --to folded -o /dev/null
run "convert --to svg" convert "$TRACE" --to svg -o /dev/null
