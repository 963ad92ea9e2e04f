"""Attach mode (-p PID): calls already running at attach are partial nodes
holding what was observed, and the target runs on unharmed after the detach."""
import signal
import time

import pytest

import expected as ex
from calltree import T, is_partial, main_thread, shape
from harness import (assert_no_leftover_links, bpf_fds, probe_links, text_mismatches,
                      tick_count, wait_attached, wait_for)


def check_ticker_tree(doc, pid, *, loop_returned=False):
    """main > serve_loop > tick > bump ...: main and serve_loop began before the
    attach. When they return under the trace they are partial nodes (entry not
    observed) holding everything seen inside them; when they are still running
    at the detach, nothing of them was observed and the ticks are the roots.
    A tick may be cut at either end. Returns the complete ticks."""
    md = doc["metadata"]
    assert md["pid"] == pid
    assert md["threads"] == 1
    assert md["lost_events"] == 0
    assert doc["crash"] is None
    roots = main_thread(doc)["root_calls"]
    if loop_returned:
        assert [r["function"] for r in roots] == ["main"], \
            f"{len(roots)} roots: {[r['function'] for r in roots[:5]]}...; calls running at " \
            "the attach must appear as partial nodes holding what was seen under them"
        main = roots[0]
        assert is_partial(main) and "already running" in main["partial_reason"]
        assert main["start_ns"] is None and isinstance(main["end_ns"], int)
        assert [c["function"] for c in main["children"]] == ["serve_loop"]
        loop = main["children"][0]
        assert is_partial(loop) and "already running" in loop["partial_reason"]
        ticks = loop["children"]
    else:
        ticks = roots
    assert {t["function"] for t in ticks} == {"tick"}
    cut = [i for i, t in enumerate(ticks) if is_partial(t)]
    assert set(cut) <= ({0} if loop_returned else {0, len(ticks) - 1}), cut
    complete = [t for t in ticks if not is_partial(t)]
    assert all(shape(t) == T("tick", T("bump")) for t in complete)
    return complete


def check_unharmed(p, state):
    """Still running, still ticking, holding no BPF object, code as on disk."""
    assert p.poll() is None, "the target died"
    count = tick_count(state)
    wait_for(lambda: tick_count(state) >= count + 25, 10, "the target to go on ticking")
    assert not bpf_fds(p.pid)
    assert not text_mismatches(p.pid)


@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
def test_attach_for_a_duration(trace, ticker, opt):
    p, exe, state = ticker(opt)
    baseline = set(probe_links())
    before = tick_count(state)
    t0 = time.monotonic()
    proc, doc = trace.attach(p.pid, "--duration", "2")
    elapsed = time.monotonic() - t0
    after = tick_count(state)
    assert proc.returncode == 0, proc.stderr
    assert doc is not None, proc.stderr
    assert elapsed >= 2
    md = doc["metadata"]
    assert md["executable"] == str(exe.resolve())
    assert md["command"] == [str(exe), str(state)]
    assert md["exit_code"] is None and md["exit_signal"] is None
    complete = check_ticker_tree(doc, p.pid)
    assert 100 <= len(complete) <= after - before
    assert_no_leftover_links(baseline)
    check_unharmed(p, state)


@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
def test_attach_until_the_target_exits(trace, ticker, procs, opt):
    p, exe, state = ticker(opt, seconds=5)
    tp, out = trace.start(["-p", p.pid])
    wait_attached(tp)
    target = procs.communicate(p, timeout=30, what="ticker")
    assert target.returncode == 0
    ran = int(target.stdout.split("=")[1])
    proc, doc = trace.finish(tp, out, timeout=10)   # stops by itself
    assert proc.returncode == 0, proc.stderr
    assert doc is not None, proc.stderr
    assert doc["metadata"]["exit_code"] in (0, None)
    assert doc["metadata"]["exit_signal"] is None
    complete = check_ticker_tree(doc, p.pid, loop_returned=True)
    assert 50 <= len(complete) <= ran
    # main and serve_loop returned under the trace: their ends were seen
    (main,) = main_thread(doc)["root_calls"]
    assert main["end_ns"] >= main["children"][0]["end_ns"] >= complete[-1]["end_ns"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
def test_attach_interrupted(trace, ticker, opt, sig):
    p, exe, state = ticker(opt)
    baseline = set(probe_links())
    tp, out = trace.start(["-p", p.pid])
    wait_attached(tp)
    count = tick_count(state)
    wait_for(lambda: tick_count(state) >= count + 50, 10, "ticks under the trace")
    tp.send_signal(sig)
    proc, doc = trace.finish(tp, out, timeout=20)
    assert proc.returncode in (0, 128 + sig), proc.stderr
    assert doc is not None, proc.stderr
    assert doc["metadata"]["exit_signal"] is None
    assert len(check_ticker_tree(doc, p.pid)) >= 25
    assert_no_leftover_links(baseline)
    check_unharmed(p, state)
