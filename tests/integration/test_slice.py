"""Slicing: `convert` and `report` with --tid and --time-range, on real traces
of tests/progs/phases.c (three phases 40 ms apart, the second on its own
thread). What a slice must hold is computed here from the full trace, by the
rule doc/design.md section 6 gives: a call is kept when its known times share
an instant with [START, END] (both included), or when a descendant is kept."""
import collections
import json
import os
import re

import pytest

from calltree import thread_trees, walk
from test_outputs import (expected_table, ns, parse_folded, parse_table, peak_rss_kb,
                          plain_tree, record, synthetic_trace, tool, unfold)
from test_outputs import chrome_calls as outputs_chrome_calls


# ---- the rule, independently ---------------------------------------------------

def overlaps(n, start, end):
    s, e = n["start_ns"], n["end_ns"]
    if s is not None and e is not None:
        return s <= end and e >= start
    if s is not None:
        return start <= s <= end
    if e is not None:
        return start <= e <= end
    return False


def sliced(nodes, start, end):
    """The kept calls of nodes: copies whose "children" are the kept ones,
    with "orig" the call as the full trace has it."""
    out = []
    for n in nodes:
        kids = sliced(n["children"], start, end)
        if kids or overlaps(n, start, end):
            out.append({**n, "children": kids, "orig": n})
    return out


def sliced_threads(doc, start=0, end=2**64 - 1, tids=None):
    """{tid: [kept root calls]} of the threads with a kept call."""
    out = {}
    for t in thread_trees(doc):
        if tids is not None and t["thread_id"] not in tids:
            continue
        roots = sliced(t["root_calls"], start, end)
        if roots or (tids is not None and start == 0 and end == 2**64 - 1):
            out[t["thread_id"]] = roots
    return out


def flat(nodes):
    """[(function, start_ns, end_ns)] of every call in nodes, in order."""
    out = []
    for n in nodes:
        out.append((n["function"], n["start_ns"], n["end_ns"]))
        out += flat(n["children"])
    return out


def chrome_calls(path):
    """{tid: sorted [(name, start_ns, end_ns)]} of the calls of a chrome file
    (its B/E pairs, read by test_outputs.chrome_calls), and its otherData."""
    data = json.loads(path.read_text(encoding="utf-8"))
    calls = collections.defaultdict(list)
    for tid, name, b, e in outputs_chrome_calls(data):
        calls[tid].append((name, ns(b["ts"]), ns(e["ts"])))
    return {t: sorted(v) for t, v in calls.items()}, data["otherData"]


def expected_calls(threads):
    return {t: sorted(flat(roots)) for t, roots in threads.items() if roots}


@pytest.fixture
def phases(build):
    return build("phases.c", "-O2")


def record_phases(trace, procs, exe):
    path, doc = record(trace, procs, [exe])
    threads = {t["thread_name"]: t for t in thread_trees(doc)}
    assert set(threads) == {"phases", "phase-b"}, threads.keys()
    return path, doc, threads


def the(nodes, name):
    (n,) = [x for x in nodes if x["function"] == name]
    return n


def record_window(trace, procs, exe):
    """record_phases, with phase_a and phase_b and a window from the end of
    phase_a's 50th step to the start of phase_b's 100th"""
    path, doc, threads = record_phases(trace, procs, exe)
    main = threads["phases"]["root_calls"][0]
    a = the(main["children"], "phase_a")
    b = threads["phase-b"]["root_calls"][0]
    return path, doc, threads, a, b, a["children"][49]["end_ns"], b["children"][99]["start_ns"]


# ---- threads -----------------------------------------------------------------------

def test_tid_keeps_exactly_that_thread(phases, trace, procs, tracer, tmp_path):
    path, doc, threads = record_phases(trace, procs, phases)
    main, b = threads["phases"]["thread_id"], threads["phase-b"]["thread_id"]
    md = doc["metadata"]
    for tids, arg in (({b}, [str(b)]), ({main}, [str(main)]),
                      ({main, b}, [f"{main},{b}"]), ({main, b}, [str(b), str(main)])):
        out = tmp_path / "t.chrome.json"
        opts = [x for t in arg for x in ("--tid", t)]
        tool(procs, tracer, "convert", path, "--to", "chrome", *opts, "-o", out)
        got, other = chrome_calls(out)
        assert got == expected_calls(sliced_threads(doc, tids=tids))
        assert other["slice"] == {
            "tids": [int(x) for t in arg for x in t.split(",")], "start_ns": None,
            "end_ns": None, "trace_total_calls": md["total_calls"],
            "trace_threads": md["threads"], "trace_lost_events": md["lost_events"]}
        # the whole trace's counts are not claimed for the slice
        assert other["total_calls"] is None and other["threads"] is None
        assert {k: v for k, v in other.items() if k not in (
            "slice", "total_calls", "threads", "lost_events")} == \
            {k: v for k, v in md.items() if k not in ("total_calls", "threads", "lost_events")}
    # phase-b alone: phase_b and its 200 steps, by construction
    out = tmp_path / "b.folded"
    tool(procs, tracer, "convert", path, "--to", "folded", "-w", "calls", "--tid", b, "-o", out)
    assert parse_folded(out.read_text()) == {"phase_b": 1, "phase_b;step": 200}
    # a thread id not in the trace: nothing
    out = tmp_path / "none.chrome.json"
    tool(procs, tracer, "convert", path, "--to", "chrome", "--tid", "999999999", "-o", out)
    assert chrome_calls(out)[0] == {}


