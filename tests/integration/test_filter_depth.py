"""-F / -N / --filter-file and -D: what is recorded, exactly."""
import pytest

import expected as ex
from calltree import T, all_nodes, depth_counts, main_thread, shapes, thread_by_name, walk


def ok(proc, doc, stdout=None):
    assert proc.returncode == 0, proc.stderr
    assert doc is not None, proc.stderr
    assert stdout is None or proc.stdout == stdout


@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
@pytest.mark.parametrize("case", ex.FILTER_CASES, ids=[c[0] for c in ex.FILTER_CASES])
def test_filter(build, trace, tmp_path, opt, case):
    _, opts, file_text, want = case
    if file_text is not None:
        path = tmp_path / "filters.txt"
        path.write_text(file_text)
        opts = [*opts, "--filter-file", path]
    proc, doc = trace([build("filt.c", opt)], *opts)
    ok(proc, doc, "result=31\n")
    assert shapes(main_thread(doc)["root_calls"]) == want
    assert doc["metadata"]["total_calls"] == len(all_nodes(doc))
    assert doc["metadata"]["threads"] == 1


def truncated(shape, depth):
    name, children = shape
    return T(name, *(truncated(c, depth - 1) for c in children)) if depth > 1 else T(name)


def deep_shape():
    def level(d):
        fanout = {1: 2, 2: 3, 3: 2, 4: 1, 5: 1, 6: 0}[d]
        return T(ex.DEEP_NAMES[d], *(level(d + 1) for _ in range(fanout)))
    return level(1)


@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
@pytest.mark.parametrize("depth", [1, 2, 3, 5, 6, 50])
def test_max_depth(build, trace, opt, depth):
    proc, doc = trace([build("deep.c", opt)], "-D", depth)
    ok(proc, doc, "sum=624\n")
    want = {d: n for d, n in ex.DEEP_PER_DEPTH.items() if d <= depth}
    assert dict(depth_counts(doc)) == want
    assert doc["metadata"]["total_calls"] == sum(want.values())
    assert shapes(main_thread(doc)["root_calls"]) == (truncated(deep_shape(), depth),)
    assert not any(n.get("partial") for n in all_nodes(doc))


def test_max_depth_counts_per_thread(build, trace):
    """Depth counts from each thread's own outermost call."""
    proc, doc = trace([build("threads.c", "-O2")], "-D", "1")
    ok(proc, doc)
    assert doc["metadata"]["total_calls"] == 1 + ex.WORKERS
    assert shapes(main_thread(doc)["root_calls"]) == (T("main"),)
    for k in range(ex.WORKERS):
        assert shapes(thread_by_name(doc, f"worker-{k}")["root_calls"]) == (T("work"),)


def test_filter_and_depth(build, trace):
    """-D applies to the recorded tree: with main hidden, level2 is depth 1."""
    proc, doc = trace([build("deep.c", "-O2")], "-N", "main", "-D", "2")
    ok(proc, doc)
    assert [n["function"] for n, d in walk(doc) if d == 1] == ["level2", "level2"]
    assert dict(depth_counts(doc)) == {1: 2, 2: 6}
