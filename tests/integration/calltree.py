"""Walking and checking ctrace-bpf traces (the JSON of doc/design.md section 6).

Everything here is plain functions over the parsed JSON, shared by the tracer
tests and the oracle tests (test_ground_truth.py), so both hold a trace to the
same expectations.
"""
import collections
import re

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
HEX = re.compile(r"^0x[0-9a-f]+$")

METADATA_KEYS = {
    "tool", "version", "format_version", "timestamp", "duration_ns", "command", "pid",
    "executable", "total_calls", "threads", "lost_events", "resyncs", "exit_code", "exit_signal",
    "options", "processes",
}
NODE_KEYS = {"function", "address", "module", "start_ns", "end_ns", "duration_ns", "children"}


def T(name, *children):
    """An expected shape: T("main", T("setup"), T("compute", T("add")))."""
    return (name, tuple(children))


def tree_in_source(path):
    """The expected shape a program states in its opening comment: the lines
    after the one that ends "expected tree:", one call a line, each indented
    more than its caller, up to the comment's first line without a call.
    The program and what its trace must be stay together."""
    lines = iter(open(path, encoding="utf-8").read().splitlines())
    for line in lines:
        if line.rstrip().lower().endswith("expected tree:"):
            break
    else:
        raise ValueError(f"{path}: no 'expected tree:' block")
    top = ("", [])
    stack = [(-1, top)]   # (indent, (name, children)) of the open callers
    for line in lines:
        text = line.lstrip()[1:] if line.lstrip().startswith("*") else ""
        name = text.strip()
        if not name or name.startswith("/") or name.startswith("*"):
            break
        indent = len(text) - len(text.lstrip())
        while stack[-1][0] >= indent:
            stack.pop()
        node = (name, [])
        stack[-1][1][1].append(node)
        stack.append((indent, node))

    def freeze(node):
        return T(node[0], *(freeze(c) for c in node[1]))
    (root,) = top[1]
    return freeze(root)


def thread_trees(doc):
    """The per-thread trees of a trace, ordered by thread id."""
    return sorted(doc["call_trees"].values(), key=lambda t: t["thread_id"])


def roots(x):
    """The top nodes of x: a whole trace (every thread), a thread tree, a node,
    or a list of nodes."""
    if isinstance(x, list):
        return x
    if "call_trees" in x:
        return [n for t in thread_trees(x) for n in t["root_calls"]]
    if "root_calls" in x:
        return x["root_calls"]
    return [x]


def walk(x):
    """Every node under x in pre-order, as (node, depth); top nodes have depth 1."""
    stack = [(n, 1) for n in reversed(roots(x))]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        stack.extend((c, depth + 1) for c in reversed(node["children"]))


def all_nodes(x):
    return [n for n, _ in walk(x)]


def count_calls(x, func):
    return sum(1 for n in all_nodes(x) if n["function"] == func)


def function_counts(x):
    return collections.Counter(n["function"] for n in all_nodes(x))


def depth_counts(x):
    """{depth: number of nodes at that depth}."""
    return collections.Counter(d for _, d in walk(x))


def shape(node):
    """A node as nested (function, (children...)) tuples: compare with T(...)."""
    return (node["function"], tuple(shape(c) for c in node["children"]))


def shapes(nodes):
    return tuple(shape(n) for n in nodes)


def nesting(node, func):
    """The most `func` frames on any path from node down."""
    here = 1 if node["function"] == func else 0
    return here + max((nesting(c, func) for c in node["children"]), default=0)


def thread_by_name(doc, name):
    found = [t for t in doc["call_trees"].values() if t["thread_name"] == name]
    assert len(found) == 1, f"expected one thread named {name!r}, found {len(found)}: " \
        f"{sorted(t['thread_name'] for t in doc['call_trees'].values())}"
    return found[0]


def main_thread(doc):
    tree = doc["call_trees"].get(str(doc["metadata"]["pid"]))
    assert tree is not None, f"no tree for the main thread {doc['metadata']['pid']}: " \
        f"{sorted(doc['call_trees'])}"
    return tree


def is_partial(node):
    return node.get("partial") is True


