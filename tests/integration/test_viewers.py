"""Each output opened in the viewer people use, in headless Chromium, with
assertions on what the viewer then shows (viewers.py): the speedscope file,
the chrome file (under -f's name, and renamed) and the folded stacks in
speedscope 1.25.0 from npm; the SVG flame graph in Chromium itself, its
search and reset. Perfetto's UI is not reachable here. Also: the trace's
clock base (metadata.clock), which lines it up with other traces."""
import json
import re
import subprocess
import time
from pathlib import Path

from calltree import thread_trees, walk
from test_outputs import covered_ns, fmt_ns, record, tool
import viewers

# speedscope's console on a file it mis-reads ("Tried to end X when Y was on
# the top of the stack. Ending Y instead" is only its args differing)
BAD = ("Failed", "Doing nothing instead", "rror")


def loaded(console, importer):
    assert f'"Importing as {importer}' in console, console[-3000:]
    lines = [l for l in console.splitlines() if any(b in l for b in BAD)]
    assert not lines, "\n".join(lines)


def span(tree):
    """A thread's calls from the first start to the last end, in ns."""
    roots = tree["root_calls"]
    return roots[-1]["end_ns"] - roots[0]["start_ns"]


def outermost_total(tree, name):
    """speedscope's total for a frame: the time it is on the stack (a
    recursive call counted once)."""
    total = 0

    def visit(node, inside):
        nonlocal total
        here = node["function"] == name
        if here and not inside:
            total += node["duration_ns"]
        for c in node["children"]:
            visit(c, inside or here)
    for r in tree["root_calls"]:
        visit(r, False)
    return total


def test_speedscope_file(build, trace, procs, tracer, tmp_path):
    """One profile per thread, named, each as long as the thread's calls;
    the first one's functions with their total and self time."""
    path, doc = record(trace, procs, [build("threads.c", "-O2")])
    out = tmp_path / "t.speedscope.json"
    tool(procs, tracer, "convert", path, "--to", "speedscope", "-o", out)
    text, console = viewers.speedscope(out, tmp_path)
    loaded(console, "speedscope json file")
    trees = {f"{t['thread_name']} (tid {t['thread_id']})": t for t in thread_trees(doc)}
    shown = dict(viewers.profiles(text))
    assert set(shown) == set(trees), (shown, list(trees))
    for name, weight in shown.items():
        assert viewers.shows_ns(weight, span(trees[name])), (name, weight)
    # the sandwich view of the first profile: the main thread's calls
    first = json.loads(out.read_text())["profiles"][0]["name"]
    rows = viewers.sandwich_rows(text)
    tree = trees[first]
    funcs = {n["function"] for n, _ in walk(tree)}
    assert set(rows) == funcs, rows
    for f, (total, _) in rows.items():
        assert viewers.shows_ns(total, outermost_total(tree, f)), (f, total)


def test_chrome_file_in_speedscope(build, trace, procs, tmp_path):
    """-f chrome's file loads in speedscope under its own name and renamed:
    a profile per thread, and the calls nest (no "Doing nothing" warnings).
    Named *.chrome.json, speedscope takes it for a DevTools profile."""
    exe = build("threads.c", "-O0")
    out = tmp_path / "t.json"
    proc = procs.run(trace.command(out, ["-f", "chrome"], [exe]), timeout=60)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    conv = tmp_path / "t.trace.json"
    assert conv.is_file(), proc.stderr
    exe_name = Path(doc["metadata"]["executable"]).name
    pid = doc["metadata"]["pid"]
    for name in (conv.name, "renamed.json"):
        text, console = viewers.speedscope(conv, tmp_path, name=name)
        loaded(console, "Trace Event Format profile")
        shown = dict(viewers.profiles(text))
        for t in thread_trees(doc):
            p = f"{exe_name} (pid {pid}), {t['thread_name']} (tid {t['thread_id']})"
            assert p in shown, (p, shown)
            assert viewers.shows_ns(shown[p], span(t)), (p, shown[p])
    text, console = viewers.speedscope(conv, tmp_path, name="t.chrome.json")
    assert "t.sort is not a function" in console, console[-2000:]


