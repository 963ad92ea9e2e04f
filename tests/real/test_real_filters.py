"""The options that trace less (--subtree, --caller, --min-duration,
--keep-if, --last), judged on a real program: two tracers attach to the same
lua interpreter while it waits on stdin, one tracing everything and one with
the option, so both see exactly the same calls. The option's trace must be
the full trace filtered offline by the option's rule, node for node; the
full trace itself is checked against the counting hooks of the same run.
"""
import os
import signal
import subprocess
from pathlib import Path

import pytest

import counts
from harness import wait_for

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def waiting_in_read(pid):
    try:
        return Path(f"/proc/{pid}/syscall").read_text().split()[0] == "0"
    except OSError:
        return False


def wait_attached(tp):
    line = ""
    while "attached to process" not in line:
        line = tp.stderr.readline()
        assert line, f"the tracer ended before attaching: {tp.communicate()[1][-3000:]}"


@pytest.fixture
def lua_twice(trace, real_build, procs, tmp_path):
    """lua_twice(script_args, *opts_per_tracer): runs lua -O2 on
    lua_gate.lua, attaches one tracer per option list while it waits, lets it
    run, and returns (hook counts, [trace of each tracer])."""
    def run(script_args, *tracer_opts):
        prefix = tmp_path / "counts"
        env = dict(os.environ, LD_PRELOAD=str(real_build / "libcount-hooks.so"),
                   CTRACE_COUNTS=str(prefix))
        lua = procs.popen([real_build / "lua-O2" / "lua", SCRIPTS / "lua_gate.lua",
                           *map(str, script_args)], env=env, stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_for(lambda: waiting_in_read(lua.pid), 30, "lua to wait on stdin")
        before = counts.load(prefix)
        started = []
        for opts in tracer_opts:
            started.append(trace.start(["-p", lua.pid, "--probe", "callsite", "-b", "64M",
                                        *opts]))
            wait_attached(started[-1][0])
        out, err = lua.communicate(b"go\n", timeout=300)
        assert lua.returncode == 0, err[-3000:]
        docs = []
        for tp, path in started:
            proc, doc = trace.finish(tp, path, timeout=300, invariants=False)
            assert proc.returncode == 0, proc.stderr[-3000:]
            docs.append(doc)
        return counts.window(before, counts.load(prefix)), docs
    return run


def shape(nodes):
    """A tree without its times: (function, partial?, children) per node."""
    return [(n["function"], bool(n.get("partial")), shape(n.get("children", [])))
            for n in nodes]


def thread_shapes(doc):
    return {tid: shape(t["root_calls"]) for tid, t in doc["call_trees"].items()}


def test_two_tracers_see_the_same_calls(lua_twice):
    """The method itself: two full tracers attached at once give the same
    tree, and it matches the hooks' counts."""
    truth, (a, b) = lua_twice([SCRIPTS / "lua_errors.lua", 60, 10], [], [])
    counts.check(a, truth, min_calls=20_000)
    assert thread_shapes(a) == thread_shapes(b)


def preorder(nodes, depth=0, out=None):
    out = [] if out is None else out
    for n in nodes:
        out.append((depth, n))
        preorder(n.get("children", []), depth + 1, out)
    return out


def last_window(nodes, n_last):
    """--last N: the last N calls by entry, with the calls around them whose
    entry came before the window as partial nodes."""
    order = [id(n) for _, n in preorder(nodes)]
    keep = set(order[-n_last:])

    def cut(ns):
        out = []
        for n in ns:
            kids = cut(n.get("children", []))
            if id(n) in keep:
                out.append((n["function"], bool(n.get("partial")), kids))
            elif kids:
                out.append((n["function"], True, kids))
        return out
    return cut(nodes)


def test_last(lua_twice):
    """--last: the interpreter's last 5000 calls, ending with its exit."""
    truth, (full, last) = lua_twice([SCRIPTS / "lua_work.lua", 14], [], ["--last", "5000"])
    counts.check(full, truth, min_calls=20_000)
    want = {tid: last_window(t["root_calls"], 5000) for tid, t in full["call_trees"].items()}
    got = thread_shapes(last)
    assert got.keys() == want.keys()
    for tid in want:
        assert got[tid] == want[tid], first_diff(got[tid], want[tid])


def entered(n):
    """the call's entry was seen (not a call already running at the attach)"""
    return "start_ns" in n and not (n.get("partial") and "entry" in n.get("partial_reason", ""))


def kept_if(nodes, keep):
    """--keep-if: the calls keep(n) holds for, whole, with their ancestors;
    an ancestor keeps only the children that lead to a kept call. Calls
    already running at the attach are context, always kept."""
    out = []
    for n in nodes:
        if keep(n):
            out.append(n)
            continue
        kids = kept_if(n.get("children", []), keep)
        if kids or not entered(n):
            out.append(dict(n, children=kids))
    return out


def test_keep_if_retval(lua_twice):
    """--keep-if on the return value: the protected calls (pcall's
    luaD_rawrunprotected) that caught an error, whole, with their callers."""
    fn = "luaD_rawrunprotected"
    truth, (full, kept) = lua_twice([SCRIPTS / "lua_errors.lua", 60, 10],
                                    ["--retval", "--capture", fn],
                                    ["--keep-if", f"{fn}: retval != 0"])
    counts.check(full, truth, min_calls=20_000)

    def keep(n):
        rv = n.get("return_value")
        return n["function"] == fn and rv is not None and rv["value"] != 0
    want = {tid: shape(kept_if(t["root_calls"], keep)) for tid, t in full["call_trees"].items()}
    want = {tid: s for tid, s in want.items() if s}
    assert want, "no protected call caught an error"
    got = thread_shapes(kept)
    assert got.keys() == want.keys()
    for tid in want:
        assert got[tid] == want[tid], first_diff(got[tid], want[tid])

def subtree_of(nodes, names):
    """--subtree: each outermost call of a named function whose entry was
    seen, with everything under it; the rest of the tree is gone."""
    out = []
    for n in nodes:
        if n["function"] in names and entered(n):
            out.append(n)
        else:
            out += subtree_of(n.get("children", []), names)
    return out


def test_subtree(lua_twice):
    """--subtree on an error path (luaG_errormsg ends in luaD_throw's
    longjmp out of the subtree) and on table growth (luaH_resize)."""
    names = {"luaG_errormsg", "luaH_resize"}
    truth, (full, sub) = lua_twice([SCRIPTS / "lua_errors.lua", 60, 10], [],
                                   [o for f in sorted(names) for o in ("--subtree", f)])
    counts.check(full, truth, min_calls=20_000)
    want = {tid: shape(subtree_of(t["root_calls"], names))
            for tid, t in full["call_trees"].items()}
    want = {tid: s for tid, s in want.items() if s}
    assert sum(len(s) for s in want.values()) > 100
    assert thread_shapes(sub) == want



def callers_of(nodes, names):
    """--caller: each call of a named function (entry seen) and the chain
    of calls that led to it, not its callees unless they lead to another;
    calls already running at the attach are kept (BPF cannot know whether
    they lead to a match), as context."""
    out = []
    for n in nodes:
        kids = callers_of(n.get("children", []), names)
        if (n["function"] in names and entered(n)) or kids or not entered(n):
            out.append(dict(n, children=kids))
    return out


def test_caller(lua_twice):
    """--caller on table growth: every luaH_resize with the calls that led
    to it, from the interpreter's main loop down."""
    names = {"luaH_resize"}
    truth, (full, calls) = lua_twice([SCRIPTS / "lua_work.lua", 14], [],
                                     ["--caller", "luaH_resize"])
    counts.check(full, truth, min_calls=20_000)
    want = {tid: shape(callers_of(t["root_calls"], names))
            for tid, t in full["call_trees"].items()}
    assert sum(1 for t in full["call_trees"].values() for n in counts.counts_walk(t["root_calls"])
               if n["function"] == "luaH_resize") > 50
    assert thread_shapes(calls) == want


def convert_json(trace, ctrace, *opts):
    """ctrace-bpf convert CTRACE --to json OPTS, parsed"""
    import json
    p = subprocess.run([str(trace.binary), "convert", str(ctrace), "--to", "json",
                        *map(str, opts)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout)


def one_record(lua_twice, trace, tmp_path, script_args, *opts):
    """ONE tracer on lua with -o x.ctrace: (hook counts, full trace, the
    record). Filters applied to this one record see the same events, so
    they are compared exactly (two tracers' durations differ by the
    preemption between their programs)."""
    trace.ext = ".ctrace"
    truth, (full,) = lua_twice(script_args, list(opts))
    (ctrace,) = tmp_path.glob("trace-*.ctrace")
    return truth, full, ctrace


def min_duration_of(nodes, dur):
    """--min-duration's rule: long enough (or not timed: partial), or the
    caller of one that is; whole nodes, times and all"""
    out = []
    for n in nodes:
        kids = min_duration_of(n.get("children", []), dur)
        if n.get("partial") or n.get("duration_ns") is None or n["duration_ns"] >= dur or kids:
            out.append(dict(n, children=kids))
    return out


def count_nodes(nodes):
    return sum(1 + count_nodes(n.get("children", [])) for n in nodes)


def same_threads(got, want, full):
    """node for node, and every call accounted for"""
    assert got["call_trees"].keys() == want.keys()
    for tid, roots in want.items():
        t = got["call_trees"][tid]
        assert t["root_calls"] == roots, first_diff(shape(t["root_calls"]), shape(roots))
        assert t["total_calls"] == count_nodes(roots)
    f = got["metadata"]["filtered"]
    assert got["metadata"]["total_calls"] + f["min_duration_dropped"] + f["keep_if_dropped"] == \
        full["metadata"]["total_calls"]


def test_min_duration_exact(lua_twice, trace, tmp_path):
    """convert --min-duration 20us of one record is that record's full trace
    filtered offline by the rule, node for node with identical times."""
    truth, full, ctrace = one_record(lua_twice, trace, tmp_path,
                                     [SCRIPTS / "lua_errors.lua", 60, 10])
    counts.check(full, truth, min_calls=20_000)
    got = convert_json(trace, ctrace, "--min-duration", "20us")
    want = {tid: min_duration_of(t["root_calls"], 20_000)
            for tid, t in full["call_trees"].items()}
    same_threads(got, want, full)
    # the JSON of the same record, filtered: the same document
    assert convert_json(trace, ctrace.with_suffix(".json"), "--min-duration", "20us") == got
    kept = sum(count_nodes(r) for r in want.values())
    assert 0 < kept < full["metadata"]["total_calls"] // 2
    assert got["metadata"]["filtered"]["min_duration_ns"] == 20_000


def test_keep_if_exact(lua_twice, trace, tmp_path):
    """convert --keep-if on the duration or the return value of
    luaD_rawrunprotected (pcall's), on one record made with -r --capture."""
    fn = "luaD_rawrunprotected"
    truth, full, ctrace = one_record(lua_twice, trace, tmp_path,
                                     [SCRIPTS / "lua_errors.lua", 60, 10], "-r", "--capture", fn)
    counts.check(full, truth, min_calls=20_000)
    rule = f"{fn}: duration > 20us || retval != 0"

    def cond(n):
        """three-valued, as the tracer tells it: None cannot be told"""
        rv = n.get("return_value")
        long = None if n.get("partial") else n["duration_ns"] > 20_000
        fails = None if rv is None else rv["value"] != 0
        return True if long or fails else None if long is None or fails is None else False

    def keep(n):
        return n["function"] == fn and entered(n) and cond(n) is True
    got = convert_json(trace, ctrace, "--keep-if", rule)
    want = {tid: kept_if(t["root_calls"], keep) for tid, t in full["call_trees"].items()}
    same_threads(got, want, full)
    assert convert_json(trace, ctrace.with_suffix(".json"), "--keep-if", rule) == got
    calls = [n for t in full["call_trees"].values() for _, n in preorder(t["root_calls"])
             if n["function"] == fn]
    f = got["metadata"]["filtered"]
    assert f["keep_if"] == [rule]
    assert f["keep_if_kept"] == sum(keep(n) for n in calls) > 10
    assert f["keep_if_unreadable"] == sum(not entered(n) or cond(n) is None for n in calls)
    assert any(n["return_value"]["value"] != 0 for n in calls if keep(n))
    assert any(n["return_value"]["value"] == 0 for n in calls if keep(n))


def first_diff(a, b, path=()):
    """where two shapes first differ (debugging aid for assertion messages)"""
    for i, (x, y) in enumerate(zip(a, b)):
        if x[:2] != y[:2]:
            return path + (i,), x[:2], y[:2]
        d = first_diff(x[2], y[2], path + (x[0],))
        if d:
            return d
    if len(a) != len(b):
        return path, len(a), len(b)
    return None
