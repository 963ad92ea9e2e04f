"""--probe batch (issue 15): the hooks buffer calls per thread and BPF copies
the buffers. Calls still pending in a buffer (fewer than it holds) must reach
the trace whatever ends them: a crash with several threads, SIGKILL, an exec
after a fork; a storm of signals whose handler makes traced calls while the
thread recurses keeps every tree exact. Counts come from tests/progs/batchy.c,
by construction. The whole suite runs in this mode with
CTRACE_TEST_PROBE=batch (conftest.py)."""
import collections
import os
import re
import signal
import subprocess
import time

import pytest

import expected as ex

PROGS = __import__("conftest").PROGS


def counts(tree):
    c = collections.Counter()

    def walk(n):
        c[n["function"]] += 1
        if n.get("partial"):
            c["partial"] += 1
        for k in n.get("children", []):
            walk(k)
    for n in tree["root_calls"]:
        walk(n)
    return c


def partial_reasons(tree):
    out = []

    def walk(n):
        if n.get("partial"):
            out.append(n.get("partial_reason", ""))
        for k in n.get("children", []):
            walk(k)
    for n in tree["root_calls"]:
        walk(n)
    return out


def clean(doc):
    md = doc["metadata"]
    assert md["lost_events"] == 0 and md["resyncs"] == 0
    assert md["options"]["probe_mode"] == "batch"


@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
def test_crash_with_pending_calls_in_several_threads(build, trace, opt):
    proc, doc = trace([build("batchy.c", opt), "crash", 4, 300], "--probe", "batch")
    assert proc.returncode == 128 + signal.SIGSEGV, proc.stderr
    clean(doc)
    assert doc["crash"]["signal"] == signal.SIGSEGV
    trees = doc["call_trees"].values()
    assert len(trees) == 5
    for t in trees:
        c = counts(t)
        main = t["thread_id"] == doc["metadata"]["pid"]
        assert c["work"] == 300 and c["leaf"] == 300
        assert c["boom"] == (1 if main else 0)
        assert c["partial"] == c["boom"]   # boom, open when it crashed


def test_sigkill_of_the_target(build, trace):
    p, out = trace.start(["--probe", "batch"], [build("batchy.c"), "kill", 500])
    line = p.stdout.readline()
    pid = int(re.match(r"ready pid=(\d+)", line).group(1))
    trace.procs.adopt(pid)
    os.kill(pid, signal.SIGKILL)
    proc, doc = trace.finish(p, out)
    assert doc is not None, proc.stderr
    clean(doc)
    assert doc["metadata"]["exit_signal"] == signal.SIGKILL
    (t,) = doc["call_trees"].values()
    c = counts(t)
    assert c["work"] == 500 and c["leaf"] == 500 and c["partial"] == 0


def test_sigkill_of_the_tracer_leaves_the_target_running(build, trace):
    """the target fills buffers faster than the tracer drains them, so BPF
    stops it for room now and then: killed, the tracer must not leave it
    stopped (its guard continues it)"""
    p, out = trace.start(["--probe", "batch"], [build("batchy.c", "-O2"), "busy", 200000])
    pid = int(re.match(r"busy pid=(\d+)", p.stdout.readline()).group(1))
    trace.procs.adopt(pid)
    time.sleep(0.3)
    p.send_signal(signal.SIGKILL)
    # the target holds the pipe until it ends
    rest = trace.procs.communicate(p, 60, what="the target, once the tracer was killed")
    assert rest.stdout == "done\n"
    assert not out.exists()


@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
def test_signal_storm_during_deep_recursion(build, trace, opt):
    depth, reps = 200, 1500
    proc, doc = trace([build("batchy.c", opt), "storm", depth, reps], "--probe", "batch",
                      timeout=120)
    assert proc.returncode == 0, proc.stderr
    handled = int(re.search(r"handled=(\d+)", proc.stdout).group(1))
    assert handled > 0
    md = doc["metadata"]
    main = [t for t in doc["call_trees"].values() if t["thread_id"] == md["pid"]][0]
    c = counts(main)
    if md["lost_events"]:
        # A loaded machine (CI) can fill the ring buffer where BPF may not
        # stop the thread for room (inside a handler): a loss, counted, and
        # every gap it leaves says so; never a resynchronisation.
        assert md["resyncs"] == 0
        assert c["recurse"] <= (depth + 1) * reps and c["handler"] <= handled
        assert all("events lost" in r for r in partial_reasons(main)), partial_reasons(main)
        return
    clean(doc)
    assert c["recurse"] == (depth + 1) * reps
    assert c["handler"] == handled and c["on_signal"] == handled
    assert c["partial"] == 0