def test_folded_in_speedscope(build, trace, procs, tracer, tmp_path):
    """speedscope reads the folded stacks: each function's total and self
    weight (ns) as the stacks add up."""
    path, doc = record(trace, procs, [build("threads.c", "-O2")])
    out = tmp_path / "t.folded"
    tool(procs, tracer, "convert", path, "--to", "folded", "-o", out)
    text, console = viewers.speedscope(out, tmp_path)
    loaded(console, "collapsed stack format")
    want_total, want_self = {}, {}
    for line in out.read_text().splitlines():
        stack, w = line.rsplit(" ", 1)
        frames = stack.split(";")
        for f in set(frames):
            want_total[f] = want_total.get(f, 0) + int(w)
        want_self[frames[-1]] = want_self.get(frames[-1], 0) + int(w)
    rows = viewers.sandwich_rows(text)
    assert rows == {f: (f"{want_total[f]:,}", f"{want_self.get(f, 0):,}") for f in want_total}


def test_svg_search_and_reset(build, trace, procs, tracer, tmp_path):
    """The SVG in Chromium: Reset Zoom and Search are there, a search given
    in the URL highlights the matching frames and shows the share they cover,
    and "all" is the time the calls account for (for one thread, no more
    than it was traced)."""
    path, doc = record(trace, procs, [build("recursion.c", "-O2")])
    out = tmp_path / "r.svg"
    tool(procs, tracer, "convert", path, "--to", "svg", "-o", out)
    all_ns = sum(covered_ns(r) for t in thread_trees(doc) for r in t["root_calls"])
    assert len(thread_trees(doc)) == 1 and all_ns <= doc["metadata"]["duration_ns"]
    # fib's share: its outermost calls (nested fib calls count once)
    fib = outermost_total(thread_trees(doc)[0], "fib")
    proc = subprocess.run(
        [viewers.chromium(), "--headless", "--no-sandbox", "--disable-gpu",
         f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom", out.as_uri() + "?s=^fib$"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert re.search(r'<text id="reset"[^>]*>Reset Zoom</text>', dom)
    assert re.search(r'<text id="search"[^>]*>Clear search</text>', dom)
    m = re.search(r'<text id="matched"[^>]*>Matched: ([\d.]+)% \((\d+) frames? /\^fib\$/\)</text>',
                  dom)
    assert m, re.findall(r'<text id="matched".*?</text>', dom)
    assert abs(float(m.group(1)) - 100 * fib / all_ns) < 0.06, (m.group(0), fib, all_ns)
    assert f"<title>all — total {fmt_ns(all_ns)}, self 0 ns," in dom
    assert "width: time in ns" in dom
    assert dom.count('fill="rgb(230,0,230)"') == int(m.group(2))


# a parent and its child ending on the same ns, where µs with 3 decimals
# added as doubles put the child's end after the parent's
EQUAL_ENDS = {
    "metadata": {"pid": 1, "executable": "/x/eq", "duration_ns": 623348347957},
    "call_trees": {"1": {"thread_id": 1, "thread_name": "eq", "root_calls": [
        {"function": "parent", "start_ns": 623347459259, "end_ns": 623348347957,
         "duration_ns": 888698, "children": [
             {"function": "child", "start_ns": 623348300495, "end_ns": 623348347957,
              "duration_ns": 47462, "children": []}]}]}},
    "crash": None}


# what -o ends in for a format, and what speedscope says it imports it as
SPEEDSCOPE_IMPORTS = {"chrome": ("trace.json", "Trace Event Format profile"),
                      "speedscope": ("speedscope.json", "speedscope json file")}


def sandwich_rows_of(doc, stem, formats, tracer_binary, procs, tmp_path):
    """doc converted to each of formats in turn and opened in speedscope:
    the rows of its sandwich view, one format's after another's."""
    src = tmp_path / f"{stem}.json"
    src.write_text(json.dumps(doc))
    for fmt in formats:
        ext, importer = SPEEDSCOPE_IMPORTS[fmt]
        out = tmp_path / f"{stem}.{ext}"
        tool(procs, tracer_binary, "convert", src, "--to", fmt, "-o", out)
        text, console = viewers.speedscope(out, tmp_path)
        loaded(console, importer)
        yield viewers.sandwich_rows(text)


def test_equal_ends_nest_in_speedscope(tracer_binary, procs, tmp_path):
    assert 623348300.495 + 47.462 > 623347459.259 + 888.698    # the case is real
    for rows in sandwich_rows_of(EQUAL_ENDS, "eq", ("chrome", "speedscope"), tracer_binary,
                                 procs, tmp_path):
        assert rows == {"parent": ("888.70µs", "841.24µs"), "child": ("47.46µs", "47.46µs")}


# calls seen only in part: a call already running (named at its end), one
# whose exit was lost, one whose entry was lost, one still running at the end
PARTIAL = {
    "metadata": {"pid": 10, "executable": "/x/prog", "duration_ns": 5000},
    "call_trees": {
        "10": {"thread_id": 10, "thread_name": "prog", "lost_events": 2, "root_calls": [
            {"start_ns": None, "children": [
                {"function": "f", "start_ns": 1000, "end_ns": None, "duration_ns": None,
                 "partial": True, "partial_reason": "exit not observed (events lost)",
                 "children": [{"function": "leaf", "start_ns": 1100, "end_ns": 1200,
                               "duration_ns": 100, "children": []}]},
                {"function": "g", "start_ns": None, "end_ns": 2000, "duration_ns": None,
                 "partial": True, "partial_reason": "entry not observed (events lost)",
                 "children": []}],
             "function": "main", "end_ns": 3000, "duration_ns": None, "partial": True,
             "partial_reason": "entry not observed (already running when tracing started)"},
            {"function": "main2", "start_ns": 3500, "end_ns": None, "duration_ns": None,
             "partial": True, "partial_reason": "exit not observed (still running)",
             "children": []}]}},
    "crash": None}


def test_partial_calls_in_speedscope(tracer_binary, procs, tmp_path):
    """Clamped, not invented: main starts at its thread's first known time
    (1000), f ends at the last time known inside it (1200), g starts just
    after it, main2 ends with the trace (5000)."""
    for rows in sandwich_rows_of(PARTIAL, "p", ("speedscope", "chrome"), tracer_binary, procs,
                                 tmp_path):
        assert rows["main"] == ("2.00µs", "1.00µs"), rows       # 1000 .. 3000
        assert rows["f"] == ("200.00ns", "100.00ns"), rows      # 1000 .. 1200 (before g)
        assert rows["g"] == ("799.00ns", "799.00ns"), rows      # 1201 .. 2000
        assert rows["main2"] == ("1.50µs", "1.50µs"), rows      # 3500 .. 5000


def test_clock_base(build, trace, procs, tmp_path):
    """metadata.clock: the trace start on CLOCK_MONOTONIC (the events' clock)
    and CLOCK_REALTIME, read while the tracer ran; the chrome file carries it."""
    mono0, real0 = time.monotonic_ns(), time.time_ns()
    out = tmp_path / "b.json"
    proc = procs.run(trace.command(out, ["-f", "chrome"], [build("basic.c", "-O0")]),
                     timeout=60)
    mono1, real1 = time.monotonic_ns(), time.time_ns()
    assert proc.returncode == 0, proc.stderr
    md = json.loads(out.read_text())["metadata"]
    clock = md["clock"]
    assert mono0 <= clock["monotonic_ns"] <= mono1
    assert real0 <= clock["realtime_ns"] <= real1
    assert md["timestamp"].startswith(time.strftime("%Y-%m-%dT%H:%M:%S",
                                                    time.gmtime(clock["realtime_ns"] // 10**9)))
    chrome = json.loads((tmp_path / "b.trace.json").read_text())
    assert chrome["otherData"]["clock"] == clock
