"""--subtree and --caller, decided in BPF: the trace of the same program
traced fully and filtered offline is the ground truth, node for node
(names, nesting, counts, partial calls)."""
import fnmatch
import re
import time

import pytest

from calltree import all_nodes, main_thread, thread_trees
from conftest import Tracer

DEEP_REASON = "entry not observed (a caller beyond the 64 frames --caller keeps)"
LATE_ARGS = "not captured: --caller sends a caller's entry only once a call it makes matches"


# ---- the offline filters ------------------------------------------------------

def pshape(node):
    """A node as (function, partial, children): the nesting and what is partial."""
    return (node["function"], bool(node.get("partial")),
            tuple(pshape(c) for c in node["children"]))


def cut(shape, depth):
    """shape without the calls deeper than depth (1: the node alone)."""
    name, partial, children = shape
    return (name, partial, tuple(cut(c, depth - 1) for c in children) if depth > 1 else ())


def matches(name, patterns):
    """the -F pattern syntax, for C names: a glob, or a /regex/"""
    return any(re.search(p[1:-1], name) if p.startswith("/") else fnmatch.fnmatchcase(name, p)
               for p in patterns)


def subtree_filter(nodes, names, max_depth=None):
    """--subtree offline: each outermost call that names match, whole."""
    out = []
    for n in nodes:
        if matches(n["function"], names):
            s = pshape(n)
            out.append(cut(s, max_depth) if max_depth else s)
        else:
            out.extend(subtree_filter(n["children"], names, max_depth))
    return tuple(out)


def caller_filter(nodes, names, max_depth=None, depth=1):
    """--caller offline: every call of a name in names (deeper than max_depth
    not) and the calls that lead to one; a match's own callees only when
    they lead to another."""
    out = []
    for n in nodes:
        kids = caller_filter(n["children"], names, max_depth, depth + 1)
        hit = matches(n["function"], names) and (not max_depth or depth <= max_depth)
        if hit or kids:
            out.append((n["function"], bool(n.get("partial")), kids))
    return tuple(out)


def per_thread(doc):
    """{thread name: root shapes} of every thread with calls."""
    got = {}
    for t in thread_trees(doc):
        if t["root_calls"]:
            name = t["thread_name"]
            got[name] = got.get(name, ()) + tuple(pshape(n) for n in t["root_calls"])
    return got


def offline(doc, how, names, max_depth=None):
    got = {}
    for t in thread_trees(doc):
        kept = how(t["root_calls"], names, max_depth)
        if kept:
            got[t["thread_name"]] = got.get(t["thread_name"], ()) + kept
    return got


def ok(proc, doc):
    assert proc.returncode == 0, proc.stderr
    assert doc is not None, proc.stderr
    return doc


def both(trace, argv, opts, shape_opts, **kw):
    """(full trace, shaped trace) of the same program with the same opts"""
    full = ok(*trace(argv, *opts, **kw))
    shaped = ok(*trace(argv, *opts, *shape_opts, **kw))
    return full, shaped


def pattern_opts(opt, names):
    return [a for n in names for a in (opt, n)]


# ---- subtree ----------------------------------------------------------------

SUBTREE_CASES = [
    # (program, args, patterns)
    ("recursion.c", [], ["is_odd"]),           # mutual recursion: nested matches
    ("recursion.c", [], ["fib", "ackermann"]),  # recursive roots, two patterns
    ("callers.c", ["10"], ["descend"]),
    ("callers.c", ["10"], ["target", "/^oth/"]),  # matches at many depths
    ("threads.c", [], ["work"]),
    ("threads.c", [], ["summarize"]),
]


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
@pytest.mark.parametrize("prog,args,names", SUBTREE_CASES,
                         ids=[f"{c[0]}:{'+'.join(c[2])}" for c in SUBTREE_CASES])
