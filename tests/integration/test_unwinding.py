"""Frames left without their exit hook (longjmp) are closed and marked, and
the calls after the jump nest where they are; C++ exceptions run the exit
hooks while unwinding, so their frames close normally."""
import pytest

from calltree import T, main_thread, shape


def tree(doc):
    (m,) = main_thread(doc)["root_calls"]
    return m


def marked(n):
    return [n["function"]] + sum((marked(c) for c in n["children"]), []) \
        if n.get("partial") else sum((marked(c) for c in n["children"]), [])


@pytest.mark.parametrize("probe", ["preload", "callsite"])
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_longjmp_out_of_traced_frames(build, trace, opt, probe):
    proc, doc = trace([build("jumps.c", opt)], "--probe", probe)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "r=4\n"
    m = tree(doc)
    assert "partial" not in m
    deep4 = T("deep", T("deep", T("deep", T("deep"))))
    assert shape(m) == T("main", T("jumper", deep4), T("after"), T("jumper", deep4))
    for j in m["children"][0], m["children"][2]:
        assert "partial" not in j   # jumper itself returned normally
        chain = j["children"][0]
        for _ in range(4):
            assert chain["partial"] and "longjmp" in chain["partial_reason"]
            assert chain["end_ns"] is None
            chain = (chain["children"] or [None])[0]
    assert doc["metadata"]["lost_events"] == 0


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_exception_through_traced_frames(build, trace, opt):
    proc, doc = trace([build("throws.cc", opt)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "r=3\n"
    m = tree(doc)
    th = T("thrower(int)", T("thrower(int)", T("thrower(int)", T("thrower(int)"))))
    assert shape(m) == T("main", T("catcher()", th), T("after(int)"))
    assert marked(m) == []
