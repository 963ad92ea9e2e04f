"""Real viewers in headless Chromium, for the tests of what they show.

speedscope 1.25.0 comes from npm (`npm pack`, the package alone, no
dependencies) into build/viewers/ once and is reused. The page is opened from
file:// with `#localProfilePath=X.js`, a script that hands it the file as
`speedscope.loadFileFromBase64(NAME, DATA)`, as speedscope's own command line
does; NAME picks the importer, as a dropped file's name would. After load the
DOM holds the profile list and, in the sandwich view, the Total/Self/Symbol
table as text.

DevTools' Performance panel: the chrome-devtools-frontend package on npm is
DevTools' TypeScript sources for its own gn build. esbuild from npm (the
version the package builds with) bundles them (devtools_build.mjs, which
also writes the few files gn would generate) into:
- the trace_app page, the panel without a debuggee, as Chromium opens a
  trace: served from 127.0.0.1 and opened with ?traceURL=, it loads the file
  and draws it; devtools_panel.mjs, bundled with it, reads the flame chart
  it drew (tracks, entries with level, start and length);
- its trace engine alone (front_end/models/trace), run over the file in a
  page (devtools_view.mjs) for the model the panel draws from: threads'
  slice trees and the Call Tree tab's rows.

Without Chromium or the package (no network) the tests skip, except in CI
(CI=true), where they fail: a CI run must not pass without the viewers."""
import base64
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import tarfile
import threading
from html import unescape
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / "build" / "viewers"
CHROMIUM = "/usr/bin/chromium"
SPEEDSCOPE = "1.25.0"
DEVTOOLS = "1.0.1705227"    # chrome-devtools-frontend
ESBUILD = "0.28.2"          # the esbuild that version's package.json builds with
IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")


def missing(what):
    if IN_CI:
        pytest.fail(f"{what} (CI must run the viewer tests; see tools/setup.sh)")
    pytest.skip(what)


def chromium():
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    return CHROMIUM


def npm_pack(name, version, check):
    """The unpacked package name@version, build/viewers/NAME-VERSION/package,
    fetched with `npm pack` (the package alone, no dependencies) once;
    check is a file it must have."""
    root = CACHE / f"{name}-{version}"
    if (root / "package" / check).is_file():
        return root / "package"
    npm = shutil.which("npm")
    if not npm:
        missing(f"npm is not installed: it fetches {name} (apt-get install npm)")
    CACHE.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([npm, "pack", f"{name}@{version}", "--pack-destination", str(CACHE)],
                          capture_output=True, text=True, timeout=300)
    tgz = CACHE / f"{name}-{version}.tgz"
    if proc.returncode or not tgz.is_file():
        missing(f"npm could not fetch {name}@{version}: {proc.stderr.strip()[-500:]}")
    tmp = CACHE / f".{name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    with tarfile.open(tgz) as t:
        members = t.getmembers()
        for m in members:    # the package's own files only
            assert m.name.startswith("package/") and ".." not in m.name.split("/") and \
                (m.isfile() or m.isdir()), m.name
        t.extractall(tmp, members)
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)    # complete, or not there
    assert (root / "package" / check).is_file(), f"{tgz} has no {check}"
    return root / "package"


def speedscope_dir():
    """The unpacked package: build/viewers/speedscope-1.25.0/package."""
    return npm_pack("speedscope", SPEEDSCOPE, "dist/release/index.html")


def esbuild_modules():
    """build/viewers/esbuild-0.28.2/node_modules, with esbuild and its
    prebuilt binary for this platform (an optional dependency), from npm."""
    root = CACHE / f"esbuild-{ESBUILD}"
    if (root / "node_modules" / "esbuild" / "package.json").is_file():
        return root / "node_modules"
    npm = shutil.which("npm")
    if not npm:
        missing("npm is not installed: it fetches esbuild (apt-get install npm)")
    tmp = CACHE / f".esbuild-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    proc = subprocess.run([npm, "install", "--prefix", str(tmp), "--ignore-scripts", "--no-audit",
                           "--no-fund", "--no-save", f"esbuild@{ESBUILD}"],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode:
        missing(f"npm could not fetch esbuild@{ESBUILD}: {proc.stderr.strip()[-500:]}")
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    return root / "node_modules"


def devtools_build(mode):
    """What devtools_build.mjs builds (mode "engine": the trace engine as
    one module; "app": the trace_app page), built once into
    build/viewers/chrome-devtools-frontend-VERSION/MODE-HASH, HASH naming
    the build and page scripts it was made with."""
    pkg = npm_pack("chrome-devtools-frontend", DEVTOOLS, "front_end/models/trace/trace.ts")
    here = Path(__file__).parent
    digest = hashlib.sha256(b"".join((here / f).read_bytes() for f in (
        "devtools_build.mjs", "devtools_panel.mjs"))).hexdigest()[:12]
    out = pkg.parent / f"{mode}-{digest}"
    if out.exists():
        return out
    node = shutil.which("node")
    if not node:
        missing("node is not installed (apt-get install nodejs)")
    tmp = pkg.parent / f".{mode}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    proc = subprocess.run([node, str(here / "devtools_build.mjs"), mode, str(esbuild_modules()),
                           str(pkg / "front_end"), str(tmp)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    tmp.rename(out)    # complete, or not there
    return out


def page_out(proc, console):
    """The JSON a page left in <pre id="out">."""
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = re.search(r'<pre id="out">(.*?)</pre>', proc.stdout, re.S)
    assert m and m.group(1), (proc.stdout[-2000:], console[-3000:])
    return json.loads(unescape(m.group(1)))


def console_of(proc):
    return "\n".join(l for l in proc.stderr.splitlines() if "CONSOLE" in l)


