"""Integration tests for ctrace-bpf: real BPF, real programs (tests/progs).

Run as root, with Debian's pytest:

    make && sudo /usr/bin/python3 -m pytest -q tests/integration

The tracer under test is <repo>/build/ctrace-bpf; set CTRACE_BPF=/path/to/it to
test another build. Crash capture tests carry the `crash` marker
(`-m 'not crash'` deselects them).

When BPF cannot be used (not root, no BTF, no bpftool, tracer not built) the
tests that need it skip with the reason, except in CI (CI=true): there the
session stops with a failure, since a CI run that skipped the real thing must
not pass. test_ground_truth.py needs neither root nor the tracer: it checks the
expected trees against the programs with in-process hooks (tests/progs/oracle_hooks.c).

Every process a test starts is killed when the test ends, and no uprobe
link may outlive the tracer that made it: each test checks that no link it
caused is left, and the session checks that `bpftool link list` holds no new
uprobe/perf_event link and that uprobe_events did not grow.
"""
import functools
import hashlib
import itertools
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

# the checks live in these modules: let failures there show their values too
pytest.register_assert_rewrite("calltree", "expected", "harness", "oracle")

import calltree  # noqa: E402
import oracle as oracle_log  # noqa: E402
from harness import (OUR_PIDS, assert_no_leftover_links, load_trace, probe_links,  # noqa: E402
                     read_uprobe_events, tick_count, wait_for)

REPO = Path(__file__).resolve().parents[2]
PROGS = REPO / "tests" / "progs"
TRACER = Path(os.environ.get("CTRACE_BPF") or REPO / "build" / "ctrace-bpf").resolve()
IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")
# Every tracer run writes the direct JSON and the one replayed from its
# compact record, and fails unless they are the same byte for byte
# (doc/ctrace-format.md); CTRACE_VERIFY_REPLAY=0 runs the default path alone.
os.environ.setdefault("CTRACE_VERIFY_REPLAY", "1")


def pytest_configure(config):
    config.addinivalue_line("markers", "crash: crash capture (signal tracepoints, crash object)")


# ---- availability ----------------------------------------------------------

def _tracer_missing():
    if not (TRACER.is_file() and os.access(TRACER, os.X_OK)):
        return f"{TRACER} is not built (run `make`, or set CTRACE_BPF)"
    return None


@functools.lru_cache(maxsize=None)
def _bpf_missing():
    if os.geteuid() != 0:
        return "not root: BPF tracing needs root " \
               "(sudo /usr/bin/python3 -m pytest tests/integration)"
    if not Path("/sys/kernel/btf/vmlinux").exists():
        return "the kernel has no BTF (/sys/kernel/btf/vmlinux)"
    if not shutil.which("bpftool"):
        return "bpftool not found (the tests use it to check that no probe is left)"
    try:
        probe_links()
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as e:
        return f"bpf() is not usable here: {e}"
    return None


def _require(reason):
    if reason is None:
        return
    if IN_CI:
        pytest.exit(f"ctrace-bpf integration tests cannot run in CI: {reason}", returncode=1)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def tracer_binary():
    """The tracer, for tests that need no BPF (usage errors, --help)."""
    _require(_tracer_missing())
    return TRACER


@pytest.fixture(scope="session")
def tracer(tracer_binary):
    """The tracer, where BPF works."""
    _require(_bpf_missing())
    return tracer_binary


@pytest.fixture(scope="session", autouse=True)
def session_probe_guard():
    """No uprobe link and no uprobe_events line may outlive the session."""
    usable = _bpf_missing() is None
    baseline = set(probe_links()) if usable else set()
    events_path, events_before = read_uprobe_events()
    yield
    if usable:
        assert_no_leftover_links(baseline, timeout=30)
    if events_path is not None:
        after = read_uprobe_events()[1] or ""
        new = set(after.splitlines()) - set((events_before or "").splitlines())
        assert not new, f"{events_path} gained entries: {sorted(new)}"


# ---- building the programs --------------------------------------------------

