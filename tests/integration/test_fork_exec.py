"""Processes that change: fork with and without --follow-forks, exec of the
target (its image is traced when it is instrumented), and libraries loaded
with dlopen while attached."""
import re
import subprocess
import time

import pytest

from calltree import T, is_partial, main_thread, shape
from harness import wait_attached, wait_for

PROGS = __import__("conftest").PROGS
PROBES = ["preload", "callsite"]


def child_pids(stdout):
    return {int(k): int(p) for k, p in re.findall(r"^child (\d+) pid=(\d+)$", stdout, re.M)}


def statuses(stdout):
    return {int(k): int(s) for k, s in re.findall(r"^status (\d+)=(\d+)$", stdout, re.M)}


def processes(doc):
    return {p["pid"]: p for p in doc["metadata"]["processes"]}


def trees_of(doc, pid):
    return [t for t in doc["call_trees"].values() if t["pid"] == pid]


@pytest.mark.parametrize("probe", PROBES)
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_fork_without_follow(build, trace, opt, probe):
    """Children are ignored, and unharmed: they run their hooks and exit
    with their own status (a child of a preloaded target used to die of
    SIGSEGV: fork() does not copy the kernel's uprobe trampoline page)."""
    exe = build("forker.c", opt)
    proc, doc = trace([exe, "fork", 3], "--probe", probe)
    assert proc.returncode == 0, proc.stderr
    assert statuses(proc.stdout) == {0: 10, 1: 11, 2: 12}, proc.stdout
    md = doc["metadata"]
    assert [p["pid"] for p in md["processes"]] == [md["pid"]]
    assert md["threads"] == 1 and md["lost_events"] == 0
    (m,) = main_thread(doc)["root_calls"]
    assert shape(m) == T("main", T("spawn"), T("spawn"), T("spawn"), T("parent_done"))


@pytest.mark.parametrize("probe", PROBES)
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_fork_with_follow(build, trace, opt, probe):
    """Each child is its own process in the output, traced from its first
    instruction, with its parent and exit status."""
    exe = build("forker.c", opt)
    proc, doc = trace([exe, "fork", 3], "--probe", probe, "--follow-forks")
    assert proc.returncode == 0, proc.stderr
    assert statuses(proc.stdout) == {0: 10, 1: 11, 2: 12}, proc.stdout
    kids = child_pids(proc.stdout)
    md = doc["metadata"]
    ps = processes(doc)
    assert set(ps) == {md["pid"], *kids.values()}
    assert md["lost_events"] == 0 and md["threads"] == 4
    assert md["options"]["follow_forks"] is True
    (m,) = main_thread(doc)["root_calls"]
    assert shape(m) == T("main", T("spawn"), T("spawn"), T("spawn"), T("parent_done"))
    for k, pid in kids.items():
        p = ps[pid]
        assert p["parent_pid"] == md["pid"]
        assert p["exit_code"] == 10 + k and p["exit_signal"] is None
        assert isinstance(p["start_ns"], int) and p["end_ns"] >= p["start_ns"]
        (t,) = trees_of(doc, pid)
        assert t["thread_id"] == pid
        # spawn and main were entered before the fork and never return in
        # the child (_exit): only what the child itself called is there
        (w,) = t["root_calls"]
        assert shape(w) == T("child_work", *[T("leaf")] * (k + 1))
        assert not is_partial(w)
    assert md["total_calls"] == 5 + sum(2 + k for k in kids)


@pytest.mark.parametrize("probe", PROBES)
def test_exec_of_the_target(build, trace, probe):
    """The calls open at the exec never return: closed and marked. The new
    image gets a tree of its own under the same pid."""
    exe, new = build("forker.c", "-O2"), build("execd.c", "-O2")
    proc, doc = trace([exe, "exec", new], "--probe", probe)
    assert proc.returncode == 7, proc.stderr
    assert proc.stdout == "execd 7\n"
    md = doc["metadata"]
    pid = md["pid"]
    (p,) = md["processes"]
    assert [e["path"] for e in p["execs"]] == [str(new)]
    assert md["exit_code"] == 7 and md["lost_events"] == 0
    before, after = doc["call_trees"][str(pid)], doc["call_trees"][f"{pid}#2"]
    (m,) = before["root_calls"]
    assert shape(m) == T("main", T("go_exec"))
    for n in (m, m["children"][0]):
        assert is_partial(n) and "exec" in n["partial_reason"]
        assert n["end_ns"] is None
    assert after["pid"] == pid and after["thread_name"] == "execd"
    (m2,) = after["root_calls"]
    assert shape(m2) == T("main", *[T("exec_leaf")] * 7)
    assert not is_partial(m2) and m2["module"] == "execd"
    assert m2["start_ns"] >= p["execs"][0]["ts_ns"]