def test_report_threads_tid(phases, trace, procs, tracer):
    path, doc, threads = record_phases(trace, procs, phases)
    b = threads["phase-b"]
    rep = tool(procs, tracer, "report", path, "--threads", "--tid", b["thread_id"]).stdout
    assert f"== thread {b['thread_id']} (phase-b): 201 calls ==" in rep
    assert "== thread " + str(threads["phases"]["thread_id"]) not in rep
    assert parse_table(rep) == expected_table(n for n, _ in walk(b))
    assert re.search(r"^201 calls in 1 thread, traced for .*, 0 lost events$", rep, re.M)
    total = doc["metadata"]["total_calls"]
    assert f"slice: thread {b['thread_id']} (the whole trace: {total} calls)" in rep


# ---- time windows ----------------------------------------------------------------------

def test_window_between_phases(phases, trace, procs, tracer, tmp_path):
    """Between phase_a's end and phase_c's start, 10 ms clear of each: main
    (which spans the window) and the whole of phase-b, by construction."""
    path, doc, threads = record_phases(trace, procs, phases)
    main = threads["phases"]["root_calls"][0]
    a, c = the(main["children"], "phase_a"), the(main["children"], "phase_c")
    start, end = a["end_ns"] + 10_000_000, c["start_ns"] - 10_000_000
    assert start < end
    # in ms with 6 decimals: exact to the ns
    window = f"{start / 1e6:.6f}ms:{end / 1e6:.6f}ms"
    out = tmp_path / "w.chrome.json"
    tool(procs, tracer, "convert", path, "--to", "chrome", "--time-range", window, "-o", out)
    got, other = chrome_calls(out)
    b = threads["phase-b"]
    assert got == {threads["phases"]["thread_id"]: [("main", main["start_ns"], main["end_ns"])],
                   b["thread_id"]: sorted(flat(b["root_calls"]))}
    assert got == expected_calls(sliced_threads(doc, start, end))
    assert other["slice"]["start_ns"] == start and other["slice"]["end_ns"] == end
    names = collections.Counter(n for calls in got.values() for n, _, _ in calls)
    assert names == {"main": 1, "phase_b": 1, "step": 200}


def test_window_exact_contents(phases, trace, procs, tracer, tmp_path):
    """A window from the end of phase_a's 50th step to the start of phase_b's
    100th: both of those boundary calls are in it."""
    path, doc, threads, a, b, start, end = record_window(trace, procs, phases)
    want = sliced_threads(doc, start, end)
    kept = collections.Counter(n for roots in want.values() for n, _, _ in flat(roots))
    assert kept == {"main": 1, "phase_a": 1, "phase_b": 1, "step": 51 + 100}
    for window in (f"{start}:{end}", f"{start}ns:{end}ns"):
        out = tmp_path / "x.chrome.json"
        tool(procs, tracer, "convert", path, "--to", "chrome", "--time-range", window, "-o", out)
        got, _ = chrome_calls(out)
        assert got == expected_calls(want)
        assert ("step", start - a["children"][49]["duration_ns"], start) in got[
            threads["phases"]["thread_id"]]
        assert ("step", end, b["children"][99]["end_ns"]) in got[
            threads["phase-b"]["thread_id"]]
    # one ns inside either edge: both boundary calls go
    out = tmp_path / "y.chrome.json"
    tool(procs, tracer, "convert", path, "--to", "chrome", "--time-range",
         f"{start + 1}:{end - 1}", "-o", out)
    assert chrome_calls(out)[0] == expected_calls(sliced_threads(doc, start + 1, end - 1))
    assert sum(len(v) for v in chrome_calls(out)[0].values()) == sum(kept.values()) - 2
    # folded, per thread, by calls
    out = tmp_path / "x.folded"
    tool(procs, tracer, "convert", path, "--to", "folded", "-w", "calls", "--per-thread",
         "--time-range", f"{start}:{end}", "-o", out)
    folded = parse_folded(out.read_text())
    assert sum(folded.values()) == sum(kept.values())
    assert {k.split(";", 1)[1] if ";" in k else "": v for k, v in folded.items()} == {
        "main": 1, "main;phase_a": 1, "main;phase_a;step": 51, "phase_b": 1,
        "phase_b;step": 100}


