"""Launch mode end to end: the tree, the metadata, and the target's own
behaviour (stdout, stderr, argv, environment, exit status) passing through."""
import datetime
import os
import re

import pytest

import expected as ex
from harness import PROBE_MODES

ARGS = ["3", "hello", "two words"]


@pytest.mark.parametrize("probe", PROBE_MODES)
@pytest.mark.parametrize("opt", ex.OPT_LEVELS)
def test_basic_tree_and_metadata(build, trace, procs, opt, probe):
    exe = build("basic.c", opt)
    env = dict(os.environ, CTRACE_TEST_ENV="passed through")
    plain = procs.run([exe, *ARGS], env=env)
    assert plain.returncode == 3

    before = datetime.datetime.now(datetime.timezone.utc)
    proc, doc = trace([exe, *ARGS], *probe, env=env)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == plain.stdout          # passes through unchanged
    assert "env=passed through\n" in proc.stdout
    assert doc is not None, proc.stderr
    ex.check_basic(doc, "basic")

    md = doc["metadata"]
    pid = int(re.search(r"^basic: pid=(\d+)$", proc.stderr, re.M).group(1))
    assert md["pid"] == pid
    assert md["command"] == [str(exe), *ARGS]
    assert md["executable"] == str(exe.resolve())
    assert md["threads"] == 1
    assert md["lost_events"] == 0
    assert md["exit_code"] == 3
    assert md["exit_signal"] is None
    assert doc["crash"] is None
    assert md["duration_ns"] > 0
    started = datetime.datetime.fromisoformat(md["timestamp"].replace("Z", "+00:00"))
    assert abs((started - before).total_seconds()) < 60, md["timestamp"]
    assert list(doc["call_trees"]) == [str(pid)]
    assert doc["call_trees"][str(pid)]["thread_name"] == "basic"


@pytest.mark.parametrize("code", [0, 1, 42, 255])
def test_exit_status_propagates(build, trace, code):
    proc, doc = trace([build("basic.c", "-O2"), str(code)])
    assert proc.returncode == code, proc.stderr
    assert doc["metadata"]["exit_code"] == code
    ex.check_basic(doc, "basic")


def test_relative_command(build, trace):
    """command is argv as given; executable is the absolute path."""
    exe = build("basic.c", "-O0")
    proc, doc = trace(["./basic", "0", "x"], cwd=exe.parent)
    assert proc.returncode == 0, proc.stderr
    assert doc["metadata"]["command"] == ["./basic", "0", "x"]
    assert doc["metadata"]["executable"] == str(exe.resolve())
    ex.check_basic(doc, "basic")


def test_program_found_in_path(build, trace):
    exe = build("basic.c", "-O0")
    env = dict(os.environ, PATH=f"{exe.parent}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    proc, doc = trace(["basic", "0"], env=env)
    assert proc.returncode == 0, proc.stderr
    assert doc["metadata"]["executable"] == str(exe.resolve())
    ex.check_basic(doc, "basic")


def test_verbose_does_not_change_the_trace(build, trace):
    proc, doc = trace([build("basic.c", "-O2"), "0"], "-v")
    assert proc.returncode == 0, proc.stderr
    ex.check_basic(doc, "basic")


def test_version_matches_metadata(build, trace, procs, tracer):
    version = procs.run([tracer, "-V"])
    assert version.returncode == 0
    _, doc = trace([build("basic.c", "-O0"), "0"])
    assert doc["metadata"]["version"] in version.stdout
