"""Crash cause chains (tests/progs/chain.c): poke() stores into a read-only
page, a SIGSEGV handler takes the fault and the process then dies another
way. crash.cause is that first fault, as it was when it happened: its
signal, code and address, its call stack with arguments, registers and
backtrace; the stderr summary leads with it."""
import re

import pytest

from calltree import HEX, main_thread
from harness import attach_when_waiting

pytestmark = pytest.mark.crash

FAULT_STACK = ["poke", "middle", "outer", "main"]
HANDLER_STACK = ["on_segv"] + FAULT_STACK

# mode: exit signal, the fatal signal's (name, si_code name), its call stack
MODES = {
    "raise": (11, "SIGSEGV", "SI_TKILL", HANDLER_STACK),
    "kill": (11, "SIGSEGV", "SI_USER", HANDLER_STACK),
    "refault": (11, "SIGSEGV", "SEGV_MAPERR", ["scribble"] + HANDLER_STACK),
    "abort": (6, "SIGABRT", "SI_TKILL", HANDLER_STACK),
}


def functions(frames):
    return [f["function"] for f in frames]


def page_of(proc):
    return int(re.search(r"^page=(0x[0-9a-f]+)$", proc.stdout, re.M).group(1), 16)


def check_cause(cause, page, tid, stack=FAULT_STACK):
    """The first fault, SEGV_ACCERR at the page, as it was in poke()."""
    assert (cause["signal"], cause["signal_name"]) == (11, "SIGSEGV")
    assert (cause["si_code"], cause["si_code_name"]) == (2, "SEGV_ACCERR")
    assert int(cause["fault_address"], 16) == page
    assert cause["thread_id"] == tid
    assert functions(cause["call_stack"]) == stack
    assert HEX.match(cause["instruction_pointer"])
    assert cause["registers"]["rip"] == cause["instruction_pointer"]
    assert cause["registers"]["rsp"] == cause["stack_pointer"]
    # unwound from the registers and stack copied at the fault: the handler
    # that ran later is not in it
    assert functions(cause["backtrace"])[:len(stack)] == stack
    assert cause["cause"] is None


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
@pytest.mark.parametrize("mode", sorted(MODES))
def test_handler_dies_another_way(build, trace, opt, mode):
    sig, name, code, stack = MODES[mode]
    proc, doc = trace([build("chain.c", opt), mode])
    assert proc.returncode == 128 + sig, proc.stderr
    assert proc.stdout.endswith("fault logged\n")
    page, pid = page_of(proc), doc["metadata"]["pid"]
    crash = doc["crash"]
    assert (crash["signal"], crash["signal_name"], crash["si_code_name"]) == (sig, name, code)
    assert crash["thread_id"] == pid
    assert crash["fault_address"] == ("0x0" if mode == "refault" else None)
    assert functions(crash["call_stack"]) == stack
    assert functions(crash["backtrace"])[:1] != ["poke"]
    check_cause(crash["cause"], page, pid)
    assert crash["cause"]["time_ns"] < crash["time_ns"]
    # the cause's poke frame is the one still open in the crash's call stack
    assert crash["cause"]["call_stack"] == crash["call_stack"][len(stack) - 4:]
    # the thread's signals: the fault, handled, then the fatal one
    sigs = [(s["signal"], s["si_code"], s["fatal"]) for s in main_thread(doc)["signals"]]
    assert sigs == [(11, 2, False), (sig, crash["si_code"], True)]
    # the summary leads with the cause
    lines = [line for line in proc.stderr.splitlines() if line.startswith("ctrace-bpf: ")]
    first = next(line for line in lines if "the target" in line)
    assert f"got SIGSEGV (SEGV_ACCERR) at address {page:#x} in thread {pid}" in first, first
    assert f"died of {name} ({code})" in proc.stderr
    assert proc.stderr.index("SEGV_ACCERR") < proc.stderr.index(f"died of {name}")


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_cause_carries_arguments(build, trace, opt):
    proc, doc = trace([build("chain.c", opt), "raise"], "--args")
    assert proc.returncode == 139, proc.stderr
    page = page_of(proc)
    cause = doc["crash"]["cause"]
    check_cause(cause, page, doc["metadata"]["pid"])
    for frame in cause["call_stack"][:3]:   # poke, middle, outer: all take the page
        (arg,) = frame["arguments"]
        assert (arg["name"], arg["type"]) == ("where", "int *")
        if opt == "-O0" or arg["value"] is not None:
            assert int(arg["value"], 16) == page, frame
        else:
            assert arg["unavailable"], frame
    if opt == "-O0":   # the summary's lines for the cause's frames
        line = f'arguments: [{{"name":"where","type":"int *","value":"{page:#x}"}}]'
        assert proc.stderr.index(line) < proc.stderr.index("died of")


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_same_fault_again_has_no_cause(build, trace, opt):
    """SIG_DFL and return: the handler has ended, and the same store faults
    again, fatally. That fault is the crash itself, with its own stack; the
    first occurrence is listed in signals only."""
    proc, doc = trace([build("chain.c", opt), "dfl"])
    assert proc.returncode == 139, proc.stderr
    page = page_of(proc)
    crash = doc["crash"]
    assert (crash["signal"], crash["si_code_name"]) == (11, "SEGV_ACCERR")
    assert int(crash["fault_address"], 16) == page
    assert functions(crash["call_stack"]) == FAULT_STACK
    assert crash["cause"] is None
    sigs = [(s["signal"], s["si_code"], s["fault_address"], s["fatal"])
            for s in main_thread(doc)["signals"]]
    assert sigs == [(11, 2, f"{page:#x}", False), (11, 2, f"{page:#x}", True)]
    assert "a handler took it" not in proc.stderr


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_recovered_fault_is_not_a_cause(build, trace, opt):
    """The handler made the page writable and returned; poke() goes on and
    aborts. The faulting call is still open, but its handler has ended: the
    abort has no cause."""
    proc, doc = trace([build("chain.c", opt), "recover"])
    assert proc.returncode == 134, proc.stderr
    crash = doc["crash"]
    assert (crash["signal_name"], crash["si_code_name"]) == ("SIGABRT", "SI_TKILL")
    assert functions(crash["call_stack"]) == ["give_up"] + FAULT_STACK
    assert crash["cause"] is None
    assert [s["signal"] for s in main_thread(doc)["signals"]] == [11, 6]


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_cause_is_the_latest_fault(build, trace, opt):
    """Ten faults recovered, then one whose handler raises: the cause is
    that last one (its time is the last handled signal's). Ten: each fault's
    registers and stack copy (16 KiB) must fit the crash buffer (256 KiB)
    until the tracer drains it, or that fault is reported without them."""
    proc, doc = trace([build("chain.c", opt), "repeat", 10])
    assert proc.returncode == 139, proc.stderr
    crash = doc["crash"]
    check_cause(crash["cause"], page_of(proc), doc["metadata"]["pid"])
    sigs = main_thread(doc)["signals"]
    assert len(sigs) == 12
    assert [s["fatal"] for s in sigs] == [False] * 11 + [True]
    assert crash["cause"]["time_ns"] == sigs[-2]["time_ns"]
    assert crash["si_code_name"] == "SI_TKILL"


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_cause_in_another_thread(build, trace, opt):
    """A worker faults and its handler kill()s the process: the kernel sends
    the signal to the main thread, and the cause is the worker's fault."""
    proc, doc = trace([build("chain.c", opt), "thread"])
    assert proc.returncode == 139, proc.stderr
    worker = int(re.search(r"^worker tid=(\d+)$", proc.stdout, re.M).group(1))
    crash = doc["crash"]
    assert (crash["signal"], crash["si_code_name"]) == (11, "SI_USER")
    assert crash["thread_id"] == doc["metadata"]["pid"] != worker
    assert functions(crash["call_stack"]) == ["main"]
    check_cause(crash["cause"], page_of(proc), worker, ["poke", "middle", "outer", "worker"])


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_crash_is_the_signal_delivered(build, trace, opt):
    """Two SIGSEGVs are sent, to the main thread and then to a worker that
    blocks it and ends: the process dies of the first, the one delivered
    with its default action, not of the last one generated."""
    proc, doc = trace([build("chain.c", opt), "pending"])
    assert proc.returncode == 139, proc.stderr
    worker = int(re.search(r"^worker tid=(\d+)$", proc.stdout, re.M).group(1))
    pid = doc["metadata"]["pid"]
    crash = doc["crash"]
    assert (crash["signal"], crash["si_code_name"], crash["thread_id"]) == (11, "SI_TKILL", pid)
    assert crash["cause"] is None
    sent = [(t["thread_id"], s["signal"]) for t in doc["call_trees"].values()
            for s in t.get("signals", [])]
    assert sorted(sent) == sorted([(pid, 11), (worker, 11)]), sent


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_cause_while_attached(build, trace, procs, tmp_path, opt):
    """Attached with -p: the restorer is probed in the running process."""
    go = tmp_path / "go"
    p, proc, doc = attach_when_waiting(trace, procs, [build("chain.c", opt), "wait", go, "raise"], go)
    assert p.wait(timeout=10) == -11
    assert proc.returncode == 139, proc.stderr
    crash = doc["crash"]
    assert (crash["signal"], crash["si_code_name"]) == (11, "SI_TKILL")
    # main began before the attach: not a traced call
    assert functions(crash["call_stack"]) == HANDLER_STACK[:-1]
    cause = crash["cause"]
    assert (cause["signal"], cause["si_code_name"]) == (11, "SEGV_ACCERR")
    assert functions(cause["call_stack"]) == FAULT_STACK[:-1]


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
@pytest.mark.parametrize("mode", ["raise", "recover"])
def test_cause_after_exec(build, trace, opt, mode):
    """The image that exec'd has its C library elsewhere: its restorer is
    found again, so handlers are followed to their end there too."""
    proc, doc = trace([build("chain.c", opt), "exec", mode])
    assert proc.returncode == (139 if mode == "raise" else 134), proc.stderr
    pid = doc["metadata"]["pid"]
    crash = doc["crash"]
    assert crash["thread_id"] == pid
    if mode == "raise":
        assert functions(crash["call_stack"]) == HANDLER_STACK
        check_cause(crash["cause"], page_of(proc), pid)
    else:
        assert functions(crash["call_stack"]) == ["give_up"] + FAULT_STACK
        assert crash["cause"] is None


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_nested_handler_ends_first(build, trace, opt):
    """SA_NODEFER: inside the first fault's handler, a second fault's handler
    repairs its page and returns; the first handler then raises. The cause
    is the first fault, whose handler was running again."""
    proc, doc = trace([build("chain.c", opt), "nested"])
    assert proc.returncode == 139, proc.stderr
    page, pid = page_of(proc), doc["metadata"]["pid"]
    crash = doc["crash"]
    assert (crash["signal"], crash["si_code_name"]) == (11, "SI_TKILL")
    assert functions(crash["call_stack"]) == HANDLER_STACK
    check_cause(crash["cause"], page, pid)
    sigs = main_thread(doc)["signals"]
    assert [(s["si_code"], s["fatal"]) for s in sigs] == [(2, False), (2, False), (-6, True)]
    assert int(sigs[1]["fault_address"], 16) != page
