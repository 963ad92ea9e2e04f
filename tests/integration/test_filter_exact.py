"""Filtered traces of heavily inlined -O2/-O3 code are the full trace filtered
offline (tests/progs/inlheavy.c): same nodes, nesting and counts, for -F, -N,
--filter-file, -D and --capture, in both probe modes, attach mode and
--follow-forks. And a filter probes only its functions' sites, proven by
DWARF and by the decoder (list --sites; binutils' addr2line is the check)."""
import re
import subprocess
from pathlib import Path

import pytest

from calltree import all_nodes, thread_trees
from harness import wait_attached, wait_for

OPTS = ["-O2", "-O3"]
PROBES = ["callsite", "preload", "batch"]
# (id, tracer options, the same selection as a predicate, -D)
CASES = [
    ("F", ["-F", "fill", "-F", "longest"], lambda f: f in ("fill", "longest"), 0),
    # set_error's inlined exit hook in reset: only DWARF proves its function
    ("F-reset", ["-F", "reset", "-F", "step"], lambda f: f in ("reset", "step"), 0),
    ("N", ["-N", "bump", "-N", "mix"], lambda f: f not in ("bump", "mix"), 0),
    ("file", ["--filter-file", "FILE"], lambda f: f in ("classify", "walk", "hashb"), 0),
    ("D", ["-F", "step", "-F", "hashb", "-F", "mix", "-D", "2"],
     lambda f: f in ("step", "hashb", "mix"), 2),
    ("capture", ["-F", "longest", "-F", "bump", "--capture", "longest"],
     lambda f: f in ("longest", "bump"), 0),
]
FILTER_FILE = "# selected\nclassify\nwalk\nhashb\n!mix\n"


def offline(nodes, keep, max_depth=0, depth=1):
    """The full trace's nodes as the filter would record them: an unselected
    call's children move up to its nearest selected caller; -D counts the
    selected ancestors only."""
    out = []
    for n in nodes:
        if not keep(n["function"]):
            out.extend(offline(n["children"], keep, max_depth, depth))
            continue
        kids = () if max_depth and depth >= max_depth else \
            offline(n["children"], keep, max_depth, depth + 1)
        out.append((n["function"], bool(n.get("partial")), tuple(kids)))
    return tuple(out)


def recorded(nodes):
    return tuple((n["function"], bool(n.get("partial")), recorded(n["children"])) for n in nodes)


def per_thread(doc, fn):
    """Every thread's tree, in a stable order (thread ids differ across runs)."""
    return sorted(repr(fn(t["root_calls"])) for t in thread_trees(doc))


def check_exact(full, doc, keep, max_depth=0):
    assert doc["metadata"]["lost_events"] == 0 and full["metadata"]["lost_events"] == 0
    want = per_thread(full, lambda r: offline(r, keep, max_depth))
    got = per_thread(doc, recorded)
    assert got == want
    assert doc["metadata"]["total_calls"] == len(all_nodes(doc)) > 0
    for n in all_nodes(doc):
        assert not n.get("partial") or n.get("partial_reason", "").startswith(
            "entry not observed (called before the fork"), n


def run_ok(trace, argv, *opts):
    proc, doc = trace(argv, *opts)
    assert proc.returncode == 0, proc.stderr
    assert doc is not None, proc.stderr
    return proc, doc


@pytest.fixture
def full_trace(build, trace):
    cache = {}

    def get(opt, *args, follow=False):
        key = (opt, args, follow)
        if key not in cache:
            exe = build("inlheavy.c", opt)
            cache[key] = run_ok(trace, [exe, *args], *(["--follow-forks"] if follow else []))[1]
        return cache[key]
    return get


def filter_opts(opts, tmp_path):
    if "FILE" in opts:
        path = tmp_path / "filters.txt"
        path.write_text(FILTER_FILE)
        opts = [str(path) if o == "FILE" else o for o in opts]
    return opts


# --probe batch does not capture values: the --capture case runs per event only
@pytest.mark.parametrize("probe,case", [(p, c) for c in CASES for p in PROBES
                                        if not (p == "batch" and "--capture" in c[1])],
                         ids=[f"{c[0]}-{p}" for c in CASES for p in PROBES
                              if not (p == "batch" and "--capture" in c[1])])
@pytest.mark.parametrize("opt", OPTS)
def test_filtered_is_full_filtered_offline(build, trace, full_trace, tmp_path, opt, probe, case):
    _, opts, keep, max_depth = case
    exe = build("inlheavy.c", opt)
    proc, doc = run_ok(trace, [exe], "--probe", probe, *filter_opts(opts, tmp_path))
    assert proc.stdout == subprocess.run([exe], capture_output=True, text=True).stdout
    check_exact(full_trace(opt), doc, keep, max_depth)