def test_fork_and_exec_with_pending_calls(build, trace):
    proc, doc = trace([build("batchy.c"), "fork", 300], "--probe", "batch", "--follow-forks")
    assert proc.returncode == 0, proc.stderr
    clean(doc)
    by = {}
    for key, t in doc["call_trees"].items():
        c = counts(t)
        by[key] = {k: v for k, v in c.items() if v}
    parent = str(doc["metadata"]["pid"])
    # the parent's calls before the fork are its own, not the child's too
    assert by.pop(parent) == {"work": 600, "leaf": 600}
    assert sorted(by.values(), key=str) == [{"after_exec": 300}, {"child_work": 300}]


@pytest.mark.parametrize("end", ["exec", "exit"])
@pytest.mark.parametrize("follow", [False, True])
def test_vfork_child_calls_are_not_the_parents(build, trace, end, follow):
    """A vfork child shares its parent's memory, and so appends to the
    parent's buffer: its calls (more than the buffer holds) are its own, or
    untraced without --follow-forks, never the parent's, and the parent's
    depth after its vfork is its own."""
    n = 6000
    argv = [build("batchy.c"), "vfork", n] + (["exit"] if end == "exit" else [])
    proc, doc = trace(argv, "--probe", "batch", *(["--follow-forks"] if follow else []))
    assert proc.returncode == 0, proc.stderr
    clean(doc)
    parent = str(doc["metadata"]["pid"])
    trees = dict(doc["call_trees"])
    ptree = trees.pop(parent)
    assert {k: v for k, v in counts(ptree).items() if v} == {"work": 2 * n, "leaf": 2 * n,
                                                             "spawn": 1}
    assert [r["function"] for r in ptree["root_calls"]] == ["work"] * n + ["spawn"] + ["work"] * n
    if not follow:
        assert trees == {}
        return
    got = sorted(({k: v for k, v in counts(t).items() if v} for t in trees.values()), key=str)
    child = {"child_work": n, "child_exec": 1, "partial": 1}
    assert got == sorted([child, {"after_exec": n}] if end == "exec" else [child], key=str)


@pytest.mark.parametrize("opts", [["--args", "--", "/bin/true"],
                                  ["--summary", "--", "/bin/true"], ["-p", "1"],
                                  ["--srcline", "--", "/bin/true"]])
def test_what_batch_refuses(tracer, procs, opts):
    proc = procs.run([tracer, "-o", "/dev/null", "--probe", "batch", *opts])
    assert proc.returncode != 0
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "--probe batch" in err[0], proc.stderr


def shape(nodes):
    return [(n["function"], shape(n.get("children", []))) for n in nodes]


@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
def test_calls_in_constructors_and_destructors(build, trace, opt):
    """Hooks called before main (a library's constructor, maybe before the
    hooks library's own; the program's, which starts a thread) and after
    it (a destructor, after the main thread's last flush at exit)."""
    proc, doc = trace([build("ctors.c", opt, libs=["libctorlib.c"])], "--probe", "batch")
    assert proc.returncode == 0, proc.stderr
    clean(doc)
    trees = doc["call_trees"]
    main = trees.pop(str(doc["metadata"]["pid"]))
    assert shape(main["root_calls"]) == [
        ("lib_ctor", [("lib_init_work", [])] * 3),
        ("exe_ctor", [("ctor_work", [])] * 2),
        ("main", [("lib_fn", []), ("work", [])]),
        ("exe_dtor", [("dtor_work", [])] * 2)]
    (thread,) = trees.values()
    assert shape(thread["root_calls"]) == [("thread_work", [])] * 5
    assert thread["created_by"]["call"]["function"] == "exe_ctor"


# ---- -F/-N: the check is in the hook --------------------------------------

def offline(nodes, keep):
    """The full trace's nodes as the filter would record them: an unselected
    call's children move up to its nearest selected caller."""
    out = []
    for n in nodes:
        if keep(n["function"]):
            out.append((n["function"], bool(n.get("partial")), offline(n["children"], keep)))
        else:
            out.extend(offline(n["children"], keep))
    return tuple(out)


def per_thread(doc, keep):
    return sorted(repr(offline(t["root_calls"], keep)) for t in doc["call_trees"].values())


def swap_libs(tmp_path, opt):
    out = []
    for name in ("swap_a", "swap_b"):
        so = tmp_path / f"{name}.so"
        subprocess.run(["gcc", opt, "-g", "-finstrument-functions", "-fPIC", "-shared",
                        f"-I{PROGS}", "-o", str(so), str(PROGS / f"{name}.c")], check=True)
        out.append(so)
    return out


