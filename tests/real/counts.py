"""Reads the counting hooks' files (count_hooks.c) and compares them with a
ctrace-bpf trace of the same run.

Ground truth per thread: for each function address, how many times its entry
hook and its exit hook ran. A trace node tells whether its entry and its exit
were observed: both for a whole call; the exit only for a call made before a
fork in the parent (the child returns from it); the entry only for a call
left by longjmp or still running when the thread or process ended.
"""
import collections
import re
import struct
import subprocess
from pathlib import Path

MAGIC = 0x53544e554f434354
SLOTS = 16384
MAX_THREADS = 256
HDR_WORDS = 8
THR_WORDS = 4 + 3 * SLOTS

# Partial reasons that say why an end is missing without any loss or fault.
ENTRY_ONLY = ("exit not observed (left by longjmp)",
              "exit not observed (the thread ended inside this call)",
              "exit not observed (the process was killed by",
              "exit not observed (the process replaced its image: exec)",
              "exit not observed (still running when tracing stopped)")
EXIT_ONLY = ("entry not observed (called before the fork, in the parent)",
             "entry not observed (already running when tracing started)")


class Thread:
    def __init__(self, pid, image, tid, seq):
        self.pid, self.image, self.tid, self.seq = pid, image, tid, seq
        self.counts = {}    # address -> [entries, exits]

    @property
    def calls(self):
        return sum(e for e, _ in self.counts.values())


def read_file(path, pid, image):
    data = Path(path).read_bytes()
    magic, fpid, nthreads, overflow = struct.unpack_from("<4Q", data, 0)
    assert magic == MAGIC, f"{path}: not a counts file"
    assert fpid == pid, f"{path}: pid {fpid} in the file"
    assert overflow == 0, f"{path}: a thread's table overflowed ({SLOTS} functions)"
    assert nthreads <= MAX_THREADS, f"{path}: {nthreads} threads"
    threads = []
    for n in range(nthreads):
        base = (HDR_WORDS + n * THR_WORDS) * 8
        tid, seq, used = struct.unpack_from("<3Q", data, base)
        th = Thread(pid, image, tid, seq)
        words = struct.unpack_from(f"<{3 * SLOTS}Q", data, base + 32)
        for i in range(0, len(words), 3):
            if words[i]:
                th.counts[words[i]] = [words[i + 1], words[i + 2]]
        assert len(th.counts) == used, f"{path}: thread {tid} has {len(th.counts)}/{used} slots"
        threads.append(th)
    return threads


def load(prefix):
    """Every thread of every process image the hooks saw, in creation order
    per tid: {key: Thread}, keyed like the trace's call_trees ("tid", "tid#2")."""
    prefix = Path(prefix)
    files = []
    for p in prefix.parent.glob(prefix.name + ".*.*"):
        m = re.fullmatch(re.escape(prefix.name) + r"\.(\d+)\.(\d+)", p.name)
        if m:
            files.append((int(m.group(1)), int(m.group(2)), p))
    by_tid = collections.defaultdict(list)
    for pid, image, path in sorted(files):
        for th in read_file(path, pid, image):
            by_tid[th.tid].append(th)
    out = {}
    for tid, ths in by_tid.items():
        # a tid's instances in time order: by process image, then claim order
        for i, th in enumerate(sorted(ths, key=lambda t: (t.image, t.seq))):
            out[str(tid) if i == 0 else f"{tid}#{i + 1}"] = th
    return out


def window(before, after):
    """The calls made between two loads of the same run's counts: what an
    attached tracer must see when it was armed and disarmed while the
    process was stopped at each load. {key: Thread}, as load returns."""
    out = {}
    for key, th in after.items():
        was = before.get(key)
        if was is not None and (was.pid, was.image) != (th.pid, th.image):
            was = None
        w = Thread(th.pid, th.image, th.tid, th.seq)
        for addr, (e, x) in th.counts.items():
            e0, x0 = was.counts.get(addr, (0, 0)) if was else (0, 0)
            if (e, x) != (e0, x0):
                w.counts[addr] = [e - e0, x - x0]
        out[key] = w
    return out


