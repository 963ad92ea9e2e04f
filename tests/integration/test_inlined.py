"""Filters name the function a hook call reports (this_fn), not the function
whose code holds the call: at -O2 an inlined callee's calls are inside its
caller."""
import pytest

from calltree import all_nodes, count_calls


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_filter_on_an_inlined_function(build, trace, opt):
    exe = build("inlined.c", opt)
    proc, doc = trace([exe], "-F", "square")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "r=33\n"
    assert count_calls(doc, "square") == 4
    assert {n["function"] for n in all_nodes(doc)} == {"square"}


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_exclude_an_inlined_function(build, trace, opt):
    proc, doc = trace([build("inlined.c", opt)], "-N", "square")
    assert proc.returncode == 0, proc.stderr
    assert count_calls(doc, "around") == 3
    assert count_calls(doc, "square") == 0
    assert count_calls(doc, "main") == 1