@pytest.mark.parametrize("probe", PROBES)
def test_follow_forks_filtered(build, trace, full_trace, probe):
    """Children fork inside spawn(), a selected function: each child's tree
    starts with spawn's return, in both traces alike."""
    exe = build("inlheavy.c", "-O2")
    keep = lambda f: f in ("spawn", "longest", "fill", "bump")  # noqa: E731
    proc, doc = run_ok(trace, [exe, "fork", 3], "--probe", probe, "--follow-forks",
                       "-F", "spawn", "-F", "longest", "-F", "fill", "-F", "bump")
    assert proc.stdout.count("child acc=") == 3
    full = full_trace("-O2", "fork", 3, follow=True)
    assert len(doc["metadata"]["processes"]) == len(full["metadata"]["processes"]) == 4
    check_exact(full, doc, keep)


@pytest.mark.parametrize("opt", OPTS)
def test_attach_filtered(build, trace, full_trace, procs, tmp_path, opt):
    """Attached while the target waits in main (unselected), then it runs
    the workload: exactly the launch-mode full trace, filtered."""
    exe = build("inlheavy.c", opt)
    state, go = tmp_path / "state", tmp_path / "go"
    target = procs.popen([exe, "wait", state, go], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, encoding="utf-8")
    wait_for(lambda: state.exists() and state.read_text().strip(), 10, "the target to wait")
    p, out = trace.start(["-p", target.pid, "-F", "step", "-F", "hashb", "-F", "bump"])
    wait_attached(p)
    go.write_text("")
    proc, doc = trace.finish(p, out)
    assert proc.returncode == 0, proc.stderr
    keep = lambda f: f in ("step", "hashb", "bump")  # noqa: E731
    check_exact(full_trace(opt), doc, keep)


# ---- which sites are probed ---------------------------------------------------

HOOK_CALL = re.compile(r"^\s*([0-9a-f]+):.*\b(?:call|jmp)\s+[0-9a-f]+ <__cyg_profile_func_(enter|exit)@plt>")


