"""--min-duration and --keep-if after the fact: `convert` and `report` of a
compact trace (-o T.ctrace) through the tracer's own filters.

The exact check: ONE run is recorded, converted to JSON unfiltered and with
the filters; the filtered document must be the unfiltered one filtered here
by the documented rule (doc/design.md, "Filtered trees"), node for node with
identical timestamps, arguments and return values, every dropped call
counted in metadata.filtered. Same events, so the ground truth is exact.
(A live --min-duration trace and the conversion of another run's record
differ by the runs' timings: never compared.)"""
import collections
import operator
import subprocess

import pytest

from calltree import all_nodes, is_partial, roots

MS = 1_000_000
US = 1_000


# ---- the rule, independently -------------------------------------------------------

def long_enough(n, dur):
    return is_partial(n) or n["duration_ns"] is None or n["duration_ns"] >= dur


def min_duration(nodes, dur):
    """The kept nodes: long enough (or not timed), or the caller of one that is."""
    out = []
    for n in nodes:
        kids = min_duration(n["children"], dur)
        if long_enough(n, dur) or kids:
            out.append({**n, "children": kids})
    return out


# three-valued conditions: None is "cannot be told" (Kleene's logic for && and ||)
def AND(a, b):
    return False if a is False or b is False else None if a is None or b is None else True


def OR(a, b):
    return True if a is True or b is True else None if a is None or b is None else False


def cmp(v, op, w):
    return None if v is None else op(v, w)


def retval(n):
    rv = n.get("return_value")
    return None if is_partial(n) or not rv else rv["value"]


def duration(n):
    return None if is_partial(n) else n["duration_ns"]


def arg(n, name):
    return next((a["value"] for a in n.get("arguments") or [] if a["name"] == name), None)


def keep_if(nodes, rules):
    """The kept nodes: a FUNC call whose condition holds, whole; the callers
    of one, as context (with only what they need)."""
    out = []
    for n in nodes:
        cond = rules.get(n["function"])
        if cond is not None and cond(n) is True:
            out.append(n)
            continue
        kids = keep_if(n["children"], rules)
        if kids:
            out.append({**n, "children": kids})
    return out


def keep_if_counts(nodes, rules):
    """(kept, unreadable): every FUNC call is told at its return, inside a
    kept one too"""
    told = collections.Counter(rules[n["function"]](n) for n in all_nodes(nodes)
                               if n["function"] in rules)
    return told[True], told[None]


def offline(full, dur=None, rules=None, texts=()):
    """The document the filters must give for the full one's events."""
    threads, dropped = {}, collections.Counter()
    kept = unreadable = 0
    for key, t in full["call_trees"].items():
        nodes = t["root_calls"]
        if rules:
            k, u = keep_if_counts(nodes, rules)
            kept, unreadable = kept + k, unreadable + u
            out = keep_if(nodes, rules)
            dropped["keep_if"] += len(all_nodes(nodes)) - len(all_nodes(out))
            nodes = out
        if dur is not None:
            out = min_duration(nodes, dur)
            dropped["min_duration"] += len(all_nodes(nodes)) - len(all_nodes(out))
            nodes = out
        threads[key] = {**t, "total_calls": len(all_nodes(nodes)), "root_calls": nodes}
    meta = {}
    for k, v in full["metadata"].items():
        if k == "exit_code":
            meta["filtered"] = {
                "min_duration_ns": dur, "min_duration_dropped": dropped["min_duration"],
                "keep_if": list(texts), "keep_if_kept": kept,
                "keep_if_dropped": dropped["keep_if"], "keep_if_unreadable": unreadable}
        meta[k] = v
    meta["total_calls"] = sum(t["total_calls"] for t in threads.values())
    return {"metadata": meta, "call_trees": threads, "crash": full["crash"]}


def same(doc, want):
    """node for node, key order of metadata too"""
    assert list(doc["metadata"]) == list(want["metadata"])
    assert doc["metadata"] == want["metadata"]
    assert list(doc["call_trees"]) == list(want["call_trees"])
    for key, t in want["call_trees"].items():
        assert doc["call_trees"][key] == t, f"thread {key}"
    assert doc["crash"] == want["crash"]


# ---- running ---------------------------------------------------------------------------

@pytest.fixture
def rec(build, tracer, procs, tmp_path):
    """rec(src, args, *opts): one run recorded, with its full conversion:
    (path of the .ctrace, full document)"""
    seq = iter(range(1000))

    def run(src, args, *opts, status=0):
        exe = build(src, "-O0")
        out = tmp_path / f"r{next(seq)}.ctrace"
        proc = procs.run([tracer, "-o", out, *opts, "--", exe, *map(str, args)])
        assert proc.returncode == status, proc.stderr
        return out, convert(tracer, out)
    return run


