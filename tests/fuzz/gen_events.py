#!/usr/bin/python3
"""Seed streams for fuzz_events: what the BPF side sends for typical runs.

Usage: gen_events.py OUTDIR UNWIND_ELF

Input format (fuzz_events.c): one flags byte (1: attach mode, 2: a filter that
hides every function), then chunks: a little-endian u16 header, low 15 bits the
length, bit 15 set for a crash-buffer record (zero-padded by the harness), and
that many bytes of one record (include/ctrace.h layouts). UNWIND_ELF is the
module the harness maps at 0x10000000 for the crash unwinder: crash records
point their registers and stack into it.
"""
import os
import struct
import subprocess
import sys

ENTER, EXIT, THREAD, THREAD_EXIT, SIGNAL, ENTER_ARGS, RETVAL, ENTER_ARGS_SMALL, UNWIND, _RESERVED, \
    FORK, EXEC, DLSTATE, SWITCH, FATAL = range(1, 16)
UNSEEN = 1 << 32  # CTRACE_SWITCH_UNSEEN
MAIN = 0x7ffffff0  # the harness's FAKE_PID; process ids are mapped into FAKE_PID + 0..7
T0 = 1_000_000_000  # the harness's t0
UNWIND_BASE = 0x10000000
ATTACH, HIDE_ALL = 1, 2


def hdr(kind, tid, ts):
    return struct.pack("<IIQ", kind, tid, T0 + ts)


def call(kind, tid, ts, fn, depth, lost=0):
    return hdr(kind, tid, ts) + struct.pack("<QiI", fn, depth, lost)


def thread(kind, tid, ts, comm, exit_code=0, lost=0, group_dead=0, tgid=100):
    return hdr(kind, tid, ts) + struct.pack("<IIII16s", tgid, exit_code, lost, group_dead, comm)


def fatal(tid, ts, sig, code, addr):
    # the signal delivered with its default action (seq, sender, cause unused)
    return hdr(FATAL, tid, ts) + struct.pack("<IiiIQII", 0, sig, code, 0, addr, 0, 0)


def signal(tid, ts, seq, sig, code, addr, sender=None, cause=0):
    # sender: the thread that sent it (a fault: its own); cause: seq + 1 of
    # the sender's fault whose handler was running (0: none)
    return hdr(SIGNAL, tid, ts) + struct.pack("<IiiIQII", seq, sig, code,
                                              tid if sender is None else sender, addr, cause, 0)


def arg_cap(val, tgt=b"", val_err=0, tgt_err=1):
    return struct.pack("<iIiI", val_err, len(val), tgt_err, len(tgt)) + \
        val.ljust(128, b"\0") + tgt.ljust(264, b"\0")


def mstr_cap(s, err=0):
    return struct.pack("<iI", err, len(s)) + s.ljust(264, b"\0")


def enter_args(tid, ts, fn, depth, key, caps, mstrs=()):
    # only nargs entries are sent, unless there are member strings: then all
    # six, and the member strings
    r = call(ENTER_ARGS, tid, ts, fn, depth) + struct.pack("<QII", key, len(caps), len(mstrs)) + \
        b"".join(caps)
    if mstrs:
        r += arg_cap(b"") * (6 - len(caps)) + b"".join(mstrs)
    return r


def enter_small(tid, ts, fn, depth, key, vals):
    args = b"".join(struct.pack("<iI", 0, len(v)) + v.ljust(32, b"\0") for v in vals)
    return call(ENTER_ARGS_SMALL, tid, ts, fn, depth) + struct.pack("<QII", key, len(vals), 0) + \
        args.ljust(6 * 40, b"\0")


def retval(tid, ts, fn, rax, rdx=0, gen=0):
    key = fn | gen << 48   # CTRACE_PLAN_KEY
    return hdr(RETVAL, tid, ts) + struct.pack("<QQQQ", fn, key, rax, rdx) + arg_cap(struct.pack("<Q", rax))


