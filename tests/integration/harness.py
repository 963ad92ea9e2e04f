"""Helpers for the integration tests that are not fixtures: waiting, reading
the ticker's state, and looking at processes and BPF links from outside."""
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from procstat import alive, stat_fields  # noqa: F401 (alive: the tests import it from here)

# Where probes sit (--probe, see `ctrace-bpf --help`): the default, which
# probes the preloaded hooks in launch mode, and the call sites in the program.
PROBE_MODES = [pytest.param([], id="auto"), pytest.param(["--probe", "callsite"], id="callsite")]

# Link types that carry uprobes; bpftool 7.1 predates uprobe_multi and shows
# it as its number (12), perf_event links are 7.
PROBE_LINK_TYPES = {"perf_event", "uprobe_multi", 7, 12}
UPROBE_EVENTS = [Path("/sys/kernel/tracing/uprobe_events"),
                 Path("/sys/kernel/debug/tracing/uprobe_events")]

# Every pid the tests started (tracers and targets), for telling our probe
# links from anyone else's on a shared machine.
OUR_PIDS = set()


# ---- waiting and reading ---------------------------------------------------

def wait_for(predicate, timeout, what, interval=0.02):
    """Polls predicate() until it returns something truthy; fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def read_state(path):
    """(pid, count) from a ticker state file, or None while it is not written."""
    try:
        pid, count = Path(path).read_text().split()
        return int(pid), int(count)
    except (OSError, ValueError):
        return None


def tick_count(state):
    return (read_state(state) or (0, 0))[1]


def load_trace(path):
    """Parses a trace strictly: UTF-8, JSON, nothing after the document."""
    raw = Path(path).read_bytes()
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        pytest.fail(f"{path} is not valid UTF-8 JSON: {e}\n{raw[:2000]!r}")


def bpf_fds(pid):
    """The BPF and perf-event file descriptors pid holds."""
    found = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith(("anon_inode:bpf", "anon_inode:[perf_event]")):
                found.append(f"fd {fd}: {target}")
    except OSError:
        pass
    return found


# ---- BPF links ---------------------------------------------------------------

def link_owners():
    """{link id: [pid, ...]} for every BPF link some process holds an fd of."""
    owners = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:bpf_link":
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    for line in f:
                        if line.startswith("link_id:"):
                            owners.setdefault(int(line.split()[1]), []).append(int(pid))
            except OSError:
                continue
    return owners


def probe_links():
    """{link id: type} of the uprobe-carrying links, per bpftool. A link that
    goes away while bpftool walks the list fails the walk (ENOENT on the id
    it just got): that is a race with a tracer detaching, so walk again."""
    for attempt in range(5):
        out = subprocess.run(["bpftool", "-j", "link", "list"], capture_output=True, text=True,
                             timeout=30)
        if out.returncode == 0:
            break
        time.sleep(0.1)
    else:
        raise RuntimeError(f"bpftool link list failed: {out.stderr.strip()} {out.stdout[:200]}")
    return {link["id"]: link["type"] for link in json.loads(out.stdout or "[]")
            if link.get("type") in PROBE_LINK_TYPES}


def probe_links_of(pid):
    """The uprobe-carrying links pid holds."""
    mine = {lid for lid, pids in link_owners().items() if pid in pids}
    return sorted(mine & set(probe_links()))


def is_ours(pid):
    """A process the tests started or one descended from it, even if orphaned:
    every process the tests start leads a session of its own."""
    seen = set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        if pid in OUR_PIDS or pid == os.getpid():
            return True
        try:
            _, ppid, _, session = stat_fields(pid)[:4]
        except (OSError, ValueError):
            return False
        if int(session) in OUR_PIDS:
            return True
        pid = int(ppid)
    return False


def leftover_links(baseline):
    """New uprobe-carrying links that are pinned/orphaned or held by our processes."""
    new = {lid: t for lid, t in probe_links().items() if lid not in baseline}
    if not new:
        return []
    owners = link_owners()
    return [f"link {lid} ({t}) held by {owners.get(lid) or 'no process'}"
            for lid, t in sorted(new.items())
            if not owners.get(lid) or any(is_ours(p) for p in owners[lid])]


def assert_no_leftover_links(baseline, timeout=15):
    """Detaching is asynchronous in the kernel: give it a moment, then fail."""
    deadline = time.monotonic() + timeout
    while True:
        left = leftover_links(baseline)
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not left, "uprobe links left behind: " + "; ".join(left)


def read_uprobe_events():
    for path in UPROBE_EVENTS:
        try:
            return path, path.read_text()
        except OSError:
            continue
    return None, None


# ---- the tracer and its target from outside ---------------------------------

def wait_attached(tracer_proc, timeout=30):
    """Waits until the tracer holds a uprobe link (its probes are in place)."""
    def attached():
        if tracer_proc.poll() is not None:
            err = tracer_proc.communicate()[1]
            pytest.fail(f"ctrace-bpf exited ({tracer_proc.returncode}) before attaching:\n{err}")
        return probe_links_of(tracer_proc.pid)
    return wait_for(attached, timeout, "ctrace-bpf to attach its probes", interval=0.05)


def attach_when_waiting(trace, procs, argv, go, timeout=30):
    """Starts argv (a program that prints "waiting pid=..." and spins until
    the file go exists), attaches the tracer, lets the program go on, and
    returns (program Popen, tracer CompletedProcess, trace)."""
    p = procs.popen([str(a) for a in argv], stdout=subprocess.PIPE, encoding="utf-8")
    assert p.stdout.readline().startswith("waiting pid=")
    tp, out = trace.start(["-p", p.pid])
    wait_attached(tp)
    go.touch()
    proc, doc = trace.finish(tp, out, timeout=timeout)
    return p, proc, doc


def text_mismatches(pid):
    """Where pid's executable file mappings differ from the files: a probe
    left in the code, or code the tracer wrote. [] when all is pristine."""
    bad = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) < 6 or "x" not in fields[1] or not fields[5].startswith("/"):
                continue
            path = fields[5].strip()
            if not os.path.isfile(path):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            offset = int(fields[2], 16)
            mem.seek(start)
            live = mem.read(end - start)
            with open(path, "rb") as f:
                f.seek(offset)
                want = f.read(end - start)
            n = min(len(live), len(want))   # the last page may run past the file
            if live[:n] != want[:n]:
                diff = [i for i in range(n) if live[i] != want[i]]
                bad.append(f"{path}: {len(diff)} bytes differ, first at file offset "
                           f"{offset + diff[0]:#x}")
    return bad
