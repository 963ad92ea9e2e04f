"""ucontext coroutines (tests/progs/coroutines.c): each stack a thread
switches to with swapcontext/setcontext is a tree of its own, so no call of
one stack nests under a frame of another, and a generator's calls that span
many switches stay whole."""
import pytest

from calltree import T, is_partial, main_thread, shape, thread_trees


@pytest.mark.parametrize("probe", ["preload", "callsite"])
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_generators_on_their_own_stacks(build, trace, opt, probe):
    n, gens = 40, 3
    proc, doc = trace([build("coroutines.c", opt), n, gens], "--probe", probe)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "done\n"
    md = doc["metadata"]
    assert md["lost_events"] == 0 and md["resyncs"] == 0
    (m,) = main_thread(doc)["root_calls"]
    assert shape(m) == T("main", T("driver", *[T("consume")] * (gens * (n + 1))))
    stacks = [t for t in thread_trees(doc) if t.get("stack")]
    assert sorted(t["stack"] for t in stacks) == sorted({t["stack"] for t in stacks})
    assert len(stacks) == gens
    for t in stacks:
        assert t["thread_id"] == md["pid"] and t["pid"] == md["pid"]
        (g,) = t["root_calls"]
        assert shape(g) == T("generator", *[T("produce")] * n)
    assert md["total_calls"] == 2 + gens * (n + 1) + gens * (1 + n)
    for t in thread_trees(doc):
        stack = list(t["root_calls"])
        while stack:
            node = stack.pop()
            assert not is_partial(node), (node["function"], node.get("partial_reason"))
            stack.extend(node["children"])
