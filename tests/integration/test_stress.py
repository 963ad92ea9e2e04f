"""Load, saturation and shutdown paths: many threads at full rate, very deep
recursion, a ring buffer too small for the rate (losses counted, trees still
well-formed), a 10-million-call trace in bounded memory, SIGKILL of the
tracer (no probe left behind, the target unharmed), and -u USER."""
import os
import pathlib
import re
import shutil
import signal
import sys
import tempfile

import pytest

from calltree import count_calls, depth_counts, main_thread, thread_trees
from harness import (assert_no_leftover_links, probe_links, text_mismatches, tick_count,
                     wait_attached, wait_for)

SANITIZED = bool(os.environ.get("CTRACE_SANITIZED"))


def test_32_threads_at_full_rate(build, trace):
    proc, doc = trace([build("stress.c", "-O2"), "threads", "32", "20000"], timeout=120)
    assert proc.returncode == 0, proc.stderr
    md = doc["metadata"]
    assert md["threads"] == 33
    lost = md["lost_events"]
    workers = [t for t in thread_trees(doc) if t["thread_id"] != md["pid"]]
    assert len(workers) == 32
    assert sum(t["lost_events"] for t in thread_trees(doc)) == lost
    if not SANITIZED:  # the sanitized consumer is slower: losses are allowed there
        assert lost == 0, "the default buffer must hold 32 threads at full rate"
    if lost == 0:
        for t in workers:
            assert count_calls(t, "leaf") == 20000
            assert count_calls(t, "worker") == 1


def test_more_threads_over_time_than_open_files(build, trace, procs, tmp_path):
    """Ended threads give their spool files back: 400 threads one after
    another, traced with 64 file descriptors, every tree whole."""
    out = tmp_path / "t.json"
    proc = procs.run(["prlimit", "--nofile=64:64", trace.binary, "-o", out, "--",
                      build("stress.c", "-O2"), "serial", 400, 10], timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = trace.result(out, True)
    md = doc["metadata"]
    assert md["threads"] == 401 and md["lost_events"] == 0
    workers = [t for t in thread_trees(doc) if t["thread_id"] != md["pid"]]
    assert all(count_calls(t, "leaf") == 10 and count_calls(t, "worker") == 1 for t in workers)


def test_10000_deep_recursion(build, trace):
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 50000))
    proc, doc = trace([build("stress.c", "-O0"), "deep", "10000"], timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "10000\n"
    m = main_thread(doc)
    assert count_calls(m, "down") == 10001
    depths = depth_counts(m)
    assert max(depths) == 10002 and all(depths[d] == 1 for d in depths)


def test_saturation_counts_every_loss(build, trace):
    # a 4 KiB buffer and a consumer held back 20 ms at each drain: losses for sure
    env = dict(os.environ, CTRACE_TEST_CONSUMER_DELAY_MS="20")
    proc, doc = trace([build("stress.c", "-O2"), "fib", "22"], "-b", "4K", timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "17711\n"
    md = doc["metadata"]
    lost = md["lost_events"]
    assert lost > 0, "a 4 KiB buffer cannot hold this rate"
    assert f"{lost} events lost" in proc.stderr
    assert main_thread(doc)["lost_events"] == lost   # one thread: all its own
    # each call is an entry and an exit: a call is missing from the trace only
    # when both were lost, and nothing is ever invented
    expected = 2 * 28657 - 1
    seen = count_calls(doc, "fib")
    assert seen <= expected
    assert seen + lost // 2 >= expected, (seen, lost)
    # check_invariants (run on every trace) held: well-formed, nothing mis-nested


@pytest.mark.skipif(SANITIZED, reason="ASan's shadow memory is not the tracer's")
def test_10_million_calls_in_bounded_memory(build, procs, tmp_path, tracer):
    out, rss = tmp_path / "big.json", tmp_path / "rss"
    p = procs.run(["/usr/bin/time", "-f", "%M", "-o", str(rss), str(tracer), "-o", str(out),
                   "--", str(build("stress.c", "-O2")), "fib", "33"], timeout=600)
    assert p.returncode == 0, p.stderr
    rss_kib = int(rss.read_text().split()[-1])
    head = out.read_bytes()[:4096].decode()
    calls = int(re.search(r'"total_calls":(\d+)', head).group(1))
    lost = int(re.search(r'"lost_events":(\d+)', head).group(1))
    assert calls + lost // 2 >= 11405773 + 1 and calls >= 10_000_000
    # memory is bounded by depth and threads, not by the 1.4 GB trace
    assert rss_kib < 64 * 1024, f"peak RSS {rss_kib} KiB"
    out.unlink()


def test_sigkill_of_the_tracer_leaves_no_probe(trace, ticker):
    p, exe, state = ticker("-O2")
    baseline = set(probe_links())
    tp, out = trace.start(["-p", p.pid])
    wait_attached(tp)
    tp.send_signal(signal.SIGKILL)
    tp.wait(timeout=10)
    assert_no_leftover_links(baseline)
    assert p.poll() is None, "the target died with the tracer"
    count = tick_count(state)
    wait_for(lambda: tick_count(state) >= count + 25, 10, "the target to go on ticking")
    assert not text_mismatches(p.pid)
    assert not out.exists()   # killed before writing: no half-written trace under its name


def test_run_as_another_user(build, trace, tmp_path):
    # somewhere nobody may run it from (pytest's directories are root's alone)
    shared = pathlib.Path(tempfile.mkdtemp(prefix="ctrace-u-", dir="/tmp"))
    try:
        exe = shared / "stress"
        shutil.copy(build("stress.c", "-O0"), exe)
        os.chmod(shared, 0o755)
        proc, doc = trace([exe, "uid"], "-u", "nobody")
    finally:
        shutil.rmtree(shared)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "uid=65534\n"
    assert count_calls(doc, "main") == 1