def test_report_tree_window(phases, trace, procs, tracer):
    path, doc, threads, a, b, start, end = record_window(trace, procs, phases)
    want = sliced_threads(doc, start, end)
    rep = tool(procs, tracer, "report", path, "--tree", "--time-range", f"{start}:{end}").stdout
    parts = re.split(r"^== thread (\d+) .*==$", rep, flags=re.M)
    sections = dict(zip(map(int, parts[1::2]), parts[2::2]))
    assert set(sections) == set(want)
    for tid, roots in want.items():
        lines = [line for line in sections[tid].splitlines() if " | " in line][1:]
        assert unfold(lines) == plain_tree(roots)
    ncalls = sum(len(flat(roots)) for roots in want.values())
    assert f"\n{ncalls} calls in 2 threads, " in rep
    total = doc["metadata"]["total_calls"]
    assert f"slice: calls overlapping {start}ns to {end}ns (the whole trace: {total} calls)" in rep
    # the table: each kept call with its own times (self less every child,
    # kept or not: a call's self time is its own)
    rep = tool(procs, tracer, "report", path, "--time-range", f"{start}:{end}").stdout
    kept = [n["orig"] for roots in want.values() for n, _ in walk({"root_calls": roots})]
    assert parse_table(rep) == expected_table(kept)


def test_open_ended_windows(phases, trace, procs, tracer, tmp_path):
    path, doc, threads = record_phases(trace, procs, phases)
    c = the(threads["phases"]["root_calls"][0]["children"], "phase_c")
    names = {}
    for window, start, end in ((f"{c['start_ns']}:", c["start_ns"], 2**64 - 1),
                               (f":{c['start_ns']}", 0, c["start_ns"])):
        out = tmp_path / "o.chrome.json"
        tool(procs, tracer, "convert", path, "--to", "chrome", "--time-range", window, "-o", out)
        got, other = chrome_calls(out)
        assert got == expected_calls(sliced_threads(doc, start, end))
        assert other["slice"]["start_ns"] == start
        assert other["slice"]["end_ns"] == (None if window.endswith(":") else end)
        names[window[0] == ":"] = collections.Counter(n for v in got.values() for n, _, _ in v)
    # from phase_c's start: main and phase_c with its steps; up to it, all but phase_c's steps
    assert names[False] == {"main": 1, "phase_c": 1, "step": 300}
    assert names[True] == {"main": 1, "phase_a": 1, "phase_b": 1, "phase_c": 1, "step": 300}


# ---- usage --------------------------------------------------------------------------------

@pytest.mark.parametrize("sub", ["convert", "report"])
def test_bad_values_are_usage_errors(tracer_binary, procs, tmp_path, sub):
    trace = tmp_path / "t.json"
    synthetic_trace(trace, 2)
    extra = ["--to", "chrome"] if sub == "convert" else []
    for opt, value, token in (("--tid", "abc", "'abc'"), ("--tid", "12,x7", "'x7'"),
                              ("--tid", "1,,2", "''"), ("--tid", "5#", "'5#'"),
                              ("--time-range", "5x:1s", "'5x'"),
                              ("--time-range", "1s:2sec", "'2sec'"),
                              ("--time-range", "1.0000000001s:", "'1.0000000001s'"),
                              ("--time-range", "2s:1s", "START is after END"),
                              ("--time-range", "100", "expected START:END"),
                              ("--time-range", ":", "give START, END or both")):
        err = tool(procs, tracer_binary, sub, trace, *extra, opt, value, status=2).stderr
        assert token in err and f"invalid {opt} '{value}'" in err, err
    helped = tool(procs, tracer_binary, sub, "--help").stdout
    assert "--tid TID" in helped and "--time-range START:END" in helped
    assert re.search(rf"ctrace-bpf {sub} .*--tid ", helped)
    assert re.search(rf"ctrace-bpf {sub} .*--time-range ", helped)


@pytest.mark.skipif(not os.access("/usr/bin/time", os.X_OK), reason="needs /usr/bin/time")
def test_slicing_memory_is_flat(tracer_binary, tmp_path):
    """A window in the middle of a long trace: the calls before it wait only
    as deep as the stack is."""
    small, big = tmp_path / "small.json", tmp_path / "big.json"
    synthetic_trace(small, 2000)
    calls = synthetic_trace(big, 100000)
    for args in (["convert", "--to", "chrome", "-o", "/dev/null", "--time-range", "200000:200500"],
                 ["report", "--tree", "--time-range", "100us:"],
                 ["report", "--tid", "1"]):
        a = peak_rss_kb([tracer_binary, args[0], small, *args[1:]])
        b = peak_rss_kb([tracer_binary, args[0], big, *args[1:]])
        assert b < a + 4096, f"{args}: {a} KiB for 12k calls, {b} KiB for {calls} calls"
