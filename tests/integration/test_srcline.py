"""--srcline: every node's "source" is its function's FILE:LINE, what
`addr2line -e BIN ADDR` says for the function's entry address, at -O0 and
-O2, for an out-of-line function and one gcc inlines (whose hook calls pass
its out-of-line copy's address); none without DWARF; kept by the .ctrace."""
import subprocess

import pytest

from calltree import all_nodes


def symbols(exe):
    out = subprocess.run(["nm", exe], capture_output=True, text=True, check=True).stdout
    return {f[2]: int(f[0], 16) for f in (l.split() for l in out.splitlines()) if len(f) == 3}


def addr2line(exe, vaddr):
    out = subprocess.run(["addr2line", "-e", exe, hex(vaddr)], capture_output=True, text=True,
                         check=True).stdout.strip()
    return out.split(" (discriminator")[0]


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
@pytest.mark.parametrize("ext", [".json", ".ctrace"])
def test_against_addr2line(build, tracer, procs, tmp_path, opt, ext):
    from conftest import Tracer
    exe = build("inlined.c", opt)
    proc, doc = Tracer(tracer, procs, tmp_path, ext=ext)([exe], "--srcline")
    assert proc.returncode == 0, proc.stderr
    assert doc["metadata"]["options"]["srcline"] is True
    syms = symbols(exe)
    nodes = all_nodes(doc)
    assert {n["function"] for n in nodes} == {"main", "around", "square"}
    bases = set()
    for n in nodes:
        vaddr = syms[n["function"]]
        bases.add(int(n["address"], 16) - vaddr)   # the same load bias for all
        want = addr2line(exe, vaddr)
        assert not want.startswith("??"), want
        assert n["source"] == want, (n["function"], n["source"], want)
    assert len(bases) == 1
    # the inlined function's line is its own definition's, not its caller's
    src = {n["function"]: n["source"] for n in nodes}
    assert src["square"] != src["around"]
    path, line = src["square"].rsplit(":", 1)
    assert path.endswith("/inlined.c") and int(line) in (7, 8)  # its definition, its "{"


@pytest.mark.parametrize("how", ["nodebug", "strip-debug"])
def test_without_dwarf(build, trace, how):
    """No DWARF: no "source" member at all, never a guess."""
    exe = build("inlined.c", "-O2", debug=False) if how == "nodebug" else \
        build("inlined.c", "-O2", strip="debug")
    proc, doc = trace([exe], "--srcline")
    assert proc.returncode == 0, proc.stderr
    nodes = all_nodes(doc)
    assert len(nodes) == 8 and not any("source" in n for n in nodes)


def test_off_by_default(build, trace):
    proc, doc = trace([build("inlined.c", "-O0")])
    assert proc.returncode == 0, proc.stderr
    assert not any("source" in n for n in all_nodes(doc))
    assert "srcline" not in doc["metadata"]["options"]
