"""The outputs people look at, from real traces of tests/progs programs:
`convert` (chrome, speedscope, folded, svg), `report` (table, --threads, --tree), `list`
and `check`, and -f/--format. Each output is checked against the JSON trace it
came from, read independently here."""
import collections
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import expected as ex
from calltree import is_partial, thread_trees, walk
from harness import wait_attached

IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")
CHROMIUM = "/usr/bin/chromium"
NAME_COLS = 30   # report: the function column of an 80-column table


# ---- helpers -------------------------------------------------------------------

def record(trace, procs, argv, *opts, status=0, timeout=60):
    """Traces argv as the trace fixture does, also giving the trace's path."""
    out = trace.output()
    proc = procs.run(trace.command(out, opts, argv), timeout=timeout)
    assert proc.returncode == status, proc.stderr
    doc = trace.result(out, True)
    assert doc is not None, proc.stderr
    return out, doc


def tool(procs, tracer, *args, status=0, verdict=False, timeout=120):
    """Runs a subcommand; a failure must be one line naming the subcommand,
    unless it is check's verdict (on stdout)."""
    proc = procs.run([tracer, *map(str, args)], timeout=timeout)
    assert proc.returncode == status, f"{args}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    if verdict:
        assert proc.stderr == ""
    elif status:
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"ctrace-bpf {args[0]}: "), proc.stderr
    return proc


def covered_ns(node):
    """The time a call covers (write/backend.c node_covered_ns): its duration,
    or for a call with none (partial), end - start when both are known, else
    the time the calls inside it cover."""
    if node["duration_ns"] is not None:
        return node["duration_ns"]
    if node["start_ns"] is not None and node["end_ns"] is not None \
            and node["end_ns"] >= node["start_ns"]:
        return node["end_ns"] - node["start_ns"]
    return sum(covered_ns(c) for c in node["children"])


def self_ns(node):
    """A call's own time, in report's Self and a flame graph's widths: its
    duration less what its children cover (a partial child stands for the
    calls inside it: no time counted twice)."""
    if node["duration_ns"] is None:
        return 0
    return max(node["duration_ns"] - sum(covered_ns(c) for c in node["children"]), 0)


def fold_name(name):
    return "".join(":" if c == ";" else " " if ord(c) < 0x20 or c == "\x7f" else c for c in name)


def expected_folded(doc, calls=False):
    """{"main;compute;square": weight} merged over the threads."""
    weights = collections.Counter()
    for t in thread_trees(doc):
        path = []
        for node, depth in walk(t):
            del path[depth - 1:]
            path.append(fold_name(node["function"]))
            weights[";".join(path)] += 1 if calls else self_ns(node)
    return {k: v for k, v in weights.items() if v}


def parse_folded(text):
    out = {}
    for line in text.splitlines():
        stack, weight = line.rsplit(" ", 1)
        assert stack not in out, f"stack {stack!r} not merged"
        out[stack] = int(weight)
    return out


def ns(us):
    """Trace Event Format µs (ns kept as 3 decimals) to ns."""
    return round(us * 1000)


def chrome_calls(data):
    """The calls of a Trace Event file, from its B/E pairs: per thread, in
    time order, each E closing the innermost open B of the same name (as
    speedscope requires; Perfetto and chrome://tracing only nesting). Returns
    [(tid, name, begin event, end event)]."""
    calls, stacks, last = [], collections.defaultdict(list), {}
    for e in data["traceEvents"]:
        if e["ph"] not in ("B", "E"):
            continue
        assert {"name", "ph", "ts", "pid", "tid"} <= e.keys(), e
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0, e
        tid = e["tid"]
        assert e["ts"] >= last.get(tid, 0), f"tid {tid}: {e} goes back in time"
        last[tid] = e["ts"]
        if e["ph"] == "B":
            stacks[tid].append(e)
        else:
            assert stacks[tid], f"tid {tid}: {e} closes nothing"
            b = stacks[tid].pop()
            assert b["name"] == e["name"], f"tid {tid}: {e} closes {b}"
            calls.append((tid, e["name"], b, e))
    assert not any(stacks.values()), "calls left open"
    return calls


