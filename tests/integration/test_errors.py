"""Failures before the target runs: non-zero exit, one line on stderr starting
`ctrace-bpf: `, nothing on stdout (the target never ran), and no output file,
not even a temporary one."""
import os
import shutil
import stat
import struct
import tempfile
from pathlib import Path

import pytest

USAGE = 2   # `ctrace-bpf --help`: 2 for a usage error, 1 when tracing cannot start


def elf_header(ei_class, e_machine):
    """An ELF executable header and nothing else."""
    ident = b"\x7fELF" + bytes([ei_class, 1, 1]) + bytes(9)
    if ei_class == 2:
        return ident + struct.pack("<HHIQQQIHHHHHH", 2, e_machine, 1, 0x400078, 64, 0, 0,
                                   64, 56, 0, 64, 0, 0)
    return ident + struct.pack("<HHIIIIIHHHHHH", 2, e_machine, 1, 0x8048054, 52, 0, 0,
                               52, 32, 0, 40, 0, 0)


def executable_file(path, content, mode=0o755):
    path.write_bytes(content)
    path.chmod(mode)
    return path


def unused_pid():
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    return next(p for p in range(pid_max - 1, 1, -1) if not os.path.exists(f"/proc/{p}"))


# id -> (function (build, dir) -> (args after the tracer, output path), exit
# status or None for any non-zero, text the message must contain)
def case(args, status=None, says=None):
    return args, status, says


CASES = {
    "program-not-found": case(lambda b, d: ["--", d / "no-such-program"], says="no-such-program"),
    "not-found-in-path": case(lambda b, d: ["--", "no-such-program-ctrace"]),
    "a-directory": case(lambda b, d: ["--", d]),
    "not-executable": case(lambda b, d: ["--", executable_file(
        d / "basic", b("basic.c", "-O0").read_bytes(), 0o644)]),
    "not-elf-data": case(lambda b, d: ["--", executable_file(d / "data", bytes(range(256)) * 8)]),
    "not-elf-text": case(lambda b, d: ["--", executable_file(d / "script", b"echo RAN\n")]),
    "empty-file": case(lambda b, d: ["--", executable_file(d / "empty", b"")]),
    "elf-aarch64": case(lambda b, d: ["--", executable_file(d / "arm", elf_header(2, 183))]),
    "elf-i386": case(lambda b, d: ["--", executable_file(d / "x86", elf_header(1, 3))]),
    "not-instrumented": case(lambda b, d: ["--", b("basic.c", "-O2", instrument=False)],
                             says="-finstrument-functions"),
    "pid-does-not-exist": case(lambda b, d: ["-p", unused_pid()]),
    "pid-not-a-number": case(lambda b, d: ["-p", "abc"], USAGE),
    "pid-and-program": case(lambda b, d: ["-p", "1", "--", b("basic.c", "-O0")], USAGE),
    "nothing-to-trace": case(lambda b, d: [], USAGE),
    "output-dir-missing": case(lambda b, d: ["-o", "/nonexistent-dir/x.json", "--",
                                             b("basic.c", "-O0")]),
    "bad-regex": case(lambda b, d: ["-F", "/(/", "--", b("basic.c", "-O0")], USAGE),
    "bad-exclude-regex": case(lambda b, d: ["-N", "/[a-/", "--", b("basic.c", "-O0")], USAGE),
    "filter-file-missing": case(lambda b, d: ["--filter-file", d / "nope.txt", "--",
                                              b("basic.c", "-O0")]),
    "unknown-long-option": case(lambda b, d: ["--bogus-option", "--", b("basic.c", "-O0")], USAGE),
    "unknown-short-option": case(lambda b, d: ["-Z", "--", b("basic.c", "-O0")], USAGE),
    "option-without-value": case(lambda b, d: ["-F"], USAGE),
    "depth-not-a-number": case(lambda b, d: ["-D", "abc", "--", b("basic.c", "-O0")], USAGE),
    "depth-trailing-junk": case(lambda b, d: ["-D", "3x", "--", b("basic.c", "-O0")], USAGE),
    "buffer-size-junk": case(lambda b, d: ["-b", "lots", "--", b("basic.c", "-O0")], USAGE),
    "duration-junk": case(lambda b, d: ["--duration", "soon", "-p", "1"], USAGE),
}


def check_failure(proc, out_dir, status, says):
    lines = proc.stderr.splitlines()
    assert proc.returncode != 0 and proc.returncode < 128, (proc.returncode, proc.stderr)
    if status is not None:
        assert proc.returncode == status, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("ctrace-bpf: "), proc.stderr
    if says:
        assert says in lines[0]
    assert proc.stdout == ""
    assert list(out_dir.iterdir()) == [], "an output file was left behind"


@pytest.mark.parametrize("name", list(CASES))
def test_fails_cleanly(name, build, tracer, procs, tmp_path):
    make_args, status, says = CASES[name]
    work = tmp_path / "work"
    work.mkdir()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = [str(a) for a in make_args(build, work)]
    opts = [] if "-o" in args else ["-o", str(out_dir / "trace.json")]
    proc = procs.run([tracer, *opts, *args], timeout=30)
    check_failure(proc, out_dir, status, says)


def test_not_root(build, tracer, procs):
    """An unprivileged user is told why, before anything runs."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to become nobody")
    # a world-readable copy of the tracer (and the libraries beside it) and of
    # the program, a world-writable place for the output
    shared = Path(tempfile.mkdtemp(prefix="ctrace-nobody-"))
    try:
        shared.chmod(0o755)
        for f in [tracer, *tracer.parent.glob("*.so")]:
            shutil.copy2(f, shared / f.name)
        program = shutil.copy2(build("basic.c", "-O0"), shared / "basic")
        out_dir = shared / "out"
        out_dir.mkdir()
        out_dir.chmod(stat.S_IRWXU | stat.S_IRWXG | stat.S_IRWXO)
        proc = procs.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                          shared / tracer.name, "-o", out_dir / "trace.json", "--", program],
                         timeout=30)
        check_failure(proc, out_dir, None, None)
        assert any(w in proc.stderr for w in ("root", "CAP_BPF")), proc.stderr
    finally:
        shutil.rmtree(shared)


def test_help(tracer_binary, procs):
    proc = procs.run([tracer_binary, "--help"])
    assert proc.returncode == 0
    assert proc.stderr == ""
    for option in ["-o", "--output", "-a", "--args", "-r", "--retval", "-D", "--max-depth",
                   "-F", "--filter", "-N", "--exclude", "--filter-file", "--duration",
                   "-b", "--buffer-size", "-p", "-v", "-h", "-V"]:
        assert option in proc.stdout, option
    assert procs.run([tracer_binary, "-h"]).stdout == proc.stdout


def test_version(tracer_binary, procs):
    proc = procs.run([tracer_binary, "--version"])
    assert proc.returncode == 0
    assert proc.stdout.startswith("ctrace-bpf ") and len(proc.stdout.splitlines()) == 1
    assert procs.run([tracer_binary, "-V"]).stdout == proc.stdout