def test_subtree_is_the_full_trace_filtered(build, trace, opt, prog, args, names):
    exe = build(prog, opt)
    full, sub = both(trace, [exe, *args], [], pattern_opts("--subtree", names))
    assert per_thread(sub) == offline(full, subtree_filter, names)
    assert sub["metadata"]["total_calls"] == len(all_nodes(sub))
    assert sub["metadata"]["total_calls"] < full["metadata"]["total_calls"]
    assert sub["metadata"]["options"]["subtree"] == names
    assert not sub["metadata"]["lost_events"]


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_subtree_with_max_depth(build, trace, depth):
    """-D counts from each subtree's root."""
    exe = build("recursion.c", "-O1")
    full, sub = both(trace, [exe], [], ["--subtree", "is_even", "-D", depth])
    assert per_thread(sub) == offline(full, subtree_filter, ["is_even"], depth)


def test_subtree_with_filters(build, trace):
    """-F/-N choose what is probed; the subtree is of the traced calls."""
    exe = build("callers.c", "-O2")
    opts = ["-F", "descend", "-F", "target", "-F", "leaf", "-N", "other"]
    full, sub = both(trace, [exe, "6"], opts, ["--subtree", "descend"])
    want = offline(full, subtree_filter, ["descend"])
    assert per_thread(sub) == want
    assert not any(n["function"] == "other" for n in all_nodes(sub))


@pytest.mark.parametrize("opt,names", [("--subtree", ["descend"]), ("--caller", ["leaf"])])
def test_call_site_probes(build, trace, opt, names):
    """The same at the call sites' probes as at the preloaded hooks'."""
    exe = build("callers.c", "-O2")
    full, got = both(trace, [exe, "7"], ["--probe", "callsite"], pattern_opts(opt, names))
    how = subtree_filter if opt == "--subtree" else caller_filter
    assert per_thread(got) == offline(full, how, names)
    assert got["metadata"]["options"]["probe_mode"] == "callsite"


def test_caller_with_filters(build, trace):
    """-F/-N choose what is probed; the callers are the traced ones."""
    exe = build("callers.c", "-O2")
    opts = ["-N", "descend"]
    full, got = both(trace, [exe, "6"], opts, ["--caller", "leaf"])
    assert per_thread(got) == offline(full, caller_filter, ["leaf"])
    assert not any(n["function"] == "descend" for n in all_nodes(got))


def test_subtree_with_args(build, trace):
    exe = build("callers.c", "-O0")
    full, sub = both(trace, [exe, "5"], ["--args"], ["--subtree", "target"])
    assert per_thread(sub) == offline(full, subtree_filter, ["target"])
    under = [n for n in all_nodes(full) if n["function"] == "target"]
    args = lambda nodes: [(n["function"], n["arguments"]) for n in all_nodes(nodes)]  # noqa: E731
    assert args(main_thread(sub)["root_calls"]) == args(under)
    assert all(a for _, a in args(under))


# ---- caller -----------------------------------------------------------------

CALLER_CASES = [
    ("recursion.c", [], ["ackermann"]),
    ("recursion.c", [], ["is_even"]),
    ("callers.c", ["10"], ["target"]),
    ("callers.c", ["10"], ["leaf"]),           # under both target and other
    ("callers.c", ["10"], ["target", "leaf"]),  # a match under a match
    ("threads.c", [], ["leaf"]),
]


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
@pytest.mark.parametrize("prog,args,names", CALLER_CASES,
                         ids=[f"{c[0]}:{'+'.join(c[2])}" for c in CALLER_CASES])
def test_caller_is_the_full_trace_filtered(build, trace, opt, prog, args, names):
    exe = build(prog, opt)
    full, cal = both(trace, [exe, *args], [], pattern_opts("--caller", names))
    assert per_thread(cal) == offline(full, caller_filter, names)
    assert cal["metadata"]["total_calls"] == len(all_nodes(cal))
    assert cal["metadata"]["options"]["caller"] == names
    assert not any(n.get("partial") for n in all_nodes(cal))


def test_caller_times_are_the_calls_own(build, trace):
    """A caller sent late carries its own entry time: it encloses its callees."""
    exe = build("callers.c", "-O0")
    doc = ok(*trace([exe, "20"], "--caller", "leaf"))
    for n in all_nodes(doc):
        for c in n["children"]:
            assert n["start_ns"] <= c["start_ns"] <= c["end_ns"] <= n["end_ns"]