FILTER_CASES = [
    ("F", ["-F", "alpha_inner", "-F", "mid", "-F", "call_lib", "-F", "child_work"],
     lambda f: f in ("alpha_inner", "mid", "call_lib", "child_work")),
    # beta_inner sits where alpha_inner sat: the set follows the map
    ("F-beta", ["-F", "beta_*", "-F", "top", "-F", "main"],
     lambda f: f.startswith("beta_") or f in ("top", "main")),
    ("N", ["-N", "beta_inner", "-N", "leaf", "-N", "libs"],
     lambda f: f not in ("beta_inner", "leaf", "libs")),
]


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
@pytest.mark.parametrize("case", FILTER_CASES, ids=[c[0] for c in FILTER_CASES])
def test_filtered_is_full_filtered_offline(build, trace, tmp_path, opt, case):
    """A filtered batch trace is the full batch trace filtered: the same
    nodes, nesting and counts, with libraries dlopen'd and closed, another
    mapped at their addresses, and a forked child (--follow-forks) that
    changes its own map."""
    _, opts, keep = case
    a, b = swap_libs(tmp_path, opt)
    argv = [build("filtmix.c", opt, extra=("-ldl",)), a, b]
    _, full = trace(argv, "--probe", "batch", "--follow-forks")
    proc, doc = trace(argv, "--probe", "batch", "--follow-forks", *opts)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "p1=611\nchild=124\np2=1199\n"
    clean(doc)
    clean(full)
    assert len(doc["metadata"]["processes"]) == len(full["metadata"]["processes"]) == 2
    want = per_thread(full, keep)
    assert per_thread(doc, lambda f: True) == want
    assert doc["metadata"]["total_calls"] == sum(
        1 for t in full["call_trees"].values() for _ in walk(t["root_calls"], keep)) > 0


def walk(nodes, keep):
    for n in nodes:
        if keep(n["function"]):
            yield n
        yield from walk(n["children"], keep)


@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
def test_filtered_calls_in_constructors(build, trace, opt):
    """The filter holds from an image's first call, a library's constructor
    before the program's entry point: the hooks wait for their set there."""
    proc, doc = trace([build("ctors.c", opt, libs=["libctorlib.c"])], "--probe", "batch",
                      "-F", "*work", "-F", "main")
    assert proc.returncode == 0, proc.stderr
    clean(doc)
    trees = doc["call_trees"]
    main = trees.pop(str(doc["metadata"]["pid"]))
    assert shape(main["root_calls"]) == (
        [("lib_init_work", [])] * 3 + [("ctor_work", [])] * 2 +
        [("main", [("work", [])])] + [("dtor_work", [])] * 2)
    (thread,) = trees.values()
    assert shape(thread["root_calls"]) == [("thread_work", [])] * 5


def test_fork_of_a_forked_child(build, trace):
    """a child that forks before its buffer was ever copied (dash's `$( (exit
    4) )`, found by the real-program tier): the grandchild's calls, fewer
    than a buffer, must all be there"""
    proc, doc = trace([build("forkfork.c"), 50], "--probe", "batch", "--follow-forks")
    assert proc.returncode == 0, proc.stderr
    clean(doc)
    pids = {p["pid"]: p["parent_pid"] for p in doc["metadata"]["processes"]}
    assert len(pids) == 3, pids
    by = {t["pid"]: {k: v for k, v in counts(t).items() if v}
          for t in doc["call_trees"].values()}
    main = doc["metadata"]["pid"]
    (child,) = [p for p, pp in pids.items() if pp == main]
    (grand,) = [p for p, pp in pids.items() if pp == child]
    assert by == {main: {"work": 50, "after": 50}, child: {"child_work": 50, "after": 50},
                  grand: {"grand_work": 50}}, by


def test_siglongjmp_out_of_a_handler_storm(build, trace):
    """signals whose handler leaves by siglongjmp land anywhere, also between
    an append's slot and its write: that append is never finished. Its one
    record may be missing, counted lost (at most one per jump), and nothing
    else: no record behind it waits for it, none is read at a wrong depth."""
    proc, doc = trace([build("jumpstorm.c", "-O2"), 200000], "--probe", "batch", "-b", "64M",
                      timeout=120)
    assert proc.returncode == 0, proc.stderr
    jumps = int(re.search(r"jumps=(\d+)", proc.stdout).group(1))
    md = doc["metadata"]
    (t,) = [t for t in doc["call_trees"].values() if t["thread_id"] == md["pid"]]
    c = counts(t)
    assert md["resyncs"] == 0
    assert md["lost_events"] <= jumps, (jumps, md["lost_events"])
    assert c["handler"] == jumps and c["on_signal"] == jumps, (jumps, c)
    reasons = {part for r in partial_reasons(t) for part in r.split("; ")}
    assert reasons <= {"exit not observed (left by longjmp)", "exit not observed (events lost)",
                       "entry not observed (events lost)"}, reasons
    assert md["lost_events"] or reasons <= {"exit not observed (left by longjmp)"}
