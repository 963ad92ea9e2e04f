#!/bin/sh
# Builds the bundled example, traces it, and shows what the trace holds.
set -eu
cd "$(dirname "$0")/.."
out=build/demo-trace.json
gcc -finstrument-functions -g -O2 -Wall -Wextra -Werror examples/demo.c -o build/demo -lpthread
echo "# build/ctrace-bpf -o $out -- build/demo"
build/ctrace-bpf -o "$out" -- build/demo
echo
echo "Trace written to $(pwd)/$out"
echo "Summary (jq):"
jq -r '"  calls: \(.metadata.total_calls)  threads: \(.metadata.threads)  lost events: \(.metadata.lost_events)  exit code: \(.metadata.exit_code)"' "$out"
echo "  calls per function:"
jq -r '[.call_trees[].root_calls[] | .. | objects | select(has("function")) | .function]
       | group_by(.) | map("    \(length)\t\(.[0])") | .[]' "$out"
echo "  per thread:"
jq -r '.call_trees[] | "    tid \(.thread_id) (\(.thread_name)): \(.total_calls) calls"' "$out"
echo "  thread sorter-16, two levels:"
jq -c '.call_trees[] | select(.thread_name == "sorter-16") | .root_calls[] | {function, duration_ns, children: [.children[] | .function]}' "$out" | sed 's/^/    /'
echo
echo "\$ build/ctrace-bpf report $out"
build/ctrace-bpf report "$out"