@pytest.mark.parametrize("depth", [3, 6])
def test_caller_with_max_depth(build, trace, depth):
    """-D: matches deeper than it are not recorded (nor are their callers for them)."""
    exe = build("callers.c", "-O1")
    full, cal = both(trace, [exe, "8"], [], ["--caller", "target", "-D", depth])
    assert per_thread(cal) == offline(full, caller_filter, ["target"], depth)


def test_caller_with_args(build, trace):
    """The matching call's arguments are captured; a caller's entry, sent late, says why not."""
    exe = build("callers.c", "-O0")
    full, cal = both(trace, [exe, "4"], ["--args"], ["--caller", "target"])
    assert per_thread(cal) == offline(full, caller_filter, ["target"])
    targets = [n for n in all_nodes(cal) if n["function"] == "target"]
    want = [n["arguments"] for n in all_nodes(full) if n["function"] == "target"]
    assert [n["arguments"] for n in targets] == want and all(want)
    for n in all_nodes(cal):
        if n["function"] != "target":
            assert n["arguments"] is None and n["arguments_unavailable"] == LATE_ARGS


def test_caller_deeper_than_kept(build, trace):
    """Callers more than 64 frames above a match: placeholders named by their
    exits, with a true reason; never a wrong name."""
    exe = build("callers.c", "-O0")
    full, cal = both(trace, [exe, "100"], [], ["--caller", "target"])
    want = offline(full, caller_filter, ["target"])
    names = lambda s: (s[0], tuple(names(c) for c in s[2]))  # noqa: E731
    got = per_thread(cal)
    assert {k: tuple(map(names, v)) for k, v in got.items()} == \
        {k: tuple(map(names, v)) for k, v in want.items()}
    partial = [n for n in all_nodes(cal) if n.get("partial")]
    # main, round_trip at 1-2; descend from 3; the first target at 104: the
    # callers at 3..40 are beyond the 64 frames kept (63 callers + the call)
    assert len(partial) == 38
    assert {(n["function"], n["partial_reason"]) for n in partial} == {("descend", DEEP_REASON)}
    assert all(n.get("start_ns") is None and n["end_ns"] for n in partial)
    assert main_thread(cal)["resyncs"] == 0


def test_caller_compact_trace(build, trace, tmp_path):
    """The late entries and the placeholders survive -o FILE.ctrace and its conversion."""
    exe = build("callers.c", "-O0")
    direct = ok(*trace([exe, "80"], "--caller", "target", "--args"))
    compact = Tracer(trace.binary, trace.procs, tmp_path, ext=".ctrace")
    conv = ok(*compact([exe, "80"], "--caller", "target", "--args"))
    assert per_thread(conv) == per_thread(direct)
    reasons = lambda d: sorted(str((n["function"], n.get("partial_reason"),  # noqa: E731
                                    n.get("arguments_unavailable"))) for n in all_nodes(d))
    assert reasons(conv) == reasons(direct)


# ---- non-local exits, coroutines ----------------------------------------------

@pytest.mark.parametrize("kind", ["longjmp", "signal"])
@pytest.mark.parametrize("how,opt,names", [
    (subtree_filter, "--subtree", ["dive"]),
    (subtree_filter, "--subtree", ["protected_call"]),
    (caller_filter, "--caller", ["jump"]),
    (caller_filter, "--caller", ["helper", "handler_work"]),
], ids=["subtree-dive", "subtree-protected", "caller-jump", "caller-helper"])
def test_longjmp(build, trace, how, opt, names, kind):
    exe = build("longjumps.c", "-O0")
    full, got = both(trace, [exe, "5", "4", "2", kind], [], pattern_opts(opt, names))
    assert per_thread(got) == offline(full, how, names)
    assert main_thread(got)["resyncs"] == 0


@pytest.mark.parametrize("how,opt,names", [
    (subtree_filter, "--subtree", ["generator"]),
    (subtree_filter, "--subtree", ["driver"]),
    (caller_filter, "--caller", ["produce"]),
    (caller_filter, "--caller", ["consume"]),
], ids=["subtree-generator", "subtree-driver", "caller-produce", "caller-consume"])
def test_coroutines(build, trace, how, opt, names):
    exe = build("coroutines.c", "-O0")
    full, got = both(trace, [exe, "3", "2"], [], pattern_opts(opt, names))
    assert per_thread(got) == offline(full, how, names)
    assert all(t["resyncs"] == 0 for t in thread_trees(got))


