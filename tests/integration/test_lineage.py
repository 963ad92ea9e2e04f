"""Thread lineage: each thread's "created_by" (its creator, and the traced
call open in the creator at the clone), on tests/progs/lineage.c, whose thread
tree is known (a pool, a thread that creates threads, one created before any
traced call), and on forker.c under --follow-forks; carried through the
.ctrace, JSONL, `report` and Perfetto."""
import json
import re
import subprocess

import pytest

from calltree import main_thread
from harness import wait_attached
from test_perfetto import decode, one, protoc  # noqa: F401 (a fixture)

PROBES = ["preload", "callsite"]


def tids(stdout):
    return {name: int(t) for name, t in re.findall(r"^(\S+) tid=(\d+)$", stdout, re.M)}


def tree_of(doc, tid):
    (t,) = [t for t in doc["call_trees"].values() if t["thread_id"] == tid]
    return t


def node(tree, *path):
    """the node at path (function, index among its siblings of that name)"""
    nodes = tree["root_calls"]
    for fn, k in path:
        n = [x for x in nodes if x["function"] == fn][k]
        nodes = n.get("children", [])
    return n


def made_in(cb, creator, call, path):
    """cb says creator made it in call (a node), whose open calls are path"""
    assert cb["thread_id"] == creator
    assert cb["call"] == {"function": call["function"], "module": call["module"],
                          "start_ns": call["start_ns"], "path": path, "path_complete": True}
    assert call["start_ns"] <= cb["time_ns"] <= call["end_ns"]


def check_lineage(doc, t):
    main = tree_of(doc, t["main"])
    assert main["created_by"] is None  # created before tracing: by the launcher
    for k in range(3):
        made_in(tree_of(doc, t[f"pool-{k}"])["created_by"], t["main"],
                node(main, ("main", 0), ("spawn_pool", 0), ("make_worker", k)),
                ["main", "spawn_pool", "make_worker"])
    made_in(tree_of(doc, t["outer"])["created_by"], t["main"],
            node(main, ("main", 0), ("spawn_outer", 0)), ["main", "spawn_outer"])
    outer = tree_of(doc, t["outer"])
    for k in range(2):
        made_in(tree_of(doc, t[f"inner-{k}"])["created_by"], t["outer"],
                node(outer, ("outer_body", 0), ("make_inner", k)), ["outer_body", "make_inner"])
    early = tree_of(doc, t["early"])["created_by"]
    assert early["thread_id"] == t["outer"] and early["call"] is None
    assert early["call_unavailable"] == "no traced call was open in the creator"
    assert len(doc["call_trees"]) == 8


@pytest.mark.parametrize("probe", PROBES)
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
@pytest.mark.parametrize("ext", [".json", ".ctrace"])
def test_thread_tree(build, tracer, procs, tmp_path, opt, probe, ext):
    """Every thread's creator and creating call, exactly: the pool's threads
    each by its own make_worker call, the nested ones by outer's make_inner
    calls, and one created where no traced call was open."""
    from conftest import Tracer
    trace = Tracer(tracer, procs, tmp_path, ext=ext)
    proc, doc = trace([build("lineage.c", opt)], "--probe", probe)
    assert proc.returncode == 0, proc.stderr
    assert doc["metadata"]["lost_events"] == 0
    check_lineage(doc, tids(proc.stdout))


def test_forks(build, trace):
    """--follow-forks: each child process's thread was created by the parent's
    thread, in its k-th spawn call; without it no child and no lineage."""
    exe = build("forker.c", "-O0")
    proc, doc = trace([exe, "fork", 3], "--follow-forks")
    assert proc.returncode == 0, proc.stderr
    kids = {int(k): int(p) for k, p in re.findall(r"^child (\d+) pid=(\d+)$", proc.stdout, re.M)}
    main = main_thread(doc)
    assert main["created_by"] is None
    for k, pid in kids.items():
        t = tree_of(doc, pid)
        made_in(t["created_by"], main["thread_id"],
                node(main, ("main", 0), ("spawn", k)), ["main", "spawn"])
    proc, doc = trace([exe, "fork", 2])
    assert proc.returncode == 0, proc.stderr
    assert [t["created_by"] for t in doc["call_trees"].values()] == [None]