def crash_rec(seq, tid, regs, stack):
    regs = list(regs) + [0] * (18 - len(regs))
    return struct.pack("<II18QQ", seq, tid, *regs, len(stack)) + stack


def stream(flags, records):
    out = bytearray([flags])
    for r in records:
        crash = isinstance(r, tuple)
        body = r[1] if crash else r
        out += struct.pack("<H", len(body) | (0x8000 if crash else 0)) + body
    return bytes(out)


F = {name: 0x555555555000 + 0x40 * i for i, name in
     enumerate(["main", "parse", "lex", "emit", "worker", "fact", "cleanup"])}


def simple():
    r = [thread(THREAD, 10, 0, b"demo")]
    ts = 100
    r.append(call(ENTER, 10, ts, F["main"], 1))
    for i in range(3):
        r += [call(ENTER, 10, ts + 10, F["parse"], 2), call(ENTER, 10, ts + 20, F["lex"], 3),
              call(EXIT, 10, ts + 30, F["lex"], 3), call(EXIT, 10, ts + 40, F["parse"], 2)]
        ts += 50
    r += [call(EXIT, 10, ts, F["main"], 1), thread(THREAD_EXIT, 10, ts + 5, b"demo", group_dead=1)]
    return r


def threads():
    r = [thread(THREAD, 10, 0, b"main")]
    r.append(call(ENTER, 10, 1, F["main"], 1))
    for k, tid in enumerate((11, 12, 13)):
        r += [thread(THREAD, tid, 2 + k, b"sorter-%d" % k), call(ENTER, tid, 3 + k, F["worker"], 1)]
    for ts in range(10, 40, 3):  # interleaved runs, as several CPUs fill the buffer
        tid = 11 + ts % 3
        r += [call(ENTER, tid, ts, F["fact"], 2), call(EXIT, tid, ts + 1, F["fact"], 2)]
    r += [call(EXIT, 11, 50, F["worker"], 1), thread(THREAD_EXIT, 11, 51, b"sorter-0")]
    # thread 12 dies inside worker (pthread_exit): its exit is never seen
    r.append(thread(THREAD_EXIT, 12, 52, b"sorter-1", lost=3))
    # tid 11 reused by a new thread: a second tree under "11#2"
    r += [thread(THREAD, 11, 60, b"late"), call(ENTER, 11, 61, F["emit"], 1), call(EXIT, 11, 62, F["emit"], 1)]
    r += [call(EXIT, 10, 70, F["main"], 1)]  # 13 and the new 11 are still open at the end
    return r


def lost():
    r = [thread(THREAD, 20, 0, b"lossy"), call(ENTER, 20, 1, F["main"], 1)]
    r += [call(ENTER, 20, 2, F["parse"], 2)]
    # entries of depth 3..4 lost: placeholders, named when their exits come
    r += [call(ENTER, 20, 3, F["lex"], 5, lost=2), call(EXIT, 20, 4, F["lex"], 5, lost=2),
          call(EXIT, 20, 5, F["emit"], 4, lost=2), call(EXIT, 20, 6, F["fact"], 3, lost=2)]
    # exit of another call at this depth: this frame's exit and its entry lost
    r += [call(ENTER, 20, 7, F["lex"], 3, lost=2), call(EXIT, 20, 8, F["emit"], 3, lost=4)]
    # deeper frames whose exits were lost, closed by a shallower event
    r += [call(ENTER, 20, 9, F["fact"], 3, lost=4), call(ENTER, 20, 10, F["fact"], 4, lost=4),
          call(EXIT, 20, 11, F["parse"], 2, lost=6)]
    r += [call(EXIT, 20, 12, F["main"], 1, lost=6), call(ENTER, 20, 13, F["cleanup"], 1, lost=6)]
    return r


def attach():
    # calls already running when tracing started return at depth 0, -1, ...
    r = [call(ENTER, 30, 1, F["lex"], 1), call(EXIT, 30, 2, F["lex"], 1),
         call(EXIT, 30, 3, F["parse"], 0), call(ENTER, 30, 4, F["emit"], 0),
         call(EXIT, 30, 5, F["emit"], 0), call(EXIT, 30, 6, F["main"], -1),
         call(EXIT, 30, 7, F["worker"], -3)]
    r += [thread(THREAD, 31, 8, b"other"), call(EXIT, 31, 9, F["worker"], 0)]
    return r


