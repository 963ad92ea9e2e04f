"""Binaries without DWARF, or stripped: names come from the ELF symbol tables."""
import subprocess

import pytest

import expected as ex
from calltree import all_nodes, main_thread, shape


def symbols(exe, *nm_opts):
    out = subprocess.run(["nm", *nm_opts, exe], capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
@pytest.mark.parametrize("variant", [
    pytest.param(dict(debug=False), id="no-g"),
    pytest.param(dict(strip="debug"), id="strip-debug"),
    pytest.param(dict(extra=["-rdynamic"], strip="all"), id="strip-all-rdynamic"),
])
def test_names_without_dwarf(build, trace, opt, variant):
    exe = build("basic.c", opt, **variant)
    assert b".debug_info" not in exe.read_bytes()
    proc, doc = trace([exe, "0"])
    assert proc.returncode == 0, proc.stderr
    ex.check_basic(doc, "basic")


@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
def test_fully_stripped(build, trace, tmp_path, opt):
    """Nothing names the functions any more. Either the tracer says so before
    running anything, or it traces the same 13 calls under whatever names it
    can give; the target's behaviour is unchanged either way."""
    exe = build("basic.c", opt, strip="all")
    assert "compute" not in symbols(exe, "-D")
    proc, doc = trace([exe, "5"])
    if doc is None:
        lines = proc.stderr.splitlines()
        assert proc.returncode not in (0, 5)
        assert len(lines) == 1 and lines[0].startswith("ctrace-bpf: "), proc.stderr
        assert proc.stdout == ""
        return
    assert proc.returncode == 5, proc.stderr
    assert "compute=" in proc.stdout
    tree = main_thread(doc)
    assert tree["total_calls"] == ex.BASIC_CALLS
    assert tuple(anonymous(shape(n)) for n in tree["root_calls"]) == (anonymous(ex.BASIC),)
    assert all(n["module"] == "basic" for n in all_nodes(doc))


def anonymous(shape_):
    """A shape with the names left out."""
    return tuple(anonymous(c) for c in shape_[1])
