"""What each program in tests/progs must produce, in one place: the tracer tests
and the oracle tests (test_ground_truth.py) call the same checks, so every
constant here is proven against the compiled programs even without BPF. A
simple program states its own tree, in its opening comment (tree_in_source).
"""
import fnmatch
import functools
import re
from pathlib import Path

from calltree import (T, all_nodes, count_calls, function_counts, is_partial, main_thread,
                      nesting, shapes, thread_by_name, thread_trees, tree_in_source)

OPT_LEVELS = ("-O0", "-O2")
PROGS = Path(__file__).resolve().parents[1] / "progs"


def assert_complete(x):
    partial = [n["function"] for n in all_nodes(x) if is_partial(n)]
    assert not partial, f"unexpected partial nodes: {partial}"


def assert_modules(x, module_of):
    """module_of: function name -> expected module (basename)."""
    wrong = {(n["function"], n["module"]) for n in all_nodes(x)
             if n["module"] != module_of(n["function"])}
    assert not wrong, f"wrong modules: {sorted(wrong)}"


# ---- basic.c -------------------------------------------------------------
BASIC = tree_in_source(PROGS / "basic.c")
BASIC_CALLS = 13


def check_basic(doc, module):
    tree = main_thread(doc)
    assert shapes(tree["root_calls"]) == (BASIC,)
    assert tree["total_calls"] == BASIC_CALLS
    assert doc["metadata"]["total_calls"] == BASIC_CALLS
    assert doc["metadata"]["threads"] == 1
    assert_complete(doc)
    assert_modules(doc, lambda f: module)


# ---- recursion.c ---------------------------------------------------------
@functools.lru_cache(maxsize=None)
def fib_shape(n):
    return T("fib") if n < 2 else T("fib", fib_shape(n - 1), fib_shape(n - 2))


def parity_shape(n, even=True):
    name = "is_even" if even else "is_odd"
    return T(name) if n == 0 else T(name, parity_shape(n - 1, not even))


def ackermann(m, n):
    """(value, shape) of ackermann(m, n) as recursion.c computes it."""
    if m == 0:
        return n + 1, T("ackermann")
    if n == 0:
        value, inner = ackermann(m - 1, 1)
        return value, T("ackermann", inner)
    v1, s1 = ackermann(m, n - 1)
    v2, s2 = ackermann(m - 1, v1)
    return v2, T("ackermann", s1, s2)


RECURSION = T("main", fib_shape(20), parity_shape(25), ackermann(2, 3)[1])
RECURSION_COUNTS = {"main": 1, "fib": 21891, "is_even": 13, "is_odd": 13, "ackermann": 44}
RECURSION_STDOUT = ("fib(20)=6765 calls=21891\n"
                    "is_even(25)=0 calls=26\n"
                    "ackermann(2,3)=9 calls=44\n")


def check_recursion(doc, module):
    tree = main_thread(doc)
    assert function_counts(tree) == RECURSION_COUNTS
    assert tree["total_calls"] == sum(RECURSION_COUNTS.values())
    (main,) = tree["root_calls"]
    fib = main["children"][0]
    assert nesting(fib, "fib") == 20
    assert shapes(tree["root_calls"]) == (RECURSION,)
    assert_complete(doc)
    assert_modules(doc, lambda f: module)


# ---- threads.c -----------------------------------------------------------
WORKERS = 4
WORKER_LEAVES = [1000 * (k + 1) for k in range(WORKERS)]
THREADS_CALLS = 2 + sum(n + 1 for n in WORKER_LEAVES)


def parse_threads_stdout(stdout):
    """{"main": tid, "worker-0": tid, ...} from what threads.c prints."""
    tids = {}
    for line in stdout.splitlines():
        m = re.match(r"^(main|worker-\d) tid=(\d+)", line)
        if m:
            tids[m.group(1)] = int(m.group(2))
    return tids