def deep():
    r = [thread(THREAD, 40, 0, b"recurse")]
    for d in range(1, 151):
        r.append(call(ENTER, 40, d, F["fact"], d))
    for d in range(150, 40, -1):
        r.append(call(EXIT, 40, 300 - d, F["fact"], d))
    return r


def longjmp():
    r = [thread(THREAD, 50, 0, b"jumps"), call(ENTER, 50, 1, F["main"], 1)]
    for d in range(2, 6):
        r.append(call(ENTER, 50, d, F["parse"], d))
    r.append(call(UNWIND, 50, 10, 0, 2))  # longjmp back into depth 2
    r += [call(EXIT, 50, 11, F["parse"], 2), call(ENTER, 50, 12, F["emit"], 2),
          call(UNWIND, 50, 13, 0, 0), call(ENTER, 50, 14, F["cleanup"], 1)]
    return r


def coroutines():
    """Two stacks made by makecontext, switched to and back, one never resumed,
    one saved before tracing, and a thread that ends on a coroutine's stack."""
    r = [thread(THREAD, 55, 0, b"coro"), call(ENTER, 55, 1, F["main"], 1)]
    for rnd in range(3):
        for stack in (1, 2):
            r += [call(SWITCH, 55, 10 * rnd + stack, stack, 1 if rnd else 0)]
            if not rnd:
                r.append(call(ENTER, 55, 10 * rnd + stack, F["parse"], 1))
            r += [call(ENTER, 55, 10 * rnd + stack, F["emit"], 2),
                  call(EXIT, 55, 10 * rnd + stack + 1, F["emit"], 2),
                  call(SWITCH, 55, 10 * rnd + stack + 1, 0, 1)]
    r += [call(SWITCH, 55, 40, 1, 1), call(EXIT, 55, 41, F["parse"], 1), call(SWITCH, 55, 42, 0, 1),
          call(SWITCH, 55, 43, 3 | UNSEEN, 0), call(EXIT, 55, 44, F["cleanup"], 0),
          thread(THREAD_EXIT, 55, 45, b"coro")]
    return r


def args():
    key = F["parse"] + 0x20
    r = [thread(THREAD, 60, 0, b"args"), call(ENTER, 60, 1, F["main"], 1)]
    r.append(enter_args(60, 2, F["parse"], 2, key,
                        [arg_cap(struct.pack("<Q", 0x7ffd0000), b"hello\0", tgt_err=0),
                         arg_cap(struct.pack("<i", -5)),
                         arg_cap(b"", val_err=-14)]))
    r += [call(EXIT, 60, 3, F["parse"], 2), retval(60, 4, F["parse"], 42)]
    # a struct behind a pointer, with char * members read at the probe;
    # fuzz_events puts an ENTER_ARGS on the entry site (key % sites) of its
    # module (corpus/fuzz_elf/args-O2-g): 14 is walk(const node_t *n, ...),
    # whose node's name is the member string
    node = struct.pack("<QQ", 0x7ffd0100, 0x7ffd0200)
    r.append(enter_args(60, 4, F["parse"], 2, 14,
                        [arg_cap(struct.pack("<Q", 0x7ffd0000), node, tgt_err=0)],
                        [mstr_cap(b"caf\xe9\0"), mstr_cap(b"", -14)]))
    r += [call(EXIT, 60, 4, F["parse"], 2)]
    r += [enter_small(60, 5, F["lex"], 2, key + 0x40, [struct.pack("<q", 7), struct.pack("<d", 2.5)]),
          call(EXIT, 60, 6, F["lex"], 2), retval(60, 7, F["lex"], 1, 2)]
    r += [call(EXIT, 60, 8, F["main"], 1)]
    return r


