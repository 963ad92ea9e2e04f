"""--srcline: every node's "source" is its function's FILE:LINE, what
`addr2line -e BIN ADDR` says for the function's entry address, at -O0 and
-O2, for an out-of-line function and one gcc inlines (whose hook calls pass
its out-of-line copy's address); none without DWARF; kept by the .ctrace."""
import json
import re
import subprocess

import pytest

from calltree import all_nodes
from conftest import PROGS
from test_perfetto import annotations, decode, one, protoc, value  # noqa: F401 (a fixture)


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
    assert f"around() [{base['around']}, called at inlined.c:24]" in r.stdout
    assert f"square() [{base['square']}, called at inlined.c:16]" in r.stdout  # inlined there
    assert f"square() [{base['square']}, called at inlined.c:25]" in r.stdout  # by pointer
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
        # the call's own line: an annotation (main's caller is libc's)
        assert value(annotations(e[5])["call_site"]).rsplit("/", 1)[1] == {
            "main": "libc_start_call_main.h:58", "around": "inlined.c:24"}.get(
            e[4], value(annotations(e[5])["call_site"]).rsplit("/", 1)[1])


# ---- call sites -----------------------------------------------------------------

def disasm(exe):
    """{function: [(call instruction's target, return address)]} from objdump"""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", exe], capture_output=True,
                         text=True, check=True).stdout
    funcs, cur, prev = {}, None, None
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
        if m:
            cur, prev = funcs.setdefault(m.group(1), []), None
            continue
        m = re.match(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
        if not m or cur is None:
            continue
        addr = int(m.group(1), 16)
        if prev is not None:
            cur.append((prev, addr))
            prev = None
        if m.group(2) == "call":
            t = re.search(r"<([^>@+]+)", m.group(3))
            prev = t.group(1) if t else "*"
    return funcs


def addr2line_i(exe, vaddr):
    """addr2line -i -f: [(function, FILE:LINE)], innermost first"""
    out = subprocess.run(["addr2line", "-i", "-f", "-e", exe, hex(vaddr)], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    return [(out[i], out[i + 1].split(" (discriminator")[0]) for i in range(0, len(out), 2)]


def expected_sites(exe, calls, caller, callee):
    """Where addr2line says callee is called in caller: the line of each
    direct call to it (return address - 1), and for each hook call in
    caller whose innermost function is callee inlined, the line that
    inlined it (addr2line -i's second line)"""
    want = set()
    for target, ret in calls.get(caller, []):
        if target == callee:
            want.add(addr2line(exe, ret - 1))
        elif target == "__cyg_profile_func_enter":
            chain = addr2line_i(exe, ret - 1)
            if len(chain) > 1 and chain[0][0] == callee:
                want.add(chain[1][1])
    return want


def marked(src):
    """{(caller, callee): {line}} from the program's "SITE caller>callee" marks"""
    sites = {}
    for no, line in enumerate(src.read_text().splitlines(), 1):
        for m in re.finditer(r"SITE (\w+)>(\w+)", line):
            sites.setdefault((m.group(1), m.group(2)), set()).add(no)
    return sites


def with_parents(doc):
    def walk(n, parent):
        yield n, parent
        for c in n["children"]:
            yield from walk(c, n)
    for t in doc["call_trees"].values():
        for r in t["root_calls"]:
            yield from walk(r, None)


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
@pytest.mark.parametrize("ext,probe", [(".json", "hooks"), (".ctrace", "hooks"),
                                       (".json", "callsite"), (".json", "args"),
                                       (".ctrace", "args")])
def test_call_sites_against_addr2line(build, tracer, procs, tmp_path, opt, ext, probe):
    """Every call's "call_site" is the line addr2line gives for its call
    instruction in the caller, or for an inlined callee (twice() is inlined
    even at -O0) the line that inlined it; each is also the marked line.
    Probes on the preloaded hooks and on the hook call sites alike, and
    with --args (a SITE record before each ENTER_ARGS; the hook's return
    address read from the stack), whose values stay right."""
    from conftest import Tracer
    exe = build("callsite.c", opt)
    opts = ["--srcline"] + {"callsite": ["--probe", "callsite"], "args": ["--args"]}.get(probe, [])
    proc, doc = Tracer(tracer, procs, tmp_path, ext=ext)([exe], *opts)
    assert proc.returncode == 0, proc.stderr
    calls, marks = disasm(exe), marked(PROGS / "callsite.c")
    seen = set()
    for n, parent in with_parents(doc):
        if parent is None:
            assert n["function"] == "main" and "call_site" in n  # from libc's line table
            continue
        pair = (parent["function"], n["function"])
        if probe == "args":  # x, n: 1 and 2 from main, then what the callees make
            a = n["arguments"][0]
            assert a.get("value") in (0, 1, 2, 4, 6) or "unavailable" in a, n
        want = expected_sites(exe, calls, *pair)
        assert want and all(not w.startswith("??") for w in want), (pair, want)
        assert n["call_site"] in want, (pair, n["call_site"], want)
        path, line = n["call_site"].rsplit(":", 1)
        assert path.endswith("/callsite.c") and int(line) in marks[pair], (pair, line)
        seen.add(pair)
    assert seen == set(marks)  # every marked site was traced


def test_call_sites_without_dwarf(build, trace):
    """No DWARF in the program: none of its sites has a line (main's own
    call site is libc's, which its own line table may give)."""
    proc, doc = trace([build("callsite.c", "-O2", debug=False)], "--srcline")
    assert proc.returncode == 0, proc.stderr
    nodes = [n for n, p in with_parents(doc) if p is not None]
    assert len(nodes) == 10 and not any("call_site" in n for n in nodes)


def test_call_sites_off_by_default(build, trace):
    proc, doc = trace([build("callsite.c", "-O0")])
    assert proc.returncode == 0, proc.stderr
    assert not any("call_site" in n for n in all_nodes(doc))


# ---- after the fact: convert/report --srcline ---------------------------------------

def jsonl_calls(procs, tracer, trace, tmp_path, *opts):
    out = tmp_path / f"after-{len(list(tmp_path.iterdir()))}.jsonl"
    r = procs.run([tracer, "convert", trace, "--to", "jsonl", "-o", out, *opts], timeout=60)
    assert r.returncode == 0, r.stderr
    return [json.loads(l) for l in out.read_text().splitlines()
            if json.loads(l)["type"] == "call"], r.stderr


@pytest.mark.parametrize("ext", [".json", ".ctrace"])
def test_after_the_fact_equals_live(build, tracer, procs, tmp_path, ext):
    """A trace made without --srcline, converted with --srcline, gives each
    call the "source" the tracer gives live (from the recorded modules and
    the same files); report --tree --srcline shows it."""
    from conftest import Tracer
    exe = build("callsite.c", "-O2")
    run = Tracer(tracer, procs, tmp_path, ext=ext)
    live_out, plain_out = run.output(), run.output()
    for out, opts in ((live_out, ["--srcline"]), (plain_out, [])):
        proc = procs.run(run.command(out, opts, [exe]), timeout=60)
        assert proc.returncode == 0, proc.stderr
    mods = run.result(plain_out, True)["metadata"]["processes"][0]["modules"]
    assert any(m["path"] == str(exe) and len(m["build_id"]) == 40 for m in mods), mods
    live, _ = jsonl_calls(procs, tracer, live_out, tmp_path)
    plain, _ = jsonl_calls(procs, tracer, plain_out, tmp_path)
    after, err = jsonl_calls(procs, tracer, plain_out, tmp_path, "--srcline")
    assert not any("source" in c for c in plain)
    want = {c["function"]: c["source"] for c in live}
    assert len(after) == len(live) == 11 and "warning" not in err, err
    assert all(c["source"] == want[c["function"]] for c in after)
    r = procs.run([tracer, "report", "--tree", "--srcline", plain_out], timeout=60)
    assert r.returncode == 0, r.stderr
    assert f"leaf() [{want['leaf'].rsplit('/', 1)[1]}]" in r.stdout


@pytest.mark.parametrize("what", ["rebuilt", "gone"])
def test_after_the_fact_other_build(build, tracer, procs, tmp_path, what):
    """The program rebuilt (another build id) or gone since the trace: its
    calls get no "source", and one warning names it."""
    import shutil
    from conftest import Tracer
    exe = tmp_path / "callsite"
    shutil.copy(build("callsite.c", "-O0"), exe)
    run = Tracer(tracer, procs, tmp_path)
    out = run.output()
    proc = procs.run(run.command(out, [], [exe]), timeout=60)
    assert proc.returncode == 0, proc.stderr
    exe.unlink()
    if what == "rebuilt":   # the same code and lines: only the build id differs
        shutil.copy(build("callsite.c", "-O0", extra=("-Wl,--build-id=0x" + "ab" * 20,)), exe)
    calls, err = jsonl_calls(procs, tracer, out, tmp_path, "--srcline")
    assert len(calls) == 11 and not any("source" in c for c in calls)
    mine = [l for l in err.splitlines() if str(exe) in l]
    assert len(mine) == 1 and "warning" in mine[0], err
    assert ("another build id" if what == "rebuilt" else "cannot be read") in mine[0]


def test_after_the_fact_without_dwarf(build, tracer, procs, tmp_path):
    """The traced program has no DWARF: no "source", never a guess."""
    from conftest import Tracer
    run = Tracer(tracer, procs, tmp_path)
    out = run.output()
    proc = procs.run(run.command(out, [], [build("callsite.c", "-O2", debug=False)]), timeout=60)
    assert proc.returncode == 0, proc.stderr
    calls, _ = jsonl_calls(procs, tracer, out, tmp_path, "--srcline")
    assert len(calls) == 11 and not any("source" in c for c in calls)
