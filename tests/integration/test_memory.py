"""--memory: allocations attributed to the call open in the allocating
thread, per node ("memory", a thread's "root_memory") and the blocks never
freed by the stack that made them ("leaks"), on tests/progs/allocs.c and
allocs_cxx.cc, whose allocations are known: sizes, deliberate leaks, a realloc
chain, free(NULL), the aligned allocators, blocks freed by another thread, C++
new/delete (which call malloc/free themselves: counted once), and blocks made
before an attach (never leaks). Launch-mode tests run with the per-event
probes and with --probe batch, whose BPF copies the thread's buffered calls
before each ALLOC/FREE record: the same attribution either way."""
import json
import re
import subprocess

import pytest

from conftest import Tracer
from harness import wait_attached
from test_perfetto import convert, decode, one, protoc  # noqa: F401 (a fixture)

PROBES = ["preload", "callsite", "batch"]


@pytest.fixture(params=["preload", "batch"])
def launch(request):
    """the probe options of a launch-mode test: both kinds of hooks"""
    return ["--probe", request.param]


def mem(alloc_bytes, allocs, frees, free_bytes):
    return {"allocs": allocs, "alloc_bytes": alloc_bytes, "frees": frees,
            "free_bytes": free_bytes}


# allocs.c's calls under main: (function, its "memory"), in order
BASIC = [
    ("known", mem(300, 2, 2, 300)),           # malloc 100 + calloc 10x20; free(NULL) is none
    ("leak_a", mem(1000, 1, 0, 0)),
    ("leak_a", mem(1000, 1, 0, 0)),
    ("leak_b", mem(7, 1, 1, 7)),              # make_block's 50 are its own
    ("grow", mem(16 + 32 + 262144, 3, 2, 48)),  # realloc: a free and an allocation
    ("release", mem(0, 0, 1, 262144)),
    ("leaky_grow", mem(8 + 24, 2, 1, 8)),
    ("aligned", mem(128 + 256 + 64, 3, 3, 448)),
]
LEAKS = [(2000, 2, ["main", "leak_a"]), (50, 1, ["main", "leak_b", "make_block"]),
         (24, 1, ["main", "leaky_grow"])]


def main_calls(doc):
    (t,) = [t for t in doc["call_trees"].values() if t["root_calls"]
            and t["root_calls"][0]["function"] == "main"]
    return t["root_calls"][0]["children"]


def check_basic(doc):
    check_basic_calls(main_calls(doc))


def check_basic_calls(calls):
    got = [(c["function"], c.get("memory")) for c in calls if c["function"] in dict(BASIC)]
    assert got == BASIC
    (lb,) = [c for c in calls if c["function"] == "leak_b"]
    assert [(c["function"], c["memory"]) for c in lb["children"]] == \
        [("make_block", mem(50, 1, 0, 0))]


def all_leaks(doc):
    return [(s["bytes"], s["count"], s["stack"]) for s in doc["leaks"]["stacks"]]


def our_leaks(doc):
    """the leaks made under main's callees (main's own: the C library's, e.g.
    a thread's TLS block)"""
    return [(s["bytes"], s["count"], s["stack"]) for s in doc["leaks"]["stacks"]
            if len(s["stack"]) > 1]


@pytest.mark.parametrize("probe", PROBES)
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
@pytest.mark.parametrize("ext", [".json", ".ctrace"])
def test_known_allocations(build, tracer, procs, tmp_path, opt, probe, ext):
    """Each call's allocations and frees, exactly, and the leaks by stack,
    largest first."""
    trace = Tracer(tracer, procs, tmp_path, ext=ext)
    proc, doc = trace([build("allocs.c", opt)], "--memory", "--probe", probe)
    assert proc.returncode == 0, proc.stderr
    assert doc["metadata"]["lost_events"] == 0
    check_basic(doc)
    assert our_leaks(doc) == LEAKS
    assert doc["leaks"]["lost_events"] == 0
    assert "never freed: 2074 bytes in 4 blocks from 3 call stacks" in proc.stderr


