"""Least privilege: CAP_BPF + CAP_PERFMON are enough to launch and trace a
program, and to attach to one's own process, with names and arguments as
under root; another user's process needs CAP_SYS_PTRACE, and says so."""
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from calltree import T, main_thread, shape
from harness import load_trace, tick_count, wait_for


@pytest.fixture
def shared(tracer, build):
    """World-readable copies of the tracer and its hooks library, the test
    programs, and a world-writable output directory."""
    if not shutil.which("setpriv"):
        pytest.fail("setpriv (util-linux) is needed")
    d = Path(tempfile.mkdtemp(prefix="ctrace-caps-"))
    d.chmod(0o755)
    for f in [tracer, *tracer.parent.glob("*.so")]:
        shutil.copy2(f, d / f.name)
    shutil.copy2(build("basic.c", "-O0"), d / "basic")
    shutil.copy2(build("ticker.c", "-O0"), d / "ticker")
    (d / "out").mkdir()
    (d / "out").chmod(stat.S_IRWXU | stat.S_IRWXG | stat.S_IRWXO)
    yield d
    shutil.rmtree(d)


def as_nobody(caps, *cmd):
    c = ",".join("+" + x for x in caps)
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
            f"--inh-caps={c}", f"--ambient-caps={c}", *map(str, cmd)]


@pytest.mark.parametrize("probe", ["preload", "callsite"])
def test_launch_with_bpf_and_perfmon(shared, procs, probe):
    out = shared / "out" / "t.json"
    proc = procs.run(as_nobody(["bpf", "perfmon"], shared / "ctrace-bpf", "-a", "--probe",
                               probe, "-o", out, "--", shared / "basic"), timeout=30)
    assert proc.returncode == 0, proc.stderr
    doc = load_trace(out)
    (m,) = main_thread(doc)["root_calls"]
    assert m["function"] == "main" and m["module"] == "basic"
    assert m["arguments"][0] == {"name": "argc", "type": "int", "value": 1}
    assert len(m["children"]) > 0 and doc["metadata"]["total_calls"] == 13
    assert out.stat().st_uid != 0


def test_attach_needs_ptrace_for_another_user(shared, procs):
    state = shared / "out" / "state"
    # root's process: refused with the capability to add
    p = procs.popen([shared / "ticker", state], stdout=subprocess.DEVNULL)
    wait_for(lambda: tick_count(state) >= 3, 10, "the ticker to tick")
    out = shared / "out" / "a.json"
    proc = procs.run(as_nobody(["bpf", "perfmon"], shared / "ctrace-bpf", "-o", out, "-p",
                               p.pid), timeout=30)
    assert proc.returncode == 1 and "CAP_SYS_PTRACE" in proc.stderr, proc.stderr
    assert not out.exists()
    proc = procs.run(as_nobody(["bpf", "perfmon", "sys_ptrace"], shared / "ctrace-bpf", "-o",
                               out, "-p", p.pid, "--duration", "0.3"), timeout=30)
    assert proc.returncode == 0, proc.stderr
    ticks = [n for n in main_thread(load_trace(out))["root_calls"] if "partial" not in n]
    assert ticks and all(shape(t) == T("tick", T("bump")) for t in ticks)
    assert p.poll() is None