def elf_symbols(path):
    out = subprocess.run(["nm", "--defined-only", path], capture_output=True, text=True, check=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tT":
            syms[parts[2]] = int(parts[0], 16)
    return syms


def crash(elf):
    syms = elf_symbols(elf)
    fact, main = UNWIND_BASE + syms["fact"], UNWIND_BASE + syms["main"]
    rsp = 0x7ffc00001000
    # the stack copy: return addresses into the module, as fact's recursion leaves them
    stack = b"".join(struct.pack("<Q", v) for v in
                     [fact + 0x30, 0, rsp + 0x40, fact + 0x30, 0, rsp + 0x80, main + 0x40, 0]) * 8
    regs = [0] * 18
    regs[6] = rsp + 0x10          # rbp
    regs[7] = rsp                 # rsp
    regs[16] = fact + 0x10        # rip
    regs[17] = 0x246              # eflags
    r = [thread(THREAD, 70, 0, b"crasher"), call(ENTER, 70, 1, F["main"], 1),
         call(ENTER, 70, 2, fact, 2), call(ENTER, 70, 3, fact, 3),
         signal(70, 4, 1, 11, 1, 0x10)]
    r.append((True, crash_rec(1, 70, regs, stack)))
    r.append(fatal(70, 5, 11, 1, 0x10))
    r.append(thread(THREAD_EXIT, 70, 5, b"crasher", exit_code=11, group_dead=1))
    return r


def crash_before_note(elf):
    # the crash buffer drained before the main one: the record waits for its note
    syms = elf_symbols(elf)
    regs = [0] * 18
    regs[7] = 0x7ffc00002000
    regs[16] = UNWIND_BASE + syms["main"] + 4
    r = [(True, crash_rec(7, 80, regs, struct.pack("<Q", UNWIND_BASE + syms["main"]) * 4)),
         thread(THREAD, 80, 0, b"abrt"), call(ENTER, 80, 1, F["main"], 1),
         signal(80, 2, 7, 6, -6, 0), signal(80, 3, 8, 11, 2, 0xdead),
         thread(THREAD_EXIT, 80, 4, b"abrt", exit_code=6, group_dead=1)]
    return r


def crash_causes(elf):
    # a handler takes a fault in fact (SEGV_ACCERR), faults again in it
    # (a nested handler, SA_NODEFER), and that one kill()s the process: the
    # main thread gets the fatal signal, its cause chain is two deep. A
    # second thread's handled fault is left by siglongjmp (its frames close)
    # before it raises: no cause there.
    syms = elf_symbols(elf)
    fact, main = UNWIND_BASE + syms["fact"], UNWIND_BASE + syms["main"]
    rsp = 0x7ffc00004000
    stack = b"".join(struct.pack("<Q", v) for v in [fact + 0x30, 0, rsp + 0x40, main + 0x40, 0]) * 4
    regs = [0] * 18
    regs[6], regs[7], regs[16], regs[17] = rsp + 0x10, rsp, fact + 0x10, 0x246
    r = [thread(THREAD, 60, 0, b"main"), call(ENTER, 60, 1, F["main"], 1),
         thread(THREAD, 61, 2, b"worker"), call(ENTER, 61, 3, F["worker"], 1),
         call(ENTER, 61, 4, fact, 2),
         signal(61, 5, 10, 11, 2, 0x7f0000001000), (True, crash_rec(10, 61, regs, stack)),
         call(ENTER, 61, 6, F["emit"], 3),   # the handler
         signal(61, 7, 11, 11, 1, 0, cause=11), (True, crash_rec(11, 61, regs, stack)),
         call(ENTER, 61, 8, F["lex"], 4),    # the nested handler
         thread(THREAD, 62, 9, b"parser"), call(ENTER, 62, 9, F["worker"], 1),
         call(ENTER, 62, 9, F["parse"], 2),
         signal(62, 9, 12, 8, 1, 0x40),      # the other thread's fault ...
         call(UNWIND, 62, 10, 0, 1),         # ... left by siglongjmp
         signal(62, 11, 13, 6, -6, 0, cause=13),
         signal(60, 12, 14, 11, 0, 0, sender=61, cause=12),
         thread(THREAD_EXIT, 61, 13, b"worker", exit_code=11),
         thread(THREAD_EXIT, 60, 14, b"main", exit_code=11, group_dead=1)]
    return r


def proc(kind, tid, ts, tgid, parent=0, stopped=0, gen=0, comm=b"", path=b""):
    return hdr(kind, tid, ts) + struct.pack("<IIII16s256s", tgid, parent, stopped, gen, comm, path)


def forks_and_execs():
    # the target forks two children (one execs, one dies of a fault) and
    # then execs itself; a dlopen in between
    r = [thread(THREAD, 100, 0, b"parent", tgid=MAIN), call(ENTER, 100, 1, F["main"], 1),
         call(ENTER, 100, 2, F["worker"], 2),
         proc(FORK, MAIN + 1, 3, MAIN + 1, parent=MAIN, comm=b"parent"),
         proc(FORK, MAIN + 2, 4, MAIN + 2, parent=MAIN, comm=b"parent"),
         call(EXIT, MAIN + 1, 5, F["worker"], 0), call(ENTER, MAIN + 1, 6, F["fact"], 0),
         proc(EXEC, MAIN + 1, 7, MAIN + 1, parent=MAIN + 1, stopped=1, gen=1, comm=b"child",
              path=b"/bin/child"),
         proc(DLSTATE, MAIN + 1, 8, MAIN + 1, stopped=1),
         call(ENTER, MAIN + 1, 9, F["lex"], 1), call(EXIT, MAIN + 1, 10, F["lex"], 1),
         thread(THREAD_EXIT, MAIN + 1, 11, b"child", exit_code=3 << 8, group_dead=1, tgid=MAIN + 1),
         call(ENTER, MAIN + 2, 12, F["emit"], 1), signal(MAIN + 2, 13, 1, 11, 1, 0),
         thread(THREAD_EXIT, MAIN + 2, 14, b"parent", exit_code=11, group_dead=1, tgid=MAIN + 2),
         proc(DLSTATE, 100, 15, MAIN, stopped=1),
         call(EXIT, 100, 16, F["worker"], 2),
         proc(EXEC, 100, 17, MAIN, parent=100, stopped=1, gen=2, comm=b"next", path=b"/bin/next" * 40),
         call(ENTER, 100, 18, F["main"], 1), call(EXIT, 100, 19, F["main"], 1)]
    return r


def short_records():
    # every kind cut short: the consumer must ignore what it cannot read
    full = [thread(THREAD, 90, 0, b"short"), call(ENTER, 90, 1, F["main"], 1), signal(90, 2, 1, 11, 1, 0),
            retval(90, 3, F["main"], 0), enter_small(90, 4, F["lex"], 2, 0, [b"\1"]),
            thread(THREAD_EXIT, 90, 5, b"short")]
    r = []
    for rec in full:
        r += [rec[:len(rec) // 2], rec[:16], rec[:15], rec]
    return r + [b"", hdr(99, 90, 6)]


def main():
    outdir, elf = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    seeds = {
        "simple": stream(0, simple()),
        "simple-hidden": stream(HIDE_ALL, simple()),
        "threads": stream(0, threads()),
        "lost": stream(0, lost()),
        "lost-hidden": stream(HIDE_ALL, lost()),
        "attach": stream(ATTACH, attach()),
        "deep": stream(0, deep()),
        "longjmp": stream(0, longjmp()),
        "coroutines": stream(0, coroutines()),
        "args": stream(0, args()),
        "crash": stream(0, crash(elf)),
        "crash-record-first": stream(ATTACH, crash_before_note(elf)),
        "crash-causes": stream(0, crash_causes(elf)),
        "short-records": stream(0, short_records()),
        "forks-execs": stream(0, forks_and_execs()),
        "forks-execs-args": stream(ATTACH, forks_and_execs()),
    }
    for name, data in seeds.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