def test_threads(build, trace, launch):
    """Blocks a worker allocated and main freed: allocations at the worker's
    call, frees at main's, and no leak."""
    proc, doc = trace([build("allocs.c"), "threads"], "--memory", *launch)
    assert proc.returncode == 0, proc.stderr
    check_basic(doc)
    (fm,) = [c for c in main_calls(doc) if c["function"] == "free_from_main"]
    assert fm["memory"] == mem(0, 0, 4, 4 * 33)
    (w,) = [t for t in doc["call_trees"].values() if t["root_calls"]
            and t["root_calls"][0]["function"] == "worker"]
    (ait,) = w["root_calls"][0]["children"]
    assert (ait["function"], ait["memory"]) == ("alloc_in_thread", mem(4 * 33, 4, 0, 0))
    assert our_leaks(doc) == LEAKS


def test_churn(build, trace, launch):
    """Allocations after runs of up to 40 calls, in two threads at once
    (--probe batch: each buffer wraps a dozen times, the hooks' flushes
    fall between the copies made at allocations): each block at the call
    that made it, each free at the callee that freed it."""
    proc, doc = trace([build("allocs.c", "-O2"), "churn"], "--memory", *launch)
    assert proc.returncode == 0, proc.stderr
    assert doc["metadata"]["lost_events"] == 0
    loops = [c for t in doc["call_trees"].values() for r in t["root_calls"]
             for c in (r["children"] if r["function"] == "main" else [r])
             if c["function"] == "churner"]
    assert len(loops) == 2
    for lp in loops:
        assert "memory" not in lp and len(lp["children"]) == 1000
        for i, c in enumerate(lp["children"]):
            size = 16 * (1 + i % 7)
            assert (c["function"], c["memory"]) == ("churn", mem(size, 1, 0, 0))
            kids = [(k["function"], k.get("memory")) for k in c["children"]]
            assert kids == [("pad", None)] * (i % 40 + 1) + \
                [("nested_free", mem(0, 0, 1, size))]
    assert doc["leaks"]["lost_events"] == 0
    assert our_leaks(doc) == LEAKS


def test_cxx_new_delete(build, trace, launch):
    """operator new/new[] and delete/delete[] (sized), seen through the
    malloc and free they call, once each."""
    proc, doc = trace([build("allocs_cxx.cc", "-O2")], "--memory", *launch)
    assert proc.returncode == 0, proc.stderr
    calls = main_calls(doc)
    assert [(c["function"], c.get("memory")) for c in calls] == [
        ("scalars()", mem(24 + 40, 2, 2, 64)), ("leak_obj()", mem(24, 1, 0, 0))]
    assert our_leaks(doc) == [(24, 1, ["main", "leak_obj()"])]


def test_attach_blocks_before(build, trace, procs, tmp_path):
    """Blocks made before the attach and freed after it: counted as frees
    of unseen blocks, never leaks; the rest as in launch mode."""
    go = tmp_path / "go"
    p = procs.popen([build("allocs.c"), "wait", go], stdout=subprocess.PIPE, encoding="utf-8")
    assert p.stdout.readline().startswith("waiting pid=")
    tp, out = trace.start(["-p", p.pid, "--memory"])
    wait_attached(tp)
    go.touch()
    proc, doc = trace.finish(tp, out)
    assert proc.returncode == 0, proc.stderr
    check_basic_calls(main_calls_attached(doc))
    (fe,) = [c for c in main_calls_attached(doc) if c["function"] == "free_early"]
    assert fe["memory"] == mem(0, 0, 5, 0)
    assert doc["leaks"]["frees_unseen"] >= 5
    # main was open before the attach: the stacks start below it
    assert [(b, n, st) for b, n, st in all_leaks(doc) if st not in ([], ["main"])] == \
        [(b, n, st[1:]) for b, n, st in LEAKS]
    assert sum(s["bytes"] for s in doc["leaks"]["stacks"]) == doc["leaks"]["bytes"]


def main_calls_attached(doc):
    """attached inside main: its calls are at the root level, under a
    partial main"""
    (t,) = [t for t in doc["call_trees"].values() if t["root_calls"]]
    roots = t["root_calls"]
    if len(roots) == 1 and roots[0]["function"] == "main":
        return roots[0]["children"]
    return roots


def test_memory_errors(tracer, procs):
    """--memory with what attributes no allocation to whole trees: refused
    before anything is attached."""
    for opt in (["--summary"], ["--subtree", "main"], ["--last", "10"], ["--follow-forks"]):
        r = procs.run([tracer, "--memory", *opt, "--", "true"])
        assert r.returncode == 2, r.stderr
        assert "--memory" in r.stderr and r.stderr.count("\n") == 1


