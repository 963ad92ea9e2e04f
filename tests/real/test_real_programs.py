"""Real programs from Debian source packages, traced by ctrace-bpf while the
counting hooks count the same run: per thread (per process for forks) and per
function, the entries and exits the trace shows must be exactly the real ones,
no node may be partial for a reason that is not true (events lost, a
resynchronisation), children lie inside their parents in time, and nothing is
lost (counts.check). Plus one comparison of captured arguments with gdb's.
"""
import base64
import fnmatch
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

import counts
from harness import wait_for

SCRIPTS = Path(__file__).resolve().parent / "scripts"
# the probe modes a launched run is compared in (batch takes neither -F, -p
# nor --args)
PROBES = ["callsite", "batch"]


# ---- lua: errors leave deep C recursion by _longjmp ---------------------------

@pytest.mark.parametrize("probe", PROBES)
@pytest.mark.parametrize("opt", ["-O2", "-O0"])
def test_lua_errors(counted, real_build, opt, probe):
    """pcall inside pcall 120 deep, errors re-raised every third level, errors
    from metamethods, sort comparators, gsub callbacks and coroutines: each
    error() is a _longjmp over the C frames above the nearest pcall."""
    proc, doc, truth = counted([real_build / f"lua{opt}" / "lua", SCRIPTS / "lua_errors.lua",
                                120, 20], probe=probe)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["caught", "100"], proc.stdout
    assert doc["metadata"]["threads"] == 1
    counts.check(doc, truth, min_calls=100_000)


# the error machinery, the table and string internals, and the C API
LUA_FILTERS = ["luaD_*", "luaG_*", "luaH_*", "luaS_*", "lua_*"]


@pytest.mark.parametrize("opt", ["-O2", "-O0"])
def test_lua_errors_filtered(counted, real_build, opt):
    """The same errors traced with -F: only the selected functions are probed
    (callsite mode), and their counts must still be exact."""
    opts = [o for f in LUA_FILTERS for o in ("-F", f)]
    proc, doc, truth = counted([real_build / f"lua{opt}" / "lua", SCRIPTS / "lua_errors.lua",
                                120, 20], *opts)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["caught", "100"], proc.stdout
    counts.check(doc, truth, min_calls=20_000,
                 selected=lambda name: any(fnmatch.fnmatchcase(name, f) for f in LUA_FILTERS))


@pytest.mark.parametrize("probe", PROBES)
def test_lua_workload(counted, real_build, probe):
    """No error at all: calls, tables, strings, sort, the collector."""
    proc, doc, truth = counted([real_build / "lua-O2" / "lua", SCRIPTS / "lua_work.lua", 14],
                               probe=probe)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["fib", "377", "items", "700", "digits", "3500",
                                   "tables", "280"], proc.stdout
    counts.check(doc, truth, min_calls=100_000)


# ---- leveldb: a multi-threaded C++ program ----------------------------------------

