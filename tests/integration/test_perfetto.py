"""`convert --to perfetto` and `-f perfetto`: Perfetto's protobuf format,
decoded with protoc against the schema subset in perfetto/trace_subset.proto
and checked against the JSON trace it came from: the tracks (a process track
per process, a thread track per thread), a BEGIN and an END per call, nesting
as in the JSON tree, interned names, annotations, the crash, forks, execs."""
import collections
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import expected as ex
from calltree import all_nodes, main_thread, shape, walk
from conftest import _require
from test_outputs import trace_after_attach

PROTO_DIR = Path(__file__).resolve().parent / "perfetto"
PROTO = PROTO_DIR / "trace_subset.proto"


@pytest.fixture(scope="session")
def protoc():
    path = shutil.which("protoc")
    _require(None if path else "protoc is not installed (apt-get install protobuf-compiler)")
    return path


# ---- decoding -------------------------------------------------------------------

def parse_text(text):
    """protoc's text format -> nested dicts; every field a list of values."""
    root = collections.defaultdict(list)
    stack = [root]
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line == "}":
            stack.pop()
        elif line.endswith("{"):
            child = collections.defaultdict(list)
            stack[-1][line[:-1].strip()].append(child)
            stack.append(child)
        else:
            key, _, value = line.partition(": ")
            if value.startswith('"'):
                value = value[1:-1].encode("latin-1").decode("unicode_escape") \
                    .encode("latin-1").decode("utf-8")
            elif re.fullmatch(r"-?\d+", value):
                value = int(value)
            elif re.fullmatch(r"-?[\d.]+(e[-+]?\d+)?|-?inf|nan", value):
                value = float(value)
            stack[-1][key].append(value)
    assert len(stack) == 1
    return root


def one(msg, key, default=None):
    values = msg.get(key, [])
    assert len(values) <= 1, (key, values)
    return values[0] if values else default


