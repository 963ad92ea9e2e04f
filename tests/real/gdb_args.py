"""Run inside gdb (gdb -batch -x gdb_args.py): checks the arguments ctrace-bpf
captured against gdb's for the same calls.

The environment names the run: CTRACE_GDB_EXPECTED is a JSON file
{function: [arguments of its 1st call, 2nd call, ...]} (the tracer's
"arguments" lists, in call order), CTRACE_GDB_RESULT where to write
{"compared": N, "unavailable": N, "non_finite": [...], "wrong": [...],
"hits": {function: N}}.
gdb stops at each function after its prologue (-O0: the arguments are in
their stack slots) and, for the k-th call, compares every argument the
tracer showed with gdb's value of it: integers, floats, pointers exactly;
a char * as the string gdb reads there (up to the tracer's length); a pointer
the tracer followed, field by field with what it points to. A value the
tracer left null with an "unavailable" reason is allowed and counted. An inf
or nan (JSON has no such number) is the string gdb prints, and is compared.
"""
import json
import math
import os

import gdb

STRING_SIZE = int(os.environ.get("CTRACE_GDB_STRING_SIZE", "128"))
expected = json.load(open(os.environ["CTRACE_GDB_EXPECTED"]))
result = {"compared": 0, "unavailable": 0, "non_finite": [], "wrong": [], "hits": {}}


def as_int(v):
    return int(v.cast(gdb.lookup_type("long long"))) if v.type.sizeof <= 8 else int(v)


def compare(where, want, v, depth=0):
    """Compares one tracer value (JSON) with gdb's value v."""
    t = v.type.strip_typedefs()
    code = t.code
    if isinstance(want, dict) and "value" in want and set(want) <= \
            {"name", "type", "value", "address", "unavailable", "truncated"}:
        if want["value"] is None:
            if "unavailable" in want:
                result["unavailable"] += 1
                return
            result["wrong"].append(f"{where}: null without a reason, gdb: {v.format_string()}")
            return
        if "address" in want and code == gdb.TYPE_CODE_PTR:
            check(where + " (address)", int(want["address"], 16), int(v))
            if int(v) == 0:
                return
            if isinstance(want["value"], str) and t.target().strip_typedefs().code in \
                    (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_CHAR):
                check(where + " (string)", want["value"], c_string(int(v), want))
            else:
                compare(where + " (pointee)", want["value"], v.dereference(), depth + 1)
            return
        compare(where, want["value"], v, depth)
        return
    if code in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
        if not isinstance(want, dict):
            result["wrong"].append(f"{where}: {want!r} for a {t}")
            return
        for f in t.fields():
            if f.name in want:
                compare(f"{where}.{f.name}", want[f.name], v[f.name], depth + 1)
        return
    if code == gdb.TYPE_CODE_ARRAY:
        if isinstance(want, list):
            for i, w in enumerate(want):
                compare(f"{where}[{i}]", w, v[i], depth + 1)
        return
    if code == gdb.TYPE_CODE_PTR:
        check(where, int(want, 16) if isinstance(want, str) else want, int(v))
    elif code == gdb.TYPE_CODE_FLT:
        got = float(v)
        if isinstance(want, str) and want in ("inf", "-inf", "nan", "-nan"):
            result["non_finite"].append(f"{where}: {want}, gdb: {got}")
            want = float(want)
        ok = want is not None and (want == got or (math.isnan(got) and math.isnan(want)))
        if want is None:
            result["wrong"].append(f"{where}: null without a reason, gdb: {got}")
        elif not ok:
            result["wrong"].append(f"{where}: {want!r}, gdb: {got!r}")
        else:
            result["compared"] += 1
    elif code == gdb.TYPE_CODE_BOOL:
        check(where, want, bool(v))
    elif code == gdb.TYPE_CODE_ENUM:
        if isinstance(want, str):
            check(where, want, str(v).split("::")[-1])
        else:
            check(where, want, as_int(v))
    elif code in (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_CHAR):
        check(where, want, int(v))
    else:
        result["wrong"].append(f"{where}: type {t} (code {code}) not compared")


def c_string(addr, want):
    """The string at addr as the tracer shows one: the bytes up to the NUL,
    at most --string-size of them when it says "truncated", invalid UTF-8
    replaced."""
    mem = gdb.selected_inferior()
    raw = b""
    while len(raw) < 4096:
        chunk = bytes(mem.read_memory(addr + len(raw), 64))
        raw += chunk
        if b"\0" in chunk:
            break
    raw = raw.split(b"\0", 1)[0]
    if want.get("truncated"):
        raw = raw[:STRING_SIZE]
    return raw.decode("utf-8", errors="replace")


def check(where, want, got):
    if want == got:
        result["compared"] += 1
    else:
        result["wrong"].append(f"{where}: {want!r}, gdb: {got!r}")


class Stop(gdb.Breakpoint):
    def __init__(self, func):
        super().__init__(func, internal=True)
        self.func = func
        self.n = 0

    def stop(self):
        calls = expected[self.func]
        if self.n < len(calls):
            frame = gdb.selected_frame()
            for arg in calls[self.n]:
                where = f"{self.func}#{self.n}({arg['name']})"
                try:
                    v = frame.read_var(arg["name"])
                except ValueError as e:
                    result["wrong"].append(f"{where}: gdb cannot read it: {e}")
                    continue
                compare(where, arg, v)
        self.n += 1
        result["hits"][self.func] = self.n
        if self.n >= len(calls):
            self.enabled = False
        return False


gdb.execute("set confirm off")
gdb.execute("set pagination off")
gdb.execute("set startup-with-shell off")
gdb.execute("set disable-randomization on")
gdb.execute("unset environment LINES")
gdb.execute("unset environment COLUMNS")
for name in [n for n in os.environ if n.startswith("CTRACE_GDB_")]:
    gdb.execute(f"unset environment {name}")   # the target's stack as in the traced run
stops = [Stop(f) for f in expected]
gdb.execute("run", to_string=True)
with open(os.environ["CTRACE_GDB_RESULT"], "w") as f:
    json.dump(result, f)