def check_chrome(path, doc):
    """The Trace Event Format's rules for what we write, as Perfetto,
    chrome://tracing and speedscope read it. Returns the parsed document."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    md = doc["metadata"]
    assert data["displayTimeUnit"] == "ns"
    assert data["otherData"] == md
    calls = chrome_calls(data)
    assert not [e for e in data["traceEvents"] if e["ph"] == "X"]
    assert len(calls) == md["total_calls"] == sum(1 for _ in walk(doc))
    for _, _, b, e in calls:
        assert b["pid"] == e["pid"] == md["pid"], (b, e)
    # per thread: the same calls
    by_tid = collections.defaultdict(list)
    for tid, name, _, _ in calls:
        by_tid[tid].append(name)
    assert set(by_tid) == {t["thread_id"] for t in thread_trees(doc) if t["root_calls"]}
    for t in thread_trees(doc):
        names = collections.Counter(n["function"] for n, _ in walk(t))
        assert collections.Counter(by_tid[t["thread_id"]]) == names
    # names for the process and every thread
    meta = {(e["name"], e.get("tid")): e["args"]["name"]
            for e in data["traceEvents"] if e["ph"] == "M"}
    assert meta[("process_name", None)] == Path(md["executable"]).name
    for t in thread_trees(doc):
        assert meta[("thread_name", t["thread_id"])] == t["thread_name"]
    return data


def fmt_ns(v):
    """user/write/flame_svg.c flame_fmt_ns: three significant digits."""
    if v < 1000:
        return f"{v} ns"
    x = float(v)
    for i, unit in enumerate(("µs", "ms", "s")):
        x /= 1000
        if x < 999.5 or i == 2:
            return f"{x:.2f} {unit}" if x < 9.995 else f"{x:.1f} {unit}" if x < 99.95 \
                else f"{x:.0f} {unit}"


def expected_table(nodes):
    """{function: (calls, total, self, avg, max)} as the report prints them."""
    st = {}
    for n in nodes:
        s = st.setdefault(n["function"], [0, 0, 0, 0, 0, False])
        s[0] += 1
        if n["duration_ns"] is None:
            s[5] = True
            continue
        s[1] += 1
        s[2] += n["duration_ns"]
        s[3] += self_ns(n)
        s[4] = max(s[4], n["duration_ns"])
    rows = {}
    for f, (calls, timed, total, self, mx, partial) in st.items():
        t = (lambda v: fmt_ns(v)) if timed else (lambda v: "-")
        rows[f] = (f"{calls}{'*' if partial else ''}", t(total), t(self),
                   t(total // timed if timed else 0), t(mx))
    return rows


def truncated(name):
    return name if len(name) <= NAME_COLS else name[:NAME_COLS - 1] + "…"


def parse_table(text):
    """The rows of the first table in a report: {function: (calls, total, self, avg, max)}."""
    lines = text.splitlines()
    start = lines.index("   Calls     Total      Self       Avg       Max  Function") + 1
    rows = {}
    for line in lines[start:]:
        if not line or line.startswith("   ("):
            break
        assert len(line) <= 80, line
        cols = (line[0:8], line[8:18], line[18:28], line[28:38], line[38:48])
        rows[line[50:]] = tuple(c.strip() for c in cols)
    return rows


# ---- convert ---------------------------------------------------------------------

@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
def test_chrome_threads(build, trace, procs, tracer, tmp_path, opt):
    exe = build("threads.c", opt)
    path, doc = record(trace, procs, [exe])
    out = tmp_path / "t.trace.json"
    tool(procs, tracer, "convert", path, "--to", "chrome", "-o", out)
    assert out.stat().st_mode & 0o777 == 0o600    # like the trace: it may show arguments
    check_chrome(out, doc)


@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
def test_chrome_recursion(build, trace, procs, tracer, tmp_path, opt):
    path, doc = record(trace, procs, [build("recursion.c", opt)])
    out = tmp_path / "r.trace.json"
    tool(procs, tracer, "convert", path, "--to", "chrome", "-o", out)
    data = check_chrome(out, doc)
    # ns precision: ts and dur are the trace's own times
    root = thread_trees(doc)[0]["root_calls"][0]
    _, _, b, e = next(c for c in chrome_calls(data) if c[1] == root["function"])
    assert ns(b["ts"]) == root["start_ns"] and ns(e["ts"]) == root["end_ns"]
    assert b["cat"] == "recursion"


def trace_after_attach(trace, procs, ticker):
    """Attaches to a running -O2 ticker until it exits: the trace's path, its
    document and its partial calls (main and serve_loop, already running,
    among them)."""
    p, exe, state = ticker("-O2", seconds=2)
    tp, out = trace.start(["-p", p.pid])
    wait_attached(tp)
    assert procs.communicate(p, timeout=30, what="ticker").returncode == 0
    proc, doc = trace.finish(tp, out, timeout=10)
    assert proc.returncode == 0, proc.stderr
    partial = [n for n, _ in walk(doc) if is_partial(n)]
    assert {n["function"] for n in partial} >= {"main", "serve_loop"}
    return out, doc, partial


def test_chrome_partial_calls_after_attach(trace, procs, tracer, ticker, tmp_path):
    """Attached mid-run until the target exits: main and serve_loop, already
    running, are partial calls named after their children; calls without a
    start or an end are clamped to times the trace knows, marked, and nest."""
    out, doc, partial = trace_after_attach(trace, procs, ticker)
    conv = tmp_path / "attach.trace.json"
    tool(procs, tracer, "convert", out, "--to", "chrome", "-o", conv)
    data = check_chrome(conv, doc)
    clamped = [e for e in data["traceEvents"] if e["ph"] == "E" and "clamped" in e.get("args", {})]
    assert len(clamped) == sum(1 for n in partial if n["start_ns"] is None or n["end_ns"] is None)
    assert all(e["args"]["partial_reason"] for e in clamped)
    # the folded stacks and the report read it too
    folded = tool(procs, tracer, "convert", out, "--to", "folded").stdout
    assert parse_folded(folded) == expected_folded(doc)
    rep = tool(procs, tracer, "report", out, "--tree").stdout
    assert "/* partial: " in rep


@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
def test_folded(build, trace, procs, tracer, tmp_path, opt):
    path, doc = record(trace, procs, [build("recursion.c", opt)])
    out = tmp_path / "r.folded"
    tool(procs, tracer, "convert", path, "--to", "folded", "-o", out)
    got = parse_folded(out.read_text())
    assert got == expected_folded(doc)
    assert sum(got.values()) == sum(self_ns(n) for n, _ in walk(doc))
    calls = parse_folded(tool(procs, tracer, "convert", path, "--to", "folded",
                              "--weight", "calls").stdout)
    assert calls == expected_folded(doc, calls=True)
    assert sum(calls.values()) == doc["metadata"]["total_calls"]
    # fib's recursion: one stack per depth, each once
    assert calls["main;fib;fib;fib"] == 4


def test_folded_threads_merged_or_apart(build, trace, procs, tracer):
    path, doc = record(trace, procs, [build("threads.c", "-O2")])
    merged = parse_folded(tool(procs, tracer, "convert", path, "--to", "folded",
                               "-w", "calls").stdout)
    assert merged["work;leaf"] == 10000 and merged["work"] == 4
    apart = parse_folded(tool(procs, tracer, "convert", path, "--to", "folded", "-w", "calls",
                              "--per-thread").stdout)
    for t in thread_trees(doc):
        if t["thread_name"].startswith("worker-"):
            k = int(t["thread_name"][-1])
            assert apart[f"{t['thread_name']} [{t['thread_id']}];work;leaf"] == 1000 * (k + 1)


def svg_titles(svg_text):
    root = ET.fromstring(svg_text)    # well-formed XML
    ns_ = "{http://www.w3.org/2000/svg}"
    return [t.text for t in root.iter(f"{ns_}title")]


def test_svg(build, trace, procs, tracer, tmp_path):
    path, doc = record(trace, procs, [build("threads.c", "-O2")])
    out = tmp_path / "flame.svg"
    tool(procs, tracer, "convert", path, "--to", "svg", "-o", out)
    text = out.read_text(encoding="utf-8")
    assert "<script" not in text or "src=" not in text.split("<script", 1)[1].split(">", 1)[0]
    assert not re.search(r'(href|src)="https?:', text), "the SVG must not fetch anything"
    titles = svg_titles(text)
    leaves = [n for n, _ in walk(doc) if n["function"] == "leaf"]
    leaf_total = sum(n["duration_ns"] for n in leaves)
    assert f"leaf — total {fmt_ns(leaf_total)}, self {fmt_ns(leaf_total)}, 10000 calls" in titles
    assert any(t.startswith("work — total ") and t.endswith(", 4 calls") for t in titles)
    every = f", {doc['metadata']['total_calls']} calls"
    assert any(t.startswith("all — total ") and t.endswith(every) for t in titles)
    render_svg(out, tmp_path, ["leaf — total", "work — total", "main — total"])


def render_svg(svg, tmp_path, want_titles):
    """The flame graph as a browser shows it: its DOM holds the frames, and a
    screenshot of it is kept beside it (flame.png) for a look."""
    if not os.access(CHROMIUM, os.X_OK):
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing in CI "
                        "(Debian package chromium, see tools/setup.sh)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium) to render the SVG")
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'chromium'}"]
    dom = subprocess.run(base + ["--dump-dom", svg.as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "parsererror" not in dom.stdout, dom.stdout[:2000]
    for t in want_titles:
        assert f"<title>{t}" in dom.stdout, t
    png = svg.with_suffix(".png")
    shot = subprocess.run(base + ["--window-size=1200,400", f"--screenshot={png}", svg.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0, shot.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


@pytest.mark.parametrize("fmt,suffix", [("chrome", ".trace.json"), ("folded", ".folded"),
                                        ("speedscope", ".speedscope.json"), ("svg", ".svg")])
def test_format_option(build, trace, procs, tmp_path, fmt, suffix):
    """-f converts right after tracing, beside the trace."""
    exe = build("basic.c", "-O0")
    out = tmp_path / "basic.json"
    proc = procs.run(trace.command(out, ["-f", fmt], [exe]), timeout=60)
    assert proc.returncode == 0, proc.stderr
    conv = tmp_path / f"basic{suffix}"
    assert conv.is_file(), proc.stderr
    assert f"{fmt} -> {conv}" in proc.stderr
    if fmt == "folded":
        assert parse_folded(conv.read_text()) == expected_folded(json.loads(out.read_text()))


# ---- report ---------------------------------------------------------------------------

@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
def test_report_table(build, trace, procs, tracer, opt):
    path, doc = record(trace, procs, [build("recursion.c", opt)])
    rep = tool(procs, tracer, "report", path).stdout
    want = expected_table([n for n, _ in walk(doc)])
    got = parse_table(rep)
    assert got == {truncated(f): row for f, row in want.items()}
    # sorted by self time, and a summary line to end it
    selfs = [sum(self_ns(n) for n, _ in walk(doc) if n["function"] == f) for f in want]
    order = [f for _, f in sorted(zip(selfs, want), key=lambda x: (-x[0], x[1]))]
    assert list(got) == [truncated(f) for f in order]
    assert rep.splitlines()[-1].startswith(
        f"{doc['metadata']['total_calls']} calls of {len(want)} functions in 1 thread, traced for ")
    assert all(len(line) <= 80 for line in rep.splitlines())


def test_report_self_plus_children_is_total(build, trace, procs, tracer):
    """basic.c: main's total is its self time and its callees' totals."""
    path, doc = record(trace, procs, [build("basic.c", "-O0")])
    main = thread_trees(doc)[0]["root_calls"][0]
    kids = sum(c["duration_ns"] for c in main["children"])
    rows = parse_table(tool(procs, tracer, "report", path, "-s", "name").stdout)
    assert rows["main"][1] == fmt_ns(main["duration_ns"])
    assert rows["main"][2] == fmt_ns(main["duration_ns"] - kids)
    assert list(rows) == sorted(rows)
    top = parse_table(tool(procs, tracer, "report", path, "-s", "calls", "-n", "3").stdout)
    assert len(top) == 3 and set(top) <= set(BASIC_FUNCS)
    assert all(int(r[0]) == 3 for r in top.values())


def test_report_threads(build, trace, procs, tracer):
    exe = build("threads.c", "-O2")
    path, doc = record(trace, procs, [exe])
    rep = tool(procs, tracer, "report", path, "--threads").stdout
    for t in thread_trees(doc):
        header = f"== thread {t['thread_id']} ({t['thread_name']}): {t['total_calls']} call"
        assert header in rep
        section = rep.split(header, 1)[1]
        rows = parse_table(section)
        assert rows == {truncated(f): r for f, r in expected_table(n for n, _ in walk(t)).items()}


def test_report_tree(build, trace, procs, tracer):
    path, doc = record(trace, procs, [build("threads.c", "-O2")])
    rep = tool(procs, tracer, "report", path, "--tree").stdout
    for t in thread_trees(doc):
        assert f"== thread {t['thread_id']} ({t['thread_name']}) ==" in rep
        if not t["thread_name"].startswith("worker-"):
            continue
        work = t["root_calls"][0]
        k = int(t["thread_name"][-1])
        leaves = sum(c["duration_ns"] for c in work["children"])
        section = rep.split(f"({t['thread_name']}) ==", 1)[1].split("\n== ", 1)[0]
        # the 1000*(k+1) identical calls are one line, their durations summed
        assert section.splitlines()[2:5] == [
            "           | work() {",
            f"{fmt_ns(leaves):>10} |   leaf();  ×{1000 * (k + 1)}",
            f"{fmt_ns(work['duration_ns']):>10} | }} /* work */",
        ]


def test_report_tree_shape(build, trace, procs, tracer):
    """basic.c: every call on its line, in order, indented by depth."""
    path, doc = record(trace, procs, [build("basic.c", "-O0")])
    rep = tool(procs, tracer, "report", path, "--tree").stdout
    body = [line.split(" | ", 1)[1] for line in rep.splitlines() if " | " in line][1:]
    assert body == [
        "main() {", "  setup();", "  compute() {",
        *["    square() {", "      mul();", "    } /* square */", "    add();"] * 3,
        "  } /* compute */", "  finish();", "} /* main */"]


def plain_tree(nodes, depth=0):
    """The --tree lines of nodes without folding or durations (no arguments)."""
    out = []
    for n in nodes:
        pad = "  " * depth
        note = f" /* partial: {n['partial_reason']} */" if n.get("partial") else ""
        if n["children"]:
            out.append(f"{pad}{n['function']}() {{")
            out += plain_tree(n["children"], depth + 1)
            out.append(f"{pad}}} /* {n['function']} */{note}")
        else:
            out.append(f"{pad}{n['function']}();{note}")
    return out


def unfold(lines):
    """--tree lines with "  ×N" entries repeated N times, durations dropped."""
    out, i = [], 0
    while i < len(lines):
        text = lines[i].split(" | ", 1)[1]
        m = re.match(r"^(.*)  ×(\d+)$", text)
        body, times = (m.group(1), int(m.group(2))) if m else (text, 1)
        end = i + 1
        if body.endswith("{"):          # the block runs to its closing line at the same indent
            indent = len(body) - len(body.lstrip(" "))
            while not re.match(r"^ {%d}\}" % indent, lines[end].split(" | ", 1)[1]):
                end += 1
            end += 1
        block = [body] + unfold(lines[i + 1:end - 1]) + \
            ([lines[end - 1].split(" | ", 1)[1]] if end - 1 > i else [])
        out += block * times
        i = end
    return out


@pytest.mark.parametrize("prog", ["recursion.c", "threads.c"])
def test_report_tree_unfolds_to_the_calls(build, trace, procs, tracer, prog):
    """Repeating every ×N entry N times gives back every call, in order."""
    path, doc = record(trace, procs, [build(prog, "-O0")])
    rep = tool(procs, tracer, "report", path, "--tree").stdout
    parts = re.split(r"^== thread (\d+) .*==$", rep, flags=re.M)
    sections = dict(zip(map(int, parts[1::2]), parts[2::2]))
    assert set(sections) == {t["thread_id"] for t in thread_trees(doc)}
    for t in thread_trees(doc):
        lines = [line for line in sections[t["thread_id"]].splitlines() if " | " in line][1:]
        assert unfold(lines) == plain_tree(t["root_calls"])


def test_report_tree_arguments(build, trace, procs, tracer):
    path, doc = record(trace, procs, [build("basic.c", "-O0")], "-a", "-r")
    muls = [n for n, _ in walk(doc) if n["function"] == "mul"]
    if not any("arguments" in n for n in muls):
        pytest.skip("this build of the tracer records no arguments (-a)")
    rep = tool(procs, tracer, "report", path, "--tree").stdout
    for n in muls:
        args = ", ".join(f"{a['name']}={a['value']}" for a in n["arguments"])
        ret = f" = {n['return_value']['value']}" if "return_value" in n else ""
        assert f"mul({args}){ret};" in rep
    conv = tool(procs, tracer, "convert", path, "--to", "chrome").stdout
    events = [e for e in json.loads(conv)["traceEvents"] if e.get("name") == "mul" and
              e["ph"] == "B"]
    assert [e["args"]["arguments"] for e in events] == [n["arguments"] for n in muls]


def test_reading_a_damaged_trace(build, trace, procs, tracer, tmp_path):
    path, doc = record(trace, procs, [build("recursion.c", "-O0")])
    raw = path.read_bytes()
    cut = tmp_path / "cut.json"
    cut.write_bytes(raw[:len(raw) // 2])
    for args in (["report", cut], ["convert", cut, "--to", "chrome", "-o", tmp_path / "x.json"]):
        err = tool(procs, tracer, *args, status=1).stderr
        m = re.search(r"'.*cut\.json': byte (\d+): ", err)
        assert m and int(m.group(1)) <= len(raw) // 2, err
    assert not (tmp_path / "x.json").exists()


# ---- list and check -----------------------------------------------------------------------

BASIC_FUNCS = ["add", "compute", "finish", "main", "mul", "setup", "square"]


@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
def test_list_and_check_instrumented(build, tracer_binary, procs, opt):
    exe = build("basic.c", opt)
    assert tool(procs, tracer_binary, "list", exe).stdout.splitlines() == BASIC_FUNCS
    assert tool(procs, tracer_binary, "list", exe, "-F", "s*").stdout.split() == ["setup", "square"]
    out = tool(procs, tracer_binary, "check", exe).stdout
    assert out.splitlines()[-1] == "traceable"
    assert re.search(r"ok +built with -finstrument-functions: 7 of \d+ functions instrumented", out)


def test_list_is_a_filter_file(build, trace, procs, tracer, tmp_path):
    """C++ names, demangled, each a glob matching just itself: tracing with
    the list as --filter-file traces what tracing without a filter does."""
    exe = build("geo.cc", "-O0")
    listed = tool(procs, tracer, "list", exe).stdout
    assert set(listed.splitlines()) >= set(ex.GEO_COUNTS)
    filt = tmp_path / "funcs.txt"
    filt.write_text(listed)
    _, all_calls = record(trace, procs, [exe])
    _, filtered = record(trace, procs, [exe], "--filter-file", filt)
    count = lambda d: collections.Counter(n["function"] for n, _ in walk(d))  # noqa: E731
    assert count(filtered) == count(all_calls) == collections.Counter(ex.GEO_COUNTS)


def test_check_not_instrumented(build, tracer_binary, procs):
    exe = build("basic.c", "-O2", instrument=False)
    out = tool(procs, tracer_binary, "check", exe, status=1, verdict=True).stdout
    assert "FAIL" in out and "not built with -finstrument-functions" in out
    assert out.splitlines()[-2:] == ["not traceable",
                                     "to fix: rebuild with `gcc -finstrument-functions ...`"]
    err = tool(procs, tracer_binary, "list", exe, status=1).stderr
    assert "-finstrument-functions" in err


@pytest.mark.parametrize("strip", ["debug", "all"])
def test_check_stripped(build, tracer_binary, procs, strip):
    exe = build("basic.c", "-O2", strip=strip)
    out = tool(procs, tracer_binary, "check", exe).stdout
    assert "no DWARF debug info" in out
    assert out.splitlines()[-2] == "traceable, with the warnings above"
    if strip == "debug":   # the symbol table stays: names and the list too
        assert tool(procs, tracer_binary, "list", exe).stdout.splitlines() == BASIC_FUNCS
        assert out.splitlines()[-1] == "to fix: rebuild with `gcc -g ...`"
    else:
        assert "stripped (no .symtab)" in out
        assert out.splitlines()[-1] == "to fix: rebuild with `gcc -g ...` and do not strip it"
        tool(procs, tracer_binary, "list", exe, status=1)


def test_check_not_elf(tracer_binary, procs, tmp_path):
    f = tmp_path / "script.sh"
    f.write_text("#!/bin/sh\necho hi\n")
    out = tool(procs, tracer_binary, "check", f, status=1, verdict=True).stdout
    assert "not an x86_64 ELF" in out and out.splitlines()[-1].startswith("not traceable")
    tool(procs, tracer_binary, "check", tmp_path / "missing", status=1)


# ---- every subcommand teaches and fails in one line ---------------------------------------------

@pytest.mark.parametrize("sub", ["convert", "report", "list", "check"])
def test_subcommand_help_and_usage_errors(tracer_binary, procs, sub):
    helped = tool(procs, tracer_binary, sub, "--help")
    assert helped.stdout.startswith(f"Usage: ctrace-bpf {sub} ")
    assert "Example" in helped.stdout
    tool(procs, tracer_binary, sub, "--no-such-option", "x", status=2)
    tool(procs, tracer_binary, sub, status=2)


# ---- streaming: memory does not grow with the trace ----------------------------------------------

def synthetic_trace(path, iterations):
    """A trace of main > iterations x (step > parse > lex x3, eval), 6 calls each."""
    it = ('{"function":"step","start_ns":%d,"children":['
          '{"function":"parse","start_ns":%d,"children":['
          '{"function":"lex","start_ns":%d,"children":[],"end_ns":%d,"duration_ns":10},'
          '{"function":"lex","start_ns":%d,"children":[],"end_ns":%d,"duration_ns":10},'
          '{"function":"lex","start_ns":%d,"children":[],"end_ns":%d,"duration_ns":10}'
          '],"end_ns":%d,"duration_ns":80},'
          '{"function":"eval","start_ns":%d,"children":[],"end_ns":%d,"duration_ns":20}'
          '],"end_ns":%d,"duration_ns":120}')
    with open(path, "w") as f:
        calls = 6 * iterations + 1
        f.write('{"metadata":{"pid":1,"executable":"/x/synth","duration_ns":%d,"total_calls":%d},'
                '"call_trees":{"1":{"thread_id":1,"thread_name":"synth","total_calls":%d,'
                '"root_calls":[{"function":"main","start_ns":0,"children":['
                % (200 * iterations + 10, calls, calls))
        for i in range(iterations):
            b = 200 * i + 5
            times = (b, b + 5, b + 10, b + 20, b + 30, b + 40, b + 50, b + 60, b + 85, b + 90,
                     b + 110, b + 120)
            f.write(("," if i else "") + it % times)
        f.write('],"end_ns":%d,"duration_ns":%d}]}},"crash":null}' % (200 * iterations + 10,
                                                                      200 * iterations + 10))
    return calls


def peak_rss_kb(cmd):
    res = subprocess.run(["/usr/bin/time", "-f", "%M", *map(str, cmd)], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return int(res.stderr.strip().splitlines()[-1])


@pytest.mark.skipif(not os.access("/usr/bin/time", os.X_OK), reason="needs /usr/bin/time")
def test_memory_is_flat_in_trace_length(tracer_binary, tmp_path):
    small, big = tmp_path / "small.json", tmp_path / "big.json"
    synthetic_trace(small, 2000)
    calls = synthetic_trace(big, 100000)
    for args in (["report"], ["report", "--tree"], ["convert", "--to", "chrome", "-o", "/dev/null"],
                 ["convert", "--to", "speedscope", "-o", "/dev/null"],
                 ["convert", "--to", "folded", "-o", "/dev/null"],
                 ["convert", "--to", "svg", "-o", "/dev/null"]):
        a = peak_rss_kb([tracer_binary, args[0], small, *args[1:]])
        b = peak_rss_kb([tracer_binary, args[0], big, *args[1:]])
        assert b < a + 4096, f"{args}: {a} KiB for 12k calls, {b} KiB for {calls} calls"