def tool(tracer, *args, text=True):
    return subprocess.run([str(tracer), *map(str, args)], capture_output=True, text=text,
                          timeout=120)


def convert(tracer, ctrace, *opts):
    import json
    p = tool(tracer, "convert", ctrace, "--to", "json", *opts)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


# ---- --min-duration ---------------------------------------------------------------------

def test_min_duration_naps(rec, tracer):
    ctr, full = rec("naps.c", [3])
    doc = convert(tracer, ctr, "--min-duration", "1ms")
    same(doc, offline(full, dur=MS))
    # by construction: every nap, round_ and main lasts over 1 ms, no quick does
    assert collections.Counter(n["function"] for n in all_nodes(roots(doc))) == \
        {"main": 1, "round_": 3, "nap": 9}
    assert doc["metadata"]["filtered"]["min_duration_dropped"] == 300


def test_min_duration_exit_keeps_partial(rec, tracer):
    """main and the last round_ never return: not timed, kept under 100 s."""
    ctr, full = rec("naps.c", [2, "exit"])
    doc = convert(tracer, ctr, "--min-duration", "100s")
    same(doc, offline(full, dur=100_000 * MS))
    assert all(is_partial(n) for n in all_nodes(roots(doc)))
    assert len(all_nodes(roots(doc))) == 2


def test_min_duration_call_heavy(rec, tracer):
    """fib(22): 57,313 calls of a few hundred ns, whatever the threshold
    splits, it splits as the rule says"""
    ctr, full = rec("stress.c", ["fib", 22])
    assert full["metadata"]["total_calls"] > 50_000
    for dur in ("1us", "5us", "50us"):
        doc = convert(tracer, ctr, "--min-duration", dur)
        ns = int(dur[:-2]) * US
        same(doc, offline(full, dur=ns))
        f = doc["metadata"]["filtered"]
        assert doc["metadata"]["total_calls"] + f["min_duration_dropped"] == \
            full["metadata"]["total_calls"]


# ---- --keep-if ----------------------------------------------------------------------------

ITEMS = 20
NEG = ("process: retval < 0", {"process": lambda n: cmp(retval(n), operator.lt, 0)})


def test_keep_if_retval(rec, tracer):
    ctr, full = rec("failing.c", [ITEMS], "--capture", "process")
    text, rules = NEG
    doc = convert(tracer, ctr, "--keep-if", text)
    same(doc, offline(full, rules=rules, texts=[text]))
    kept = [n for n in all_nodes(roots(doc)) if n["function"] == "process"]
    assert [arg(n, "i") for n in kept] == [i for i in range(ITEMS) if i % 5 == 0]
    assert doc["metadata"]["filtered"]["keep_if_kept"] == 4


def test_keep_if_or_duration_and_args(rec, tracer):
    """a condition on the duration, the return value and an argument, and two
    rules; with --args every call's arguments come through"""
    ctr, full = rec("failing.c", [ITEMS, 3], "--args", "--retval")
    texts = ["process: duration > 2ms || (retval < 0 && arg.fd == 3)", "lookup: retval == NULL"]
    rules = {
        "process": lambda n: OR(cmp(duration(n), operator.gt, 2 * MS),
                                AND(cmp(retval(n), operator.lt, 0),
                                    cmp(arg(n, "fd"), operator.eq, 3))),
        "lookup": lambda n: cmp(retval(n), operator.eq, "0x0"),
    }
    doc = convert(tracer, ctr, "--keep-if", texts[0], "--keep-if", texts[1])
    same(doc, offline(full, rules=rules, texts=texts))
    # by construction, per thread: i % 7 == 0 nap 3 ms; 15 fails with fd 3
    workers = [t for t in doc["call_trees"].values() if t["root_calls"]]
    assert len(workers) == 3
    for t in workers:
        got = {arg(n, "i") for n in all_nodes(t["root_calls"]) if n["function"] == "process"}
        assert {0, 7, 14, 15} <= got


def test_keep_if_and_min_duration(rec, tracer):
    """--keep-if's output, then pruned by --min-duration"""
    ctr, full = rec("failing.c", [ITEMS], "--capture", "process")
    text, rules = NEG
    doc = convert(tracer, ctr, "--keep-if", text, "--min-duration", "1ms")
    same(doc, offline(full, dur=MS, rules=rules, texts=[text]))
    assert [n["function"] for n in all_nodes(roots(doc))] == ["work", "process", "nap"]


