"""Non-local exits at any depth (tests/progs/longjumps.c): exactly the frames
a jump leaves are closed as "left by longjmp", nothing else is partial, and
the calls after it nest where they really are. Inlined helpers (whose hooks
share their caller's stack pointer), every jump function, a signal handler
that leaves by siglongjmp, threads, attach mode, and a program that imports
longjmp but never jumps."""
import sys

import pytest

from calltree import is_partial, main_thread, thread_trees

sys.setrecursionlimit(max(sys.getrecursionlimit(), 100000))

LEFT = "exit not observed (left by longjmp)"


def check_dive(node, depth, jumping, kind):
    """The dive chain under one protected_call, checked level by level
    (iteratively: it may be 10,000 deep)."""
    for d in range(1, depth + 1):
        where = f"dive level {d} of {depth} ({'jumping' if jumping else 'returning'})"
        assert node["function"] == "dive", (where, node["function"])
        if jumping:
            assert node.get("partial_reason") == LEFT, (where, node.get("partial_reason"))
            assert node["end_ns"] is None, where
        else:
            assert not is_partial(node), (where, node.get("partial_reason"))
        names = [c["function"] for c in node["children"]]
        if d < depth:
            want = ["helper", "dive"] + ([] if jumping else ["helper"])
        else:
            want = ["helper"] + (["jump"] if jumping else [])
        assert names == want, (where, names)
        for c in node["children"]:
            if c["function"] == "helper":
                assert not is_partial(c) and c["children"] == [], where
        if d < depth:
            node = node["children"][1]
    if jumping:
        check_jump(node["children"][-1], kind)


def check_jump(node, kind):
    assert node.get("partial_reason") == LEFT, node.get("partial_reason")
    if kind != "signal":
        assert node["children"] == []
        return
    (handler,) = node["children"]
    assert handler["function"] == "on_usr1" and handler.get("partial_reason") == LEFT
    (work,) = handler["children"]
    assert work["function"] == "handler_work" and not is_partial(work) and work["children"] == []


def check_protected(node, depth, jumping, kind):
    assert node["function"] == "protected_call", node["function"]
    assert not is_partial(node), node.get("partial_reason")
    (dive,) = node["children"]
    check_dive(dive, depth, jumping, kind)


def check_worker(node, depth, calls, jumps, kind):
    assert node["function"] == "worker" and not is_partial(node)
    assert len(node["children"]) == calls
    for i, pc in enumerate(node["children"]):
        check_protected(pc, depth, i < jumps, kind)


def run(build, trace, opt, probe, depth, calls, jumps, kind="_longjmp", threads=0, extra=()):
    exe = build("longjumps.c", opt, extra=extra)
    proc, doc = trace([exe, depth, calls, jumps, kind, threads], "--probe", probe, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "done\n"
    md = doc["metadata"]
    assert md["lost_events"] == 0 and md["resyncs"] == 0
    (m,) = main_thread(doc)["root_calls"]
    assert m["function"] == "main" and not is_partial(m)
    assert [c["function"] for c in m["children"]] == ["worker"]
    check_worker(m["children"][0], depth, calls, jumps, kind)
    workers = [t for t in thread_trees(doc) if t["thread_id"] != md["pid"]]
    assert len(workers) == threads
    for t in workers:
        (w,) = t["root_calls"]
        check_worker(w, depth, calls, jumps, kind)
    jumped = 1 + depth + depth + 1 + (2 if kind == "signal" else 0)
    returned = 1 + depth + depth + (depth - 1)
    assert md["total_calls"] == 1 + (1 + threads) * (1 + jumps * jumped + (calls - jumps) * returned)
    return doc


@pytest.mark.parametrize("probe", ["preload", "callsite"])
@pytest.mark.parametrize("opt", ["-O0", "-O1", "-O2", "-O3"])
def test_jumps_at_depth_10(build, trace, opt, probe):
    """The issue's program: 60 protected calls 10 deep, the first 50 jump."""
    run(build, trace, opt, probe, 10, 60, 50)


@pytest.mark.parametrize("probe", ["preload", "callsite"])
def test_jumps_at_depth_100(build, trace, probe):
    run(build, trace, "-O2", probe, 100, 20, 15)


@pytest.mark.parametrize("kind", ["longjmp", "_longjmp", "siglongjmp", "signal"])
def test_every_jump_function(build, trace, kind):
    run(build, trace, "-O2", "preload", 12, 6, 4, kind)


def test_fortified_longjmp_chk(build, trace):
    """_FORTIFY_SOURCE turns longjmp into __longjmp_chk."""
    exe = build("longjumps.c", "-O2", extra=["-D_FORTIFY_SOURCE=2"])
    syms = open(exe, "rb").read()
    assert b"__longjmp_chk" in syms
    run(build, trace, "-O2", "callsite", 12, 6, 4, "longjmp", extra=["-D_FORTIFY_SOURCE=2"])


def test_jump_10000_deep(build, trace):
    run(build, trace, "-O2", "preload", 10000, 3, 2)


def test_threads_jump_on_their_own(build, trace):
    run(build, trace, "-O2", "preload", 30, 40, 25, "siglongjmp", threads=6)


@pytest.mark.parametrize("probe", ["preload", "callsite"])
def test_imports_longjmp_never_jumps(build, trace, probe):
    """The same program with no jump taken: an exact tree, no partial node."""
    doc = run(build, trace, "-O2", probe, 40, 30, 0)
    assert not any(is_partial(n) for t in thread_trees(doc) for n in _nodes(t))


def _nodes(tree):
    stack = list(tree["root_calls"])
    while stack:
        n = stack.pop()
        yield n
        stack.extend(n["children"])


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_attach_while_jumping(build, trace, procs, opt):
    """Attached to a program that jumps all the time (on two threads), with
    --retval: every protected_call seen whole has the shape its return value
    says (-1: the dive was left by the jump), and the calls the attach or
    the detach cut are the only other partial ones."""
    depth = 20
    exe = build("longjumps.c", opt)
    target = procs.popen([exe, depth, 10, 5, "_longjmp", 1, 0])
    proc, doc = trace.attach(target.pid, "--retval", "--duration", "1")
    assert proc.returncode == 0, proc.stderr
    assert doc["metadata"]["lost_events"] == 0 and doc["metadata"]["resyncs"] == 0
    whole = 0
    for t in thread_trees(doc):
        for n in _nodes(t):
            if n["function"] != "protected_call" or is_partial(n):
                continue
            rv = n["return_value"]["value"]
            assert rv in (-1, depth), rv
            check_protected(n, depth, rv == -1, "_longjmp")
            whole += 1
        # the cut ones: at most the call running at the attach, the one
        # running at the detach, and the loops around them
        cut = [n for n in _nodes(t) if is_partial(n) and n["function"] == "protected_call"]
        assert len(cut) <= 2, [c.get("partial_reason") for c in cut]
    assert whole > 100