def check_threads(doc, module, stdout):
    tids = parse_threads_stdout(stdout)
    assert doc["metadata"]["threads"] == WORKERS + 1
    assert doc["metadata"]["total_calls"] == THREADS_CALLS
    assert len({t["thread_id"] for t in thread_trees(doc)}) == WORKERS + 1

    main = main_thread(doc)
    assert main["thread_id"] == tids["main"] == doc["metadata"]["pid"]
    assert main["thread_name"] == module[:15]
    assert shapes(main["root_calls"]) == (T("main", T("summarize")),)
    for k, leaves in enumerate(WORKER_LEAVES):
        tree = thread_by_name(doc, f"worker-{k}")
        assert tree["thread_id"] == tids[f"worker-{k}"]
        assert shapes(tree["root_calls"]) == (T("work", *(T("leaf"),) * leaves),)
        assert tree["total_calls"] == leaves + 1
    assert_complete(doc)
    assert_modules(doc, lambda f: module)


# ---- geo.cc --------------------------------------------------------------
CTOR = "geo::Point::Point(double, double)"
DTOR = "geo::Point::~Point()"
NORM = "geo::Point::norm() const"
GEO = T("main",
        T(CTOR), T(NORM),
        T("geo::Point::scaled(double) const", T(CTOR)), T(NORM),
        T("geo::Point::origin()", T(CTOR)), T(NORM),
        T(DTOR), T(DTOR), T(DTOR),
        *(T("geo::Accumulator<int>::add(int)"),) * 4,
        *(T("geo::Accumulator<double>::add(double)"),) * 2,
        T("int geo::twice<int>(int)"),
        T("long geo::twice<long>(long)"),
        T("(anonymous namespace)::helper(int)"),
        T("geo::Accumulator<int>::total() const"),
        T("geo::Accumulator<double>::total() const"))
GEO_COUNTS = {
    "main": 1, CTOR: 3, DTOR: 3, NORM: 3, "geo::Point::scaled(double) const": 1,
    "geo::Point::origin()": 1, "geo::Accumulator<int>::add(int)": 4,
    "geo::Accumulator<double>::add(double)": 2, "int geo::twice<int>(int)": 1,
    "long geo::twice<long>(long)": 1, "(anonymous namespace)::helper(int)": 1,
    "geo::Accumulator<int>::total() const": 1, "geo::Accumulator<double>::total() const": 1,
}


def check_geo(doc, module):
    assert function_counts(doc) == GEO_COUNTS
    assert shapes(main_thread(doc)["root_calls"]) == (GEO,)
    assert_complete(doc)
    assert_modules(doc, lambda f: module)


# ---- useshape.c + libshape.c ---------------------------------------------
SHLIB = tree_in_source(PROGS / "useshape.c")
LIB_FUNCTIONS = {"shape_area", "shape_scale", "shape_perimeter", "shape_apply"}


def check_shlib(doc, module):
    assert shapes(main_thread(doc)["root_calls"]) == (SHLIB,)
    assert doc["metadata"]["total_calls"] == 7
    assert_complete(doc)
    assert_modules(doc, lambda f: "libshape.so" if f in LIB_FUNCTIONS else module)


# ---- filt.c --------------------------------------------------------------
FILT = tree_in_source(PROGS / "filt.c")

# (test id, tracer options, --filter-file text or None, expected root shapes of
# the main thread). A hidden call's traced callees take its place.
FILTER_CASES = [
    ("glob", ["-F", "leaf*"], None,
     (T("leaf_one"), T("leaf_two"), T("leaf_one"), T("leaf_three"), T("leaf_three"))),
    ("glob-question", ["-F", "leaf_t?o"], None, (T("leaf_two"),)),
    ("glob-class", ["-F", "leaf_[ot]*e"], None,
     (T("leaf_one"), T("leaf_one"), T("leaf_three"), T("leaf_three"))),
    ("repeated", ["-F", "main", "-F", "middle"], None, (T("main", T("middle")),)),
    ("exclude", ["-N", "helper_*"], None,
     (T("main", T("leaf_one"), T("leaf_two"),
        T("middle", T("leaf_one"), T("leaf_three")),
        T("leaf_three")),)),
    ("exclude-root", ["-N", "main"], None,
     (T("helper_alpha", T("leaf_one"), T("leaf_two")),
      T("helper_beta", T("middle", T("leaf_one"), T("helper_gamma", T("leaf_three")))),
      T("leaf_three"))),
    ("regex", ["-F", "/^leaf_(one|three)$/"], None,
     (T("leaf_one"), T("leaf_one"), T("leaf_three"), T("leaf_three"))),
    ("regex-unanchored", ["-F", "/elp/"], None,
     (T("helper_alpha"), T("helper_beta", T("helper_gamma")))),
    ("include-exclude", ["-F", "leaf*", "-N", "leaf_t*"], None, (T("leaf_one"), T("leaf_one"))),
    ("exclude-regex", ["-N", "/^(helper|middle)/"], None,
     (T("main", T("leaf_one"), T("leaf_two"), T("leaf_one"), T("leaf_three"), T("leaf_three")),)),
    ("file", [], "# the main loop and its leaves\n\nmain\nleaf*\n!leaf_two\n",
     (T("main", T("leaf_one"), T("leaf_one"), T("leaf_three"), T("leaf_three")),)),
    ("file-regex", [], "# comments and blank lines are ignored\n/^middle$/\n\n!/three/\n"
                       "helper_gamma\n",
     (T("middle", T("helper_gamma")),)),
]


