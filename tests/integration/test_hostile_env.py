"""The world changing under the tracer: PIDs that cannot be traced or that
vanish during the attach, an output that fails mid-run, and a binary
replaced on disk while its process runs."""
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from calltree import T, shape
from harness import tick_count, wait_attached, wait_for

PF_KTHREAD = 0x00200000


def kernel_thread_pid():
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            flags = int((d / "stat").read_text().rsplit(")", 1)[1].split()[6])
        except (OSError, IndexError, ValueError):
            continue
        if flags & PF_KTHREAD:
            return int(d.name)
    pytest.fail("no kernel thread found in /proc")


def check_refused(proc, says):
    lines = proc.stderr.splitlines()
    assert proc.returncode == 1, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("ctrace-bpf: ") and says in lines[0], \
        proc.stderr


def test_kernel_thread_refused(tracer, procs, tmp_path):
    proc = procs.run([tracer, "-o", tmp_path / "t.json", "-p", kernel_thread_pid()])
    check_refused(proc, "kernel thread")
    assert not (tmp_path / "t.json").exists()


def test_zombie_refused(tracer, procs, tmp_path):
    z = subprocess.Popen(["true"])       # exits, and stays unreaped until wait()
    try:
        wait_for(lambda: Path(f"/proc/{z.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
                 == "Z", 10, "the child to become a zombie")
        proc = procs.run([tracer, "-o", tmp_path / "t.json", "-p", z.pid])
        check_refused(proc, "zombie")
    finally:
        z.wait()
    assert not (tmp_path / "t.json").exists()


@pytest.mark.parametrize("lifetime", [0.0, 0.02, 0.05, 0.1, 0.2])
def test_pid_exits_during_attach(build, tracer, procs, tmp_path, lifetime):
    """Whenever the target goes, the tracer ends cleanly: a one-line error
    before tracing started, or a valid trace saying it exited; never a crash
    and never a probe left behind (the procs fixture checks the links)."""
    exe = build("ticker.c", "-O0")
    target = procs.popen([exe, tmp_path / "state", lifetime or 0.001], stdout=subprocess.DEVNULL)
    out = tmp_path / "t.json"
    proc = procs.run([tracer, "-o", out, "-p", target.pid], timeout=30)
    target.wait(timeout=10)
    assert 0 <= proc.returncode < 128, proc.stderr
    if proc.returncode:
        assert proc.stderr.splitlines()[-1].startswith("ctrace-bpf: "), proc.stderr
        assert not out.exists()
    else:
        doc = __import__("harness").load_trace(out)
        __import__("calltree").check_invariants(doc)


def test_output_device_full(build, trace, procs):
    """A write error at the end (here: /dev/full, no space) is one clear
    message and a failing status; the target itself ran to its end."""
    exe = build("basic.c", "-O0")
    proc = procs.run([trace.binary, "-o", "/dev/full", "--", exe], timeout=30)
    assert proc.returncode == 1, proc.stderr
    assert "No space left on device" in proc.stderr and "/dev/full" in proc.stderr
    assert "compute=" in proc.stdout


def test_output_filesystem_fills_up(build, trace, procs, tmp_path):
    """The spools beside the output fill a small filesystem mid-run: the
    tracer says so, keeps tracing to the target's end without harming it,
    exits 1, and leaves no partial file behind."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.fail(f"cannot mount a tmpfs for the test: {r.stderr}")
    try:
        exe = build("recursion.c", "-O0")
        proc = procs.run([trace.binary, "-o", mnt / "t.json", "--", exe], timeout=60)
        assert proc.returncode == 1, proc.stderr
        assert "No space left on device" in proc.stderr, proc.stderr
        assert "fib(20)=6765" in proc.stdout, proc.stdout
        assert os.listdir(mnt) == [], os.listdir(mnt)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_binary_replaced_on_disk(build, trace, procs, tmp_path):
    """The file a running process was started from is replaced (a deploy:
    a new file renamed over it) before the attach, and again while
    attached: the process is traced from the code it runs, not from what
    the path names now."""
    exe = tmp_path / "ticker"
    shutil.copy2(build("ticker.c", "-O0"), exe)
    state = tmp_path / "ticker.state"
    p = procs.popen([exe, state], stdout=subprocess.DEVNULL)
    wait_for(lambda: tick_count(state) >= 5, 10, "the ticker to tick")
    other = tmp_path / "ticker.new"
    shutil.copy2(build("basic.c", "-O2"), other)
    os.rename(other, exe)
    tracer, out = trace.start(["-p", p.pid, "--duration", "1"])
    wait_attached(tracer)
    # and once more while attached: probes sit on the file that is mapped
    shutil.copy2(build("basic.c", "-O0"), other)
    os.rename(other, exe)
    proc, doc = trace.finish(tracer, out)
    assert proc.returncode == 0, proc.stderr
    assert p.poll() is None, "the target died"
    ticks = [n for t in doc["call_trees"].values() for n in t["root_calls"]
             if n["function"] == "tick" and "partial" not in n]
    assert len(ticks) >= 5, doc["call_trees"]
    assert all(shape(t) == T("tick", T("bump")) for t in ticks)
    assert doc["metadata"]["lost_events"] == 0
