"""The chrome file (-f chrome, convert --to chrome) in DevTools' Performance
panel, built from npm's chrome-devtools-frontend, in headless Chromium: the
panel itself (viewers.devtools_panel: its flame chart's tracks and entries)
and its trace engine (viewers.devtools: the slice trees it draws from, the
Call Tree tab's total and self times). A track per thread, named, with the
calls as slices nested as they were made, at their times; nothing logged."""
import json
from pathlib import Path

from calltree import thread_trees, walk
from test_outputs import record, tool
from test_viewers import EQUAL_ENDS, PARTIAL
import viewers


def cat_faults(path):
    """What in the file DevTools reads wrong, as (B events without a cat, E
    events without the cat of the B they close). DevTools pairs an E with
    the open B only if name and cat are equal (RendererHandler's
    makeCompleteEvent): otherwise it logs "Begin/End events mismatch" and
    the call stays a zero-length slice, outside its parent. Its Call Tree
    reads every slice's cat (isTopLevelEvent: event.cat.includes) and throws
    on one without."""
    stacks, no_cat, unmatched = {}, 0, 0
    for e in json.loads(Path(path).read_text())["traceEvents"]:
        stack = stacks.setdefault((e.get("pid"), e.get("tid")), [])
        if e["ph"] == "B":
            stack.append(e)
            no_cat += "cat" not in e
        elif e["ph"] == "E":
            unmatched += stack.pop().get("cat") != e.get("cat")
    return no_cat, unmatched


def no_cat_faults(path):
    """The file has neither fault cat_faults finds (user/write/chrome.c once
    wrote E events without a cat, and none for calls without a module)."""
    no_cat, unmatched = cat_faults(path)
    assert (no_cat, unmatched) == (0, 0), \
        f"{no_cat} B events without a cat, {unmatched} E events without their B's cat"


def opened(path, tmp_path):
    """What the panel shows for path (viewers.devtools)."""
    no_cat_faults(path)
    view, _ = viewers.devtools(path, tmp_path)
    assert "exception" not in view, view["exception"]
    assert view["generic"], "DevTools took it for a Chrome browser trace"
    return view


def shown(path, tmp_path):
    """The same, and the engine logged nothing."""
    view = opened(path, tmp_path)
    assert not view["logged"], "\n".join(view["logged"][:20])
    return view


def slices(node):
    """A call as DevTools has it: (name, start ns, duration ns, children)."""
    return (node["function"], node["start_ns"], node["duration_ns"],
            tuple(slices(c) for c in node["children"]))


def shown_slices(s):
    name, ts, dur, children = s
    return (name, round(ts * 1000), round(dur * 1000), tuple(shown_slices(c) for c in children))


def call_tree(nodes):
    """The Call Tree tab's rows under nodes: calls merged by name at each
    path, {name: [total ns, self ns, rows below]}."""
    rows = {}
    for n in nodes:
        row = rows.setdefault(n["function"], [0, 0, []])
        row[0] += n["duration_ns"]
        row[1] += n["duration_ns"] - sum(c["duration_ns"] for c in n["children"])
        row[2].extend(n["children"])
    return {f: (t, s, call_tree(kids)) for f, (t, s, kids) in rows.items()}


def shown_call_tree(rows):
    """The same from DevTools' rows [name, total ms, self ms, rows below]."""
    return {name: (round(total * 1e6), round(self * 1e6), shown_call_tree(kids))
            for name, total, self, kids in rows}


def test_chrome_file_in_devtools(build, trace, procs, tmp_path):
    """-f chrome's file: one track per thread, named after the thread, in a
    process named after the program; as many slices as calls, each where and
    as long as the call, nested as the calls were."""
    exe = build("threads.c", "-O0")
    out = tmp_path / "t.json"
    proc = procs.run(trace.command(out, ["-f", "chrome"], [exe]), timeout=60)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    view = opened(tmp_path / "t.trace.json", tmp_path)
    pid = doc["metadata"]["pid"]
    assert view["processes"] == {str(pid): Path(doc["metadata"]["executable"]).name}
    trees = thread_trees(doc)
    tracks = {(t["pid"], t["tid"]): t for t in view["threads"]}
    assert set(tracks) == {(pid, t["thread_id"]) for t in trees}, list(tracks)
    for t in trees:
        track = tracks[(pid, t["thread_id"])]
        assert track["name"] == t["thread_name"]
        assert track["slices"] == sum(1 for _ in walk(t)), track["name"]
    assert not view["logged"], "\n".join(view["logged"][:20])
    tracks = {t["tid"]: t for t in view["threads"]}
    for t in trees:
        got = tuple(shown_slices(s) for s in tracks[t["thread_id"]]["tree"])
        assert got == tuple(slices(r) for r in t["root_calls"]), t["thread_name"]


