"""The formats from a compact trace walk the rebuilt trees straight from the
node spool (write/node_spool.c), with no JSON document in between. Every
format, and report, must give the bytes the path through the JSON gives:
`convert T.ctrace --to X` against `convert T.json --to X`, where T.json is
the .ctrace's own JSON. The programs cover the node kinds: threads, a crash,
forks, longjmp, coroutines, losses (placeholders), a filter, captured
values and attach (calls wrapped around what came before them)."""
import os
import subprocess

import pytest

from harness import wait_attached


FORMATS = ["chrome", "folded", "speedscope", "svg", "jsonl", "perfetto"]
REPORTS = [["report"], ["report", "--tree"], ["report", "--sort", "self"]]


def same_both_ways(procs, tracer, tmp_path, ct):
    js = tmp_path / "via.json"
    r = procs.run([tracer, "convert", ct, "--to", "json", "-o", js])
    assert r.returncode == 0, r.stderr
    for fmt in FORMATS:
        a, b = tmp_path / f"direct.{fmt}", tmp_path / f"via.{fmt}"
        for src, dst in ((ct, a), (js, b)):
            r = procs.run([tracer, "convert", src, "--to", fmt, "-o", dst], timeout=120)
            assert r.returncode == 0, (fmt, r.stderr)
        assert a.read_bytes() == b.read_bytes(), fmt
    for args in REPORTS:
        a = procs.run([tracer, args[0], ct, *args[1:]])
        b = procs.run([tracer, args[0], js, *args[1:]])
        assert a.returncode == 0 and b.returncode == 0, (a.stderr, b.stderr)
        assert a.stdout == b.stdout, args
    return js.read_text()


def record(procs, trace, tmp_path, argv, *opts, status=0, env=None):
    ct = tmp_path / "t.ctrace"
    p = procs.run(trace.command(ct, opts, argv), timeout=120, env=env)
    assert p.returncode == status, p.stderr
    return ct


CASES = {
    "threads": (["threads.c", "-O2"], [], [], 0),
    "crash": (["crash.c", "-O0"], [], [], 128 + 11),
    "forks": (["forker.c", "-O0"], ["forkcrash", "2"], ["--follow-forks"], 0),
    "longjmp": (["longjumps.c", "-O2"], [30, 50, 5, "longjmp", 2], [], 0),
    "coroutines": (["coroutines.c", "-O0"], [3, 2], [], 0),
    "filtered": (["deep.c", "-O2"], [], ["-N", "main", "-D", "3"], 0),
    # report's table skips typing the values: it must read the same
    "values": (["args.c", "-O2"], [], ["--args", "--retval"], 0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_formats_from_the_node_spool(build, trace, procs, tracer, tmp_path, case):
    prog, args, opts, status = CASES[case]
    ct = record(procs, trace, tmp_path, [build(*prog), *args], *opts, status=status)
    same_both_ways(procs, tracer, tmp_path, ct)


def test_formats_with_losses(build, trace, procs, tracer, tmp_path):
    env = dict(os.environ, CTRACE_TEST_CONSUMER_DELAY_MS="20")
    ct = record(procs, trace, tmp_path, [build("stress.c", "-O2"), "fib", "20"], "-b", "4K",
                env=env)
    assert "events lost" in same_both_ways(procs, tracer, tmp_path, ct)


def test_formats_after_attach(trace, ticker, procs, tracer, tmp_path):
    # main and serve_loop return under the trace: each wraps what came before
    p, exe, state = ticker("-O2", seconds=2)
    ct = tmp_path / "t.ctrace"
    tp = procs.popen(trace.command(ct, ["-p", p.pid]), stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, encoding="utf-8")
    wait_attached(tp)
    assert procs.communicate(p, timeout=30, what="ticker").returncode == 0
    assert procs.communicate(tp, 30, what="ctrace-bpf").returncode == 0
    js = tmp_path / "check.json"
    assert procs.run([tracer, "convert", ct, "--to", "json", "-o", js]).returncode == 0
    assert '"root_calls":[{"children":[{"children":[' in js.read_text()
    same_both_ways(procs, tracer, tmp_path, ct)


@pytest.mark.parametrize("fmt", FORMATS)
def test_format_while_tracing(build, trace, procs, tracer, tmp_path, fmt):
    # -f FMT walks the record's trees straight into the format: the same bytes
    # as converting the JSON written beside it
    out = tmp_path / "t.json"
    p = procs.run(trace.command(out, ["-f", fmt], [build("threads.c", "-O2")]), timeout=120)
    assert p.returncode == 0, p.stderr
    beside = [f for f in tmp_path.iterdir() if f.name not in ("t.json",) and
              f.name.startswith("t.")]
    assert len(beside) == 1, beside
    conv = tmp_path / "conv"
    r = procs.run([tracer, "convert", out, "--to", fmt, "-o", conv])
    assert r.returncode == 0, r.stderr
    assert beside[0].read_bytes() == conv.read_bytes()


def test_jsonl_output_is_written_directly(build, trace, procs, tracer, tmp_path):
    # no JSON document first (CTRACE_VERIFY_REPLAY, on for the suite, checks
    # it against the direct JSON converted); nothing left beside it
    out = tmp_path / "t.jsonl"
    p = procs.run(trace.command(out, ["-f", "folded"], [build("threads.c", "-O2")]))
    assert p.returncode == 0, p.stderr
    assert out.read_text().startswith('{"type":"metadata"')
    assert sorted(f.name for f in tmp_path.iterdir()) == ["t.folded", "t.jsonl"]
