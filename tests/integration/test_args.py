"""--args / --retval against the program's own ground truth: each function of
args.c prints, as JSON, the values it was called with and what it returns.
At -O0 every parameter and return value must be exact. At -O2 every value
the trace reports must be exact, and the rest must say "unavailable" and why:
a single wrong value fails."""
import json

import pytest

from calltree import all_nodes, main_thread

Tracer = __import__("conftest").Tracer


@pytest.fixture(params=[".json", ".ctrace"])
def trace(request, tracer, procs, tmp_path):
    """every case twice: the JSON, and the compact trace converted offline
    (the tracer checks that conversion against its direct JSON, byte for
    byte; the cases hold both to the program's own values)"""
    return Tracer(tracer, procs, tmp_path, ext=request.param)

FLOATS_IN_XMM = {("scale", "v"), ("scale", "g")}


def ground_truth(stdout):
    calls = {}
    for line in stdout.splitlines():
        rec = json.loads(line)
        calls.setdefault(rec["f"], []).append(rec)
    return calls


def nodes_by_function(doc):
    out = {}
    for n in all_nodes(main_thread(doc)["root_calls"]):
        out.setdefault(n["function"], []).append(n)
    return out


def traced(build, trace, src, opt, *args):
    """src built at opt, traced with args: what it printed of its own calls,
    and the trace's calls by function"""
    proc, doc = trace([build(src, opt)], *args)
    assert proc.returncode == 0, proc.stderr
    return ground_truth(proc.stdout), nodes_by_function(doc), doc


def expect_arg(func, name, truth, arg, opt):
    """Checks one reported argument against the ground truth; returns True when
    it was available."""
    if arg["value"] is None and "unavailable" in arg:
        assert isinstance(arg["unavailable"], str) and arg["unavailable"], arg
        if opt == "-O0":
            # nothing is optimized out at -O0: only an unreadable pointer may be missing
            assert func == "greet" and name == "name" and truth[name] == "<bad pointer>", arg
        if func == "greet" and name == "name" and truth[name] == "<bad pointer>":
            assert "cannot read" in arg["unavailable"], arg
        return False
    v = arg["value"]
    want = truth.get(name)
    if func == "greet" and name == "name":
        if want is None:
            assert v is None and arg["address"] == "0x0", arg
        elif want == "<bad pointer>":
            pytest.fail(f"a bad pointer was read as {arg}")
        elif want.startswith("caf"):
            assert v == "caf\ufffd", arg   # the invalid byte, replaced, never passed on
        elif len(want) > 200:
            assert v == "x" * 128 and arg.get("truncated") is True, arg
        else:
            assert v == want, arg
        return True
    if func == "flags" and name == "col":
        assert v == "BLUE" and arg["raw"] == want, arg
        return True
    if func == "pick" and name in ("p", "pp"):
        assert {"x": v["x"], "y": v["y"]} == want, arg
        if name == "pp":
            assert arg["address"].startswith("0x"), arg
        return True
    if func == "sum_big" and name == "b":
        assert {k: v[k] for k in "abcd"} == {k: want[k] for k in "abcd"}, arg
        assert v["tag"] == want["tag"], arg
        return True
    if func == "sum_big" and name == "n":
        assert v["i"] == want, arg
        return True
    if func == "apply" and name == "fn":
        assert arg.get("function") == "mix" and v.startswith("0x"), arg
        return True
    if func == "where" and name == "p":
        assert int(v, 16) == int(want, 16), arg
        return True
    if isinstance(want, float) or (func, name) in FLOATS_IN_XMM:
        assert v == pytest.approx(want, rel=0, abs=0), arg
        return True
    assert v == want, (func, name, arg)
    return True


