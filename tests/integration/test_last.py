"""--last N: the flight recorder keeps each thread's last N calls.

Ground truth by construction: tests/progs/flight.c calls step(i) -> leaf(i)
in a known order with known arguments, so the last N calls are known: a
--last trace must hold exactly the last N entries of the full trace of the
same program (in the same order, with the same arguments), the calls around
them partial with the true reason. At a crash the crash report stays exact;
SIGUSR1 writes numbered snapshots while the target keeps working."""
import json
import os
import signal
import subprocess

import pytest

from conftest import Tracer
from calltree import all_nodes, check_invariants, main_thread
from harness import load_trace, wait_attached, wait_for

BEFORE = "entry not observed (before the --last window)"
RUNNING = "exit not observed (still running at the snapshot)"
KILLED = "exit not observed (the process was killed by SIGSEGV)"


def arg(node):
    a = node.get("arguments") or []
    return a[0]["value"] if a else None


def entries(tree):
    """The calls whose entry the trace holds, in entry order: (function, arg)."""
    return [(n["function"], arg(n)) for n in all_nodes(tree)
            if n["start_ns"] is not None]


def partials(tree):
    return [(n["function"], n["partial_reason"]) for n in all_nodes(tree)
            if n.get("partial")]


@pytest.fixture
def trace(tracer, procs, tmp_path):
    """JSON whatever CTRACE_TEST_EXT says: --last writes no .ctrace"""
    return Tracer(tracer, procs, tmp_path, ext=".json")


@pytest.fixture
def flight(build):
    return build("flight.c")


@pytest.mark.parametrize("n,opts,around", [
    (100, (), ["main"]),
    (101, (), ["main", "step"]),       # the window opens at a leaf
    (7, ("-F", "leaf"), []),           # main and step not traced
    (1, (), ["main", "step"]),
    (5000, (), []),                    # the whole trace fits
    (33, ("-r",), ["main", "step"]),
    (9, ("-D", "2"), ["main"]),        # steps only
])
def test_last_calls_are_the_full_traces_last(trace, flight, n, opts, around):
    """The window is the full trace's last N entries, the rest partial."""
    _, full = trace([flight, "calls", 1000], "-a", *opts)
    proc, doc = trace([flight, "calls", 1000], "-a", "--last", n, *opts)
    assert proc.returncode == 0, proc.stderr
    assert doc["metadata"]["options"]["last"] == n
    want = entries(main_thread(full))
    got = entries(main_thread(doc))
    assert got == want[-n:]
    # the calls around the window: main, and the step whose leaf opens it
    part = partials(main_thread(doc))
    assert part == [(f, BEFORE) for f in around]
    assert main_thread(doc)["total_calls"] == min(n, len(want)) + len(around)


def test_last_before_a_crash(trace, flight):
    """The last calls before the fault, and the crash report as exact as
    without --last: the same call stack with the same arguments."""
    _, full = trace([flight, "crash", 500], "-a", invariants=False)
    proc, doc = trace([flight, "crash", 500], "-a", "--last", 10)
    assert proc.returncode == 128 + signal.SIGSEGV, proc.stderr
    t = main_thread(doc)
    assert entries(t) == entries(main_thread(full))[-10:]
    assert entries(t)[-3:] == [("outer", 500), ("inner", 501), ("boom", "0x0")]
    assert partials(t) == [("main", f"{BEFORE}; {KILLED}"), ("step", BEFORE),
                           ("outer", KILLED), ("inner", KILLED), ("boom", KILLED)]

    def stack(d):
        return [(f["function"], [a["value"] for a in f.get("arguments", [])
                                 if a["name"] != "argv"],  # a stack address
                 f["start_ns"] is not None) for f in d["crash"]["call_stack"]]
    assert stack(doc) == stack(full)
    assert [f[0] for f in stack(doc)] == ["boom", "inner", "outer", "main"]
    assert doc["crash"]["signal_name"] == "SIGSEGV"


def read_i(path):
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return -1


