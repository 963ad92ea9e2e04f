"""The JSONL form of real traces (doc/design.md §6, "JSONL"): `-o x.jsonl`,
`-f jsonl` and `convert --to jsonl`. Its lines give back the JSON document's
call trees exactly (rebuilt here from ids and parents, independently of the
tool); `report` and `convert` read it and say the same as from the JSON; the
README's jq recipes give the same answers from both; and jq reads a
10,000-deep trace in JSONL, where it refuses the JSON document."""
import json
import re
import shutil
import subprocess
import sys

import pytest

from calltree import thread_trees
from test_outputs import record, tool

sys.setrecursionlimit(max(sys.getrecursionlimit(), 100000))

JQ = shutil.which("jq")
NODE_FIELDS = ("function", "address", "module", "start_ns", "end_ns", "duration_ns",
               "arguments", "return_value", "partial", "partial_reason")


def read_jsonl(path):
    """Every line, parsed strictly: one flat object each."""
    lines = []
    for i, raw in enumerate(path.read_bytes().split(b"\n")):
        if not raw:
            continue
        obj = json.loads(raw.decode("utf-8"))
        assert isinstance(obj, dict) and "type" in obj, (i, raw[:200])
        lines.append(obj)
    return lines


def node_fields(n):
    """What a call line carries of a JSON node: its fields, nulls for absent times."""
    out = {k: n[k] for k in NODE_FIELDS if k in n}
    for k in ("function", "address", "module", "start_ns", "end_ns", "duration_ns"):
        out.setdefault(k, None)
    if out.get("partial") is False:
        del out["partial"]
    return out


def rebuild(lines):
    """The call trees from the lines alone: {key: (thread line, [root nodes])},
    checking the order the format promises: an "enter" line before its
    children, the "call" line after them, ids and parents that agree."""
    assert lines[0]["type"] == "metadata" and lines[0]["jsonl_version"] == 1
    threads, stack, cur, ids = {}, [], None, set()
    for ln in lines[1:]:
        t = ln["type"]
        if t == "thread":
            assert cur is None and not stack
            cur = ln["thread"]
            threads[cur] = (ln, [])
        elif t == "enter":
            assert ln["thread"] == cur and ln["depth"] == len(stack)
            assert ln["parent"] == (stack[-1]["id"] if stack else None)
            assert ln["id"] not in ids
            ids.add(ln["id"])
            node = {"id": ln["id"], "children": []}
            (stack[-1]["node"]["children"] if stack else threads[cur][1]).append(node)
            stack.append({"id": ln["id"], "node": node})
        elif t == "call":
            top = stack.pop()
            assert ln["id"] == top["id"] and ln["depth"] == len(stack) and ln["thread"] == cur
            assert ln["parent"] == (stack[-1]["id"] if stack else None)
            top["node"]["fields"] = {k: v for k, v in ln.items()
                                     if k not in ("type", "id", "parent", "depth", "thread")}
        elif t == "thread_end":
            assert ln["thread"] == cur and not stack
            assert ln["calls"] == len([1 for _ in walk_rebuilt(threads[cur][1])])
            cur = None
        else:
            assert t == "crash" and cur is None
    assert cur is None
    return threads


def walk_rebuilt(roots):
    stack = list(reversed(roots))
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n["children"]))


def same_trees(json_nodes, rebuilt):
    """Node for node, in order, iteratively (traces can be deep)."""
    pairs = [(json_nodes, rebuilt)]
    count = 0
    while pairs:
        a, b = pairs.pop()
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert y["fields"] == node_fields(x), (y["id"], y["fields"], node_fields(x))
            pairs.append((x["children"], y["children"]))
            count += 1
    return count