@pytest.fixture
def leveldb_db(real_build, procs, tmp_path):
    """A small database, written and compacted untraced (so the traced run
    opens it without replaying a log)."""
    db = tmp_path / "db"
    res = procs.run([real_build / "leveldb-O2" / "db_bench", "--benchmarks=fillseq,compact",
                     "--num=1000", f"--db={db}"], timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    return db


@pytest.mark.parametrize("probe", PROBES)
def test_leveldb_threads(counted, real_build, leveldb_db, probe):
    """db_bench reading and seeking from 4 threads at once (each benchmark
    starts 4 new ones), C++ templates and all: every instrumented inline
    function of the standard library is a call too."""
    proc, doc, truth = counted([real_build / "leveldb-O2" / "db_bench", "--use_existing_db=1",
                                "--benchmarks=readrandom,seekrandom", "--num=1000",
                                "--reads=50", "--threads=4", f"--db={leveldb_db}"],
                               probe=probe)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "readrandom" in proc.stdout and "seekrandom" in proc.stdout, proc.stdout
    assert doc["metadata"]["threads"] >= 9, sorted(doc["call_trees"])
    counts.check(doc, truth, min_calls=200_000)


# ---- dash: forks, and errors by longjmp in parent and children -------------------

DASH_OUTPUT = """subst 20
5
subshell status 3
pipe 7
unset error 2
param error 2
syntax error 2
nested inner 4
1
2
3
background done
external 0
caught in parent
caught syntax in parent
end
"""


@pytest.mark.parametrize("probe", ["callsite", "batch"])
def test_dash_forks(counted, real_build, probe):
    """Command substitution, subshells, pipelines, background jobs, an
    external command, errors (dash's exraise: longjmp) in subshells and in the
    parent: every process compared with its own counts (--follow-forks)."""
    proc, doc, truth = counted([real_build / "dash-O2" / "dash", SCRIPTS / "dash_forks.sh"],
                               "--follow-forks", probe=probe)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # background jobs print in any order
    assert sorted(proc.stdout.splitlines()) == sorted(DASH_OUTPUT.splitlines()), proc.stdout
    pids = {th.pid for th in truth.values()}
    assert len(pids) >= 12, f"only {len(pids)} processes counted"
    assert {p["pid"] for p in doc["metadata"]["processes"]} >= pids
    counts.check(doc, truth, min_calls=10_000)


# ---- arguments against gdb ------------------------------------------------------------

# Functions of lua (at -O0) whose arguments cover int, unsigned, size_t,
# lua_Integer, double, char * and pointers to structs the tracer follows.
GDB_FUNCS = ["luaH_resize", "luaS_newlstr", "lua_settop", "luaH_getint", "lua_pushnumber",
             "luaV_mod", "luaL_checklstring", "luaD_throw", "luaG_errormsg"]
GDB_CALLS = 100   # compared per function


def calls_with_arguments(doc):
    """{function: [arguments of each call in entry order]} of a one-thread trace."""
    (tree,) = doc["call_trees"].values()
    nodes = [n for n in counts.counts_walk(tree["root_calls"]) if "arguments" in n]
    nodes.sort(key=lambda n: n["start_ns"])
    out = {}
    for n in nodes:
        out.setdefault(n["function"], []).append(n["arguments"])
    return out


def test_lua_args_match_gdb(trace, real_build, procs, tmp_path):
    """The same lua run twice, without address randomisation and with the same
    environment, so both make the same calls at the same addresses: once traced
    with --args, once under gdb stopping in each function. Every value the
    tracer shows must be gdb's; "unavailable" is allowed, wrong is not."""
    if subprocess.run(["which", "gdb"], capture_output=True).returncode != 0:
        pytest.fail("gdb is not installed (tools/setup.sh installs it)")
    lua = real_build / "lua-O0" / "lua"
    argv = [lua, SCRIPTS / "lua_errors.lua", 30, 4]
    env = {"PATH": "/usr/bin:/bin"}
    opts = ["-a", "--probe", "callsite"]
    for f in GDB_FUNCS:
        opts += ["-F", f, "--capture", f]
    out = trace.output()
    res = procs.run(["setarch", "x86_64", "-R", *trace.command(out, opts, argv)], env=env,
                    timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    doc = trace.result(out, invariants=True)
    want = {f: calls[:GDB_CALLS] for f, calls in calls_with_arguments(doc).items()}
    assert set(want) == set(GDB_FUNCS), sorted(want)

    expected, result = tmp_path / "expected.json", tmp_path / "gdb.json"
    expected.write_text(json.dumps(want))
    gdb_env = dict(env, CTRACE_GDB_EXPECTED=str(expected), CTRACE_GDB_RESULT=str(result))
    res = procs.run(["gdb", "-q", "-batch", "-nx", "-x", Path(__file__).parent / "gdb_args.py",
                     "--args", *argv], env=gdb_env, timeout=300)
    assert result.exists(), f"gdb failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    got = json.loads(result.read_text())
    assert got["hits"] == {f: len(c) for f, c in want.items()}, \
        "gdb stopped a different number of times: the two runs differ"
    wrong = got["wrong"]
    assert not wrong, f"{len(wrong)} wrong of {got['compared'] + len(wrong)} values " \
        f"({got['unavailable']} unavailable):\n" + "\n".join(wrong[:40])
    assert got["compared"] >= 5000, got["compared"]
    # math.huge, pushed when the math library opens: the only non-finite one
    assert got["non_finite"] == ["lua_pushnumber#1(n): inf, gdb: inf"], got["non_finite"]
    counts.SUMMARY.append(f"lua arguments: {got['compared']} values equal to gdb's, "
                          f"{got['unavailable']} unavailable")


# ---- lighttpd: a server, attached to while it runs ------------------------------------

LIGHTTPD_CONF = """server.document-root = "{root}/docs"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{root}/error.log"
server.modules = ("mod_access", "mod_auth", "mod_authn_file", "mod_setenv", "mod_status",
                  "mod_indexfile", "mod_dirlisting", "mod_staticfile", "mod_accesslog")
accesslog.filename = "{root}/access.log"
index-file.names = ("index.html")
url.access-deny = (".secret")
dir-listing.activate = "enable"
setenv.add-response-header = ("X-Traced" => "yes")
status.status-url = "/server-status"
auth.backend = "plain"
auth.backend.plain.userfile = "{root}/users"
auth.require = ("/private/" => ("method" => "basic", "realm" => "r", "require" => "valid-user"))
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, headers=None, conn=None):
    """(status, body) of one request, on conn (kept open) or a new connection."""
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    if conn is None:
        c.close()
    return r.status, body


def lighttpd_workload(port):
    """Every kind of request the configuration serves: the status each must get."""
    auth = {"Authorization": "Basic " + base64.b64encode(b"ann:secret").decode()}
    bad = {"Authorization": "Basic " + base64.b64encode(b"ann:wrong").decode()}
    want = [("GET", "/", None, 200), ("GET", "/page.html", None, 200),
            ("GET", "/big.bin", None, 200), ("HEAD", "/big.bin", None, 200),
            ("GET", "/big.bin", {"Range": "bytes=100-199"}, 206),
            ("GET", "/missing", None, 404), ("GET", "/dir/", None, 200),
            ("GET", "/x.secret", None, 403), ("GET", "/private/", None, 401),
            ("GET", "/private/", bad, 401), ("GET", "/private/", auth, 200),
            ("GET", "/server-status", None, 200), ("DELETE", "/page.html", None, 501)]
    got = []
    for _ in range(6):
        got += [(m, p, h, request(port, m, p, h)[0]) for m, p, h, _ in want]
    keep = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for i in range(40):
        status, body = request(port, "GET", "/page.html", conn=keep)
        assert status == 200 and body == b"page\n" * 100, (i, status)
    keep.close()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"NOT A REQUEST\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.0 400"), "a bad request"
    assert [g[3] for g in got] == [w[3] for w in want] * 6, got


def can_connect(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def stop_idle(pid):
    """SIGSTOPs pid while it waits in epoll_wait: no call is in flight, so the
    counts read now are exactly those of every call made so far."""
    for _ in range(200):
        os.kill(pid, signal.SIGSTOP)
        wait_for(lambda: Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "T", 10,
                 "the server to stop")
        if Path(f"/proc/{pid}/syscall").read_text().split()[0] in ("232", "281"):
            return
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.01)
    pytest.fail("the server was never idle in epoll_wait")


def test_lighttpd_attach(trace, real_build, procs, tmp_path):
    """A server started untraced, with the counting hooks, and attached to
    while it runs: 13 kinds of request (static files, ranges, a directory
    listing, denied, authenticated, status, errors) and a keep-alive
    connection. The tracer attaches and detaches while the server is stopped
    idle, so the calls it must see are exactly the hooks' counts between
    those two moments; the modules it dlopened at start-up are traced too."""
    root, port = tmp_path, free_port()
    (root / "docs" / "dir").mkdir(parents=True)
    (root / "docs" / "index.html").write_text("index\n")
    (root / "docs" / "page.html").write_text("page\n" * 100)
    (root / "docs" / "big.bin").write_bytes(bytes(range(256)) * 1024)
    (root / "docs" / "x.secret").write_text("no\n")
    (root / "docs" / "private").mkdir()
    (root / "docs" / "private" / "index.html").write_text("private\n")
    for i in range(20):
        (root / "docs" / "dir" / f"f{i}.txt").write_text(f"{i}\n")
    (root / "users").write_text("ann:secret\n")
    (root / "l.conf").write_text(LIGHTTPD_CONF.format(root=root, port=port))
    prefix = tmp_path / "counts"
    env = dict(os.environ, LD_PRELOAD=str(real_build / "libcount-hooks.so"),
               CTRACE_COUNTS=str(prefix))
    build = real_build / "lighttpd-O2"
    srv = procs.popen([build / "lighttpd", "-D", "-f", root / "l.conf", "-m", build / "modules"],
                      env=env)
    wait_for(lambda: request(port, "GET", "/")[0] == 200 if can_connect(port) else False, 30,
             "lighttpd to serve")

    stop_idle(srv.pid)
    before = counts.load(prefix)
    tp, out = trace.start(["-p", srv.pid, "--probe", "callsite", "-b", "64M"])
    line = ""
    while "attached to process" not in line:
        line = tp.stderr.readline()
        assert line, f"the tracer ended before attaching: {tp.communicate()[1]}"
    os.kill(srv.pid, signal.SIGCONT)
    lighttpd_workload(port)
    stop_idle(srv.pid)
    after = counts.load(prefix)
    tp.send_signal(signal.SIGINT)
    proc, doc = trace.finish(tp, out, invariants=False)
    os.kill(srv.pid, signal.SIGCONT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts.check(doc, counts.window(before, after), min_calls=50_000)
    modules = {Path(n["module"]).name for t in doc["call_trees"].values()
               for n in counts.counts_walk(t["root_calls"]) if n["module"]}
    # the modules lighttpd dlopened at start-up, before the attach
    assert {"lighttpd", "mod_auth.so", "mod_authn_file.so", "mod_status.so",
            "mod_dirlisting.so", "mod_accesslog.so"} <= modules, modules


# ---- gzip: killed by a signal whose handler runs traced calls first -------------------

def children_of(pid):
    return [int(c) for t in Path(f"/proc/{pid}/task").iterdir()
            for c in (t / "children").read_text().split()]


@pytest.mark.parametrize("probe", PROBES)
def test_gzip_terminated(trace, real_build, counting_env, tmp_path, probe):
    """gzip is sent SIGTERM while it compresses: its handler
    (abort_gzip_signal) runs traced calls on top of the interrupted call,
    removes the half-written output, restores SIG_DFL and raises the signal
    again, which stays blocked until the handler returns and then kills gzip.
    Exact against the hooks: the handler's calls complete, nested in the
    interrupted call, and every call open at the death is partial for it.
    In batch mode the signal may land between an append's slot and its
    write (the hook then counts nothing either): gzip dies with that one
    record unwritten, counted lost, and a placeholder in its place."""
    src = tmp_path / "in.txt"
    rnd = random.Random(7)
    words = ["".join(rnd.choice("abcdefghijklmnop") for _ in range(rnd.randint(2, 9)))
             for _ in range(3000)]
    src.write_text(" ".join(rnd.choice(words) for _ in range(400_000)))
    prefix = tmp_path / "counts"
    env = counting_env(prefix, probe)
    tp, out = trace.start(["--probe", probe, "-b", "64M"],
                          [real_build / "gzip-O2" / "gzip", "-k", "-f", src], env=env)
    gz = Path(f"{src}.gz")
    wait_for(lambda: gz.exists() or tp.poll() is not None, 30, "gzip to start writing")
    time.sleep(0.3)
    # the target (--probe batch forks a guard process too)
    (pid,) = [c for c in children_of(tp.pid)
              if Path(f"/proc/{c}/exe").resolve() == real_build / "gzip-O2" / "gzip"]
    os.kill(pid, signal.SIGTERM)
    proc, doc = trace.finish(tp, out, invariants=False)
    assert proc.returncode == 128 + signal.SIGTERM, proc.stderr[-3000:]
    assert not gz.exists(), "the handler did not remove the output"
    assert doc["metadata"]["exit_signal"] == signal.SIGTERM and doc["crash"] is None
    counts.check(doc, counts.load(prefix), min_calls=20_000, handler="abort_gzip_signal",
                 max_lost=1 if probe == "batch" else 0)
    (tree,) = doc["call_trees"].values()
    killed = "exit not observed (the process was killed by SIGTERM)"
    chain, nodes = [], tree["root_calls"]
    while nodes and (nodes[-1].get("partial_reason") or "").endswith(killed):
        chain.append(nodes[-1])
        nodes = nodes[-1]["children"]
    handler = [n for n in counts.counts_walk(tree["root_calls"])
               if n["function"] == "abort_gzip_signal"]
    assert len(handler) == 1 and not handler[0].get("partial"), handler
    assert chain and chain[0]["function"] == "main", [n["function"] for n in chain]
    assert chain[-1]["children"][-1] is handler[0], "the handler is not in the interrupted call"
    assert "remove_output_file" in {c["function"] for c in handler[0]["children"]}