def check_invariants(doc):
    """What every trace must satisfy, whatever the program (doc/design.md section 6)."""
    assert set(doc) >= {"metadata", "call_trees", "crash"}, sorted(doc)
    md = doc["metadata"]
    missing = METADATA_KEYS - set(md)
    assert not missing, f"metadata lacks {sorted(missing)}"
    assert md["tool"] == "ctrace-bpf"
    assert md["format_version"] == 1
    assert isinstance(md["version"], str) and md["version"]
    assert ISO_UTC.match(md["timestamp"]), md["timestamp"]
    assert isinstance(md["duration_ns"], int) and md["duration_ns"] >= 0
    assert isinstance(md["command"], list) and all(isinstance(a, str) for a in md["command"])
    assert isinstance(md["pid"], int) and md["pid"] > 0
    assert isinstance(md["executable"], str) and md["executable"].startswith("/"), \
        md["executable"]
    assert isinstance(md["lost_events"], int) and md["lost_events"] >= 0
    assert md["resyncs"] == 0, f"{md['resyncs']} resyncs: gaps no lost event explains"
    assert md["exit_code"] is None or isinstance(md["exit_code"], int)
    assert md["exit_signal"] is None or isinstance(md["exit_signal"], int)
    assert isinstance(md["options"], dict)

    trees = doc["call_trees"]
    assert isinstance(trees, dict)
    assert md["threads"] == len(trees)
    total = 0
    pids = [p["pid"] for p in md["processes"]]
    assert pids and pids[0] == md["pid"], (pids, md["pid"])
    for key, tree in trees.items():
        # a tid used again (a new thread, or the image after an exec): "tid#2"
        tid, _, nth = key.partition("#")
        assert tid == str(tree["thread_id"]) and (not nth or int(nth) >= 2), \
            (key, tree["thread_id"])
        assert tree["pid"] in pids, (key, tree["pid"], pids)
        assert isinstance(tree["thread_name"], str)
        # a gap no counted loss explains is a tracer fault: never acceptable
        assert tree["resyncs"] == 0, f"thread {key}: {tree['resyncs']} resyncs"
        nodes = 0
        partial = 0
        for node in check_nodes(tree["root_calls"], None, md["duration_ns"]):
            nodes += 1
            partial += is_partial(node)
            reason = node.get("partial_reason", "")
            assert "tracer fault" not in reason, f"thread {key}: {node['function']}: {reason}"
            # "events lost" only where a loss was counted for the thread
            assert "events lost" not in reason or tree["lost_events"] > 0, \
                f"thread {key}: {node['function']}: {reason} with no loss counted"
        # A call whose entry was not seen may or may not count as a call.
        assert nodes - partial <= tree["total_calls"] <= nodes, \
            f"thread {key}: total_calls {tree['total_calls']}, {nodes} nodes ({partial} partial)"
        total += tree["total_calls"]
    assert md["total_calls"] == total

    crash = doc["crash"]
    while crash is not None:   # the crash, then its cause chain: the same shape
        assert isinstance(crash["signal"], int)
        assert isinstance(crash["signal_name"], str)
        assert isinstance(crash["thread_id"], int)
        assert isinstance(crash["call_stack"], list)
        assert all(isinstance(f["function"], str) for f in crash["call_stack"])
        cause = crash["cause"]
        assert cause is None or cause["time_ns"] <= crash["time_ns"]
        crash = cause


def check_nodes(nodes, parent, trace_end):
    """Checks a list of siblings and everything below; yields every node."""
    stack = [(nodes, parent)]
    while stack:
        siblings, parent = stack.pop()
        prev_start = None
        for n in siblings:
            missing = NODE_KEYS - set(n)
            assert not missing, f"node {n.get('function')} lacks {sorted(missing)}"
            where = f"{n['function']} [{n['start_ns']}, {n['end_ns']}]"
            partial = "partial" in n
            assert isinstance(n["function"], str) and n["function"], where
            if n["function"] == "[unknown]":
                # both ends lost: nothing is known but its place in the tree
                assert partial and n["address"] is None and n["module"] is None, where
            else:
                assert HEX.match(n["address"]), (where, n["address"])
                assert isinstance(n["module"], str) and n["module"] and "/" not in n["module"], \
                    (where, n["module"])
            # A time that was not observed is null, never a guess; only partial
            # calls may have one.
            for k in ("start_ns", "end_ns", "duration_ns"):
                assert isinstance(n[k], int) or (partial and n[k] is None), \
                    f"{where}: {k} must be an integer (or null on a partial call)"
            start, end = n["start_ns"], n["end_ns"]
            if start is not None and end is not None:
                assert 0 <= start <= end <= trace_end, f"{where} outside the trace [0, {trace_end}]"
            for t in (start, end):
                assert t is None or 0 <= t <= trace_end, f"{where} outside the trace [0, {trace_end}]"
            if n["duration_ns"] is not None:
                assert start is not None and end is not None and n["duration_ns"] == end - start, where
            else:
                assert start is None or end is None, f"{where}: duration missing"
            if partial:
                assert n["partial"] is True, where
                assert isinstance(n["partial_reason"], str) and n["partial_reason"], where
            else:
                assert "partial_reason" not in n, where
            if prev_start is not None and start is not None:
                assert start >= prev_start, f"{where} starts before its elder sibling"
            if start is not None:
                prev_start = start
            if parent is not None:
                ps, pe = parent["start_ns"], parent["end_ns"]
                assert (ps is None or start is None or ps <= start) and \
                    (pe is None or end is None or end <= pe), \
                    f"{where} is not within its parent {parent['function']} [{ps}, {pe}]"
            stack.append((n["children"], n))
            yield n