def owners(exe):
    """Each hook call site's function by binutils: the innermost function
    addr2line -i names at the call (a DWARF reader of its own)."""
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", exe], capture_output=True,
                         text=True, check=True).stdout
    addrs = [m.group(1) for m in map(HOOK_CALL.match, dis.splitlines()) if m]
    # -a: each address, then (function, file:line) per inline level, innermost first
    out = subprocess.run(["addr2line", "-a", "-i", "-f", "-e", exe, *addrs],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    names = [out[i + 1] for i, line in enumerate(out) if line.startswith("0x")]
    assert len(names) == len(addrs) > 0
    return names


def list_sites(tracer, procs, exe, *opts):
    proc = procs.run([str(tracer), "list", "--sites", str(exe), *map(str, opts)], timeout=120)
    assert proc.returncode == 0, proc.stderr
    proofs, probed = proc.stdout.splitlines()
    m = re.search(r": (\d+) hook call sites: (\d+) proven by DWARF and the decoder, (\d+) by "
                  r"DWARF only, (\d+) by the decoder only, (\d+) unproven \((\d+) where the two "
                  r"disagree\)(; no DWARF)?$", proofs)
    assert m, proofs
    p = re.search(r"(\d+) enter \+ (\d+) exit call sites in (\d+) functions, (\d+) of them "
                  r"checked in BPF$", probed)
    assert p, probed
    return [int(x) for x in m.groups()[:6]] + [bool(m.group(7))], [int(x) for x in p.groups()]


@pytest.mark.parametrize("opt", OPTS)
def test_list_sites_proofs(build, tracer_binary, procs, opt):
    exe = build("inlheavy.c", opt)
    by_fn = owners(exe)
    (sites, both, dwarf, decoder, unproven, disagree, nodw), probed = \
        list_sites(tracer_binary, procs, exe)
    assert sites == len(by_fn) and not nodw
    # every site proven, the two proofs never disagree, and DWARF proves
    # the sites the decoder cannot (the switch's jump table)
    assert (unproven, disagree, decoder) == (0, 0, 0) and dwarf > 0
    assert both + dwarf == sites
    assert probed[0] + probed[1] == sites and probed[3] == 0
    for name in ("fill", "bump", "mix", "hashb"):
        _, (enter, exit_, _, checked) = list_sites(tracer_binary, procs, exe, "-F", name)
        assert enter + exit_ == by_fn.count(name) >= 2, name
        assert enter == exit_
    assert by_fn.count("bump") > 2 and by_fn.count("mix") > 2   # inlined copies
    _, (enter, exit_, _, _) = list_sites(tracer_binary, procs, exe, "-N", "bump", "-N", "mix")
    assert enter + exit_ == sites - by_fn.count("bump") - by_fn.count("mix")


@pytest.mark.parametrize("opt", OPTS)
def test_list_sites_without_dwarf(build, tracer_binary, procs, opt):
    """Without DWARF the decoder stands alone; what it cannot prove is probed
    and checked in BPF, and the trace is still exact (tested above with
    DWARF; here the counts)."""
    exe = build("inlheavy.c", opt, strip="debug")
    (sites, both, dwarf, decoder, unproven, disagree, nodw), probed = \
        list_sites(tracer_binary, procs, exe, "-F", "fill")
    assert nodw and both == dwarf == disagree == 0
    assert decoder + unproven == sites and unproven > 0
    assert probed[3] == unproven


@pytest.mark.parametrize("probe", PROBES)
def test_filtered_without_dwarf(build, trace, full_trace, probe):
    exe = build("inlheavy.c", "-O2", strip="debug")
    keep = lambda f: f in ("classify", "fill")  # noqa: E731
    _, doc = run_ok(trace, [exe], "--probe", probe, "-F", "classify", "-F", "fill")
    check_exact(full_trace("-O2"), doc, keep)


def test_verbose_reports_proofs(build, trace):
    exe = build("inlheavy.c", "-O2")
    proc, _ = run_ok(trace, [exe], "-v", "--probe", "callsite", "-F", "fill")
    assert re.search(r"inlheavy: \d+ hook call sites: \d+ proven by DWARF and the decoder, "
                     r"\d+ by DWARF only, 0 by the decoder only, 0 unproven", proc.stderr), proc.stderr
    assert re.search(r"inlheavy: (\d+) enter \+ \1 exit call sites probed", proc.stderr), proc.stderr


# ---- C++: inline functions of several units, and libstdc++'s ------------------

CXX_PROGS = Path(__file__).resolve().parents[1] / "progs"
BASIC_STRING = "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >"
CXX_CASES = [
    # twice() is kept from one unit; the DWARF of both covers it, and each
    # unit's helper() is another function: only the decoder proves those
    ("helper", ["-F", "helper", "-F", "twice"], lambda f: f in ("helper(int)", "twice(int)")),
    # std::string's inline members pass libstdc++'s out-of-line copies
    ("string", ["-F", BASIC_STRING + "::basic_string*", "-F", "other_unit"],
     lambda f: f.startswith(BASIC_STRING + "::basic_string") or f == "other_unit(int)"),
    ("N-std", ["-N", "std::*"], lambda f: not f.startswith("std::")),
]


def cxx_build(build, opt, **kw):
    return build("cxxinl.cc", opt, extra=(CXX_PROGS / "cxxinl_b.cc",), **kw)


@pytest.mark.parametrize("probe", PROBES)
@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("case", CXX_CASES, ids=[c[0] for c in CXX_CASES])
def test_cxx_filtered_is_full_filtered_offline(build, trace, opt, probe, case):
    _, opts, keep = case
    exe = cxx_build(build, opt)
    _, full = run_ok(trace, [exe])
    proc, doc = run_ok(trace, [exe], "--probe", probe, *opts)
    assert proc.stdout == "r=114\n"
    check_exact(full, doc, keep)


@pytest.mark.parametrize("opt", OPTS)
def test_cxx_list_sites(build, tracer_binary, procs, opt):
    """The two proofs never disagree (each unit's DWARF covering the kept
    copy of twice() is heard, and they differ on helper()), and a filter on
    helper() probes a small part of the sites (its own, and the unproven
    ones, checked in BPF). addr2line is no referee here: with -i it names
    the inlined frames of C++ code after their callers."""
    exe = cxx_build(build, opt)
    (sites, both, dwarf, decoder, unproven, disagree, nodw), _ = list_sites(tracer_binary, procs, exe)
    assert disagree == 0 and not nodw and both + dwarf + decoder + unproven == sites
    _, (enter, exit_, _, checked) = list_sites(tracer_binary, procs, exe, "-F", "helper")
    assert checked >= unproven and 8 <= enter + exit_ - unproven and enter + exit_ < sites / 4
