"""--min-duration and --keep-if: calls filtered before writing.

Ground truth by construction: tests/progs/naps.c sleeps known times (nap >=
2 ms, round_ >= 12 ms; quick() is a few instructions), tests/progs/failing.c
fails for known inputs (process(i, fd) returns -1 exactly when i % 5 == 0,
with validate, reject > note below; lookup(i) is NULL when i % 3 == 0; the
innermost nest() returns -1). Each filtered trace is compared with the full
trace of the same program filtered offline by the same rule, and every call
is accounted for: written + dropped = the full trace's calls."""
import collections
import json

import pytest

from calltree import all_nodes, function_counts, is_partial, main_thread, roots, shape, walk

MS = 1_000_000
ITEMS = 20


@pytest.fixture(autouse=True)
def json_output(trace):
    """-o FILE.ctrace is refused with these options (CTRACE_TEST_EXT aside)"""
    trace.ext = ".json"


def filtered(doc):
    return doc["metadata"]["filtered"]


def offline_min_duration(nodes, dur):
    """The full trace's nodes kept by the rule: long enough (or partial), or
    the ancestor of one that is; as shapes."""
    out = []
    for n in nodes:
        kids = offline_min_duration(n["children"], dur)
        long_enough = is_partial(n) or n["duration_ns"] is None or n["duration_ns"] >= dur
        if long_enough or kids:
            out.append((n["function"], tuple(kids)))
    return out


def arg(node, name):
    return next(a["value"] for a in node["arguments"] if a["name"] == name)


def calls_of(doc, func):
    return [n for n in all_nodes(doc) if n["function"] == func]


def strip(node):
    """A node's subtree without its times (they differ between runs)."""
    keep = {k: v for k, v in node.items()
            if k not in ("start_ns", "end_ns", "duration_ns", "children", "address")}
    keep["children"] = [strip(c) for c in node["children"]]
    return keep


def accounted(doc, full_calls):
    f = filtered(doc)
    assert doc["metadata"]["total_calls"] == len(all_nodes(doc))
    assert doc["metadata"]["total_calls"] + f["min_duration_dropped"] + \
        f["keep_if_dropped"] == full_calls


# ---- --min-duration ---------------------------------------------------------------

def test_min_duration_naps(build, trace):
    exe = build("naps.c", "-O0")
    _, full = trace([exe, "3"])
    proc, doc = trace([exe, "3"], "--min-duration", "1ms")
    assert proc.returncode == 0, proc.stderr
    # by construction: every nap, round_ and main lasts over 1 ms, no quick does
    assert function_counts(doc) == {"main": 1, "round_": 3, "nap": 9}
    assert [shape(n) for n in roots(doc)] == offline_min_duration(roots(full), MS)
    assert filtered(doc)["min_duration_ns"] == MS
    assert filtered(doc)["min_duration_dropped"] == 300
    accounted(doc, full["metadata"]["total_calls"])
    assert "--min-duration: 300 shorter calls not written" in proc.stderr
    for n in all_nodes(doc):
        assert n["duration_ns"] >= MS


def test_min_duration_between(build, trace):
    """12 ms: the rounds (2 + 4 + 6 ms of naps) stay, their naps go."""
    exe = build("naps.c", "-O0")
    proc, doc = trace([exe, "2"], "--min-duration", "12ms")
    assert proc.returncode == 0, proc.stderr
    assert function_counts(doc) == {"main": 1, "round_": 2}
    assert all(n["duration_ns"] >= 12 * MS for n in all_nodes(doc))


def test_min_duration_keeps_partial_calls(build, trace):
    """main and the last round_ never return (exit): their duration is not
    known, so they are written even under a 100 s threshold; nothing else is."""
    exe = build("naps.c", "-O0")
    _, full = trace([exe, "2", "exit"])
    proc, doc = trace([exe, "2", "exit"], "--min-duration", "100s")
    assert proc.returncode == 0, proc.stderr
    (main,) = roots(main_thread(doc))
    assert shape(main) == ("main", (("round_", ()),))
    assert is_partial(main) and is_partial(main["children"][0])
    assert filtered(doc)["min_duration_dropped"] == full["metadata"]["total_calls"] - 2
    accounted(doc, full["metadata"]["total_calls"])


