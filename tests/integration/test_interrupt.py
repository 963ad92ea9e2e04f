"""Launch mode interrupted: the trace is still written, and the target does
not outlive the tracer."""
import os
import signal

import pytest

import expected as ex
from calltree import T, is_partial, main_thread, shape
from harness import alive, bpf_fds, read_state, wait_for


def default_interrupts():
    """A shell's background job (a CI runner's, nohup) ignores SIGINT and
    SIGQUIT, and a launched target inherits that through the tracer, as it
    should: these tests are about a terminal's Ctrl-C, so they start from a
    terminal's dispositions."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def launch_ticker(build, trace, procs, tmp_path, opt):
    exe = build("ticker.c", opt)
    state = tmp_path / "ticker.state"
    tp, out = trace.start([], argv=[exe, state], preexec_fn=default_interrupts)

    def ticking():
        st = read_state(state)
        if tp.poll() is not None:
            pytest.fail(f"ctrace-bpf exited early ({tp.returncode}): {tp.communicate()[1]}")
        return st if st and st[1] >= 30 else None
    pid, _ = wait_for(ticking, 30, "the traced ticker to tick")
    procs.adopt(pid)
    # the tracer's BPF objects must not leak into the target across exec
    assert not bpf_fds(pid)
    return tp, out, pid


def check_killed_ticker(doc, pid):
    assert doc["metadata"]["pid"] == pid
    roots = main_thread(doc)["root_calls"]
    assert [r["function"] for r in roots] == ["main"]
    main = roots[0]
    assert is_partial(main)
    assert [c["function"] for c in main["children"]] == ["serve_loop"]
    loop = main["children"][0]
    assert is_partial(loop)
    complete = [t for t in loop["children"] if not is_partial(t)]
    assert len(complete) >= 25
    assert all(shape(t) == T("tick", T("bump")) for t in complete)


@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
def test_ctrl_c_in_a_terminal(build, trace, procs, tmp_path, opt):
    """Ctrl-C reaches the whole foreground process group."""
    tp, out, pid = launch_ticker(build, trace, procs, tmp_path, opt)
    os.killpg(tp.pid, signal.SIGINT)
    proc, doc = trace.finish(tp, out, timeout=30)
    assert proc.returncode == 130, proc.stderr
    assert doc is not None, proc.stderr
    assert doc["metadata"]["exit_signal"] == signal.SIGINT
    check_killed_ticker(doc, pid)
    wait_for(lambda: not alive(pid), 5, "the target to be gone")


def test_sigint_to_the_tracer_only(build, trace, procs, tmp_path):
    tp, out, pid = launch_ticker(build, trace, procs, tmp_path, "-O2")
    tp.send_signal(signal.SIGINT)
    proc, doc = trace.finish(tp, out, timeout=30)
    assert doc is not None, proc.stderr
    md = doc["metadata"]
    if md["exit_signal"] is not None:
        assert proc.returncode == 128 + md["exit_signal"]
    else:
        assert proc.returncode == md["exit_code"]
    check_killed_ticker(doc, pid)
    wait_for(lambda: not alive(pid), 5, "the target not to outlive the tracer")