def consecutive(e):
    """step(i), leaf(i), step(i+1), ...: no call missing, none invented"""
    nxt = {"step": lambda i: ("leaf", i), "leaf": lambda i: ("step", i + 1)}
    return all(b == nxt[a[0]](a[1]) for a, b in zip(e, e[1:]))


def leaf_args(tree):
    return [a for f, a in entries(tree) if f == "leaf"]


def test_snapshots_while_tracing(trace, flight, tmp_path):
    """SIGUSR1 writes OUT.1.json, OUT.2.json while the target keeps calling;
    each holds the last N calls then, later ones later; the end's is OUT."""
    stop, state = tmp_path / "stop", tmp_path / "state"
    p, out = trace.start(["--last", 6, "-a"], [flight, "wait", stop, state])
    snaps = [out.with_name(out.stem + f".{k}" + out.suffix) for k in (1, 2)]
    try:
        wait_for(lambda: read_i(state) >= 100, 30, "the target to make 100 calls")
        os.kill(p.pid, signal.SIGUSR1)
        wait_for(snaps[0].exists, 30, "the first snapshot")
        first = load_trace(snaps[0])
        last1 = max(leaf_args(main_thread(first)))
        wait_for(lambda: read_i(state) > last1 + 40, 30, "the target to go on")
        os.kill(p.pid, signal.SIGUSR1)
        wait_for(snaps[1].exists, 30, "the second snapshot")
    finally:
        stop.touch()
    proc, end = trace.finish(p, out)
    assert proc.returncode == 0, proc.stderr
    second = load_trace(snaps[1])
    docs = [first, second, end]
    for k, d in enumerate(docs):
        check_invariants(d)
        assert d["metadata"].get("snapshot") == (k + 1 if k < 2 else None)
        t = main_thread(d)
        e = entries(t)
        # the last 6 entries: three step/leaf pairs, consecutive
        assert len(e) == 6 and consecutive(e), e
        reasons = dict(partials(t))
        assert reasons["main"] == (f"{BEFORE}; {RUNNING}" if k < 2 else BEFORE)
    assert min(leaf_args(main_thread(second))) > last1
    assert min(leaf_args(main_thread(end))) > max(leaf_args(main_thread(second)))
    assert "snapshot 1:" in proc.stderr and "snapshot 2:" in proc.stderr


def test_last_per_thread(trace, flight):
    """N calls in each thread, each its own last N."""
    _, full = trace([flight, "threads", 3, 300], "-a")
    proc, doc = trace([flight, "threads", 3, 300], "-a", "--last", 50)
    assert proc.returncode == 0, proc.stderr

    def workers(d):
        ts = [t for t in d["call_trees"].values() if t["thread_id"] != d["metadata"]["pid"]]
        return sorted(ts, key=lambda t: entries(t)[-1][1])
    assert len(workers(doc)) == 3
    for w, f in zip(workers(doc), workers(full)):
        assert entries(w) == entries(f)[-50:]
        assert partials(w) == [("work", BEFORE)]
    assert entries(main_thread(doc)) == entries(main_thread(full)) == [("main", 4)]


def test_last_attached(trace, flight, procs, tmp_path):
    """Attach mode: a window of a running process, detached by SIGINT."""
    stop, state = tmp_path / "stop", tmp_path / "state"
    target = procs.popen([flight, "wait", stop, state])
    wait_for(lambda: read_i(state) >= 20, 30, "the target to start calling")
    p, out = trace.start(["-p", target.pid, "--last", 8, "-a"])
    try:
        wait_attached(p)
        i = read_i(state)
        wait_for(lambda: read_i(state) > i + 40, 30, "calls while attached")
        p.send_signal(signal.SIGINT)
        proc, doc = trace.finish(p, out)
    finally:
        stop.touch()
    assert proc.returncode == 0, proc.stderr
    e = entries(main_thread(doc))
    assert len(e) == 8 and consecutive(e), e
    # main runs on: never seen to start or end, so never in the trees
    still = "exit not observed (still running when tracing stopped)"
    assert {r for _, r in partials(main_thread(doc))} <= {BEFORE, still}