def test_call_tree_in_devtools(build, trace, procs, tracer, tmp_path):
    """A recursive program converted --to chrome: fib 21 deep, mutual
    recursion, ackermann; the Call Tree tab's rows, path by path, with the
    total and self time of the calls they merge; the flame chart's entries."""
    path, doc = record(trace, procs, [build("recursion.c", "-O2")])
    out = tmp_path / "r.trace.json"
    tool(procs, tracer, "convert", path, "--to", "chrome", "-o", out)
    view = shown(out, tmp_path)
    (t,) = thread_trees(doc)
    (track,) = view["threads"]
    assert track["slices"] == sum(1 for _ in walk(t))
    assert tuple(shown_slices(s) for s in track["tree"]) == tuple(map(slices, t["root_calls"]))
    assert max(d for n, d in walk(t) if n["function"] == "fib") >= 21
    assert shown_call_tree(track["callTree"]) == call_tree(t["root_calls"])
    # the panel draws them so: a call per entry, at its depth
    chart, console = viewers.devtools_panel(out, tmp_path)
    assert "Uncaught" not in console, console[-3000:]
    _, tracks = flame_chart(chart)
    assert list(tracks.values()) == [sorted((n["function"], d - 1, n["start_ns"], n["duration_ns"])
                                            for n, d in walk(t))]


def shown_doc(doc, stem, tracer_binary, procs, tmp_path):
    src = tmp_path / f"{stem}.json"
    src.write_text(json.dumps(doc))
    out = tmp_path / f"{stem}.trace.json"
    tool(procs, tracer_binary, "convert", src, "--to", "chrome", "-o", out)
    (track,) = shown(out, tmp_path)["threads"]
    return shown_call_tree(track["callTree"])


def test_equal_ends_nest_in_devtools(tracer_binary, procs, tmp_path):
    """A child ending on its parent's ns stays inside it (DevTools drops a
    slice that ends after its parent's end)."""
    rows = shown_doc(EQUAL_ENDS, "eq", tracer_binary, procs, tmp_path)
    assert rows == {"parent": (888698, 841236, {"child": (47462, 47462, {})})}


def test_partial_calls_in_devtools(tracer_binary, procs, tmp_path):
    """Calls seen in part, clamped as for speedscope (test_viewers)."""
    rows = shown_doc(PARTIAL, "p", tracer_binary, procs, tmp_path)
    assert rows == {
        "main": (2000, 1001, {"f": (200, 100, {"leaf": (100, 100, {})}),
                              "g": (799, 799, {})}),
        "main2": (1500, 1500, {})}


def flame_chart(shown):
    """The panel's flame chart: ([process group names], {track name:
    sorted [(title, depth, start ns, length ns)]}). A track is a group
    inside a process group; an entry belongs to the last track starting at
    or above its level."""
    procs = [g["name"] for g in shown["groups"] if g["nesting"] == 0]
    tracks = sorted((g for g in shown["groups"] if g["nesting"] == 1),
                    key=lambda g: g["startLevel"])
    entries = {g["name"]: [] for g in tracks}
    for title, level, start, length in shown["entries"]:
        g = [g for g in tracks if g["startLevel"] <= level][-1]
        entries[g["name"]].append((title, level - g["startLevel"], round(start * 1e6),
                                   round(length * 1e6)))
    return procs, {name: sorted(e) for name, e in entries.items()}


def test_chrome_file_in_devtools_panel(build, trace, procs, tmp_path):
    """-f chrome's file opened in the Performance panel: a process group
    named after the program, in it a track per thread named after it, on
    each track one entry per call at the call's depth, start and length."""
    exe = build("threads.c", "-O0")
    out = tmp_path / "t.json"
    proc = procs.run(trace.command(out, ["-f", "chrome"], [exe]), timeout=60)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    shown, console = viewers.devtools_panel(tmp_path / "t.trace.json", tmp_path)
    assert "exception" not in shown, shown["exception"]
    pid = doc["metadata"]["pid"]
    groups, tracks = flame_chart(shown)
    assert groups == [f"{Path(doc['metadata']['executable']).name} ({pid})"]
    trees = {f"{t['thread_name']} ({t['thread_id']})": t for t in thread_trees(doc)}
    assert set(tracks) == set(trees)
    for name, t in trees.items():
        assert len(tracks[name]) == sum(1 for _ in walk(t)), name
    no_cat_faults(tmp_path / "t.trace.json")
    assert "Uncaught" not in console and "mismatch" not in console, console[-3000:]
    for name, t in trees.items():
        assert tracks[name] == sorted((n["function"], d - 1, n["start_ns"], n["duration_ns"])
                                      for n, d in walk(t)), name