def pattern_matches(pattern, name):
    """The reference semantics: glob on the whole name, or an unanchored /regex/."""
    if len(pattern) >= 2 and pattern.startswith("/") and pattern.endswith("/"):
        return re.search(pattern[1:-1], name) is not None
    return fnmatch.fnmatchcase(name, pattern)


def filter_patterns(options, file_text):
    """(includes, excludes) from -F/-N options and a filter file's text."""
    inc, exc = [], []
    for flag, pattern in zip(options[::2], options[1::2]):
        (inc if flag == "-F" else exc).append(pattern)
    for line in (file_text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("!"):
            exc.append(line[1:])
        else:
            inc.append(line)
    return inc, exc


def filter_shape(shape_, keep):
    """The shapes that remain of one shape when only names passing keep() are
    traced: a hidden call is replaced by what remains of its callees."""
    name, children = shape_
    kept = tuple(s for c in children for s in filter_shape(c, keep))
    return (T(name, *kept),) if keep(name) else kept


def expected_filtered(options, file_text):
    inc, exc = filter_patterns(options, file_text)

    def keep(name):
        return ((not inc or any(pattern_matches(p, name) for p in inc))
                and not any(pattern_matches(p, name) for p in exc))
    return filter_shape(FILT, keep)


# ---- deep.c --------------------------------------------------------------
DEEP_PER_DEPTH = {1: 1, 2: 2, 3: 6, 4: 12, 5: 12, 6: 12}
DEEP_NAMES = {1: "main", 2: "level2", 3: "level3", 4: "level4", 5: "level5", 6: "level6"}


# ---- crash.c -------------------------------------------------------------
PREPARED = (T("prepare", T("checksum")), T("prepare", T("checksum")))
CRASH_INNERMOST = {"segv": "store_value", "abort": "raise_abort", "fpe": "divide"}
CRASH_SIGNAL = {"segv": 11, "abort": 6, "fpe": 8}
CRASH_FUNCTIONS = {"main", "prepare", "checksum", "store_value", "raise_abort", "divide",
                   "level_two", "level_one", "crasher_body"}


def crash_stack(mode):
    """The open calls at the crash, innermost first."""
    if mode == "thread":
        return ["store_value", "level_two", "level_one", "crasher_body"]
    return [CRASH_INNERMOST[mode], "level_two", "level_one", "main"]


def check_crash_tree(doc, mode, crasher_tid=None):
    """The calls before the crash are complete, the open ones partial."""
    main = main_thread(doc)
    if mode == "thread":
        assert shapes(main["root_calls"]) == (T("main", *PREPARED),)
        tree = thread_by_name(doc, "crasher")
        assert tree["thread_id"] == crasher_tid
        stack = crash_stack(mode)
        assert shapes(tree["root_calls"]) == (
            T(stack[3], T(stack[2], T(stack[1], T(stack[0])))),)
        open_calls = {"main"} | set(stack)
    else:
        inner = CRASH_INNERMOST[mode]
        assert shapes(main["root_calls"]) == (
            T("main", *PREPARED, T("level_one", T("level_two", T(inner)))),)
        open_calls = set(crash_stack(mode))
    for node in all_nodes(doc):
        assert is_partial(node) == (node["function"] in open_calls), node["function"]
    assert count_calls(doc, "checksum") == 2
