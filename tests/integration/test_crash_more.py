"""Crash capture beyond the basic cases: SIGILL and SIGBUS, a fault the
program handles and survives, a crash while attached, a crash without DWARF,
the full backtrace through libc for abort(), and a crash in another process
of the same binary."""

import pytest

from calltree import main_thread
from harness import attach_when_waiting

pytestmark = pytest.mark.crash

OUTER = ["poke", "middle", "outer", "main"]


def functions(frames):
    return [f["function"] for f in frames]


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
@pytest.mark.parametrize("mode,sig,name,code,inner", [
    ("ill", 4, "SIGILL", "ILL_ILLOPN", "illegal"),
    ("bus", 7, "SIGBUS", "BUS_ADRERR", "bus_error"),
])
def test_ill_and_bus(build, trace, opt, mode, sig, name, code, inner):
    proc, doc = trace([build("faults.c", opt), mode])
    assert proc.returncode == 128 + sig, proc.stderr
    crash = doc["crash"]
    assert (crash["signal"], crash["signal_name"], crash["si_code_name"]) == (sig, name, code)
    assert crash["thread_id"] == doc["metadata"]["pid"]
    assert functions(crash["call_stack"]) == [inner, "main"]
    assert crash["fault_address"].startswith("0x")
    assert name in proc.stderr
    # the open calls of the dead thread are partial and say why
    (m,) = main_thread(doc)["root_calls"]
    assert m["partial"] and name in m["partial_reason"]


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
@pytest.mark.parametrize("mode,sig,name,code,inner", [
    ("trap", 5, "SIGTRAP", "SI_KERNEL", "breakpoint"),      # int3 outside any uprobe
    ("sys", 31, "SIGSYS", "SYS_SECCOMP", "forbidden_call"),  # seccomp SECCOMP_RET_TRAP
])
def test_trap_and_sys(build, trace, opt, mode, sig, name, code, inner):
    """No fault address for these; the call stack and the backtrace still
    end where the program died (for SIGSYS, inside libc's syscall())."""
    proc, doc = trace([build("faults.c", opt), mode])
    assert proc.returncode == 128 + sig, proc.stderr
    crash = doc["crash"]
    assert (crash["signal"], crash["signal_name"], crash["si_code_name"]) == (sig, name, code)
    assert crash["fault_address"] is None
    assert functions(crash["call_stack"]) == [inner, "main"]
    bt = [f.get("function") for f in crash["backtrace"]]
    assert inner in bt and bt.index(inner) < bt.index("main"), bt
    if mode == "sys":
        assert crash["backtrace"][0]["module"].startswith("libc.so")
    assert name in proc.stderr


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_handled_fault_is_not_a_crash(build, trace, opt):
    proc, doc = trace([build("faults.c", opt), "handled"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "recovered 42\n"
    assert doc["crash"] is None
    assert doc["metadata"]["exit_code"] == 0 and doc["metadata"]["exit_signal"] is None
    tree = main_thread(doc)
    (sig,) = tree["signals"]
    assert (sig["signal"], sig["signal_name"], sig["fatal"]) == (11, "SIGSEGV", False)
    assert sig["si_code"] == 2   # SEGV_ACCERR: a read-only page
    # the handler ran inside poke, and everything returned normally
    (m,) = tree["root_calls"]
    assert "partial" not in m
    assert functions(m["children"]) == ["outer"]
    poke = m["children"][0]["children"][0]["children"][0]
    assert poke["function"] == "poke" and functions(poke["children"]) == ["on_segv"]


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_crash_while_attached(build, trace, procs, tmp_path, opt):
    go = tmp_path / "go"
    p, proc, doc = attach_when_waiting(trace, procs, [build("faults.c", opt), "wait", go], go)
    assert p.wait(timeout=10) == -11
    assert proc.returncode == 139, proc.stderr
    crash = doc["crash"]
    assert crash["signal"] == 11 and crash["fault_address"] == "0x0"
    assert functions(crash["call_stack"]) == OUTER[:3]   # main began before the attach
    assert doc["metadata"]["exit_signal"] == 11


def test_crash_without_dwarf(build, trace):
    proc, doc = trace([build("faults.c", "-O2", debug=False), "ill"])
    assert proc.returncode == 132, proc.stderr
    crash = doc["crash"]
    assert functions(crash["call_stack"]) == ["illegal", "main"]
    bt = crash["backtrace"]
    assert functions(bt)[:2] == ["illegal", "main"]
    assert bt[0]["file"] is None   # no line info without -g, and none made up


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_abort_backtrace_goes_through_libc(build, trace, opt):
    proc, doc = trace([build("crash.c", opt), "abort"])
    assert proc.returncode == 134, proc.stderr
    bt = doc["crash"]["backtrace"]
    names = functions(bt)
    assert "abort" in names
    libc = [f for f in bt if f["module"] and f["module"].startswith("libc")]
    assert libc, names
    # the caller chain, in order, right after abort()
    i = names.index("abort")
    assert names[i + 1:i + 5] == ["raise_abort", "level_two", "level_one", "main"], names
    for f in bt[i + 1:i + 5]:
        assert f["module"] == "crash" and f["file"].endswith("crash.c") and f["line"] > 0
    assert doc["crash"]["registers"]["rip"] == doc["crash"]["instruction_pointer"]


def test_another_process_crashing_is_not_the_target(build, trace):
    proc, doc = trace([build("faults.c", "-O2"), "spawn"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "child died of 11\n"
    assert doc["crash"] is None
    assert doc["metadata"]["threads"] == 1
    assert "signals" not in main_thread(doc)


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_call_stack_carries_arguments(build, trace, opt):
    proc, doc = trace([build("crash.c", opt), "segv"], "--args")
    assert proc.returncode == 139, proc.stderr
    inner = doc["crash"]["call_stack"][0]
    assert inner["function"] == "store_value"
    args = {a["name"]: a for a in inner["arguments"]}
    assert set(args) == {"p", "v"}
    # the NULL the program stored through, and the value it meant to store
    for name, want in (("p", "0x0"), ("v", 108)):
        a = args[name]
        assert a["value"] == want or (opt == "-O2" and a["value"] is None and a["unavailable"]), a
    if opt == "-O0":
        assert args["p"]["value"] == "0x0" and args["v"]["value"] == 108
    assert "arguments:" in proc.stderr