class Builder:
    """Compiles tests/progs programs once per (source, options) into a session
    directory: build("basic.c", "-O2") -> Path of the executable, whose file
    name is the source's stem (the `module` the trace should report)."""

    def __init__(self, root):
        self.root = root
        self.cache = {}

    def __call__(self, src, opt="-O0", *, debug=True, instrument=True, extra=(), libs=(),
                 strip=None, oracle=False):
        key = (src, opt, debug, instrument, tuple(extra), tuple(libs), strip, oracle)
        if key not in self.cache:
            self.cache[key] = self._build(key)
        return self.cache[key]

    def _build(self, key):
        src, opt, debug, instrument, extra, libs, strip, oracle = key
        tag = hashlib.sha1(repr(key).encode()).hexdigest()[:10]
        outdir = self.root / f"{Path(src).stem}{opt}-{tag}"
        outdir.mkdir(parents=True, exist_ok=True)
        flags = ["-Wall", "-Wextra", "-Werror", opt, f"-I{PROGS}", "-pthread"]
        flags += ["-g"] if debug else []
        flags += ["-finstrument-functions"] if instrument else []
        ldflags = []
        for lib in libs:
            so = outdir / (Path(lib).stem + ".so")
            self._run(["gcc", *flags, "-fPIC", "-shared", "-o", so, PROGS / lib])
            ldflags += [f"-L{outdir}", "-l" + Path(lib).stem[3:], f"-Wl,-rpath,{outdir}"]
        objs = []
        if oracle:
            objs.append(outdir / "oracle_hooks.o")
            self._run(["gcc", "-Wall", "-Wextra", "-Werror", "-O2", "-fPIC", "-c", "-o",
                       objs[0], PROGS / "oracle_hooks.c"])
        exe = outdir / Path(src).stem
        cc = "g++" if src.endswith(".cc") else "gcc"
        self._run([cc, *flags, *extra, "-o", exe, PROGS / src, *objs, *ldflags])
        if strip:
            self._run(["strip", f"--strip-{strip}", exe])
        return exe

    @staticmethod
    def _run(cmd):
        cmd = [str(c) for c in cmd]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            pytest.fail(f"build failed: {' '.join(cmd)}\n{res.stderr}")


@pytest.fixture(scope="session")
def build(tmp_path_factory):
    return Builder(tmp_path_factory.mktemp("progs"))


# ---- processes ---------------------------------------------------------------

class Procs:
    """Starts processes in their own session and kills whatever is left of
    them (and of their process groups) when the test ends."""

    def __init__(self):
        self.started = []
        self.adopted = []

    def popen(self, cmd, **kw):
        kw.setdefault("start_new_session", True)
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen([str(c) for c in cmd], **kw)
        self.started.append(p)
        OUR_PIDS.add(p.pid)
        return p

    def adopt(self, pid):
        """A process we did not start directly (a launched target), to kill at the end."""
        OUR_PIDS.add(pid)
        self.adopted.append(pid)

    def communicate(self, p, timeout, what="process"):
        """Waits for p; on timeout kills its group and fails with its output."""
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(p)
            out, err = p.communicate()
            pytest.fail(f"{what} did not finish in {timeout}s: {p.args}\n"
                        f"stdout: {out[-3000:]}\nstderr: {err[-3000:]}")
        return subprocess.CompletedProcess(p.args, p.returncode, out, err)

    def run(self, cmd, timeout=60, **kw):
        p = self.popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8",
                       errors="replace", **kw)
        return self.communicate(p, timeout, what=Path(str(cmd[0])).name)

    @staticmethod
    def kill(p):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.kill()
        except ProcessLookupError:
            pass

    def cleanup(self):
        for p in self.started:
            self.kill(p)   # the group too: a target left behind by a dead tracer
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for pid in self.adopted:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def procs():
    usable = _bpf_missing() is None
    baseline = set(probe_links()) if usable else set()
    p = Procs()
    try:
        yield p
    finally:
        p.cleanup()
    if usable:
        assert_no_leftover_links(baseline)


# ---- running the tracer -------------------------------------------------------