def test_last_jsonl_and_snapshot_name(trace, flight, tmp_path):
    """-o x.jsonl: the end's trace as JSONL, its snapshots x.K.jsonl."""
    stop, state = tmp_path / "stop", tmp_path / "state"
    out = tmp_path / "ring.jsonl"
    p = trace.procs.popen([trace.binary, "-o", out, "--last", 4, "--", flight, "wait",
                           stop, state], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          encoding="utf-8")
    try:
        wait_for(lambda: read_i(state) >= 20, 30, "the target to start calling")
        os.kill(p.pid, signal.SIGUSR1)
        wait_for((tmp_path / "ring.1.jsonl").exists, 30, "the snapshot")
    finally:
        stop.touch()
    proc = trace.procs.communicate(p, 60)
    assert proc.returncode == 0, proc.stderr
    for f in (tmp_path / "ring.1.jsonl", out):
        lines = [json.loads(x) for x in f.read_text().splitlines()]
        assert lines and all(isinstance(x, dict) for x in lines)


@pytest.mark.parametrize("opts,token", [
    (["--last", "0"], "'0'"),
    (["--last", "ten"], "'ten'"),
    (["--last", "-5"], "'-5'"),
    (["--last", "5", "--summary"], "--summary"),
    (["--last", "5", "-o", "x.ctrace"], ".ctrace"),
])
def test_last_bad_input(tracer, procs, flight, tmp_path, opts, token):
    """One line naming the bad token, before anything is attached."""
    cmd = [tracer, *opts, "--", flight, "calls", "3"]
    if "-o" not in opts:
        cmd[1:1] = ["-o", tmp_path / "t.json"]
    proc = procs.run(cmd, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and token in lines[0] and "--last" in lines[0], lines
    assert not list(tmp_path.glob("*.json*")) and not list(tmp_path.glob("*.ctrace"))


def test_last_follow_forks(trace, build):
    """Each forked process's threads keep their own last N calls."""
    forker = build("forker.c")
    _, full = trace([forker, "fork", 3], "--follow-forks")
    proc, doc = trace([forker, "fork", 3], "--follow-forks", "--last", 2)
    assert proc.returncode == 0, proc.stderr

    def by_process(d):
        order = [p["pid"] for p in d["metadata"]["processes"]]
        return sorted(d["call_trees"].values(), key=lambda t: order.index(t["pid"]))
    got, want = by_process(doc), by_process(full)
    assert len(got) == len(want) == 4
    for g, w in zip(got, want):
        assert entries(g) == entries(w)[-2:]
        # what the window let go is said, and only that
        around = len(entries(w)) > 2
        assert [r for _, r in partials(g)] == ([BEFORE] if around else [])


def test_last_keeps_lineage_and_filters(trace, build):
    """A window keeps its thread's created_by (the live trace's), and
    --min-duration applies to each window."""
    prog = build("lineage.c")
    _, full = trace([prog])
    proc, doc = trace([prog], "--last", 3, "--min-duration", "1ns")
    assert proc.returncode == 0, proc.stderr

    def lineage(d):
        calls = [(t.get("created_by") or {}).get("call") or {} for t in d["call_trees"].values()]
        return sorted((c.get("function", ""), c.get("path", [])) for c in calls)
    assert lineage(doc) == lineage(full)
    assert len([c for c in lineage(doc) if c[0]]) >= 6
    assert doc["metadata"]["filtered"]["min_duration_ns"] == 1


@pytest.mark.parametrize("n", [5, 40])
def test_last_with_caller(trace, build, n):
    """--caller's late entries (a match's callers) count in the window like
    any entry: the window is the --caller trace's last N entries."""
    prog = build("callers.c")
    _, full = trace([prog, 100], "--caller", "target")
    proc, doc = trace([prog, 100], "--caller", "target", "--last", n)
    assert proc.returncode == 0, proc.stderr
    want = entries(main_thread(full))
    assert entries(main_thread(doc)) == want[-n:]
    assert {r for _, r in partials(main_thread(doc))} == {BEFORE}
    assert doc["metadata"]["resyncs"] == 0
