"""Plugins loaded with dlopen are traced from the moment dlopen returns, with
their own module and names (a probe on the dynamic loader's _dl_debug_state
stops the target while the tracer reads the new map and, for call-site
probes, probes the new library); after dlclose, a second plugin mapped at
the same addresses does not inherit the first one's names."""
import subprocess

import pytest

from calltree import T, main_thread, shape

PROGS = __import__("conftest").PROGS


def plugin(tmp_path, name, opt):
    so = tmp_path / f"{name}.so"
    subprocess.run(["gcc", opt, "-g", "-finstrument-functions", "-fPIC", "-shared",
                    f"-I{PROGS}", "-o", str(so), str(PROGS / f"{name}.c")], check=True)
    return so


@pytest.mark.parametrize("probe", ["preload", "callsite"])
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_dlopen_dlclose(build, trace, tmp_path, opt, probe):
    a, b = plugin(tmp_path, "plugin_a", opt), plugin(tmp_path, "plugin_b", opt)
    exe = build("dlhost.c", opt, extra=("-ldl",))
    proc, doc = trace([exe, a, b], "--probe", probe)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "a=21\nb=42\n"
    (m,) = main_thread(doc)["root_calls"]
    assert shape(m) == T("main",
                         T("use_plugin", T("plug_run", T("plug_inner"))),
                         T("use_plugin", T("plug_run", T("other_mid", T("other_inner")))))
    first, second = m["children"]
    assert first["children"][0]["module"] == "plugin_a.so"
    assert second["children"][0]["module"] == "plugin_b.so"
    assert doc["metadata"]["lost_events"] == 0
