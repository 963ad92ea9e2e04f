"""A target killed by a signal: exit status 128+N, everything before the
crash in the trace, the open calls partial, and the crash object."""
import re

import pytest

import expected as ex
from calltree import HEX

pytestmark = pytest.mark.crash

SIGNAL_NAMES = {11: "SIGSEGV", 6: "SIGABRT", 8: "SIGFPE"}


def stack_functions(crash):
    """The call stack, innermost first, reduced to crash.c's functions (a
    tracer may add library frames such as abort or raise)."""
    return [f["function"] for f in crash["call_stack"] if f["function"] in ex.CRASH_FUNCTIONS]


@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
@pytest.mark.parametrize("mode", ["segv", "abort", "fpe"])
def test_crash(build, trace, opt, mode):
    sig = ex.CRASH_SIGNAL[mode]
    proc, doc = trace([build("crash.c", opt), mode])
    assert proc.returncode == 128 + sig, proc.stderr
    assert proc.stdout == "prepared=107\n"
    assert doc is not None, proc.stderr
    md = doc["metadata"]
    assert md["exit_signal"] == sig
    crash = doc["crash"]
    assert crash is not None
    assert crash["signal"] == sig
    assert crash["signal_name"] == SIGNAL_NAMES[sig]
    assert crash["thread_id"] == md["pid"]
    assert HEX.match(crash["instruction_pointer"])
    if mode == "segv":
        assert crash["fault_address"] == "0x0"
    if mode != "abort":   # the fault is in crash.c's own code
        assert crash["call_stack"][0]["function"] == ex.CRASH_INNERMOST[mode]
    assert stack_functions(crash) == ex.crash_stack(mode)
    assert SIGNAL_NAMES[sig] in proc.stderr      # the human summary
    ex.check_crash_tree(doc, mode)


@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
def test_crash_in_a_thread(build, trace, opt):
    proc, doc = trace([build("crash.c", opt), "thread"])
    assert proc.returncode == 139, proc.stderr
    crasher = int(re.search(r"^crasher tid=(\d+)$", proc.stdout, re.M).group(1))
    assert doc is not None, proc.stderr
    assert doc["metadata"]["threads"] == 2
    assert doc["metadata"]["exit_signal"] == 11
    crash = doc["crash"]
    assert crash is not None
    assert crash["signal"] == 11
    assert crash["thread_id"] == crasher
    assert crash["fault_address"] == "0x0"
    assert crash["call_stack"][0]["function"] == "store_value"
    assert stack_functions(crash) == ex.crash_stack("thread")
    ex.check_crash_tree(doc, "thread", crasher)