def test_min_duration_keeps_the_crash_stack(build, trace):
    """The frames open at the crash have no end: written, and nothing else."""
    exe = build("crash.c", "-O0")
    proc, doc = trace([exe], "--min-duration", "1s")
    assert proc.returncode == 139, proc.stderr
    (main,) = roots(main_thread(doc))
    assert shape(main) == ("main", (("level_one", (("level_two", (("store_value", ()),)),)),))
    assert all(is_partial(n) for n in all_nodes(doc))
    assert [f["function"] for f in doc["crash"]["call_stack"]] == \
        ["store_value", "level_two", "level_one", "main"]
    # prepare > checksum, twice: complete and short
    assert filtered(doc)["min_duration_dropped"] == 4


def test_min_duration_with_args_and_depth(build, trace):
    exe = build("naps.c", "-O0")
    proc, doc = trace([exe, "2"], "--min-duration", "3ms", "--args", "-D", "2")
    assert proc.returncode == 0, proc.stderr
    # -D 2: main > round_ only; both long
    assert function_counts(doc) == {"main": 1, "round_": 2}
    assert [arg(n, "r") for n in calls_of(doc, "round_")] == [0, 1]


def test_min_duration_jsonl_and_format(build, trace, tmp_path):
    exe = build("naps.c", "-O0")
    out = tmp_path / "naps.jsonl"
    proc = trace.procs.run([trace.binary, "-o", out, "--min-duration", "1ms", "-f", "chrome",
                            "--", exe, "2"])
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    calls = collections.Counter(x["function"] for x in lines if x["type"] == "call")
    assert calls == {"main": 1, "round_": 2, "nap": 6}
    assert lines[0]["metadata"]["filtered"]["min_duration_dropped"] == 200
    chrome = json.loads((tmp_path / "naps.trace.json").read_text())
    events = chrome["traceEvents"] if isinstance(chrome, dict) else chrome
    assert not any(e.get("name") == "quick" for e in events)
    assert sum(e.get("name") == "nap" for e in events if e.get("ph") in ("X", "B")) == 6


# ---- --keep-if --------------------------------------------------------------------

def keep_if(build, trace, *opts, args=(str(ITEMS),)):
    exe = build("failing.c", "-O0")
    proc, doc = trace([exe, *args], *opts)
    assert proc.returncode == 0, proc.stderr
    return proc, doc


def full_trace(build, trace, *opts, args=(str(ITEMS),)):
    """the full trace, with what --keep-if 'process: ...' captures"""
    return keep_if(build, trace, "--capture", "process", *opts, args=args)[1]


def test_keep_if_retval(build, trace):
    full = full_trace(build, trace)
    proc, doc = keep_if(build, trace, "--keep-if", "process: retval < 0")
    kept = calls_of(doc, "process")
    assert [arg(n, "i") for n in kept] == [i for i in range(ITEMS) if i % 5 == 0]
    assert all(n["return_value"]["value"] == -1 for n in kept)
    # each with its whole subtree, as the full trace has it
    want = [strip(n) for n in calls_of(full, "process") if n["return_value"]["value"] < 0]
    assert [strip(n) for n in kept] == want
    assert function_counts(doc)["note"] == 4 and function_counts(doc)["nap"] == 1
    # the context: their caller, and nothing else
    (work,) = roots(doc)
    assert work["function"] == "work" and work["children"] == kept
    f = filtered(doc)
    assert f["keep_if"] == ["process: retval < 0"]
    assert (f["keep_if_kept"], f["keep_if_unreadable"]) == (4, 0)
    accounted(doc, full["metadata"]["total_calls"])
    assert "--keep-if: 4 calls kept" in proc.stderr