def devtools(path, tmp_path):
    """Opens the chrome trace at path as DevTools' Performance panel loads a
    file, its trace engine in headless Chromium (devtools_view.mjs). Returns
    (what the panel would show, as devtools_view.mjs gives it; console log)."""
    engine = devtools_build("engine") / "trace.js"
    name = Path(path).name
    data = tmp_path / f"devtools-{name}.js"
    data.write_text(f"window.TRACE_TEXT = {json.dumps(Path(path).read_text())};\n")
    page = tmp_path / f"devtools-{name}.html"
    view = Path(__file__).with_name("devtools_view.mjs")
    page.write_text(
        f'<!doctype html><pre id="out"></pre><script src="{data.as_uri()}"></script>\n'
        f'<script type="module">import * as Trace from "{engine.as_uri()}";\n'
        f'import {{show}} from "{view.as_uri()}";\nawait show(Trace, window.TRACE_TEXT);</script>\n')
    # modules from file:// need file access; the page loads nothing else
    proc = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
         "--virtual-time-budget=20000", "--enable-logging=stderr", "--v=0",
         f"--user-data-dir={tmp_path / ('chromium-' + name)}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=180)
    console = console_of(proc)
    return page_out(proc, console), console


class AppServer(http.server.SimpleHTTPRequestHandler):
    """The app's files, and /trace.json the trace."""
    trace = None

    def translate_path(self, path):
        if path.split("?")[0] == "/trace.json":
            return str(self.trace)
        return super().translate_path(path)

    def log_message(self, *args):
        pass


def devtools_panel(path, tmp_path):
    """Opens the chrome trace at path in DevTools' Performance panel itself:
    trace_app.html?traceURL=..., as DevTools documents for loading a local
    trace, served from the loopback address (the only origins it fetches a
    trace from besides its own). Returns (the flame chart as
    devtools_panel.mjs gives it: {"groups": [{name, startLevel, nesting}],
    "entries": [[title, level, start ms, length ms]]}; console log)."""
    app = devtools_build("app")
    handler = type("Handler", (AppServer,), {"trace": Path(path).resolve()})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(app)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        proc = subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
             "--enable-unsafe-swiftshader", "--window-size=1400,900",
             "--virtual-time-budget=30000", "--enable-logging=stderr", "--v=0",
             f"--user-data-dir={tmp_path / ('chromium-panel-' + Path(path).name)}", "--dump-dom",
             f"{base}/trace_app.html?traceURL={base}/trace.json"],
            capture_output=True, text=True, timeout=180)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    console = console_of(proc)
    return page_out(proc, console), console


def dom_text(html):
    """The page's visible text, one piece a line."""
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", "", html)
    return "\n".join(t for t in (unescape(s).strip() for s in re.split(r"<[^>]+>", html)) if t)


def speedscope(path, tmp_path, name=None, view="sandwich"):
    """Opens path in speedscope as if a file called name (default: its own
    name) was dropped on it. Returns (visible text, console log). Each load
    gets a profile directory of its own: a browser still closing on one
    would take the next load over."""
    pkg = speedscope_dir()
    name = name or Path(path).name
    data = base64.b64encode(Path(path).read_bytes()).decode()
    loader = tmp_path / f"load-{name}.js"
    loader.write_text(f"speedscope.loadFileFromBase64({name!r}, {data!r})\n")
    url = (pkg / "dist" / "release" / "index.html").as_uri() + \
        f"#localProfilePath={loader}&view={view}"
    proc = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
         "--window-size=1400,900", "--virtual-time-budget=15000", "--enable-logging=stderr",
         "--v=0", f"--user-data-dir={tmp_path / ('chromium-' + name)}", "--dump-dom", url],
        capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    console = "\n".join(l for l in proc.stderr.splitlines() if "CONSOLE" in l)
    return dom_text(proc.stdout), console


def sandwich_rows(text):
    """The sandwich table: {symbol: (total, self)} as shown, e.g. ("1.00µs", "800.00ns")."""
    lines = text.splitlines()
    if "Symbol Name" not in lines:
        return {}
    rows, i = {}, lines.index("Symbol Name") + 1
    pct = re.compile(r"^(\S+) \((?:100|>99|<0\.01|[\d.]+)%\)$")
    while i + 2 < len(lines):
        tot, slf = pct.match(lines[i]), pct.match(lines[i + 1])
        if not (tot and slf):
            break
        rows[lines[i + 2]] = (tot.group(1), slf.group(1))
        i += 3
    return rows


def profiles(text):
    """The profile list: [(name, total weight as shown)]."""
    lines = text.splitlines()
    if "Total Weight" not in lines:
        return []
    out, i = [], lines.index("Total Weight") + 1
    while i + 2 < len(lines) and lines[i] == str(len(out) + 1):
        out.append((lines[i + 1], lines[i + 2]))
        i += 3
    return out


UNITS = {"ns": 1, "µs": 1e3, "ms": 1e6, "s": 1e9}


def shown_ns(shown):
    """A time as speedscope shows it ("15.35ms", "1:05") in ns."""
    if ":" in shown:
        m, s = shown.split(":")
        return (int(m) * 60 + int(s)) * 1e9
    m = re.fullmatch(r"([\d.]+)(ns|µs|ms|s)", shown)
    assert m, shown
    return float(m.group(1)) * UNITS[m.group(2)]


def shows_ns(shown, ns):
    """shown is ns as speedscope writes it: 2 decimals of its unit."""
    v = shown_ns(shown)
    unit = UNITS[re.sub(r"[\d.]+", "", shown)] if ":" not in shown else 1e9
    return abs(v - ns) <= 0.005 * unit + 1e-9 * ns
