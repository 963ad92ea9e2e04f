"""report's Self column under partial calls (no duration: entry or exit not
observed). A partial call covers the timed calls inside it, so its nearest
timed caller does not count their time again (write/backend.c
node_covered_ns). Ground truth: per thread, the self times add up to what
the root calls cover; report's rows equal those computed here from the JSON,
for the JSON, its JSONL and the compact record alike."""
import json

from calltree import is_partial, thread_trees, walk
from test_outputs import covered_ns, expected_table, parse_table, self_ns, tool, truncated


def old_self_ns(node):
    """The rule before: less the children's known durations only."""
    if node["duration_ns"] is None:
        return 0
    kids = sum(c["duration_ns"] for c in node["children"] if c["duration_ns"] is not None)
    return max(node["duration_ns"] - kids, 0)


def check_self_sums(doc):
    for t in thread_trees(doc):
        selfs = sum(self_ns(n) for n, _ in walk(t))
        assert selfs == sum(covered_ns(r) for r in t["root_calls"]), t["thread_id"]


def check_report(procs, tracer, tmp_path, path, doc):
    """The table of path (and of its JSONL) is the one computed from doc."""
    want = {truncated(f): r for f, r in expected_table([n for n, _ in walk(doc)]).items()}
    jsonl = tmp_path / "t.jsonl"
    tool(procs, tracer, "convert", path, "--to", "jsonl", "-o", jsonl)
    reps = [tool(procs, tracer, "report", p, "-s", "name").stdout for p in (path, jsonl)]
    assert reps[0] == reps[1]
    assert parse_table(reps[0]) == want
    return reps[0]


def test_longjmp_self_not_counted_twice(build, trace, procs, tracer, tmp_path):
    """longjumps.c: the dive frames a jump leaves are partial, with timed
    helper() calls inside them, under protected_call (timed). Recorded as a
    compact trace: report reads it as it reads its JSON."""
    exe = build("longjumps.c", "-O0")
    out = tmp_path / "t.ctrace"
    proc = procs.run(trace.command(out, [], [exe, 30, 8, 4, "longjmp"]), timeout=120)
    assert proc.returncode == 0, proc.stderr
    conv = tmp_path / "t.json"
    tool(procs, tracer, "convert", out, "--to", "json", "-o", conv)
    doc = json.loads(conv.read_text())
    partial = [n for n, _ in walk(doc) if is_partial(n)]
    assert partial and all(n["duration_ns"] is None for n in partial)
    check_self_sums(doc)
    # the case the rule is for: protected_call's self excludes the helpers
    pc = [n for n, _ in walk(doc) if n["function"] == "protected_call"]
    assert sum(old_self_ns(n) - self_ns(n) for n in pc) > 0
    rep = check_report(procs, tracer, tmp_path, conv, doc)
    assert tool(procs, tracer, "report", out, "-s", "name").stdout == rep


def test_crash_self(build, trace, procs, tracer, tmp_path):
    """crash.c: main and the calls the crash cut short are partial roots."""
    out = trace.output()
    proc = procs.run(trace.command(out, [], [build("crash.c", "-O0"), "segv"]), timeout=60)
    assert proc.returncode == 128 + 11, proc.stderr
    doc = trace.result(out, True)
    assert is_partial(thread_trees(doc)[0]["root_calls"][0])
    check_self_sums(doc)
    check_report(procs, tracer, tmp_path, out, doc)


# Thread 1: P (timed) holds X1 (exit not observed) holding X2 (neither seen)
# holding G, then G2 inside X1, then Q. Thread 2: R (entry not observed)
# holds S holding T. Under 1 µs, the report prints each time exactly.
DOC = {
    "metadata": {"tool": "ctrace-bpf", "format_version": 1, "duration_ns": 3000},
    "call_trees": {
        "1": {"thread_id": 1, "root_calls": [
            {"function": "P", "start_ns": 0, "end_ns": 900, "duration_ns": 900, "children": [
                {"function": "X1", "start_ns": 100, "end_ns": None, "duration_ns": None,
                 "partial": True, "partial_reason": "exit not observed (left by longjmp)",
                 "children": [
                     {"function": "X2", "start_ns": None, "end_ns": None, "duration_ns": None,
                      "partial": True, "partial_reason": "events lost", "children": [
                          {"function": "G", "start_ns": 200, "end_ns": 260, "duration_ns": 60,
                           "children": []}]},
                     {"function": "G2", "start_ns": 300, "end_ns": 340, "duration_ns": 40,
                      "children": []}]},
                {"function": "Q", "start_ns": 500, "end_ns": 600, "duration_ns": 100,
                 "children": []}]}]},
        "2": {"thread_id": 2, "root_calls": [
            {"function": "R", "start_ns": None, "end_ns": 2000, "duration_ns": None,
             "partial": True, "partial_reason": "already running when tracing started",
             "children": [
                 {"function": "S", "start_ns": 1500, "end_ns": 1600, "duration_ns": 100,
                  "children": [
                      {"function": "T", "start_ns": 1510, "end_ns": 1530, "duration_ns": 20,
                       "children": []}]}]}]}},
    "crash": None,
}


def test_self_exact_by_construction(tracer, procs, tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(DOC))
    rows = parse_table(check_report(procs, tracer, tmp_path, path, DOC))
    assert {f: r[2] for f, r in rows.items()} == {
        "P": "700 ns", "G": "60 ns", "G2": "40 ns", "Q": "100 ns", "S": "80 ns", "T": "20 ns",
        "X1": "-", "X2": "-", "R": "-"}
    assert sum(int(r[2].split()[0]) for r in rows.values() if r[2] != "-") == 900 + 100