def test_keep_if_arg_and_null(build, trace):
    _, doc = keep_if(build, trace, "--keep-if", "process: arg.fd == 3",
                     "--keep-if", "lookup: retval == NULL")
    assert [arg(n, "i") for n in calls_of(doc, "process")] == \
        [i for i in range(ITEMS) if i % 4 == 3]
    assert len(calls_of(doc, "lookup")) == len([i for i in range(ITEMS) if i % 3 == 0])
    assert all(n["return_value"]["value"] == "0x0" for n in calls_of(doc, "lookup"))
    assert filtered(doc)["keep_if_kept"] == 5 + 7


def test_keep_if_and_or(build, trace):
    _, doc = keep_if(build, trace, "--keep-if", "process: retval < 0 && arg.fd == 3")
    assert [arg(n, "i") for n in calls_of(doc, "process")] == [15]
    _, doc = keep_if(build, trace, "--keep-if", "process: retval < 0 || (arg.fd == 3)")
    assert [arg(n, "i") for n in calls_of(doc, "process")] == \
        [i for i in range(ITEMS) if i % 5 == 0 or i % 4 == 3]


def test_keep_if_duration(build, trace):
    _, doc = keep_if(build, trace, "--keep-if", "process: duration > 2ms")
    kept = calls_of(doc, "process")
    # the ones that nap 3 ms, at least; none shorter than asked
    assert {i for i in range(ITEMS) if i % 7 == 0} <= {arg(n, "i") for n in kept}
    assert all(n["duration_ns"] > 2 * MS for n in kept)


def test_keep_if_nested(build, trace):
    """Only the innermost nest() fails: written with its callers as context."""
    _, doc = keep_if(build, trace, "--keep-if", "nest: retval < 0")
    (work,) = roots(doc)
    assert shape(work) == ("work", (("nest", (("nest", (("nest", (("nest", ()),)),)),)),))
    nests = calls_of(doc, "nest")
    assert [arg(n, "n") for n in nests] == [3, 2, 1, 0]
    assert [n["return_value"]["value"] for n in nests] == [0, 0, 0, -1]
    assert filtered(doc)["keep_if_kept"] == 1


def test_keep_if_threads(build, trace):
    _, doc = keep_if(build, trace, "--keep-if", "process: retval < 0", args=(str(ITEMS), "4"))
    per_thread = [[arg(n, "i") for n in calls_of(t, "process")]
                  for t in doc["call_trees"].values() if t["root_calls"]]
    assert len(per_thread) == 4
    assert all(p == [0, 5, 10, 15] for p in per_thread)
    assert filtered(doc)["keep_if_kept"] == 16


def test_keep_if_with_args_depth_and_min_duration(build, trace):
    full = full_trace(build, trace)
    # --args for every function: the kept subtrees show theirs too
    _, doc = keep_if(build, trace, "--keep-if", "process: retval < 0", "--args")
    assert [arg(n, "i") for n in calls_of(doc, "validate")] == [0, 5, 10, 15]
    # -D 2: work > process, nothing deeper
    _, doc = keep_if(build, trace, "--keep-if", "process: retval < 0", "-D", "2")
    assert function_counts(doc) == {"work": 1, "process": 4}
    # --min-duration prunes what --keep-if keeps: process(0) naps 3 ms
    _, doc = keep_if(build, trace, "--keep-if", "process: retval < 0", "--min-duration", "1ms")
    (work,) = roots(doc)
    assert shape(work) == ("work", (("process", (("nap", ()),)),))
    assert arg(work["children"][0], "i") == 0
    accounted(doc, full["metadata"]["total_calls"])
    assert filtered(doc)["min_duration_dropped"] > 0


def test_keep_if_unreadable_counted(build, trace):
    """The last round_ never returns (exit): its duration cannot be told, it
    is not kept, and that is said."""
    exe = build("naps.c", "-O0")
    proc, doc = trace([exe, "2", "exit"], "--keep-if", "round_: duration > 1ms")
    assert proc.returncode == 0, proc.stderr
    assert [arg(n, "r") for n in calls_of(doc, "round_")] == [0]
    f = filtered(doc)
    assert (f["keep_if_kept"], f["keep_if_unreadable"]) == (1, 1)
    assert "--keep-if: 1 calls not kept because their condition could not be told" \
        in proc.stderr


