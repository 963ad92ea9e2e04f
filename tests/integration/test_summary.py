"""--summary: per-function statistics kept in BPF, no call trees.

Ground truth by construction: the same deterministic program traced in full
gives the calls per function the summary must count exactly; programs that
sleep known times bound the durations (tests/progs/naps.c). Every call is
counted once: the calls a row has but could not time add up, exactly, to
the untimed counts by reason."""
import collections
import subprocess

import pytest

from calltree import all_nodes, function_counts
from harness import wait_for

REASONS = {"before_tracing", "too_deep", "longjmp", "thread_ended", "still_running",
           "suspended_coroutine", "no_stack_room", "table_full"}
MS = 1_000_000


def summary_run(trace, exe, args, *opts):
    proc, doc = trace([exe, *args], "--summary", *opts, invariants=False)
    # the target's status: 139 for the crash programs
    assert proc.returncode in (0, 139) and "ctrace-bpf: summary of" in proc.stderr, proc.stderr
    check_summary(doc)
    return proc, doc


def check_summary(doc):
    """The document's shape, and every call counted exactly once."""
    assert "call_trees" not in doc
    assert doc["metadata"]["options"]["summary"] in ("function", "thread")
    rows, untimed = doc["summary"], doc["untimed"]
    assert REASONS <= set(untimed)
    for r in rows:
        assert {"function", "module", "calls", "total_ns", "self_ns", "min_ns",
                "max_ns"} <= set(r), r
        assert 0 <= r["timed_calls"] <= r["calls"], r
        if r["timed_calls"]:
            assert r["min_ns"] <= r["max_ns"] <= r["total_ns"], r
            assert r["self_ns"] <= r["total_ns"], r
            assert r["min_ns"] * r["timed_calls"] <= r["total_ns"], r
        else:
            assert r["min_ns"] is None and r["max_ns"] is None, r
    assert doc["metadata"]["total_calls"] == sum(r["calls"] for r in rows)
    # table_full calls are in no row; all the others are, untimed
    assert sum(r["calls"] - r["timed_calls"] for r in rows) == \
        sum(v for k, v in untimed.items() if k in REASONS - {"table_full"})
    assert untimed["table_full"] == 0 and untimed["no_stack_room"] == 0


def counts(doc):
    c = collections.Counter()
    for r in doc["summary"]:
        c[r["function"]] += r["calls"]
    return c


def rows_by_function(doc):
    assert doc["metadata"]["options"]["summary"] == "function"
    out = {r["function"]: r for r in doc["summary"]}
    assert len(out) == len(doc["summary"])
    return out


@pytest.mark.parametrize("src,args,opts", [
    ("naps.c", ["2"], ()),
    ("recursion.c", [], ()),
    ("deep.c", [], ()),
    ("deep.c", [], ("-D", "3")),
    ("deep.c", [], ("-F", "level[35]")),
    ("deep.c", [], ("-N", "level4")),
    ("threads.c", [], ()),
    ("coroutines.c", ["5", "3"], ()),
    ("longjumps.c", ["5", "4", "2"], ()),
    ("longjumps.c", ["6", "5", "3", "signal", "2"], ()),
    ("longjumps.c", ["300", "2", "1"], ()),   # deeper than the ring: too_deep
    ("naps.c", ["2", "exit"], ()),             # exit() inside two open calls
    ("stress.c", ["serial", "1500", "10"], ()),  # more threads than ring slots
    ("stress.c", ["threads", "16", "5000"], ()),
    ("forker.c", ["fork", "3"], ("--follow-forks",)),
    ("forker.c", ["forkcrash", "1"], ("--follow-forks",)),
    ("forker.c", ["exec", "DEEP"], ("--follow-forks",)),  # named by the old image's map
    ("crash.c", ["thread"], ()),
], ids=lambda v: " ".join(v) if isinstance(v, (list, tuple)) else v)
def test_counts_are_the_full_traces(build, trace, src, args, opts):
    exe = build(src, "-O1")
    args = [str(build("deep.c", "-O1")) if a == "DEEP" else a for a in args]
    _, full = trace([exe, *args], *opts)
    _, summ = summary_run(trace, exe, args, *opts)
    assert counts(summ) == function_counts(full)
    # the full trace's partial calls are the summary's untimed ones; deeper
    # than the ring (128 frames), calls are counted untimed when they lose
    # their frame, and a jump leaves only the ones the ring still holds
    partial = sum(1 for n in all_nodes(full) if n.get("partial_reason"))
    untimed = sum(r["calls"] - r["timed_calls"] for r in summ["summary"])
    if args[:1] == ["300"]:
        assert summ["untimed"]["longjmp"] == 128 and untimed > partial
        assert summ["untimed"]["too_deep"] == untimed - 128
    else:
        assert untimed == partial and summ["untimed"]["too_deep"] == 0


def test_crash(build, trace):
    exe = build("crash.c", "-O1")
    proc, doc = summary_run(trace, exe, ["segv"])
    assert proc.returncode == 139
    assert doc["crash"]["signal_name"] == "SIGSEGV" and doc["crash"]["call_stack"] == []
    assert doc["crash"]["backtrace"]
    rows = rows_by_function(doc)
    # main > level_one > level_two > store_value never return
    assert doc["untimed"]["thread_ended"] == 4
    assert rows["store_value"]["calls"] == 1 and rows["store_value"]["timed_calls"] == 0
    assert rows["prepare"]["calls"] == rows["prepare"]["timed_calls"] == 2


