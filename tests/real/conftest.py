"""The real-program tier: programs nobody here wrote, built from Debian source
packages with -finstrument-functions -g (tests/real/build.sh), traced by
ctrace-bpf with the counting hooks (count_hooks.c) preloaded into the same
run as ground truth.

    make test-real        (as root; builds into build/real, fetched sources cached)

The fixtures of tests/integration (tracer, procs, trace) are reused. When a
source package cannot be fetched the tests skip with the reason, except in CI
(CI=true), where the session fails: a CI run that skipped them must not pass.
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
INTEGRATION = REPO / "tests" / "integration"
sys.path[:0] = [str(INTEGRATION), str(HERE)]
pytest.register_assert_rewrite("calltree", "harness", "counts")

# the integration suite's conftest, under another name, for its fixtures
_spec = importlib.util.spec_from_file_location("integration_conftest", INTEGRATION / "conftest.py")
ic = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ic)
tracer_binary, tracer, procs, trace, session_probe_guard = (
    ic.tracer_binary, ic.tracer, ic.procs, ic.trace, ic.session_probe_guard)
pytest_configure = ic.pytest_configure

# Traces of real programs nest thousands of calls deep: json and the checks
# recurse once per level.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 200000))

OUT = Path(os.environ.get("CTRACE_REAL_BUILD") or REPO / "build" / "real")
FETCH_FAILED = 3   # build.sh's status when apt-get source failed


@pytest.fixture(scope="session")
def real_build():
    """Builds (or finds, cached) the programs: the build directory."""
    res = subprocess.run(["sh", str(HERE / "build.sh"), str(OUT)], capture_output=True,
                         text=True, timeout=1500)
    if res.returncode == FETCH_FAILED and not ic.IN_CI:
        pytest.skip(f"cannot fetch the Debian sources (run tools/setup.sh; network?):\n"
                    f"{res.stderr[-2000:]}")
    if res.returncode != 0:
        msg = f"tests/real/build.sh failed ({res.returncode}):\n{res.stderr[-4000:]}"
        if ic.IN_CI:
            pytest.exit(msg, returncode=1)
        pytest.fail(msg)
    return OUT


@pytest.fixture
def counting_env(real_build):
    """counting_env(prefix, probe, env=None): the environment of a counted
    run, counts in files prefix.PID.N: the counting hooks preloaded
    (--probe callsite), or the tests' own batch library, whose hooks count
    behind the batch hooks, for the tracer to preload (--probe batch). The
    tracer passes its environment to the target; it is not instrumented
    itself, so the hooks never run in it."""
    def make(prefix, probe, env=None):
        env = dict(os.environ if env is None else env, CTRACE_COUNTS=str(prefix))
        if probe == "batch":
            env["CTRACE_BATCH_LIB"] = str(real_build / "batch" / "libctrace-hooks-batch.so")
        else:
            env["LD_PRELOAD"] = str(real_build / "libcount-hooks.so")
        return env
    return make


@pytest.fixture
def counted(trace, counting_env, tmp_path):
    """counted(argv, *opts, probe=) traces argv with --probe callsite (or
    batch) while the counting hooks count the same run: (CompletedProcess,
    trace, truth), truth as counts.load returns it."""
    import counts

    def run(argv, *opts, probe="callsite", timeout=120, env=None, cwd=None):
        prefix = tmp_path / "counts"
        env = counting_env(prefix, probe, env)
        # the trace's invariants are checked by counts.check, with the rest
        # a 64M ring buffer: room for bursts on a loaded 2-vCPU CI machine
        proc, doc = trace(argv, "--probe", probe, "-b", "64M", *opts, env=env, cwd=cwd,
                          timeout=timeout, invariants=False)
        assert doc is not None, f"no trace: {proc.stderr[-3000:]}"
        return proc, doc, counts.load(prefix)
    return run


def pytest_terminal_summary(terminalreporter):
    import counts
    if counts.COMPARED:
        terminalreporter.write_line(
            f"real programs: {sum(counts.COMPARED)} calls compared with the counting hooks "
            f"in the {len(counts.COMPARED)} traced runs that matched exactly")
    for line in counts.SUMMARY:
        terminalreporter.write_line(line)