def test_exec_without_the_preload(build, trace):
    """An image exec'd with an empty environment does not load the preloaded
    hooks: it is probed at its call sites instead, and traced all the same."""
    exe, new = build("forker.c", "-O0"), build("execd.c", "-O0")
    proc, doc = trace([exe, "execenv", new], "--probe", "preload")
    assert proc.returncode == 7, proc.stderr
    pid = doc["metadata"]["pid"]
    assert doc["metadata"]["options"]["probe_mode"] == "preload"
    (m2,) = doc["call_trees"][f"{pid}#2"]["root_calls"]
    assert shape(m2) == T("main", *[T("exec_leaf")] * 7)


@pytest.mark.parametrize("probe", PROBES)
def test_fork_exec_with_args(build, trace, probe):
    """--args and --retval in the parent, and in the image the child exec'd:
    its plans are made for its own map (a generation of its own), exact."""
    exe, new = build("forker.c", "-O0"), build("execd.c", "-O0")
    proc, doc = trace([exe, "forkexec", new], "--probe", probe, "--follow-forks", "-a", "-r")
    assert proc.returncode == 0, proc.stderr
    assert statuses(proc.stdout) == {0: 5}
    (kid,) = child_pids(proc.stdout).values()
    ps = processes(doc)
    assert ps[kid]["exit_code"] == 5 and [e["path"] for e in ps[kid]["execs"]] == [str(new)]
    (m,) = main_thread(doc)["root_calls"]
    assert shape(m) == T("main", T("spawn_exec"), T("parent_done"))
    assert m["children"][0]["arguments"] == [
        {"name": "prog", "type": "const char *", "value": str(new),
         "address": m["children"][0]["arguments"][0]["address"]}]
    images = [t for t in trees_of(doc, kid) if t["root_calls"]]
    (t,) = images
    (m2,) = t["root_calls"]
    assert shape(m2) == T("main", *[T("exec_leaf")] * 5)
    assert m2["arguments"][0] == {"name": "argc", "type": "int", "value": 2}
    assert m2["return_value"] == {"type": "int", "value": 5}
    assert [n["arguments"] for n in m2["children"]] == \
        [[{"name": "i", "type": "int", "value": i}] for i in range(5)]
    assert all("return_value" not in n for n in m2["children"])   # void


def test_dlopen_while_attached(build, trace, procs, tmp_path):
    """Attach mode cannot stop the target (its parent would see the stop),
    so a library loaded with dlopen is probed as soon as the loader says
    so: its later calls are traced, under its own module."""
    plugin = tmp_path / "plugin_a.so"
    subprocess.run(["gcc", "-O0", "-g", "-finstrument-functions", "-fPIC", "-shared",
                    f"-I{PROGS}", "-o", str(plugin), str(PROGS / "plugin_a.c")], check=True)
    exe = build("dllater.c", "-O0", extra=("-ldl",))
    go = tmp_path / "go"
    target = procs.popen([exe, plugin, go], stdout=subprocess.PIPE, encoding="utf-8")
    assert target.stdout.readline() == "ready\n"
    tracer, out = trace.start(["-p", target.pid])
    wait_attached(tracer)
    time.sleep(0.2)
    go.touch()
    proc, doc = trace.finish(tracer, out)
    assert proc.returncode == 0, proc.stderr
    assert target.wait(timeout=10) == 0
    (m,) = main_thread(doc)["root_calls"]   # entered before the attach
    assert m["function"] == "main" and "already running" in m["partial_reason"]
    (u,) = m["children"]
    assert u["function"] == "use_plugin" and not is_partial(u)
    runs = u["children"]
    assert 20 <= len(runs) <= 40, len(runs)
    for r in runs:
        assert shape(r) == T("plug_run", T("plug_inner"))
        assert r["module"] == "plugin_a.so"
    assert doc["metadata"]["lost_events"] == 0


@pytest.mark.crash
@pytest.mark.parametrize("probe", PROBES)
def test_forked_child_crashes(build, trace, probe):
    """A forked child killed by a fault: its exit signal, and its own crash
    report in its process entry, with the call stack it died in; the
    target's own "crash" stays null."""
    exe = build("forker.c", "-O0")
    proc, doc = trace([exe, "forkcrash", 1], "--probe", probe, "--follow-forks", "-a")
    assert proc.returncode == 0, proc.stderr
    assert statuses(proc.stdout) == {0: 128 + 11}
    (kid,) = child_pids(proc.stdout).values()
    assert doc["crash"] is None
    p = processes(doc)[kid]
    assert p["exit_signal"] == 11 and p["exit_code"] is None
    crash = p["crash"]
    assert crash["signal_name"] == "SIGSEGV" and crash["thread_id"] == kid
    assert crash["fault_address"] == "0x0"
    top = crash["call_stack"][0]
    assert top["function"] == "child_crash"
    assert top["arguments"][0]["value"] == "0x0"
    (t,) = trees_of(doc, kid)
    assert [s["signal_name"] for s in t["signals"]] == ["SIGSEGV"]
    (c,) = t["root_calls"]
    assert c["function"] == "child_crash" and "SIGSEGV" in c["partial_reason"]