def check_jsonl_matches(doc, lines):
    assert lines[0]["metadata"] == doc["metadata"]
    threads = rebuild(lines)
    assert list(threads) == list(doc["call_trees"])
    for key, t in doc["call_trees"].items():
        head, roots = threads[key]
        assert head["thread_id"] == t["thread_id"]
        assert head.get("thread_name") == t.get("thread_name")
        assert head["total_calls"] == t["total_calls"]
        assert same_trees(t["root_calls"], roots) == t["total_calls"]
        # the tree's other members: those before root_calls on both lines, all at the end
        named = ("thread_id", "thread_name", "total_calls", "lost_events", "root_calls")
        more = {k: v for k, v in t.items() if k not in named}
        end = next(ln for ln in lines if ln["type"] == "thread_end" and ln["thread"] == key)
        assert end.get("more") == more and "pid" in more and "resyncs" in more
        assert head.get("more") == {"resyncs": t["resyncs"]}
    crash = [ln["crash"] for ln in lines if ln["type"] == "crash"]
    assert crash == ([doc["crash"]] if doc["crash"] is not None else [])


def same_outputs(procs, tracer, a, b, tmp_path):
    """report, report --tree, and every convert format, from a and from b."""
    for args in (["report"], ["report", "--threads"], ["report", "--tree"]):
        ra = tool(procs, tracer, args[0], a, *args[1:]).stdout
        rb = tool(procs, tracer, args[0], b, *args[1:]).stdout
        assert ra == rb, args
    for fmt in ("folded", "chrome", "svg", "jsonl"):
        oa, ob = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
        tool(procs, tracer, "convert", a, "--to", fmt, "-o", oa)
        tool(procs, tracer, "convert", b, "--to", fmt, "-o", ob)
        assert oa.read_bytes() == ob.read_bytes(), fmt


# ---- tests ------------------------------------------------------------------------------

@pytest.mark.parametrize("prog,opts", [("recursion.c", ()), ("threads.c", ()),
                                       ("args.c", ("-a", "-r")), ("basic.c", ("-a", "-r"))])
def test_format_jsonl_equals_json(build, trace, procs, tracer, tmp_path, prog, opts):
    """-f jsonl beside the JSON: the same trees; report and convert agree."""
    path, doc = record(trace, procs, [build(prog, "-O0")], "-f", "jsonl", *opts)
    jl = path.with_suffix(".jsonl")
    assert jl.exists()
    check_jsonl_matches(doc, read_jsonl(jl))
    same_outputs(procs, tracer, path, jl, tmp_path)
    # and convert --to jsonl writes the same file
    again = tmp_path / "again.jsonl"
    tool(procs, tracer, "convert", path, "--to", "jsonl", "-o", again)
    assert again.read_bytes() == jl.read_bytes()


@pytest.mark.crash
def test_jsonl_crash(build, trace, procs, tracer, tmp_path):
    path, doc = record(trace, procs, [build("crash.c", "-O0"), "segv"], "-f", "jsonl",
                       status=139)
    lines = read_jsonl(path.with_suffix(".jsonl"))
    assert doc["crash"] is not None and lines[-1]["type"] == "crash"
    check_jsonl_matches(doc, lines)
    same_outputs(procs, tracer, path, path.with_suffix(".jsonl"), tmp_path)


def test_output_jsonl(build, trace, procs, tracer, tmp_path):
    """-o x.jsonl leaves the JSONL alone as the result (no JSON beside it),
    and -f beside it reads it."""
    out = tmp_path / "t.jsonl"
    proc = procs.run(trace.command(out, ["-f", "folded"], [build("recursion.c", "-O0")]))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.folded", "t.jsonl"]
    assert "t.jsonl" in proc.stderr.splitlines()[-1]
    lines = read_jsonl(out)
    md = lines[0]["metadata"]
    threads = rebuild(lines)
    assert sum(len(list(walk_rebuilt(r))) for _, r in threads.values()) == md["total_calls"]
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    folded = tool(procs, tracer, "convert", out, "--to", "folded").stdout
    assert (tmp_path / "t.folded").read_text() == folded