def test_keep_if_call_heavy(rec, tracer):
    """70,000 calls: nested, repeated FUNC calls"""
    ctr, full = rec("failing.c", [20000], "--capture", "nest", "--capture", "process")
    texts = ["nest: retval < 0", "process: retval < 0 && duration > 1ms"]
    rules = {"nest": lambda n: cmp(retval(n), operator.lt, 0),
             "process": lambda n: AND(cmp(retval(n), operator.lt, 0),
                                      cmp(duration(n), operator.gt, MS))}
    doc = convert(tracer, ctr, "--keep-if", texts[0], "--keep-if", texts[1])
    same(doc, offline(full, rules=rules, texts=texts))


def test_keep_if_unreadable(rec, tracer):
    """A record with arguments but no return values: retval cannot be told for
    any call, none is kept and each is counted; the last round_ never
    returns: its duration cannot be told"""
    ctr, full = rec("failing.c", [ITEMS], "--args")
    text, rules = NEG
    doc = convert(tracer, ctr, "--keep-if", text)
    same(doc, offline(full, rules=rules, texts=[text]))
    f = doc["metadata"]["filtered"]
    assert (f["keep_if_kept"], f["keep_if_unreadable"]) == (0, ITEMS)
    assert doc["metadata"]["total_calls"] == 0

    ctr, full = rec("naps.c", [2, "exit"])
    text = "round_: duration > 1ms"
    doc = convert(tracer, ctr, "--keep-if", text)
    same(doc, offline(full, rules={"round_": lambda n: cmp(duration(n), operator.gt, MS)},
                      texts=[text]))
    f = doc["metadata"]["filtered"]
    assert (f["keep_if_kept"], f["keep_if_unreadable"]) == (1, 1)


# ---- every format, and report ----------------------------------------------------------

@pytest.mark.parametrize("fmt", ["jsonl", "chrome", "folded", "speedscope"])
def test_formats_and_report(rec, tracer, tmp_path, fmt):
    """Any --to FORMAT of the filtered record is that format of the filtered
    JSON; report's table and tree too"""
    ctr, _ = rec("failing.c", [ITEMS], "--capture", "process")
    opts = ["--keep-if", NEG[0], "--min-duration", "2us"]
    js = tmp_path / "kept.json"
    assert tool(tracer, "convert", ctr, "--to", "json", *opts, "-o", js).returncode == 0
    direct = tool(tracer, "convert", ctr, "--to", fmt, *opts)
    via = tool(tracer, "convert", js, "--to", fmt)
    assert direct.returncode == 0 and via.returncode == 0, direct.stderr + via.stderr
    assert direct.stdout == via.stdout
    for extra in ([], ["--tree"]):
        direct = tool(tracer, "report", ctr, *opts, *extra)
        via = tool(tracer, "report", js, *extra)
        assert direct.returncode == 0, direct.stderr
        assert direct.stdout == via.stdout


# ---- refused, with one line ------------------------------------------------------------

BAD = {
    "comparison": (["--keep-if", "read: retval <> 0"],
                   "--keep-if: expected a comparison at '<> 0'"),
    "operand": (["--keep-if", "process: ret < 0"],
                "--keep-if: expected retval, duration or arg.NAME at 'ret < 0'"),
    "no-func": (["--keep-if", "retval < 0"], "--keep-if: expected 'FUNC: CONDITION'"),
    "duration-unit": (["--keep-if", "process: duration > 5"],
                      "expected a duration with its unit (ns, us, ms, s) at '5'"),
    "min-duration-unit": (["--min-duration", "5"], "invalid --min-duration '5'"),
    "min-duration-junk": (["--min-duration", "2 ms"], "invalid --min-duration '2 ms'"),
}


@pytest.mark.parametrize("cmd", ["convert", "report"])
@pytest.mark.parametrize("name", list(BAD))
def test_bad_input(name, cmd, tracer, tmp_path):
    opts, says = BAD[name]
    to = ["--to", "json"] if cmd == "convert" else []
    p = tool(tracer, cmd, tmp_path / "none.ctrace", *to, *opts)
    lines = p.stderr.splitlines()
    assert p.returncode == 2 and len(lines) == 1, p.stderr
    assert lines[0].startswith(f"ctrace-bpf {cmd}: ") and says in lines[0], p.stderr


