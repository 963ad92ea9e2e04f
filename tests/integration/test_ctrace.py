"""The compact trace (doc/ctrace-format.md) as a result: -o T.ctrace, and the
offline commands reading it. With CTRACE_VERIFY_REPLAY (on for the suite),
each run here also checks the file's own conversion against the direct JSON,
byte for byte."""
import json
import stat

import calltree

MAGIC = b"\x89CTRACE\n"


def run_ctrace(trace, procs, tracer, tmp_path, argv, *opts, status=0):
    out = tmp_path / "t.ctrace"
    proc = procs.run(trace.command(out, opts, argv), timeout=120)
    assert proc.returncode == status, proc.stderr
    assert out.read_bytes()[:8] == MAGIC
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    conv = tmp_path / "t.json"
    c = procs.run([tracer, "convert", out, "--to", "json", "-o", conv])
    assert c.returncode == 0, c.stderr
    doc = json.loads(conv.read_text())
    calltree.check_invariants(doc)
    return out, doc


def test_ctrace_result_converts_to_the_json(build, trace, procs, tracer, tmp_path):
    out, doc = run_ctrace(trace, procs, tracer, tmp_path, [build("recursion.c", "-O0")])
    assert doc["metadata"]["total_calls"] > 0
    assert "-o" in json.dumps(doc["metadata"]["options"]) or doc["metadata"]["options"]
    # the same again; a JSON trace converts to itself
    again = tmp_path / "again.json"
    assert procs.run([tracer, "convert", out, "--to", "json", "-o", again]).returncode == 0
    assert again.read_bytes() == (tmp_path / "t.json").read_bytes()
    copy = tmp_path / "copy.json"
    assert procs.run([tracer, "convert", again, "--to", "json", "-o", copy]).returncode == 0
    assert copy.read_bytes() == again.read_bytes()


def test_ctrace_report_and_formats(build, trace, procs, tracer, tmp_path):
    out, doc = run_ctrace(trace, procs, tracer, tmp_path, [build("threads.c", "-O2")])
    conv = tmp_path / "t.json"
    for args in (["report"], ["report", "--tree"], ["convert", "--to", "folded"]):
        a = procs.run([tracer, args[0], out, *args[1:]])
        b = procs.run([tracer, args[0], conv, *args[1:]])
        assert a.returncode == 0 and b.returncode == 0, (a.stderr, b.stderr)
        assert a.stdout == b.stdout, args
    # told by its magic, not its name
    renamed = tmp_path / "renamed.trace"
    renamed.write_bytes(out.read_bytes())
    r = procs.run([tracer, "convert", renamed, "--to", "json"])
    assert r.returncode == 0 and json.loads(r.stdout) == doc


def test_ctrace_with_a_crash_and_forks(build, trace, procs, tracer, tmp_path):
    _, doc = run_ctrace(trace, procs, tracer, tmp_path, [build("crash.c", "-O0")],
                        status=128 + 11)
    assert doc["crash"] is not None and doc["metadata"]["exit_signal"] == 11
    _, doc = run_ctrace(trace, procs, tracer, tmp_path,
                        [build("forker.c", "-O0"), "forkcrash", "2"], "--follow-forks")
    assert len(doc["metadata"]["processes"]) == 3


def test_ctrace_format_beside_it(build, trace, procs, tracer, tmp_path):
    out, _ = run_ctrace(trace, procs, tracer, tmp_path, [build("recursion.c", "-O0")],
                        "-f", "folded")
    assert (tmp_path / "t.folded").read_text().strip()


def test_ctrace_keeps_args_and_retval(build, trace, procs, tracer, tmp_path):
    """typed offline from the types and plans in the file (the tracer checks
    the conversion against its direct JSON); the file is version 2"""
    out, doc = run_ctrace(trace, procs, tracer, tmp_path, [build("args.c", "-O0")],
                          "--args", "--retval", "--capture", "mix")
    assert int.from_bytes(out.read_bytes()[8:12], "little") == 2
    mixes = [n for n in calltree.all_nodes(calltree.main_thread(doc)["root_calls"])
             if n["function"] == "mix"]
    assert mixes and mixes[0]["arguments"][0] == {"name": "a", "type": "int", "value": 7}
    assert mixes[0]["return_value"] == {"type": "int", "value": -82}
    others = [n for n in calltree.all_nodes(calltree.main_thread(doc)["root_calls"])
              if n["function"] == "apply"]
    assert others and "arguments" not in others[0], others[0]


def test_damaged_ctrace_is_one_line(build, trace, procs, tracer, tmp_path):
    out, _ = run_ctrace(trace, procs, tracer, tmp_path, [build("recursion.c", "-O0")])
    data = out.read_bytes()
    cut = tmp_path / "cut.ctrace"
    cut.write_bytes(data[: len(data) // 2])
    p = procs.run([tracer, "convert", cut, "--to", "json"])
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("ctrace-bpf convert: ")
