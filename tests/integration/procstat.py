"""/proc/PID/stat, read the same way by the integration tests (harness.py)
and the benchmarks (tools/bench_consumer.sh): no pytest here."""


def stat_fields(pid):
    """The fields after the command name (field 3, the state, first)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        return stat_fields(pid)[0] != "Z"
    except OSError:
        return False
