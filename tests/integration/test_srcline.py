"""--srcline: every node's "source" is its function's FILE:LINE, what
`addr2line -e BIN ADDR` says for the function's entry address, at -O0 and
-O2, for an out-of-line function and one gcc inlines (whose hook calls pass
its out-of-line copy's address); none without DWARF; kept by the .ctrace."""
import json
import subprocess

import pytest

from calltree import all_nodes
from test_perfetto import decode, one, protoc  # noqa: F401 (a fixture)


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


def test_carried_through(build, tracer, procs, protoc, tmp_path):
    """From a .ctrace: JSONL lines, `report --tree` ([file:line] after the
    call) and Perfetto (each BEGIN's interned SourceLocation) say the same."""
    from conftest import Tracer
    exe = build("inlined.c", "-O2")
    trace = Tracer(tracer, procs, tmp_path, ext=".ctrace")
    out = trace.output()
    proc = procs.run(trace.command(out, ["--srcline"], [exe]), timeout=60)
    assert proc.returncode == 0, proc.stderr
    doc = trace.result(out, True)
    src = {n["function"]: n["source"] for n in all_nodes(doc)}
    jl = tmp_path / "t.jsonl"
    assert procs.run([tracer, "convert", out, "--to", "jsonl", "-o", jl]).returncode == 0
    lines = [json.loads(l) for l in jl.read_text().splitlines()]
    calls = [l for l in lines if l["type"] == "call"]
    assert len(calls) == 8 and all(l["source"] == src[l["function"]] for l in calls)
    r = procs.run([tracer, "report", "--tree", jl], timeout=60)
    assert r.returncode == 0, r.stderr
    base = {f: s.rsplit("/", 1)[1] for f, s in src.items()}
    assert f"around() [{base['around']}]" in r.stdout
    assert f"square() [{base['square']}]" in r.stdout
    pt = tmp_path / "t.pftrace"
    assert procs.run([tracer, "convert", out, "--to", "perfetto", "-o", pt]).returncode == 0
    pf = decode(protoc, pt)
    locs = {}
    for p in pf.packets:
        seq = one(p, "trusted_packet_sequence_id")
        for i in p.get("interned_data", []):
            for s in i.get("source_locations", []):
                locs[seq, one(s, "iid")] = s
    begins = pf.of_type("TYPE_SLICE_BEGIN")
    assert len(begins) == 8
    seq_of = {id(e[5]): one(p, "trusted_packet_sequence_id")
              for p in pf.packets for e in begins if one(p, "track_event") is e[5]}
    for e in begins:
        s = locs[seq_of[id(e[5])], one(e[5], "source_location_iid")]
        assert one(s, "function_name") == e[4]
        assert f"{one(s, 'file_name')}:{one(s, 'line_number')}" == src[e[4]]