def test_jsonl_from_stdin_and_damaged(build, trace, procs, tracer, tmp_path):
    path, doc = record(trace, procs, [build("recursion.c", "-O0")], "-f", "jsonl")
    jl = path.with_suffix(".jsonl")
    with open(jl, "rb") as f:
        got = subprocess.run([str(tracer), "report", "-"], stdin=f, capture_output=True,
                             timeout=60)
    assert got.returncode == 0 and got.stdout.decode() == tool(procs, tracer, "report", path).stdout
    raw = jl.read_bytes()
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(raw[:len(raw) // 2])
    err = tool(procs, tracer, "report", cut, status=1).stderr
    assert re.search(r"'.*cut\.jsonl': line \d+: ", err), err


# ---- jq --------------------------------------------------------------------------------

def jq(*args, path, slurp=False):
    p = subprocess.run([JQ, *args, str(path)], capture_output=True, text=True, timeout=120)
    return p


# The README's recipes, each as it reads the JSON document and the JSONL
RECIPES = [
    ([".metadata.total_calls"],
     ["-n", "input | .metadata.total_calls"]),
    (['[.. | objects | select(.function == "fib") | .duration_ns] | add'],
     ["-n", 'reduce (inputs | select(.type == "call" and .function == "fib") | .duration_ns)'
      ' as $d (null; . + $d)']),
    (["-r", '.call_trees[] | "\\(.thread_name): \\(.total_calls)"'],
     ["-r", 'select(.type == "thread") | "\\(.thread_name): \\(.total_calls)"']),
]


@pytest.mark.skipif(JQ is None, reason="jq is not installed")
def test_readme_jq_recipes(build, trace, procs, tmp_path):
    path, doc = record(trace, procs, [build("recursion.c", "-O0")], "-f", "jsonl")
    jl = path.with_suffix(".jsonl")
    for on_json, on_jsonl in RECIPES:
        a, b = jq(*on_json, path=path), jq(*on_jsonl, path=jl)
        assert a.returncode == 0 and b.returncode == 0, (a.stderr, b.stderr)
        assert a.stdout == b.stdout and a.stdout.strip(), (on_jsonl, a.stdout, b.stdout)
    # the README's outline: one line per call, in the order they were made
    outline = jq("-r", 'select(.type == "enter") | "\\("  " * .depth // "")\\(.function)"', path=jl)
    want = []
    for t in thread_trees(doc):
        stack = [(n, 0) for n in reversed(t["root_calls"])]
        while stack:
            n, d = stack.pop()
            want.append("  " * d + n["function"])
            stack.extend((c, d + 1) for c in reversed(n["children"]))
    assert outline.stdout.splitlines() == want


@pytest.mark.skipif(JQ is None, reason="jq is not installed")
def test_jq_reads_10000_deep(build, trace, procs, tracer, tmp_path):
    """A dive 10,000 calls deep (longjumps.c, no jump): jq gives up on the
    JSON document and reads every line of the JSONL."""
    depth = 10000
    exe = build("longjumps.c", "-O2")
    path, doc = record(trace, procs, [exe, depth, 1, 0], "-f", "jsonl", timeout=180)
    jl = path.with_suffix(".jsonl")
    refused = jq(".metadata.total_calls", path=path)
    assert refused.returncode != 0 and "depth" in refused.stderr, refused.stderr
    total = doc["metadata"]["total_calls"]
    got = jq("-n", 'reduce (inputs | select(.type == "call")) as $c ([0, 0]; '
             '[.[0] + 1, ([.[1], $c.depth] | max)])', "-c", path=jl)
    assert got.returncode == 0, got.stderr
    calls, deepest = json.loads(got.stdout)
    assert calls == total and deepest >= depth
    check_jsonl_matches(doc, read_jsonl(jl))
    same_outputs(procs, tracer, path, jl, tmp_path)