def test_refused_inputs(rec, tracer, tmp_path):
    ctr, full = rec("failing.c", [ITEMS])
    # the record holds no values: a condition on one is refused up front
    for text in (NEG[0], "process: arg.fd == 3"):
        p = tool(tracer, "convert", ctr, "--to", "chrome", "--keep-if", text)
        assert p.returncode == 1 and len(p.stderr.splitlines()) == 1, p.stderr
        assert "holds no captured values (it was recorded without --args, --retval or " \
            "--capture)" in p.stderr
    # the duration needs nothing
    text = "process: duration > 2ms"
    doc = convert(tracer, ctr, "--keep-if", text)
    same(doc, offline(full, rules={"process": lambda n: cmp(duration(n), operator.gt, 2 * MS)},
                      texts=[text]))
    # a trace filtered already: its unfiltered calls are not in it
    kept = tmp_path / "kept.json"
    assert tool(tracer, "convert", ctr, "--to", "json", "--min-duration", "1ms",
                "-o", kept).returncode == 0
    p = tool(tracer, "convert", kept, "--to", "chrome", "--min-duration", "2ms",
             "-o", tmp_path / "x.json")
    assert p.returncode == 1 and len(p.stderr.splitlines()) == 1, p.stderr
    assert "it was filtered already (metadata.filtered)" in p.stderr
    assert not (tmp_path / "x.json").exists()


# ---- JSON and JSONL inputs: rebuilt through the same filters -----------------------------

CASES = [
    ("failing.c", [ITEMS, 3], ["--args", "--retval"],
     [["--min-duration", "2us"], ["--keep-if", NEG[0]],
      ["--keep-if", "process: duration > 1ms || arg.fd == 3", "--keep-if",
       "lookup: retval == NULL", "--min-duration", "1us"]]),
    ("naps.c", [2, "exit"], [], [["--min-duration", "3ms"], ["--keep-if", "round_: duration > 1ms"]]),
    ("crash.c", [], ["--args"], [["--min-duration", "1s"], ["--min-duration", "1ns"]]),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_json_inputs(rec, tracer, tmp_path, case):
    """The JSON and JSONL of a record, filtered, are the record filtered,
    byte for byte, in every format (a crash, threads, partial calls too)"""
    src, args, rec_opts, filters = CASES[case]
    ctr, full = rec(src, args, *rec_opts, status=139 if src == "crash.c" else 0)
    assert (full["crash"] is not None) == (src == "crash.c")
    compare_inputs(tracer, tmp_path, ctr, filters, ["json", "jsonl", "chrome", "perfetto"])


def compare_inputs(tracer, tmp_path, ctr, filters, formats):
    js, jl = tmp_path / "in.json", tmp_path / "in.jsonl"
    for path, fmt in ((js, "json"), (jl, "jsonl")):
        assert tool(tracer, "convert", ctr, "--to", fmt, "-o", path).returncode == 0
    for opts in filters:
        for fmt in formats:
            outs = [tool(tracer, "convert", x, "--to", fmt, *opts, text=False)
                    for x in (ctr, js, jl)]
            assert all(o.returncode == 0 for o in outs), [o.stderr for o in outs]
            assert outs[0].stdout == outs[1].stdout == outs[2].stdout, (opts, fmt)
        for extra in ([], ["--tree"]):
            outs = [tool(tracer, "report", x, *opts, *extra) for x in (ctr, js, jl)]
            assert outs[0].stdout == outs[1].stdout == outs[2].stdout, (opts, extra)


def test_json_inputs_attach(ticker, tracer, procs, tmp_path):
    """Attached, the target then ending: main and serve_loop were running
    when tracing started (they wrap what came before their exits, and
    --keep-if writes them always, as context)"""
    p, exe, state = ticker("-O1", seconds=2)
    ctr = tmp_path / "at.ctrace"
    proc = procs.run([tracer, "-o", ctr, "-p", p.pid, "-r", "--capture", "tick",
                      "--duration", "10"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    full = convert(tracer, ctr)
    (main,) = roots(full)
    assert main["function"] == "main" and "already running" in main["partial_reason"]
    doc = convert(tracer, ctr, "--keep-if", "tick: retval < 0")
    assert [n["function"] for n in all_nodes(roots(doc))] == ["main", "serve_loop"]
    compare_inputs(tracer, tmp_path, ctr,
                   [["--keep-if", "tick: retval < 0"], ["--keep-if", "tick: retval > 0"],
                    ["--min-duration", "5us"]], ["json", "chrome"])