def decode(protoc, path):
    proc = subprocess.run([protoc, f"-I{PROTO_DIR}", "--decode=perfetto.protos.Trace", str(PROTO)],
                          stdin=open(path, "rb"), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    # a field the subset does not know prints as its bare number: a wrong number
    unknown = [l for l in proc.stdout.splitlines() if re.match(r"\s*\d+:", l)]
    assert not unknown, unknown[:5]
    return Perfetto(parse_text(proc.stdout)["packet"])


class Perfetto:
    """A decoded trace: tracks, and the events per sequence with their names
    resolved and their timestamps made absolute (ns since the trace start)."""

    def __init__(self, packets):
        self.packets = packets
        self.processes = {}     # uuid -> ProcessDescriptor
        self.threads = {}       # uuid -> (parent uuid, ThreadDescriptor)
        self.children = {}      # uuid -> (parent uuid, name): tracks under a thread
        self.events = []        # (ts, order, track uuid, type, name, TrackEvent)
        names = collections.defaultdict(dict)       # seq -> iid -> name
        anames = collections.defaultdict(dict)
        clock = {}                                  # seq -> incremental clock value
        defaults = {}                               # seq -> track uuid
        for order, p in enumerate(packets):
            seq = one(p, "trusted_packet_sequence_id")
            if one(p, "sequence_flags", 0) & 1:
                names[seq].clear()
                anames[seq].clear()
            for d in p.get("trace_packet_defaults", []):
                assert one(d, "timestamp_clock_id") == 64
                defaults[seq] = one(one(d, "track_event_defaults"), "track_uuid")
            for cs in p.get("clock_snapshot", []):
                for c in cs["clocks"]:
                    if one(c, "clock_id") == 64:
                        assert one(c, "is_incremental") == "true"
                        clock[seq] = one(c, "timestamp")
            for i in p.get("interned_data", []):
                for e in i.get("event_names", []):
                    assert one(e, "iid") not in names[seq], "an iid given twice"
                    names[seq][one(e, "iid")] = one(e, "name")
                for e in i.get("debug_annotation_names", []):
                    anames[seq][one(e, "iid")] = one(e, "name")
            for td in p.get("track_descriptor", []):
                uuid = one(td, "uuid")
                assert uuid not in self.processes and uuid not in self.threads
                if "process" in td:
                    self.processes[uuid] = one(td, "process")
                elif "thread" in td:
                    self.threads[uuid] = (one(td, "parent_uuid"), one(td, "thread"))
                else:
                    self.children[uuid] = (one(td, "parent_uuid"), one(td, "name"))
            te = one(p, "track_event")
            if te is None:
                continue
            ts = one(p, "timestamp")
            if one(p, "timestamp_clock_id") == 6 or seq not in defaults or "track_uuid" in te:
                pass                                # absolute: ns since the trace start
            else:
                clock[seq] += ts
                ts = clock[seq]
            track = one(te, "track_uuid", defaults.get(seq))
            assert track in self.threads or track in self.children or track in self.processes
            name = one(te, "name") or names[seq].get(one(te, "name_iid"))
            if "name_iid" in te:
                assert name is not None, f"iid {one(te, 'name_iid')} not interned on {seq}"
            for a in te.get("debug_annotations", []):
                if "name_iid" in a:
                    a["name"] = [anames[seq][one(a, "name_iid")]]
            self.events.append((ts, order, track, one(te, "type"), name, te))

    def of_type(self, t):
        return [e for e in self.events if e[3] == t]

    def trees(self, track):
        """The slices on a track, nested by time (ties in file order, as
        readers sort): [(name, begin TrackEvent, end TrackEvent, children)]."""
        top = []
        stack = [(None, None, None, top)]
        for ts, _, _, typ, name, te in sorted(e for e in self.events if e[2] == track
                                              and e[3] in ("TYPE_SLICE_BEGIN", "TYPE_SLICE_END")):
            if typ == "TYPE_SLICE_BEGIN":
                node = [name, te, None, []]
                stack[-1][3].append(node)
                stack.append(node)
            else:
                assert len(stack) > 1, "an END with no open slice"
                stack.pop()[2] = te
        assert len(stack) == 1, "slices left open"
        return top


def shape_of(node):
    return (node[0], tuple(shape_of(c) for c in node[3]))


def annotations(te):
    return {one(a, "name"): a for a in te.get("debug_annotations", [])}


def value(a):
    """An annotation's value, as the JSON trace has it."""
    for k in ("int_value", "uint_value", "string_value", "double_value"):
        if k in a:
            return one(a, k)
    if "pointer_value" in a:
        return hex(one(a, "pointer_value"))
    if "bool_value" in a:
        return one(a, "bool_value") == "true"
    if "dict_entries" in a:
        return {one(e, "name"): value(e) for e in a["dict_entries"]}
    if "array_values" in a:
        return [value(e) for e in a["array_values"]]
    return None


def convert(procs, tracer, path, out):
    proc = procs.run([tracer, "convert", str(path), "--to", "perfetto", "-o", str(out)],
                     timeout=120)
    assert proc.returncode == 0, proc.stderr
    return out


def record(trace, procs, argv, *opts, status=0):
    out = trace.output()
    proc = procs.run(trace.command(out, opts, argv), timeout=60)
    assert proc.returncode == status, proc.stderr
    doc = trace.result(out, True)
    assert doc is not None, proc.stderr
    return out, doc, proc


def check_against(pf, doc):
    """Every thread tree of doc is the slices of one track, in the same shape;
    a BEGIN and an END per call; the tracks grouped by process."""
    calls = len(all_nodes(doc))
    assert len(pf.of_type("TYPE_SLICE_BEGIN")) == calls
    assert len(pf.of_type("TYPE_SLICE_END")) == calls
    md = doc["metadata"]
    pids = {p["pid"] for p in md["processes"]}
    assert sorted(one(p, "pid") for p in pf.processes.values()) == sorted(pids)
    by_pid = {one(p, "pid"): uuid for uuid, p in pf.processes.items()}
    thread_tracks = {}
    for uuid, (parent, th) in pf.threads.items():
        assert parent == by_pid[one(th, "pid")]
        thread_tracks[(one(th, "pid"), one(th, "tid"))] = uuid
    # one thread track per thread, a track under it for a later tree of the same thread
    threads = {(t["pid"], t["thread_id"]) for t in doc["call_trees"].values()}
    assert set(thread_tracks) == threads
    assert len(pf.children) == len(doc["call_trees"]) - len(threads)
    tracks = [u for u in list(pf.threads) + list(pf.children)]
    got = sorted(tuple(shape_of(n) for n in pf.trees(u)) for u in tracks)
    want = sorted(tuple(shape(n) for n in t["root_calls"]) for t in doc["call_trees"].values())
    assert got == want
    for key, t in doc["call_trees"].items():
        if "#" not in key:
            th = pf.threads[thread_tracks[(t["pid"], t["thread_id"])]][1]
            assert one(th, "thread_name") == t["thread_name"]


# ---- tests ----------------------------------------------------------------------

@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
def test_perfetto_basic(build, trace, procs, tracer, protoc, tmp_path, opt):
    """One process, one thread, 13 calls with their arguments and return values."""
    path, doc, _ = record(trace, procs, [build("basic.c", opt), "3"], "-a", "-r", status=3)
    pf = decode(protoc, convert(procs, tracer, path, tmp_path / "b.perfetto-trace"))
    check_against(pf, doc)
    md = doc["metadata"]
    (proc,) = pf.processes.values()
    assert one(proc, "pid") == md["pid"] and one(proc, "process_name") == "basic"
    assert proc["cmdline"] == md["command"]
    ((_, th),) = pf.threads.values()
    assert (one(th, "tid"), one(th, "thread_name")) == (md["pid"], "basic")
    # the interned names are the functions, each given once per sequence
    begins = pf.of_type("TYPE_SLICE_BEGIN")
    assert collections.Counter(e[4] for e in begins) == \
        collections.Counter(n["function"] for n in all_nodes(doc))
    # the arguments and return values: name -> value
    (track,) = pf.threads
    (main,) = pf.trees(track)
    nodes = [n for n, _ in walk(main_thread(doc))]
    slices = []
    stack = [main]
    while stack:
        s = stack.pop()
        slices.append(s)
        stack.extend(reversed(s[3]))
    assert [s[0] for s in slices] == [n["function"] for n in nodes]
    checked = 0
    for s, n in zip(slices, nodes):
        args = annotations(s[1]) | annotations(s[2])
        for a in n.get("arguments", []):
            assert value(args[a["name"]]) == a["value"], (n["function"], a)
            checked += 1
        if n.get("return_value") and "value" in n["return_value"]:
            assert value(args["return_value"]) == n["return_value"]["value"]
            checked += 1
    assert checked >= 20
    mul = next(s for s in slices if s[0] == "mul")
    want = next(n for n in nodes if n["function"] == "mul")["arguments"][0]
    assert want["name"] == "a" and value(annotations(mul[1])["a"]) == want["value"]
    # times: the slices' are the trace's own
    (m,) = main_thread(doc)["root_calls"]
    ts = sorted(e[0] for e in pf.events if e[2] == track)
    assert (ts[0], ts[-1]) == (m["start_ns"], m["end_ns"])


def test_perfetto_format_option(build, trace, procs, protoc, tmp_path):
    """-f perfetto converts right after tracing, beside the trace."""
    out = tmp_path / "basic.json"
    proc = procs.run(trace.command(out, ["-f", "perfetto"], [build("basic.c", "-O0")]),
                     timeout=60)
    assert proc.returncode == 0, proc.stderr
    conv = tmp_path / "basic.perfetto-trace"
    assert f"perfetto -> {conv}" in proc.stderr
    doc = trace.result(out, True)
    pf = decode(protoc, conv)
    check_against(pf, doc)
    assert len(pf.threads) == 1 and len(pf.processes) == 1
    assert len(pf.of_type("TYPE_SLICE_BEGIN")) == ex.BASIC_CALLS


def test_perfetto_threads(build, trace, procs, tracer, protoc, tmp_path):
    """A thread track per thread, all under the one process, each its own sequence."""
    path, doc, _ = record(trace, procs, [build("threads.c", "-O2")])
    pf = decode(protoc, convert(procs, tracer, path, tmp_path / "t.pftrace"))
    check_against(pf, doc)
    assert len(pf.threads) == 5 and len(pf.processes) == 1
    names = sorted(one(th, "thread_name") for _, th in pf.threads.values())
    assert names == sorted(t["thread_name"] for t in doc["call_trees"].values())
    seqs = {one(p, "trusted_packet_sequence_id") for p in pf.packets if "track_event" in p}
    assert len(seqs - {1}) == 5  # 1: the global one (the threads' creation flows)


@pytest.mark.parametrize("mode", ["segv", "thread"])
def test_perfetto_crash(build, trace, procs, tracer, protoc, tmp_path, mode):
    """The crash: an instant on the thread that died, with the crash report's members."""
    path, doc, _ = record(trace, procs, [build("crash.c", "-O0"), mode], status=128 + 11)
    pf = decode(protoc, convert(procs, tracer, path, tmp_path / "c.pftrace"))
    check_against(pf, doc)
    crash = doc["crash"]
    (inst,) = [e for e in pf.of_type("TYPE_INSTANT") if e[4].startswith("crash")]
    assert inst[4] == "crash: SIGSEGV"
    tracks = {one(th, "tid"): u for u, (_, th) in pf.threads.items()}
    assert inst[2] == tracks[crash["thread_id"]]
    a = annotations(inst[5])
    assert value(a["signal_name"]) == "SIGSEGV" and value(a["signal"]) == 11
    assert value(a["thread_id"]) == crash["thread_id"]
    stack = value(a["call_stack"])
    assert [f["function"] for f in stack] == [f["function"] for f in crash["call_stack"]]


def test_perfetto_forks(build, trace, procs, tracer, protoc, tmp_path):
    """--follow-forks: a process track per process, each child's thread under
    its own; each fork a flow from the parent's thread to the child's."""
    path, doc, _ = record(trace, procs, [build("forker.c", "-O0"), "fork", 3], "--follow-forks")
    pf = decode(protoc, convert(procs, tracer, path, tmp_path / "f.pftrace"))
    check_against(pf, doc)
    md = doc["metadata"]
    assert len(pf.processes) == 4 and len(pf.threads) == 4
    kids = [p for p in md["processes"] if p["parent_pid"] is not None]
    assert len(kids) == 3
    forks = [e for e in pf.of_type("TYPE_INSTANT") if e[4].startswith("fork: ")]
    landed = [e for e in pf.of_type("TYPE_INSTANT") if e[4].startswith("forked from ")]
    assert len(forks) == len(landed) == 3
    tracks = {one(th, "pid"): u for u, (_, th) in pf.threads.items()}
    flows = {e[5]["flow_ids"][0]: e for e in forks}
    for e in landed:
        src = flows[e[5]["terminating_flow_ids"][0]]
        child = int(src[4].split()[-1])
        assert e[2] == tracks[child] and src[2] == tracks[md["pid"]]
        assert e[0] == src[0] == next(p["start_ns"] for p in kids if p["pid"] == child)


def test_perfetto_exec(build, trace, procs, tracer, protoc, tmp_path):
    """The exec'd image's tree is a track under the thread's; the exec an instant."""
    exe, new = build("forker.c", "-O2"), build("execd.c", "-O2")
    path, doc, _ = record(trace, procs, [exe, "exec", new], status=7)
    pf = decode(protoc, convert(procs, tracer, path, tmp_path / "e.pftrace"))
    check_against(pf, doc)
    assert len(pf.threads) == 1 and len(pf.children) == 1
    (execs,) = [e for e in pf.of_type("TYPE_INSTANT") if e[4].startswith("exec: ")]
    assert execs[4] == f"exec: {new}"
    (p,) = doc["metadata"]["processes"]
    assert execs[0] == p["execs"][0]["ts_ns"]


def test_perfetto_partial_calls_after_attach(trace, procs, tracer, protoc, ticker, tmp_path):
    """Attached mid-run: calls without a start or an end are clamped, nest,
    and say so; the ones named only at their return are named all the same."""
    out, doc, partial = trace_after_attach(trace, procs, ticker)
    pf = decode(protoc, convert(procs, tracer, out, tmp_path / "a.pftrace"))
    check_against(pf, doc)
    ends = [annotations(e[5]) for e in pf.of_type("TYPE_SLICE_END")]
    clamped = [a for a in ends if "clamped" in a]
    assert len(clamped) == sum(1 for n in partial if n["start_ns"] is None or n["end_ns"] is None)
    assert all(value(a["partial_reason"]) for a in clamped)
    assert sum(1 for a in ends if "partial_reason" in a) == len(partial)


def test_perfetto_size_per_call(build, trace, procs, tracer, protoc, tmp_path):
    """About 24 bytes a call without arguments (the issue's target): deltas
    of 128 ns to 16 us take two bytes; a loaded machine may stretch a few."""
    path, doc, _ = record(trace, procs, [build("recursion.c", "-O2")])
    out = convert(procs, tracer, path, tmp_path / "r.pftrace")
    calls = len(all_nodes(doc))
    assert calls > 20000
    assert out.stat().st_size / calls <= 26, out.stat().st_size / calls
    check_against(decode(protoc, out), doc)


def node(name, start, end, *children, late=False, **extra):
    """A JSON node; late: its name after its children, as for a call whose
    entry was not observed"""
    n = {} if late else {"function": name}
    n.update(start_ns=start, end_ns=end,
             duration_ns=None if start is None or end is None else end - start)
    n["children"] = list(children)
    if late:
        n["function"] = name
    n.update(extra)
    return n


def test_perfetto_synthetic(tracer_binary, procs, protoc, tmp_path):
    """Partial calls of every kind, on a trace written here: named only at
    their return (nested, and tied in time with what came before), never
    returned, no process list (each thread's own pid says), a later tree of
    a thread, and the crash of a thread of the second process."""
    lost = {"partial": True, "partial_reason": "already running"}
    doc = {
        "metadata": {"pid": 10, "duration_ns": 1000, "executable": "/bin/prog",
                     "timestamp": "2026-11-23T18:40:59.123456Z", "lost_events": 0},
        "call_trees": {
            "10": {"thread_id": 10, "thread_name": "main", "root_calls": [
                node("prev", 5, 10),
                node("outer", None, 90,
                     node("mid", None, 50, node("leaf", 10, 20), late=True, **lost),
                     node("leaf", 60, 70), late=True, **lost),
                node("open", 100, None, node("inner", 110, None, **lost), **lost),
            ], "pid": 10},
            "11": {"thread_id": 11, "thread_name": "w", "root_calls": [node("w", 3, 4)],
                   "pid": 12},
            "10#2": {"thread_id": 10, "thread_name": "main", "root_calls": [node("img", 500, 600)],
                     "pid": 10},
        },
        "crash": {"signal": 11, "signal_name": "SIGSEGV", "thread_id": 11,
                  "call_stack": [{"function": "w"}]},
    }
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    pf = decode(protoc, convert(procs, tracer_binary, path, tmp_path / "s.pftrace"))
    doc["metadata"]["processes"] = [{"pid": 10}, {"pid": 12}]
    check_against(pf, doc)
    assert len(pf.processes) == 2 and len(pf.threads) == 2 and len(pf.children) == 1
    (main,) = [u for u, (_, th) in pf.threads.items() if one(th, "tid") == 10]
    assert [n[0] for n in pf.trees(main)] == ["prev", "outer", "open"]
    begins = {}
    for e in pf.events:
        if e[3] == "TYPE_SLICE_BEGIN" and e[2] == main:
            begins.setdefault(e[4], e[0])     # the first leaf: tied with prev's end
    # named late, yet before their first child and not before what came before
    assert 10 <= begins["outer"] < begins["mid"] < 10 + 2 <= begins["leaf"]
    ends = [annotations(e[5]) for e in pf.of_type("TYPE_SLICE_END")]
    assert sorted(value(a["clamped"]) for a in ends if "clamped" in a) == \
        ["end", "end", "start", "start"]
    (crash,) = pf.of_type("TYPE_INSTANT")
    assert crash[2] == next(u for u, (_, th) in pf.threads.items() if one(th, "tid") == 11)