def test_carried_through(build, trace, tracer, procs, protoc, tmp_path):
    """JSONL keeps it among the thread's other members; `report` says it;
    Perfetto has a flow from an instant in the creating call's slice, on the
    creator's track, to an instant on the new thread's track."""
    proc, doc = trace([build("lineage.c", "-O0")])
    assert proc.returncode == 0, proc.stderr
    t = tids(proc.stdout)
    src = trace.output()
    src.write_text(json.dumps(doc))
    jl = tmp_path / "t.jsonl"
    r = procs.run([tracer, "convert", src, "--to", "jsonl", "-o", jl], timeout=60)
    assert r.returncode == 0, r.stderr
    ends = [json.loads(l) for l in jl.read_text().splitlines() if '"thread_end"' in l]
    assert {e["thread_id"]: e["more"]["created_by"] for e in ends} == \
        {tr["thread_id"]: tr["created_by"] for tr in doc["call_trees"].values()}

    for inp in (src, jl):
        r = procs.run([tracer, "report", "--threads", inp], timeout=60)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines.count(f"  created by thread {t['main']} in main > spawn_pool > make_worker") == 3
        assert lines.count(f"  created by thread {t['outer']} in outer_body > make_inner") == 2
        assert f"  created by thread {t['outer']} (its call: no traced call was open in the " \
            "creator)" in lines

    pt = tmp_path / "t.pftrace"
    r = procs.run([tracer, "convert", jl, "--to", "perfetto", "-o", pt], timeout=60)
    assert r.returncode == 0, r.stderr
    pf = decode(protoc, pt)
    track = {one(th, "tid"): u for u, (_, th) in pf.threads.items()}
    instants = pf.of_type("TYPE_INSTANT")
    starts = {e[5]["flow_ids"][0]: e for e in instants if e[4].startswith("created thread ")}
    ends = [e for e in instants if e[4].startswith("created by thread ")]
    assert len(starts) == len(ends) == 7
    for e in ends:
        s = starts[e[5]["terminating_flow_ids"][0]]
        child = int(s[4].split()[-1])
        cb = tree_of(doc, child)["created_by"]
        assert e[2] == track[child] and s[2] == track[cb["thread_id"]]
        assert e[0] == s[0] == cb["time_ns"]
        fn = cb["call"]["function"] if cb["call"] else "(not known)"
        assert e[4] == f"created by thread {cb['thread_id']} in {fn}"


def test_attach(build, trace, procs, tmp_path):
    """Attached while main runs: main's calls before the attach are not in
    the paths (path_complete false); a thread created after the attach has
    all its calls seen, so where it had none open that is said, not guessed."""
    go = tmp_path / "go"
    target = procs.popen([build("lineage.c", "-O2"), go], stdout=subprocess.PIPE,
                         encoding="utf-8")
    assert target.stdout.readline() == "ready\n"
    tracer, out = trace.start(["-p", target.pid])
    wait_attached(tracer)
    go.touch()
    proc, doc = trace.finish(tracer, out)
    assert proc.returncode == 0, proc.stderr
    t = tids(target.stdout.read())
    assert target.wait(timeout=10) == 0
    assert doc["metadata"]["lost_events"] == 0
    main = tree_of(doc, t["main"])
    assert main["created_by"] is None
    (m,) = main["root_calls"]
    assert m["function"] == "main" and m["partial"]
    for k in range(3):
        cb = tree_of(doc, t[f"pool-{k}"])["created_by"]
        call = node(main, ("main", 0), ("spawn_pool", 0), ("make_worker", k))
        assert cb["thread_id"] == t["main"]
        assert cb["call"] == {"function": "make_worker", "module": "lineage",
                              "start_ns": call["start_ns"], "path": ["spawn_pool", "make_worker"],
                              "path_complete": False}
    cb = tree_of(doc, t["outer"])["created_by"]
    assert cb["call"]["path"] == ["spawn_outer"] and cb["call"]["path_complete"] is False
    outer = tree_of(doc, t["outer"])
    for k in range(2):
        made_in(tree_of(doc, t[f"inner-{k}"])["created_by"], t["outer"],
                node(outer, ("outer_body", 0), ("make_inner", k)), ["outer_body", "make_inner"])
    early = tree_of(doc, t["early"])["created_by"]
    assert early["call"] is None
    assert early["call_unavailable"] == "no traced call was open in the creator"


def test_depth_limit_and_exclusion(build, trace):
    """The creating call is the innermost one the trace records: with -D 1
    the outermost (main, outer_body), with make_worker excluded its caller."""
    exe = build("lineage.c", "-O2")
    proc, doc = trace([exe], "-D", "1")
    assert proc.returncode == 0, proc.stderr
    t = tids(proc.stdout)
    main = tree_of(doc, t["main"])
    for k in range(3):
        made_in(tree_of(doc, t[f"pool-{k}"])["created_by"], t["main"], node(main, ("main", 0)),
                ["main"])
    outer = tree_of(doc, t["outer"])
    made_in(tree_of(doc, t["inner-1"])["created_by"], t["outer"], node(outer, ("outer_body", 0)),
            ["outer_body"])
    proc, doc = trace([exe], "-N", "make_worker")
    assert proc.returncode == 0, proc.stderr
    t = tids(proc.stdout)
    main = tree_of(doc, t["main"])
    for k in range(3):
        made_in(tree_of(doc, t[f"pool-{k}"])["created_by"], t["main"],
                node(main, ("main", 0), ("spawn_pool", 0)), ["main", "spawn_pool"])
