"""Exact trees of the larger programs: recursion, threads, C++ names and a
shared library, at -O0 and -O2, with each kind of probe."""
import pytest

import expected as ex
from calltree import T, function_counts, main_thread, shapes
from harness import PROBE_MODES

def matrix(f):
    """Every optimisation level with every kind of probe."""
    f = pytest.mark.parametrize("opt", ex.OPT_LEVELS)(f)
    return pytest.mark.parametrize("probe", PROBE_MODES)(f)


def ok(proc, doc):
    assert proc.returncode == 0, proc.stderr
    assert doc is not None, proc.stderr
    assert doc["metadata"]["lost_events"] == 0
    assert doc["metadata"]["exit_code"] == 0


@matrix
def test_recursion(build, trace, opt, probe):
    proc, doc = trace([build("recursion.c", opt)], *probe)
    ok(proc, doc)
    assert proc.stdout == ex.RECURSION_STDOUT
    ex.check_recursion(doc, "recursion")


def test_recursion_small_buffer(build, trace):
    """A smaller ring buffer: nothing lost, or every loss counted."""
    proc, doc = trace([build("recursion.c", "-O2")], "-b", "64K")
    assert proc.returncode == 0, proc.stderr
    if doc["metadata"]["lost_events"] == 0:
        ex.check_recursion(doc, "recursion")
    else:
        counts = function_counts(doc)
        assert all(counts[f] <= n for f, n in ex.RECURSION_COUNTS.items()), counts


@matrix
def test_threads(build, trace, opt, probe):
    proc, doc = trace([build("threads.c", opt)], *probe)
    ok(proc, doc)
    ex.check_threads(doc, "threads", proc.stdout)


@matrix
def test_cxx_names(build, trace, opt, probe):
    proc, doc = trace([build("geo.cc", opt)], *probe)
    ok(proc, doc)
    assert proc.stdout == "norms=21 twice=42,10 helper=127 sums=10,2\n"
    ex.check_geo(doc, "geo")


@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
def test_cxx_filter_by_demangled_name(build, trace, opt):
    proc, doc = trace([build("geo.cc", opt)], "-F", "geo::Point::*")
    ok(proc, doc)
    assert shapes(main_thread(doc)["root_calls"]) == (
        T(ex.CTOR), T(ex.NORM),
        T("geo::Point::scaled(double) const", T(ex.CTOR)), T(ex.NORM),
        T("geo::Point::origin()", T(ex.CTOR)), T(ex.NORM),
        T(ex.DTOR), T(ex.DTOR), T(ex.DTOR))


@matrix
def test_shared_library(build, trace, opt, probe):
    proc, doc = trace([build("useshape.c", opt, libs=["libshape.c"])], *probe)
    ok(proc, doc)
    assert proc.stdout == "measure=38 apply=115\n"
    ex.check_shlib(doc, "useshape")