def test_keep_if_jsonl_verified(build, trace, tmp_path):
    """The record's replay and the direct trees agree (CTRACE_VERIFY_REPLAY)."""
    import os
    exe = build("failing.c", "-O0")
    for out in (tmp_path / "v.json", tmp_path / "v.jsonl"):
        proc = trace.procs.run([trace.binary, "-o", out, "--keep-if", "process: retval < 0",
                                "--min-duration", "10ns", "--", exe, ITEMS],
                               env=dict(os.environ, CTRACE_VERIFY_REPLAY="1"))
        assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in (tmp_path / "v.jsonl").read_text().splitlines()]
    assert [x["arguments"][0]["value"] for x in lines
            if x["type"] == "call" and x["function"] == "process"] == [0, 5, 10, 15]


def test_attach(ticker, trace):
    p, exe, state = ticker("-O1")
    proc, doc = trace.attach(p.pid, "--keep-if", "tick: retval > 0", "--min-duration", "1s",
                             "--duration", "1", invariants=False)
    assert proc.returncode == 0, proc.stderr
    assert p.poll() is None, "the target runs on"
    f = filtered(doc)
    # ticks last microseconds: only calls whose duration is not known stay
    assert f["keep_if_kept"] >= 50 and f["min_duration_dropped"] >= 100
    assert all(is_partial(n) for n in all_nodes(doc))
    proc, doc = trace.attach(p.pid, "--keep-if", "tick: retval > 0", "--duration", "1")
    ticks = calls_of(doc, "tick")
    assert len(ticks) == filtered(doc)["keep_if_kept"] >= 50
    assert all(shape(n) == ("tick", (("bump", ()),)) for n in ticks)
    assert all(n["return_value"]["value"] > 0 and isinstance(arg(n, "n"), int) for n in ticks)


# ---- bad input --------------------------------------------------------------------

BAD = {
    "comparison": (["--keep-if", "read: retval <> 0"],
                   "--keep-if: expected a comparison at '<> 0'"),
    "operand": (["--keep-if", "process: ret < 0"],
                "--keep-if: expected retval, duration or arg.NAME at 'ret < 0'"),
    "no-func": (["--keep-if", "retval < 0"], "--keep-if: expected 'FUNC: CONDITION'"),
    "duration-unit": (["--keep-if", "process: duration > 5"],
                      "expected a duration with its unit (ns, us, ms, s) at '5'"),
    "no-such-arg": (["--keep-if", "process: arg.nosuch == 1"],
                    "--keep-if: process has no parameter 'nosuch' (it has: i, fd)"),
    "void-retval": (["--keep-if", "nap: retval == 0"],
                    "--keep-if: nap returns void: it has no retval to test"),
    "min-duration-unit": (["--min-duration", "5"], "invalid --min-duration '5'"),
    "min-duration-junk": (["--min-duration", "2 ms"], "invalid --min-duration '2 ms'"),
    "summary": (["--summary", "--min-duration", "1ms"],
                "--summary keeps no calls, so --min-duration does not apply"),
    "summary-keep-if": (["--summary", "--keep-if", "process: retval < 0"],
                        "--summary keeps no calls, so --keep-if does not apply"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input(name, build, tracer, procs, tmp_path):
    opts, says = BAD[name]
    exe = build("failing.c", "-O0")
    proc = procs.run([tracer, "-o", tmp_path / "t.json", *opts, "--", exe])
    lines = proc.stderr.splitlines()
    assert proc.returncode in (1, 2) and len(lines) == 1, proc.stderr
    assert lines[0].startswith("ctrace-bpf: ") and says in lines[0], proc.stderr
    assert proc.stdout == "" and list(tmp_path.iterdir()) == []


def test_ctrace_output_refused(build, tracer, procs, tmp_path):
    exe = build("failing.c", "-O0")
    proc = procs.run([tracer, "-o", tmp_path / "t.ctrace", "--min-duration", "1ms", "--", exe])
    assert proc.returncode == 2
    assert "-o FILE.ctrace keeps every event" in proc.stderr