# ---- attach mode, forks -------------------------------------------------------

def attached(build, trace, procs, tmp_path, opts):
    exe = build("callers.c", "-O1")
    stop = tmp_path / "stop"
    p = procs.popen([str(exe), "12", str(stop)])
    time.sleep(0.3)
    try:
        proc, doc = trace.attach(p.pid, "--duration", "0.5", *opts)
    finally:
        stop.touch()
        p.wait(timeout=10)
    return exe, ok(proc, doc)


def round_trip_shape(build, trace, how, names):
    """one round of callers.c filtered offline, from a launched full trace"""
    exe = build("callers.c", "-O1")
    full = ok(*trace([exe, "12"]))
    (main,) = main_thread(full)["root_calls"]
    (rt,) = main["children"]
    return how([rt], names)


def nested_matches(shapes, name):
    """every subtree rooted at a call of name strictly inside shapes"""
    out = set()

    def walk(shape, inside):
        if inside and shape[0] == name:
            out.add(shape)
        for c in shape[2]:
            walk(c, True)
    for s in shapes:
        walk(s, False)
    return out


@pytest.mark.parametrize("how,opt,names", [
    (subtree_filter, "--subtree", ["descend"]),
    (caller_filter, "--caller", ["target"]),
], ids=["subtree", "caller"])
def test_attach(build, trace, procs, tmp_path, how, opt, names):
    """Attached mid-run: every complete round is the launched round, filtered.
    With --subtree, a root running when tracing starts is not one (its entry
    unseen), so a match nested in it that starts after the attach is a root
    of its own: only before the first whole round, and only as a subtree the
    round holds."""
    want = round_trip_shape(build, trace, how, names)
    _, doc = attached(build, trace, procs, tmp_path, [opt, names[0]])
    roots = main_thread(doc)["root_calls"]
    # main began before tracing and runs on: the rounds are at the root level
    assert all(r["function"] == want[0][0] for r in roots)
    got = [pshape(r) for r in roots if not r.get("partial")]
    first = next((i for i, g in enumerate(got) if g in set(want)), len(got))
    if opt == "--subtree":
        assert set(got[:first]) <= nested_matches(want, names[0]), got[:first]
        got = got[first:]
    assert len(got) >= 20 and set(got) == set(want)
    # only a round running when tracing started or stopped is partial
    assert sum(1 for r in roots if r.get("partial")) <= 2


def test_follow_forks(build, trace):
    exe = build("forker.c", "-O0")
    full, sub = both(trace, [exe, "fork", "3"], ["--follow-forks"], ["--caller", "leaf"])
    assert per_thread(sub) == offline(full, caller_filter, ["leaf"])


# ---- refused before anything is attached ----------------------------------------

@pytest.mark.parametrize("opts,says", [
    (["--subtree", "/unclosed"], "invalid --subtree pattern '/unclosed'"),
    (["--caller", "//"], "invalid --caller pattern '//'"),
    (["--subtree", ""], "invalid --subtree pattern ''"),
    (["--subtree", "a", "--caller", "b"], "--subtree and --caller cannot be combined"),
    (["--subtree", "a", "--summary"], "--summary keeps no calls, so --subtree"),
    (["--caller", "a", "--summary"], "--summary keeps no calls, so --caller"),
], ids=["regex", "empty-regex", "empty", "both", "summary-subtree", "summary-caller"])
def test_refused(build, procs, tracer, tmp_path, opts, says):
    exe = build("callers.c", "-O0")
    r = procs.run([tracer, *opts, "--", exe], cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stdout == "" and not (tmp_path / "ctrace.json").exists()


def test_no_match_is_an_empty_trace(build, trace):
    """As with -F: nothing matches, nothing is recorded; a warning says so."""
    exe = build("callers.c", "-O0")
    proc, doc = trace([exe, "3"], "--subtree", "no_such_function")
    ok(proc, doc)
    assert "no function matches the --subtree patterns" in proc.stderr
    assert doc["metadata"]["total_calls"] == 0 and not all_nodes(doc)
