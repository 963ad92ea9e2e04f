"""--memory against valgrind on a real program: lua -O2 on lua_work.lua, once
closing its state at exit (every block freed) and once leaving with
os.exit(0, false) (the state never closed: all of it still allocated). The
trace's allocations, frees, bytes and blocks never freed must be valgrind's
own for the same run's input (valgrind without --run-libc-freeres, which
would free the C library's buffers only under valgrind)."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from test_real_filters import SCRIPTS


@pytest.fixture(autouse=True)
def needs_valgrind():
    """tools/setup.sh installs it: a run without it is not a pass"""
    if shutil.which("valgrind") is None:
        pytest.fail("valgrind is not installed (tools/setup.sh installs it)")


def num(s):
    return int(s.replace(",", ""))


def valgrind(cmd, tmp_path, preload=None):
    """preload: the hooks library the traced run preloads, so that both runs
    are the same process: a library with thread-local variables is one more
    TLS module, and each thread's DTV (calloc'd by the C library) one entry
    (16 bytes) longer"""
    env = dict(os.environ, LD_PRELOAD=str(preload)) if preload else None
    r = subprocess.run(["valgrind", "--leak-check=full", "--run-libc-freeres=no",
                        *map(str, cmd)], capture_output=True, text=True, timeout=600,
                       cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    use = re.search(r"in use at exit: ([\d,]+) bytes in ([\d,]+) blocks", r.stderr)
    tot = re.search(r"total heap usage: ([\d,]+) allocs, ([\d,]+) frees, ([\d,]+) bytes",
                    r.stderr)
    return {"bytes": num(use[1]), "blocks": num(use[2]), "allocs": num(tot[1]),
            "frees": num(tot[2]), "alloc_bytes": num(tot[3])}


@pytest.mark.parametrize("close", [True, False])
def test_leaks_as_valgrind(trace, real_build, tmp_path, close):
    script = tmp_path / "work.lua"
    body = (SCRIPTS / "lua_work.lua").read_text()
    script.write_text(body + ("" if close else "\nos.exit(0, false)\n"))
    cmd = [real_build / "lua-O2" / "lua", script, "8"]
    want = valgrind(cmd, tmp_path)
    proc, doc = trace(cmd, "--memory", "-b", "64M", cwd=tmp_path, timeout=300,
                      invariants=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    leaks = doc["leaks"]
    assert leaks["lost_events"] == 0
    got = {k: leaks[k] for k in want}
    assert got == want
    assert leaks["frees_unseen"] == 0
    assert sum(s["bytes"] for s in leaks["stacks"]) == leaks["bytes"]
    if not close:  # the state's blocks: lua allocates through l_alloc
        assert leaks["blocks"] > 100
        assert all(s["stack"] for s in leaks["stacks"])


def test_leveldb_leaks_as_valgrind(trace, real_build, tmp_path):
    """A multi-threaded C++ program (leveldb's db_bench: operator new and
    delete through malloc and free): the blocks never freed as valgrind's.
    Its totals differ by what runs before the entry point, where launch mode
    starts (libstdc++'s constructor allocates its exception pool there, and
    valgrind's --run-cxx-freeres frees it), and by the C library's own
    per-thread caches, which valgrind's allocator does not have (their frees
    are frees of blocks not seen allocated)."""
    cmd = [real_build / "leveldb-O2" / "db_bench", "--benchmarks=fillseq", "--num=2000"]
    # the default launch mode, batch, preloads the filtering hooks library
    # with -F; a thread never joined (a background compaction thread) keeps
    # its DTV, whose size counts that library's TLS
    hooks = Path(trace.binary).parent / "libctrace-hooks-batch-filter.so"
    want = valgrind([*cmd, f"--db={tmp_path / 'vg'}"], tmp_path, preload=hooks)
    proc, doc = trace([*cmd, f"--db={tmp_path / 'ct'}"], "--memory", "-b", "64M",
                      "-F", "leveldb::DBImpl::*", cwd=tmp_path, timeout=300, invariants=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert doc["metadata"]["options"]["probe_mode"] == "batch"
    leaks = doc["leaks"]
    assert leaks["lost_events"] == 0
    assert (leaks["bytes"], leaks["blocks"]) == (want["bytes"], want["blocks"])
    assert 0 < want["allocs"] - leaks["allocs"] <= 2
    assert leaks["frees"] - leaks["frees_unseen"] <= want["frees"]