def expect_ret(func, truth, node, opt):
    rv = node["return_value"]
    want = truth["ret"]
    if func == "scale":   # a double comes back in xmm0: BPF cannot read it
        assert rv["value"] is None and "xmm" in rv["unavailable"], rv
        return
    assert "unavailable" not in rv, (func, rv)
    v = rv["value"]
    if func == "greet":
        assert v == want, rv
    elif func == "pick":
        assert v == "GREEN" and rv["raw"] == want, rv
    elif func == "where":
        assert int(v, 16) == int(want, 16), rv
    else:
        assert v == want, (func, rv)


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_arguments_and_return_values(build, trace, opt):
    truth, nodes, _ = traced(build, trace, "args.c", opt, "--args", "--retval")
    available = total = 0
    for func, calls in truth.items():
        assert len(nodes[func]) == len(calls), func
        for rec, node in zip(calls, nodes[func]):
            params = [k for k in rec if k not in ("f", "ret")]
            args = {a["name"]: a for a in node["arguments"]}
            for name in params:
                assert name in args, (func, name, node["arguments"])
                total += 1
                available += expect_arg(func, name, rec, args[name], opt)
            expect_ret(func, rec, node, opt)
    if opt == "-O0":
        assert available == total - 1   # only the bad pointer
    else:
        assert available >= total // 2, f"only {available} of {total} arguments at -O2"


def test_capture_only_chosen_functions(build, trace):
    proc, doc = trace([build("args.c", "-O0")], "--capture", "mix")
    assert proc.returncode == 0, proc.stderr
    nodes = nodes_by_function(doc)
    for n in nodes["mix"]:
        assert [a["name"] for a in n["arguments"]] == ["a", "b", "c"]
        assert "return_value" in n
    for n in nodes["greet"] + nodes["main"]:
        assert "arguments" not in n and "return_value" not in n


def test_string_size(build, trace):
    proc, doc = trace([build("args.c", "-O0")], "--args", "--string-size", "4")
    assert proc.returncode == 0, proc.stderr
    names = [n["arguments"][0] for n in nodes_by_function(doc)["greet"]]
    assert names[0]["value"] == "worl" and names[0]["truncated"] is True
    assert names[1]["value"] is None and names[1]["address"] == "0x0"


def test_without_dwarf_arguments_are_unavailable(build, trace):
    proc, doc = trace([build("args.c", "-O2", debug=False)], "--args", "--retval")
    assert proc.returncode == 0, proc.stderr
    for n in all_nodes(main_thread(doc)["root_calls"]):
        assert n["arguments"] is None and "debug info" in n["arguments_unavailable"], n


def test_unavailable_arguments_say_why_in_every_format(build, tracer, procs, tmp_path):
    """Why the arguments are null reaches JSONL (-o x.jsonl, straight from the
    record; and converted from the JSON), chrome and perfetto's annotations:
    never a bare null."""
    exe = build("args.c", "-O2", debug=False)
    out = tmp_path / "t.jsonl"
    res = procs.run([tracer, "--args", "-o", out, "-f", "chrome", "--", exe], timeout=60)
    assert res.returncode == 0, res.stderr
    res = procs.run([tracer, "--args", "-o", tmp_path / "t.json", "--", exe], timeout=60)
    assert res.returncode == 0, res.stderr
    res = procs.run([tracer, "convert", tmp_path / "t.json", "--to", "jsonl", "-o",
                     tmp_path / "c.jsonl"], timeout=60)
    assert res.returncode == 0, res.stderr
    for path in (out, tmp_path / "c.jsonl"):
        calls = [json.loads(line) for line in path.read_text().splitlines()]
        calls = [c for c in calls if c.get("type") == "call"]
        assert calls and all(c["arguments"] is None and "debug info" in
                             c["arguments_unavailable"] for c in calls), (path, calls[:2])
    events = json.loads((tmp_path / "t.trace.json").read_text())["traceEvents"]
    begins = [e for e in events if e["ph"] == "B"]
    assert begins and all(e["args"]["arguments"] is None and "debug info" in
                          e["args"]["arguments_unavailable"] for e in begins), begins[:2]


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_cxx_this_references_members(build, trace, opt):
    truth, nodes, _ = traced(build, trace, "cxxargs.cc", opt, "--args", "--retval")
    (dot,) = nodes["geo::Vec::dot(geo::Vec const&) const"]
    args = {a["name"]: a for a in dot["arguments"]}
    assert set(args) == {"this", "o"}
    want = truth["dot"][0]
    for name in ("this", "o"):
        a = args[name]
        if a["value"] is None:
            assert opt == "-O2" and a["unavailable"], a
            continue
        assert {"x": a["value"]["x"], "y": a["value"]["y"]} == want[name], a
        assert a["address"].startswith("0x")
    assert dot["return_value"]["value"] == want["ret"]
    (scale,) = nodes["geo::scale(geo::Vec&, long)"]
    sargs = {a["name"]: a for a in scale["arguments"]}
    assert sargs["k"]["value"] in (7, None)
    if opt == "-O0":
        assert sargs["k"]["value"] == 7
        assert sargs["v"]["value"]["x"] == 2   # read at entry, before scale changed it
        assert args["this"]["value"] == {"x": 2, "y": 3}
    assert scale["return_value"]["value"] == 14