class Tracer:
    """trace(argv, *opts) runs `ctrace-bpf -o OUT OPTS -- argv` and returns
    (CompletedProcess, parsed trace or None). Every trace that exists is held
    to calltree.check_invariants unless invariants=False.

    Launch mode defaults to --probe batch where the options allow it;
    CTRACE_TEST_PROBE=preload runs those same traces with the per-event
    probes instead (`make integration-per-event`), CTRACE_TEST_PROBE=batch
    names batch explicitly (probe_opts says which).

    ext ".ctrace" (or CTRACE_TEST_EXT=.ctrace for the whole suite) writes the
    compact trace and reads back its offline conversion: with
    CTRACE_VERIFY_REPLAY the tracer has checked that conversion against the
    direct JSON byte for byte, and the test's own checks hold it to the
    program's known values."""

    def __init__(self, binary, procs, tmp_path, ext=None):
        self.binary = binary
        self.procs = procs
        self.tmp_path = tmp_path
        self.seq = itertools.count()
        self.ext = ext or os.environ.get("CTRACE_TEST_EXT") or ".json"

    def output(self):
        return self.tmp_path / f"trace-{next(self.seq)}{self.ext}"

    # options --probe batch does not take yet (the tracer refuses them)
    BATCH_REFUSES = ("-a", "--args", "-r", "--retval", "--summary", "--subtree", "--caller",
                     "--bench-empty", "--capture", "--keep-if")
    FILTERS = ("-F", "--filter", "-N", "--exclude", "--filter-file")

    def probe_opts(self, opts, argv):
        """CTRACE_TEST_PROBE=MODE: launch-mode runs use --probe MODE where
        the default would batch: unless the test chose its probes or uses an
        option batch does not take."""
        mode = os.environ.get("CTRACE_TEST_PROBE")
        flat = [str(o) for o in opts]
        if (not mode or argv is None or "-p" in flat or
                any(o.split("=")[0] in self.BATCH_REFUSES or o.startswith("--probe") for o in flat)):
            return []
        # filtered, the per-event default is the call sites
        if mode == "preload" and any(o.split("=")[0] in self.FILTERS or o[:2] in ("-F", "-N")
                                     for o in flat):
            return ["--probe", "callsite"]
        return ["--probe", mode]

    def command(self, out, opts, argv=None):
        cmd = [str(self.binary), "-o", str(out), *self.probe_opts(opts, argv), *map(str, opts)]
        return cmd + (["--", *map(str, argv)] if argv is not None else [])

    def __call__(self, argv, *opts, cwd=None, timeout=60, env=None, invariants=True):
        out = self.output()
        proc = self.procs.run(self.command(out, opts, argv), timeout=timeout, cwd=cwd, env=env)
        return proc, self.result(out, invariants)

    def attach(self, pid, *opts, timeout=60, invariants=True):
        out = self.output()
        proc = self.procs.run(self.command(out, ["-p", pid, *opts]), timeout=timeout)
        return proc, self.result(out, invariants)

    def start(self, opts, argv=None, **kw):
        """Starts the tracer in the background: (Popen, output path)."""
        out = self.output()
        p = self.procs.popen(self.command(out, opts, argv), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, encoding="utf-8", errors="replace", **kw)
        return p, out

    def finish(self, p, out, timeout=60, invariants=True):
        proc = self.procs.communicate(p, timeout, what="ctrace-bpf")
        return proc, self.result(out, invariants)

    def result(self, out, invariants):
        if not out.exists():
            return None
        if out.suffix == ".ctrace":
            conv = out.with_suffix(".json")
            c = subprocess.run([str(self.binary), "convert", str(out), "--to", "json",
                                "-o", str(conv)], capture_output=True, text=True, timeout=120)
            assert c.returncode == 0, c.stderr
            out = conv
        doc = load_trace(out)
        if invariants:
            calltree.check_invariants(doc)
        return doc


@pytest.fixture
def trace(tracer, procs, tmp_path):
    return Tracer(tracer, procs, tmp_path)


# ---- the oracle ------------------------------------------------------------------

@pytest.fixture
def oracle_run(procs, tmp_path):
    """oracle_run(exe, args) runs a program built with build(..., oracle=True)
    untraced and returns (CompletedProcess, trace-shaped dict of its calls)."""
    seq = itertools.count()

    def run(exe, args=(), timeout=30):
        events = tmp_path / f"oracle-{next(seq)}.log"
        env = dict(os.environ, CTRACE_ORACLE=str(events))
        argv = [str(exe), *map(str, args)]
        proc = procs.run(argv, timeout=timeout, env=env)
        rc = proc.returncode
        doc = oracle_log.load(events, str(exe), argv, exit_code=rc if rc >= 0 else None,
                              exit_signal=-rc if rc < 0 else None)
        calltree.check_invariants(doc)
        return proc, doc
    return run


# ---- the long-running target -------------------------------------------------------

@pytest.fixture
def ticker(build, procs, tmp_path):
    """start(opt, seconds=None) starts tests/progs/ticker.c untraced and waits
    until it ticks: (Popen, executable, state file)."""
    seq = itertools.count()

    def start(opt, seconds=None):
        exe = build("ticker.c", opt)
        state = tmp_path / f"ticker-{next(seq)}.state"
        argv = [exe, state] + ([seconds] if seconds else [])
        p = procs.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8")
        wait_for(lambda: tick_count(state) >= 5, 10, "the ticker to start ticking")
        return p, exe, state
    return start
