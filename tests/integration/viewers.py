"""Real viewers in headless Chromium, for the tests of what they show.

speedscope 1.25.0 comes from npm (`npm pack`, the package alone, no
dependencies) into build/viewers/ once and is reused. The page is opened from
file:// with `#localProfilePath=X.js`, a script that hands it the file as
`speedscope.loadFileFromBase64(NAME, DATA)`, as speedscope's own command line
does; NAME picks the importer, as a dropped file's name would. After load the
DOM holds the profile list and, in the sandwich view, the Total/Self/Symbol
table as text.

Without Chromium or the package (no network) the tests skip, except in CI
(CI=true), where they fail: a CI run must not pass without the viewers."""
import base64
import os
import re
import shutil
import subprocess
import tarfile
from html import unescape
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / "build" / "viewers"
CHROMIUM = "/usr/bin/chromium"
SPEEDSCOPE = "1.25.0"
IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")


def missing(what):
    if IN_CI:
        pytest.fail(f"{what} (CI must run the viewer tests; see tools/setup.sh)")
    pytest.skip(what)


def chromium():
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    return CHROMIUM


def speedscope_dir():
    """The unpacked package: build/viewers/speedscope-1.25.0/package."""
    root = CACHE / f"speedscope-{SPEEDSCOPE}"
    index = root / "package" / "dist" / "release" / "index.html"
    if index.is_file():
        return root / "package"
    npm = shutil.which("npm")
    if not npm:
        missing("npm is not installed: it fetches speedscope (apt-get install npm)")
    CACHE.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([npm, "pack", f"speedscope@{SPEEDSCOPE}", "--pack-destination",
                           str(CACHE)], capture_output=True, text=True, timeout=300)
    tgz = CACHE / f"speedscope-{SPEEDSCOPE}.tgz"
    if proc.returncode or not tgz.is_file():
        missing(f"npm could not fetch speedscope@{SPEEDSCOPE}: {proc.stderr.strip()[-500:]}")
    tmp = CACHE / f".speedscope-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    with tarfile.open(tgz) as t:
        members = t.getmembers()
        for m in members:    # the package's own files only
            assert m.name.startswith("package/") and ".." not in m.name.split("/") and \
                (m.isfile() or m.isdir()), m.name
        t.extractall(tmp, members)
    tmp.rename(root)    # complete, or not there
    assert index.is_file(), f"{tgz} has no dist/release/index.html"
    return root / "package"


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
