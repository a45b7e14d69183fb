#!/usr/bin/python3
"""A stand-in engine for supervisor tests: behaviour chosen by FAKE_MODE."""
import os
import signal
import sys
import time

mode = os.environ.get("FAKE_MODE", "exit")
arg = os.environ.get("FAKE_ARG", "0")
out = os.environ.get("FAKE_OUT")


def note(line):
    if out:
        with open(out, "a") as f:
            f.write(line + "\n")


def on_term(tag, ignore):
    """A SIGTERM is ignored, or noted ("TAG got TERM") and ends this process."""
    if ignore:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: (note(f"{tag} got TERM"), os._exit(0)))


def orphan(sleep_s, tag, on_term=False):
    """Double fork: the grandchild is re-parented to the supervisor. With on_term it notes
    a SIGTERM and goes on with its work (its sleep resumes)."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        middle = os.getpid()
        if os.fork() == 0:
            if on_term:
                signal.signal(signal.SIGTERM, lambda *_: note(f"{tag} got TERM"))
            os.write(ready_w, b"r")  # the handler is in place before the engine can end
            time.sleep(sleep_s)
            while os.getppid() == middle:  # not gone yet (a loaded machine)
                time.sleep(0.01)
            if tag:
                note(f"{tag} {os.getpid()} ppid {os.getppid()}")
            os._exit(0)
        os.read(ready_r, 1)
        os._exit(0)
    os.waitpid(pid, 0)
    os.close(ready_r)
    os.close(ready_w)


note("argv " + " ".join(sys.argv[1:]))
if mode == "exit":
    sys.exit(int(arg))
elif mode == "signal":
    os.kill(os.getpid(), int(arg))
    time.sleep(5)
elif mode == "record":
    # every signal a user can send, recorded by the engine and by a child in its group
    sigs = [s for s in signal.Signals if s not in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD)]

    def handler(n, _):
        note(f"{os.getpid()} got {signal.Signals(n).name}")
        if n == signal.SIGTERM:
            os._exit(0)

    child = os.fork()
    for s in sigs:
        try:
            signal.signal(s, handler)
        except (OSError, ValueError):
            pass
    if child == 0:
        note(f"child {os.getpid()} pgid {os.getpgid(0)}")
    else:
        note(f"parent {os.getpid()} pgid {os.getpgid(0)}")
    while True:
        time.sleep(0.05)
elif mode == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    note("ignoring TERM")
    while True:
        time.sleep(0.05)
elif mode == "orphans":
    for _ in range(int(arg)):
        orphan(0.3, "orphan")
    time.sleep(float(os.environ.get("FAKE_LINGER", "1.0")))
    sys.exit(0)
elif mode == "storm":
    # many children exiting at once, after the engine itself is gone
    n = int(arg)
    start = time.time() + 1.0
    for _ in range(n):
        if os.fork() == 0:
            time.sleep(max(0.0, start - time.time()))
            os._exit(0)
    sys.exit(int(os.environ.get("FAKE_CODE", "7")))
elif mode == "drain":
    orphan(float(arg), "drained")
    sys.exit(0)
elif mode == "drain-term":
    # a grandchild that finishes its work on SIGTERM (a report being written, say)
    orphan(float(arg), "drained", on_term=True)
    sys.exit(0)
elif mode == "inspect":
    fds = sorted(int(x) for x in os.listdir("/proc/self/fd"))
    with open("/proc/self/status") as f:
        st = {k: v.strip() for k, v in (l.split(":", 1) for l in f if ":" in l)}
    note(f"fds {fds}")
    note(f"SigBlk {st['SigBlk']} SigIgn {st['SigIgn']}")
    note(f"pgid {os.getpgid(0)} pid {os.getpid()}")
    sys.exit(0)
elif mode == "daemon":
    # a child that leaves the engine's session and group, as a daemon does
    if os.fork() == 0:
        os.setsid()
        on_term("daemon", os.environ.get("FAKE_DAEMON_IGNORES_TERM") == "1")
        note(f"daemon {os.getpid()} sid {os.getsid(0)}")
        time.sleep(60)
        os._exit(0)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    note("engine up")
    time.sleep(60)
elif mode == "count-term":
    # exits on the N-th SIGTERM only
    left = [int(arg)]

    def on_term(*_):
        left[0] -= 1
        note(f"TERM, {left[0]} to go")
        if left[0] <= 0:
            os._exit(0)
    signal.signal(signal.SIGTERM, on_term)
    note("engine up")
    while True:
        time.sleep(0.05)
elif mode == "crash-once":
    marker = out + ".crashed"
    try:
        # O_EXCL: of engines started together exactly one wins the marker.
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    else:
        note("crashing")
        sys.exit(3)
    note("sleeping")
    time.sleep(60)
    sys.exit(0)
elif mode == "sleep":
    note("sleeping")
    time.sleep(float(arg))
    sys.exit(0)
elif mode == "term-code":
    # exits with FAKE_ARG on SIGTERM, writing nothing to stderr
    signal.signal(signal.SIGTERM, lambda *_: os._exit(int(arg)))
    note("engine up")
    while True:
        time.sleep(0.05)
elif mode == "leave-helper":
    # a helper in the engine's own process group outlives the engine, which exits at once
    # with FAKE_ARG; the helper notes a SIGTERM (or ignores it with FAKE_HELPER_IGNORES=1)
    if os.fork() == 0:
        on_term("helper", os.environ.get("FAKE_HELPER_IGNORES") == "1")
        note(f"helper {os.getpid()}")
        time.sleep(60)
        os._exit(0)
    time.sleep(0.2)
    sys.exit(int(arg))
elif mode == "stdio":
    # what the engine's fds 0-2 are, and whether an inherited fd leaked into it
    links = {fd: os.readlink(f"/proc/self/fd/{fd}") for fd in (0, 1, 2)
             if os.path.exists(f"/proc/self/fd/{fd}")}
    note(f"stdio {links}")
    leak = os.environ.get("FAKE_LEAK_FD")
    if leak:
        note(f"leak {os.path.exists('/proc/self/fd/' + leak)}")
    sys.exit(0)