def observed(node):
    """(entry seen, exit seen, true reason) for a trace node: the reason is
    False for a partial node whose reason is not a true one (events lost, a
    resynchronisation, anything unknown)."""
    if node.get("partial") is not True:
        return True, True, True
    reason = node["partial_reason"]
    if reason.startswith(ENTRY_ONLY):
        return True, False, True
    if reason.startswith(EXIT_ONLY):
        return False, True, True
    entry = node["start_ns"] is not None and not reason.startswith("entry")
    exit_ = node["end_ns"] is not None and "exit not observed" not in reason
    return entry, exit_, False


def counts_walk(nodes):
    """Every node under nodes, in no particular order."""
    stack = list(nodes)
    while stack:
        n = stack.pop()
        stack.extend(n["children"])
        yield n


def trace_counts(tree):
    """{address: [entries, exits]} and {address: name} for one thread's tree,
    and its partial nodes whose reason is not a true one."""
    counts = collections.defaultdict(lambda: [0, 0])
    names = {}
    untrue = []
    for n in counts_walk(tree["root_calls"]):
        entry, exit_, true = observed(n)
        if not true:
            untrue.append(n)
        if n["address"] is None:   # "[unknown]": neither end seen
            continue
        addr = int(n["address"], 16)
        names[addr] = n["function"]
        counts[addr][0] += entry
        counts[addr][1] += exit_
    return counts, names, untrue


def describe(node):
    return f"{node['function']} [{node['start_ns']}, {node['end_ns']}]: {node['partial_reason']}"


def restricted(th, keep):
    """th with only the functions keep(address) accepts."""
    out = Thread(th.pid, th.image, th.tid, th.seq)
    out.counts = {a: c for a, c in th.counts.items() if keep(a)}
    return out