def test_attach_follow_forks(build, trace, procs, tmp_path):
    """Attached with --follow-forks: the children the process forks after
    the attach are traced, each under its own pid."""
    exe = build("forker.c", "-O2")
    go = tmp_path / "go"
    target = procs.popen([exe, "waitfork", go], stdout=subprocess.PIPE, encoding="utf-8")
    assert target.stdout.readline() == "ready\n"
    tracer, out = trace.start(["-p", target.pid, "--follow-forks"])
    wait_attached(tracer)
    time.sleep(0.2)
    go.touch()
    proc, doc = trace.finish(tracer, out)
    assert proc.returncode == 0, proc.stderr
    rest = target.stdout.read()
    assert target.wait(timeout=10) == 0
    assert statuses(rest) == {0: 10, 1: 11}, rest
    kids = child_pids(rest)
    ps = processes(doc)
    assert set(ps) == {target.pid, *kids.values()}
    for k, pid in kids.items():
        assert ps[pid]["parent_pid"] == target.pid and ps[pid]["exit_code"] == 10 + k
        (t,) = trees_of(doc, pid)
        (w,) = t["root_calls"]
        assert shape(w) == T("child_work", *[T("leaf")] * (k + 1))
    (m,) = main_thread(doc)["root_calls"]
    assert m["function"] == "main" and "already running" in m["partial_reason"]
    assert shape(m) == T("main", T("spawn"), T("spawn"), T("parent_done"))
    assert doc["metadata"]["lost_events"] == 0


def test_exec_while_attached(build, trace, procs, tmp_path):
    """An attached process that execs is not stopped (its parent would see
    it): the new image is probed as soon as its exec is reported, and its
    calls from then on are traced, in a tree of its own."""
    exe, ticker = build("forker.c", "-O0"), build("ticker.c", "-O0")
    go, state = tmp_path / "go", tmp_path / "ticker.state"
    target = procs.popen([exe, "waitexec", go, ticker, state], stdout=subprocess.PIPE,
                         encoding="utf-8")
    assert target.stdout.readline() == "ready\n"
    tracer, out = trace.start(["-p", target.pid, "--duration", "2"])
    wait_attached(tracer)
    time.sleep(0.2)
    go.touch()
    proc, doc = trace.finish(tracer, out)
    assert proc.returncode == 0, proc.stderr
    assert target.poll() is None, "the exec'd image died"
    pid = target.pid
    (p,) = doc["metadata"]["processes"]
    assert [e["path"] for e in p["execs"]] == [str(ticker)]
    # main was entered before the attach and never returns: not seen
    (g,) = doc["call_trees"][str(pid)]["root_calls"]
    assert shape(g) == T("go_exec") and "exec" in g["partial_reason"]
    after = doc["call_trees"][f"{pid}#2"]
    assert after["thread_name"] == "ticker"
    ticks = [n for n in after["root_calls"] if not is_partial(n)]
    assert len(ticks) >= 20, [n["function"] for n in after["root_calls"]][:10]
    assert all(shape(t) == T("tick", T("bump")) for t in ticks)
    assert all(t["module"] == "ticker" for t in ticks)


@pytest.mark.parametrize("probe", PROBES)
def test_reexec_of_the_same_binary_with_args(build, trace, probe):
    """A program that execs its own file: the second image has the same
    addresses in a new map; its values come from its own plans (argc 2,
    not the first image's 3), and the return probes on the file serve both."""
    exe = build("forker.c", "-O2")
    proc, doc = trace([exe, "exec", exe], "--probe", probe, "-a", "-r")
    assert proc.returncode == 2, proc.stderr       # forker 7: a usage error
    pid = doc["metadata"]["pid"]
    (m1,) = doc["call_trees"][str(pid)]["root_calls"]
    (m2,) = doc["call_trees"][f"{pid}#2"]["root_calls"]
    assert m1["arguments"][0]["value"] == 3 and "return_value" not in m1
    assert m2["arguments"][0]["value"] == 2
    assert m2["return_value"] == {"type": "int", "value": 2}
    assert m2["children"] == []