def expected_member_string(truth):
    """what the trace shows for a char * member, from what strmembers.c printed
    (its bytes, non-ASCII ones as \\u00XX): cut at --string-size (128), invalid
    UTF-8 replaced"""
    addr, raw = int(truth["address"], 16), truth["value"]
    if raw is None:
        return {"value": None, "address": "0x0"}
    if raw == "<bad pointer>":
        return {"value": None, "address": hex(addr),
                "unavailable": f"cannot read the string at {hex(addr)}: Bad address"}
    data = raw.encode("latin-1")
    want = {"value": data[:128].decode("utf-8", errors="replace"), "address": hex(addr)}
    if len(data) > 128:
        want["truncated"] = True
    return want


def expected_members(truth):
    """the printed ground truth, with every string member as the trace shows it"""
    if isinstance(truth, dict) and set(truth) == {"address", "value"}:
        return expected_member_string(truth)
    if isinstance(truth, dict):
        return {k: expected_members(v) for k, v in truth.items()}
    if isinstance(truth, list):
        return [expected_members(v) for v in truth]
    return truth


@pytest.mark.parametrize("probe", ["preload", "callsite"])
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_strings_in_structs(build, trace, opt, probe):
    """char * members of a struct by value and behind the followed pointer show
    their strings as they were at the call (strmembers.c changes them after),
    with their addresses; NULL, unreadable, long and non-UTF-8 ones too. A
    call's first 4 such members are read, the others say so."""
    truth, nodes, doc = traced(build, trace, "strmembers.c", opt, "--args", "--probe", probe)
    for func, param in (("meet", "p"), ("visit", "n"), ("count", "m")):
        assert len(nodes[func]) == len(truth[func]), func
        for rec, node in zip(truth[func], nodes[func]):
            (arg,) = node["arguments"]
            assert "unavailable" not in arg, (func, arg)
            want = expected_members(rec[param])
            if func == "visit":
                if want is None:
                    assert arg["value"] is None and arg["address"] == "0x0", arg
                    continue
                want["next"] = hex(int(want["next"], 16))
            if func == "count":   # five strings: the fifth is past the four read
                fifth = want["s"][4]["s"]
                fifth.update(value=None, unavailable="not captured: only the first 4 char * "
                             "members of a call's arguments are read")
                want["s"] = [w["s"] for w in want["s"]]
            assert arg["value"] == want, (func, arg)
    assert doc["metadata"]["lost_events"] == 0


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_strings_in_cxx_objects_and_crash_stacks(build, trace, opt):
    """The same through `this` and a C++ reference, and in a crash's call
    stack (the strings read at the call, kept with the open frame)."""
    exe = build("cxxstrmembers.cc", opt)
    for crash in (False, True):
        proc, doc = trace([exe] + (["--crash"] if crash else []), "--args")
        assert proc.returncode == (139 if crash else 0), proc.stderr
        truth = ground_truth(proc.stdout)
        nodes = nodes_by_function(doc)
        for func, param in (("Place::visit", "this"), ("inspect", "p"), ("store", "p")):
            if func == "store" and not crash:
                continue
            (rec,) = truth[func]
            (node,) = [n for f, ns in nodes.items() if f.startswith(func + "(") for n in ns]
            arg = node["arguments"][0]
            assert arg["name"] == param and "unavailable" not in arg, arg
            assert arg["value"] == expected_members(rec[param]), (func, arg)
        if crash:
            frame = doc["crash"]["call_stack"][0]
            assert frame["function"].startswith("store(")
            assert frame["arguments"][0]["value"] == expected_members(truth["store"][0]["p"])