def test_known_sleeps(build, trace):
    exe = build("naps.c", "-O1")
    _, full = trace([exe, "3"])
    _, summ = summary_run(trace, exe, ["3"])
    rows = rows_by_function(summ)
    nap, rnd, main = rows["nap"], rows["round_"], rows["main"]
    assert nap["calls"] == nap["timed_calls"] == 9
    assert nap["min_ns"] >= 2 * MS and nap["max_ns"] >= 6 * MS
    assert nap["total_ns"] >= 36 * MS and nap["self_ns"] == nap["total_ns"]
    assert rnd["calls"] == rnd["timed_calls"] == 3
    assert rnd["min_ns"] >= 12 * MS and rnd["total_ns"] >= nap["total_ns"]
    assert rnd["self_ns"] == rnd["total_ns"] - nap["total_ns"] - rows["quick"]["total_ns"]
    assert main["total_ns"] >= rnd["total_ns"]
    assert main["self_ns"] == main["total_ns"] - rnd["total_ns"]
    # the full trace's own durations lie within the same bounds, and the two
    # runs agree on what the sleeps make of them (a loaded machine adds a little)
    naps = [n for n in all_nodes(full) if n["function"] == "nap"]
    assert len(naps) == 9 and min(n["duration_ns"] for n in naps) >= 2 * MS
    full_total = sum(n["duration_ns"] for n in naps)
    assert full_total >= 36 * MS
    assert abs(nap["total_ns"] - full_total) < 0.5 * full_total


def test_longjmp_is_counted_not_timed(build, trace):
    exe = build("longjumps.c", "-O1")
    _, summ = summary_run(trace, exe, ["5", "4", "2"])
    rows = rows_by_function(summ)
    # 2 of 4 protected calls jump from 5 dives deep: dive x5, helpers, jump
    assert summ["untimed"]["longjmp"] > 0
    assert rows["protected_call"]["timed_calls"] == rows["protected_call"]["calls"] == 4
    assert rows["jump"]["calls"] == 2 and rows["jump"]["timed_calls"] == 0
    assert rows["dive"]["calls"] == 20 and rows["dive"]["timed_calls"] == 10
    # the caller's time covers the jumped subtree: self is what is left
    pc = rows["protected_call"]
    assert pc["self_ns"] < pc["total_ns"]


def test_per_thread(build, trace):
    exe = build("threads.c", "-O1")
    _, summ = summary_run(trace, exe, [], "--summary=thread")
    assert summ["metadata"]["options"]["summary"] == "thread"
    leaf = sorted(r["calls"] for r in summ["summary"] if r["function"] == "leaf")
    work = [r for r in summ["summary"] if r["function"] == "work"]
    assert leaf == [1000, 2000, 3000, 4000]
    assert len(work) == 4 and len({r["thread_id"] for r in work}) == 4
    assert all(r["calls"] == r["timed_calls"] == 1 for r in work)


def test_attach_ticker(ticker, trace):
    p, exe, state = ticker("-O1")
    proc, doc = trace.attach(p.pid, "--summary", "--duration", "1", invariants=False)
    assert proc.returncode == 0, proc.stderr
    check_summary(doc)
    assert p.poll() is None, "the target runs on"
    rows = rows_by_function(doc)
    tick, bump = rows["tick"], rows["bump"]
    assert tick["calls"] >= 50 and abs(tick["calls"] - bump["calls"]) <= 1
    assert tick["timed_calls"] >= tick["calls"] - 1
    # main and serve_loop began before tracing and never return: not counted
    assert "main" not in rows and "serve_loop" not in rows
    assert set(k for k, v in doc["untimed"].items() if v) <= \
        {"before_tracing", "still_running"}


def test_report_and_convert(build, trace, tmp_path):
    exe = build("deep.c", "-O1")
    proc, doc = summary_run(trace, exe, [])
    assert "level6" in proc.stderr and "45 calls of 6 functions" in proc.stderr
    out = next(tmp_path.glob("trace-*.json"))
    rep = subprocess.run([str(trace.binary), "report", str(out)], capture_output=True,
                         text=True, timeout=30)
    assert rep.returncode == 0, rep.stderr
    assert "level6" in rep.stdout and "45 calls of 6 functions" in rep.stdout
    for cmd in (["report", str(out), "--tree"],
                ["convert", str(out), "--to", "chrome", "-o", str(tmp_path / "c.json")]):
        r = subprocess.run([str(trace.binary), *cmd], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 1 and "--summary trace" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "c.json").exists()


@pytest.mark.parametrize("opts,named", [
    (("--args",), "--args"),
    (("-r",), "--retval"),
    (("-f", "chrome"), "--format"),
    (("-o", "x.ctrace"), ".ctrace"),
    (("-o", "x.jsonl"), ".jsonl"),
    (("--summary=bogus",), "bogus"),
])
def test_conflicts_refused_before_attaching(build, procs, tracer, tmp_path, opts, named):
    exe = build("deep.c", "-O1")
    r = procs.run([tracer, "--summary", *opts, "--", exe], cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert named in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not list(tmp_path.glob("x.*")) and not (tmp_path / "ctrace.json").exists()