def symbolizer(doc):
    """address -> name for the differences: the names the trace gives, else the
    executable's symbols (nm), placed by a traced function of it."""
    names, base = {}, None
    exe = doc["metadata"]["executable"]
    for tree in doc["call_trees"].values():
        for n in counts_walk(tree["root_calls"]):
            if n["address"] is not None:
                names[int(n["address"], 16)] = n["function"]
    syms = {}
    out = subprocess.run(["nm", "-C", "--defined-only", exe], capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in "Tt":
            syms.setdefault(parts[2], int(parts[0], 16))
    for addr, name in names.items():
        if name in syms:
            base = addr - syms[name]
            break
    if base is not None:
        for name, off in syms.items():
            names.setdefault(base + off, name)
    return lambda addr: names.get(addr, hex(addr))


def hook_window(tree, handler):
    """The one event a fatal signal's handler may have overtaken: the tracer's
    events are the calls of the hooks (the probe sits on the call), the hooks
    count inside their bodies. A signal delivered between the two -- at the
    return from the probe's trap, where most asynchronous signals land in a
    traced thread -- runs its handler first; when the process then dies of
    it, the hook never counts. That event is the one just before the last
    call of handler in the thread: the previous sibling's exit, or the
    parent's entry. (address, 0 for an entry or 1 for an exit), or None."""
    found = None
    stack = [(None, tree["root_calls"])]
    while stack:
        parent, nodes = stack.pop()
        for i, n in enumerate(nodes):
            if n["function"] == handler and (found is None or
                                             n["start_ns"] > found[2]["start_ns"]):
                found = (parent, nodes[i - 1] if i else None, n)
            stack.append((n, n["children"]))
    if found is None:
        return None
    parent, before, _ = found
    if before is not None:
        return int(before["address"], 16), 1
    return (int(parent["address"], 16), 0) if parent is not None else None


def compare(doc, truth, selected=None, handler=None, allow_lost=False):
    """The differences between a trace and the hooks' counts, as readable
    lines ([] when they agree), and the number of calls compared. selected(name),
    for a trace made with filters: the functions the hooks' counts are held to
    (the others must not be in the trace at all)."""
    diffs = []
    if selected is not None:
        name = symbolizer(doc)
        truth = {key: restricted(th, lambda a: selected(name(a))) for key, th in truth.items()}
    trees = doc["call_trees"]
    for key in sorted(set(trees) - set(truth)):
        if not trees[key]["root_calls"] and not trees[key]["total_calls"]:
            continue   # an image an exec started that is not instrumented: nothing ran
        diffs.append(f"thread {key}: in the trace ({trees[key]['total_calls']} calls), "
                     f"not seen by the hooks")
    compared = 0
    name = None
    for key in sorted(truth):
        if selected is not None and not truth[key].calls and key not in trees:
            continue   # a thread that made no selected call
        th = truth[key]
        if key not in trees:
            if th.calls:
                diffs.append(f"thread {key} (pid {th.pid}): {th.calls} calls, not in the trace")
            continue
        tree = trees[key]
        if tree["pid"] != th.pid:
            diffs.append(f"thread {key}: pid {tree['pid']} in the trace, {th.pid} in truth")
        got, _, untrue = trace_counts(tree)
        if allow_lost:   # the loss counted: nodes it left partial say so
            untrue = [n for n in untrue if "(events lost)" not in n["partial_reason"]]
        if untrue:
            reasons = collections.Counter(n["partial_reason"] for n in untrue)
            diffs.append(f"thread {key}: {len(untrue)} partial nodes for no true reason "
                         f"{dict(reasons)}, e.g. {describe(untrue[0])}")
        window = hook_window(tree, handler) if handler else None
        overtaken = 0   # an entry the hooks never counted (hook_window)
        for addr in sorted(set(got) | set(th.counts)):
            want = th.counts.get(addr, [0, 0])
            have = got.get(addr, [0, 0])
            if window and window[0] == addr and have[window[1]] == want[window[1]] + 1 and \
                    have[1 - window[1]] == want[1 - window[1]]:
                SUMMARY.append(f"thread {key}: the {('entry', 'exit')[window[1]]} of "
                               f"{(name or symbolizer(doc))(addr)} was traced and the "
                               f"signal's handler ran before its hook counted it")
                overtaken = 1 - window[1]
                continue
            if want != have:
                name = name or symbolizer(doc)
                diffs.append(f"thread {key}: {name(addr)}: entries/exits "
                             f"{have[0]}/{have[1]} traced, {want[0]}/{want[1]} real")
        # a call whose entry was not observed (made before the fork) may or
        # may not count in total_calls; every entry must
        exit_only = sum(1 for n in counts_walk(tree["root_calls"]) if observed(n)[:2] ==
                        (False, True))
        if not th.calls + overtaken <= tree["total_calls"] <= th.calls + overtaken + exit_only:
            diffs.append(f"thread {key}: total_calls {tree['total_calls']} traced, "
                         f"{th.calls} real entries (+ {exit_only} calls made before a fork)")
        compared += th.calls
    return diffs, compared


def check(doc, truth, min_calls, selected=None, handler=None, max_lost=0):
    """Every difference between the trace and the truth, and the trace's own
    invariants (children inside their parents in time, ...): fails with all
    of them listed. Returns the number of calls compared. max_lost: events
    that may be lost, counted, where the test says why (a node they leave
    partial says "events lost"; the counts must still agree)."""
    import calltree
    md = doc["metadata"]
    problems = []
    if md["lost_events"] > max_lost:
        problems.append(f"lost_events {md['lost_events']}")
    elif md["lost_events"]:
        SUMMARY.append(f"{md['lost_events']} event(s) lost, counted, as allowed: "
                       f"{md['executable']}")
    if md.get("resyncs", 0) != 0:
        problems.append(f"resyncs {md['resyncs']}")
    diffs, compared = compare(doc, truth, selected, handler, md["lost_events"] > 0)
    problems += diffs
    try:
        calltree.check_invariants(doc)
    except AssertionError as e:
        problems.append(f"invariants: {str(e).splitlines()[0]}")
    shown = "\n".join(problems[:40]) + (f"\n... {len(problems) - 40} more"
                                        if len(problems) > 40 else "")
    assert not problems, f"{len(problems)} differences ({compared} calls compared):\n{shown}"
    assert compared >= min_calls, f"only {compared} calls compared"
    COMPARED.append(compared)
    return compared


COMPARED = []   # calls compared by each passing check, for the session summary
SUMMARY = []    # more lines for it