def test_formats(build, trace, procs, tracer, protoc, tmp_path, launch):
    """The same run's "memory" and "leaks" through JSONL (live and
    converted), `report` (per function, and the leaks' line) and Perfetto
    (the heap's size as a counter track, ending at the bytes never freed)."""
    exe = build("allocs.c")
    out = tmp_path / "t.jsonl"
    r = procs.run([tracer, "--memory", *launch, "-o", out, "--", exe])
    assert r.returncode == 0, r.stderr
    lines = [json.loads(l) for l in out.read_text().splitlines()]
    (leaks,) = [l["leaks"] for l in lines if l["type"] == "leaks"]
    assert [(s["bytes"], s["count"], s["stack"]) for s in leaks["stacks"]
            if len(s["stack"]) > 1] == LEAKS
    calls = {l["function"]: l.get("memory") for l in lines if l["type"] == "call"}
    assert calls["grow"] == dict(BASIC)["grow"] and calls["release"] == dict(BASIC)["release"]

    rep = procs.run([tracer, "report", out])
    assert rep.returncode == 0, rep.stderr
    rows = {m[5]: tuple(map(int, m.groups()[:4])) for m in re.finditer(
        r"^\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)  (\w+)$", rep.stdout.split("Alloc bytes")[1], re.M)}
    assert rows["leak_a"] == (2, 2000, 0, 0)
    assert rows["grow"] == (3, 16 + 32 + 262144, 2, 48)
    assert "never freed (--memory): 2074 bytes in 4 blocks from 3 call stacks" in rep.stdout

    pf = decode(protoc, convert(procs, tracer, out, tmp_path / "t.perfetto-trace"))
    (uuid,) = [u for u, (parent, name) in pf.children.items()
               if name == "heap bytes (--memory)"]
    assert pf.children[uuid][0] in pf.processes
    values = [(ts, one(te, "counter_value")) for ts, _, track, typ, _, te in pf.events
              if track == uuid]
    assert all(typ == "TYPE_COUNTER" for _, _, track, typ, _, _ in pf.events if track == uuid)
    assert [list(v) for v in values] == leaks["heap"]
    assert values[-1][1] == leaks["bytes"]
    assert max(v for _, v in values) >= 262144 + 2000


def test_cxx_new_throws(build, trace, launch):
    """A new that throws std::bad_alloc is caught as without tracing (no
    return probe on operator new to unwind through); the failed malloc is no
    allocation."""
    proc, doc = trace([build("allocs_cxx.cc", "-O2"), "throw"], "--memory", *launch)
    assert proc.returncode == 0, proc.stderr
    assert "caught bad_alloc" in proc.stdout
    calls = main_calls(doc)
    assert [c["function"] for c in calls] == ["scalars()", "leak_obj()", "too_big()"]
    assert our_leaks(doc) == [(24, 1, ["main", "leak_obj()"])]


def test_filtered_after_the_fact(build, tracer, procs, tmp_path):
    """convert --min-duration keeps a kept node's "memory", "source" and
    "call_site", and the "leaks": from the .ctrace and from its JSON, the
    same document. (--srcline: not with --probe batch.)"""
    prog = build("allocs.c", "-O2")
    rec = tmp_path / "m.ctrace"
    res = procs.run([tracer, "--memory", "--srcline", "-o", rec, "--", prog, "basic"],
                    timeout=60)
    assert res.returncode == 0, res.stderr
    full, a, b = (tmp_path / f"{n}.json" for n in ("full", "a", "b"))
    for args in ([rec, "-o", full], [rec, "--min-duration", "1ns", "-o", a],
                 [full, "--min-duration", "1ns", "-o", b]):
        res = procs.run([tracer, "convert", *args[:1], "--to", "json", *args[1:]], timeout=60)
        assert res.returncode == 0, res.stderr
    docs = [json.loads(p.read_text()) for p in (full, a, b)]
    assert docs[1] == docs[2]
    check_basic(docs[1])
    assert docs[1]["leaks"] == docs[0]["leaks"] and our_leaks(docs[1])
    assert all("call_site" in n and "source" in n for n in main_calls(docs[2]))
