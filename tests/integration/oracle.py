"""Ground truth without BPF: turns the event log of tests/progs/oracle_hooks.c
into a trace shaped like ctrace-bpf's, so the expected trees in expected.py are
checked against what the compiled programs really do (test_ground_truth.py).
"""
import os
import subprocess

ET_EXEC = 2


class Symbols:
    """this_fn → function name for one ELF file, from nm (demangled)."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.is_exec = int.from_bytes(f.read(18)[16:18], "little") == ET_EXEC
        self.names = {}
        for table in ([], ["-D"]):   # .symtab, then .dynsym (all a stripped file keeps)
            out = subprocess.run(["nm", *table, "--defined-only", "-C", path],
                                 capture_output=True, text=True).stdout
            for line in out.splitlines():
                parts = line.split(" ", 2)
                if len(parts) == 3 and parts[1] in "TtWw":
                    self.names.setdefault(int(parts[0], 16), parts[2])

    def name(self, fn, base):
        return self.names.get(fn if self.is_exec else fn - base, hex(fn))


def load(events_path, executable, command, exit_code=None, exit_signal=None):
    """A trace dict (doc/design.md section 6) from the oracle's event log."""
    symbols = {}
    threads = {}      # tid -> {"name", "stack", "roots", "calls"}
    first_tid = None
    t0 = t_end = None
    with open(events_path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for line in lines:
        head, module = line.split("\t", 1)
        kind, tid, ns, fn, base, comm = head.split(" ", 5)
        tid, ns, fn, base = int(tid), int(ns), int(fn, 16), int(base, 16)
        module = module or executable
        if t0 is None:
            t0, first_tid = ns, tid
        t_end = ns - t0
        th = threads.setdefault(tid, {"stack": [], "roots": [], "calls": 0})
        th["name"] = comm
        if kind == "E":
            if module not in symbols:
                symbols[module] = Symbols(module)
            node = {"function": symbols[module].name(fn, base), "address": hex(fn),
                    "module": os.path.basename(module), "start_ns": ns - t0, "end_ns": None,
                    "duration_ns": None, "children": []}
            (th["stack"][-1]["children"] if th["stack"] else th["roots"]).append(node)
            th["stack"].append(node)
            th["calls"] += 1
        else:
            node = th["stack"].pop()
            assert node["address"] == hex(fn), f"oracle: unbalanced exit in {line}"
            node["end_ns"] = ns - t0
            node["duration_ns"] = node["end_ns"] - node["start_ns"]
    for th in threads.values():
        for node in th["stack"]:   # frames still open when the process died
            node.update(end_ns=t_end, duration_ns=t_end - node["start_ns"], partial=True,
                        partial_reason="exit not observed")
    return {
        "metadata": {
            "tool": "ctrace-bpf", "version": "oracle", "format_version": 1,
            "timestamp": "1970-01-01T00:00:00Z", "duration_ns": t_end or 0,
            "command": list(command), "pid": first_tid or 1, "executable": executable,
            "total_calls": sum(th["calls"] for th in threads.values()),
            "threads": len(threads), "lost_events": 0, "resyncs": 0, "exit_code": exit_code,
            "exit_signal": exit_signal, "options": {},
            "processes": [{"pid": first_tid or 1, "parent_pid": None, "execs": []}],
        },
        "call_trees": {
            str(tid): {"thread_id": tid, "thread_name": th["name"], "total_calls": th["calls"],
                       "lost_events": 0, "resyncs": 0, "pid": first_tid or 1, "root_calls": th["roots"]}
            for tid, th in threads.items()
        },
        "crash": None,
    }
