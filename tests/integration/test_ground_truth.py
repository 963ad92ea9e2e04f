"""The expected trees of expected.py hold for the programs as compiled: each
program is linked with in-process hooks (tests/progs/oracle_hooks.c) that log
every call, and the log goes through the same checks as a ctrace-bpf trace.
Needs neither root nor the tracer; when one of these fails, the program or the
expectation is wrong, not the tracer."""
import pytest

import expected as ex
from calltree import T, depth_counts, shapes, main_thread, walk

OPT = pytest.mark.parametrize("opt", ex.OPT_LEVELS)


@OPT
def test_basic(build, oracle_run, opt):
    exe = build("basic.c", opt, oracle=True)
    proc, doc = oracle_run(exe, ["3", "hello", "two words"])
    assert proc.returncode == 3
    assert proc.stdout == "argc=4\nargv[1]=3\nargv[2]=hello\nargv[3]=two words\n" \
                          "env=(unset)\ncompute=77\n"
    ex.check_basic(doc, "basic")


@OPT
@pytest.mark.parametrize("variant", [
    pytest.param(dict(debug=False), id="no-g"),
    pytest.param(dict(strip="debug"), id="strip-debug"),
    pytest.param(dict(extra=["-rdynamic"], strip="all"), id="strip-all-rdynamic"),
])
def test_basic_names_without_dwarf(build, oracle_run, opt, variant):
    """What test_symbols.py expects: the symbol tables left still name every call."""
    proc, doc = oracle_run(build("basic.c", opt, oracle=True, **variant), ["0"])
    assert proc.returncode == 0
    ex.check_basic(doc, "basic")


@OPT
def test_recursion(build, oracle_run, opt):
    proc, doc = oracle_run(build("recursion.c", opt, oracle=True))
    assert proc.stdout == ex.RECURSION_STDOUT
    ex.check_recursion(doc, "recursion")


@OPT
def test_threads(build, oracle_run, opt):
    proc, doc = oracle_run(build("threads.c", opt, oracle=True))
    assert "total leaf_calls=10000\n" in proc.stdout
    ex.check_threads(doc, "threads", proc.stdout)


@OPT
def test_geo(build, oracle_run, opt):
    proc, doc = oracle_run(build("geo.cc", opt, oracle=True))
    assert proc.stdout == "norms=21 twice=42,10 helper=127 sums=10,2\n"
    ex.check_geo(doc, "geo")


@OPT
def test_shlib(build, oracle_run, opt):
    proc, doc = oracle_run(build("useshape.c", opt, libs=["libshape.c"], oracle=True))
    assert proc.stdout == "measure=38 apply=115\n"
    ex.check_shlib(doc, "useshape")


@OPT
def test_filt(build, oracle_run, opt):
    proc, doc = oracle_run(build("filt.c", opt, oracle=True))
    assert proc.stdout == "result=31\n"
    assert shapes(main_thread(doc)["root_calls"]) == (ex.FILT,)


@pytest.mark.parametrize("case", ex.FILTER_CASES, ids=[c[0] for c in ex.FILTER_CASES])
def test_filter_expectations(case):
    """Each hand-written filter expectation is what the reference semantics
    (glob / unanchored regex, include then exclude, hidden calls replaced by
    their traced callees) make of filt.c's tree."""
    _, opts, file_text, want = case
    assert ex.expected_filtered(opts, file_text) == want


@OPT
def test_deep(build, oracle_run, opt):
    proc, doc = oracle_run(build("deep.c", opt, oracle=True))
    assert proc.stdout == "sum=624\n"
    assert dict(depth_counts(doc)) == ex.DEEP_PER_DEPTH
    assert all(n["function"] == ex.DEEP_NAMES[d] for n, d in walk(doc))


@OPT
def test_ticker(build, oracle_run, opt, tmp_path):
    proc, doc = oracle_run(build("ticker.c", opt, oracle=True), [tmp_path / "state", "0.2"])
    ticks = int(proc.stdout.split("=")[1])
    assert proc.stdout == f"ticks={ticks}\n" and ticks >= 10
    (main,) = main_thread(doc)["root_calls"]
    assert ex.shapes([main]) == (T("main", T("serve_loop", *(T("tick", T("bump")),) * ticks)),)


@OPT
@pytest.mark.parametrize("mode", ["segv", "abort", "fpe", "thread"])
def test_crash(build, oracle_run, opt, mode):
    proc, doc = oracle_run(build("crash.c", opt, oracle=True), [mode])
    assert proc.returncode == -ex.CRASH_SIGNAL.get(mode, 11)
    crasher = None
    if mode == "thread":
        crasher = int(proc.stdout.split("crasher tid=")[1].split()[0])
    assert proc.stdout.startswith("prepared=107\n")
    ex.check_crash_tree(doc, mode, crasher)
