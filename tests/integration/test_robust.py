"""Faults found by review, each reproduced: a stalled stderr, exits that skipped the stop
sequence, state writes that stopped for good, leftovers without a grace, fd hygiene."""
import fcntl
import json
import os
import pty
import shutil
import signal
import subprocess
import tempfile
import termios
import time

import pytest

from conftest import (ENTRY, FAKE, HEALTH, fake_env, fill_pipe, free_port, has_note, notes,
                      read_log, wait_for, zmq_router)

ASAN = "build-asan" in ENTRY


def worker_env(tmp_path, mode, arg="0", port=None, engines=1, **extra):
    """A worker supervisor of fake engines whose master is a bare ZMQ ROUTER on loopback."""
    return fake_env(tmp_path, mode, arg, LOCUST_MODE="worker",
                    LOCUST_MASTER_HOST="127.0.0.1", LOCUST_MASTER_PORT=port,
                    LOCUST_ECS_ENGINES=engines, LOCUST_ECS_RECHECK_INTERVAL="500ms", **extra)


def events(log, name):
    return [o for o in log if o["event"] == name]


# ---------- 1. a stalled stderr never freezes PID 1 ----------

def drain(r):
    fl = fcntl.fcntl(r, fcntl.F_GETFL)
    fcntl.fcntl(r, fcntl.F_SETFL, fl | os.O_NONBLOCK)
    out = b""
    try:
        while True:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            out += chunk
    except BlockingIOError:
        pass
    fcntl.fcntl(r, fcntl.F_SETFL, fl)
    return out


def test_full_stderr_pipe_never_blocks_the_stop(procs, tmp_path):
    r, w = os.pipe()
    try:
        filled = fill_pipe(w)
        env = fake_env(tmp_path, "term-code", "42", LOCUST_ECS_STOP_GRACE="20s")
        p = procs.start([ENTRY], env=env, name="sup", stderr=w)
        # every line of the start is dropped, and the engine starts all the same
        wait_for(lambda: has_note(tmp_path, "engine up"), 15, what="the engine, stderr full")
        assert drain(r) == b"x" * filled, "nothing could be added to a full pipe"
        t0 = time.monotonic()
        p.signal(signal.SIGTERM)
        assert p.wait(15) == 42, "the engine's own status, not a SIGKILL at stopTimeout"
        assert time.monotonic() - t0 < 10, "stopped at once, well within the grace"
        lines = [json.loads(l) for l in drain(r).splitlines()]
        assert lines, "lines written once the pipe had room"
        assert all(len(json.dumps(o)) < 4096 for o in lines)
        first = lines[0]
        assert first["event"] == "stop" and first.get("dropped", 0) >= 2, first
        assert "dropped" not in lines[-1], "the count is told once"
    finally:
        os.close(r)
        os.close(w)


# ---------- 2. one way out: every exit goes through the stop sequence ----------

def private_engine(tmp_path):
    """A copy of the fake engine that a test may remove to make the next start fail."""
    e = tmp_path / "engine.py"
    shutil.copy(FAKE, e)
    os.chmod(e, 0o755)
    return e


def test_failed_restart_stops_the_other_engines(procs, tmp_path):
    port = free_port()
    ctx, s = zmq_router("127.0.0.1", port)
    try:
        eng = private_engine(tmp_path)
        env = worker_env(tmp_path, "term-code", "0", port, engines=2,
                         LOCUST_ECS_ENGINE=str(eng), LOCUST_ECS_STOP_GRACE="10s")
        p = procs.start([ENTRY], env=env, name="sup")
        wait_for(lambda: notes(tmp_path).count("engine up") == 2, 15, what="two engines")
        pids = wait_for(lambda: [e["pid"] for e in json.load(
            open(tmp_path / "state" / "state.json"))["engines"] if e["pid"]], 10,
            what="pids in the state")
        wait_for(lambda: len(pids) == 2 or None, 1)
        eng.unlink()
        os.kill(pids[0], signal.SIGKILL)  # a crash: its restart finds no engine
        assert p.wait(20) == 127
        log = p.log()
        assert events(log, "engine.start")[-1]["level"] == "error"
        # the healthy engine was stopped through the grace, not left behind or killed
        exits = [o["msg"] for o in events(log, "engine.exit")]
        assert any(f"(pid {pids[1]}) exited with status 0" in m for m in exits), exits
        assert not events(log, "engine.kill")
    finally:
        s.close(0)
        ctx.term()


def test_start_failure_after_master_restart_keeps_127(procs, tmp_path):
    """A worker whose engines quit (status 0) and whose engine is gone when the master
    comes back exits 127, not 0 (and not 70)."""
    port = free_port()
    ctx, s = zmq_router("127.0.0.1", port)
    eng = private_engine(tmp_path)
    env = worker_env(tmp_path, "exit", "0", port, LOCUST_ECS_ENGINE=str(eng),
                     LOCUST_ECS_REJOIN_WINDOW="30s")
    p = procs.start([ENTRY], env=env, name="sup")
    try:
        wait_for(lambda: "master.quit" in p.events(), 15, what="the quit")
        eng.unlink()
        s.close(0)
        ctx.term()
        time.sleep(0.5)
        ctx, s = zmq_router("127.0.0.1", port)  # the master comes back
        assert p.wait(20) == 127
    finally:
        s.close(0)
        ctx.term()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as nobody")
def test_fork_without_resources_is_retried(procs, tmp_path):
    """fork() fails with EAGAIN (RLIMIT_NPROC reached): the start is tried again with the
    crash back-off instead of ending the supervisor with 70."""
    import resource
    d = tempfile.mkdtemp(prefix="le-nproc-", dir="/tmp")
    try:
        os.chmod(d, 0o777)
        # copies the nobody user can reach, wherever the checkout is
        eng, entry = os.path.join(d, "engine.py"), os.path.join(d, "locust-entrypoint")
        for src, dst in ((FAKE, eng), (ENTRY, entry)):
            shutil.copy(src, dst)
            os.chmod(dst, 0o755)
        lf = os.path.join(d, "lf.py")
        open(lf, "w").write("# unused\n")
        out = os.path.join(d, "fake.out")
        env = {"PATH": "/usr/bin:/bin", "LOCUST_ECS_ENGINE": eng, "LOCUSTFILE_PATH": lf,
               "FAKE_MODE": "sleep", "FAKE_ARG": "0.5", "FAKE_OUT": out,
               "LOCUST_ECS_STATE_DIR": os.path.join(d, "state"),
               "LOCUST_ECS_LOG_FORMAT": "json", "LOCUST_ECS_METADATA": "off"}
        nobody = {"user": 65534, "group": 65534, "extra_groups": []}
        # another process of the user holds the second of two allowed processes
        holder = procs.start(["sleep", "60"], name="holder", **nobody)

        def limited():
            resource.setrlimit(resource.RLIMIT_NPROC, (2, 2))

        p = procs.start([entry], env=env, name="sup", preexec_fn=limited, **nobody)
        wait_for(lambda: any(e["event"] == "engine.start" and "again" in e["msg"]
                             for e in p.log()), 15, what="a retry")
        assert p.poll() is None, "still running, retrying"
        holder.signal(signal.SIGKILL)
        holder.wait(5)
        assert p.wait(40) == 0, p.stderr()[-1500:]
        assert "sleeping" in open(out).read()
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---------- 3. the health check takes everything but its own settings from the state ----

def test_worker_configured_by_command_is_healthy(procs, tmp_path):
    port = free_port()
    ctx, s = zmq_router("127.0.0.1", port)
    try:
        env = fake_env(tmp_path, "sleep", "60", LOCUST_MODE="worker",
                       LOCUST_ECS_HEALTH_GRACE="60s")
        p = procs.start([ENTRY, "--master-host", "127.0.0.1", "--master-port", str(port)],
                        env=env, name="sup")
        wait_for(lambda: has_note(tmp_path, "sleeping"), 15, what="the engine")
        wait_for(lambda: '"running"' in (tmp_path / "state" / "state.json").read_text(), 10)
        # the check runs with the container's environment, without its command
        r = subprocess.run([HEALTH], env=env, capture_output=True, timeout=10)
        assert r.returncode == 0, r.stdout
        assert b"healthy: worker" in r.stdout
    finally:
        s.close(0)
        ctx.term()


def test_health_check_names_its_own_bad_setting(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "LOCUST_ECS_HEALTH_TIMEOUT": "soon",
           "LOCUST_ECS_STATE_DIR": str(tmp_path)}
    r = subprocess.run([HEALTH], env=env, capture_output=True, timeout=10)
    assert r.returncode == 1
    assert b"LOCUST_ECS_HEALTH_TIMEOUT" in r.stdout


# ---------- 4. a failed state write is retried on every change ----------

def test_state_write_recovers_after_a_failure(procs, tmp_path):
    port = free_port()
    ctx, s = zmq_router("127.0.0.1", port)
    try:
        env = worker_env(tmp_path, "sleep", "60", port, LOCUST_ECS_HEALTH_GRACE="60s")
        p = procs.start([ENTRY], env=env, name="sup")
        state = tmp_path / "state" / "state.json"
        wait_for(lambda: has_note(tmp_path, "sleeping"), 15, what="the engine")
        first = wait_for(lambda: json.loads(state.read_text())["engines"][0]["pid"], 10)
        # the next write cannot create its temporary file
        blocker = tmp_path / "state" / f".state.json.{p.pid}"
        blocker.mkdir()
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: not state.exists(), 10, what="the untrue state removed")
        r = subprocess.run([HEALTH], env=env, capture_output=True, timeout=10)
        assert r.returncode == 1 and b"no state document" in r.stdout
        warns = [o for o in p.log() if o["event"] == "state"]
        assert len(warns) == 1, "one warning, not one per change"
        blocker.rmdir()
        # the crash restart (1 s back-off) is the next change: the state comes back true
        second = wait_for(lambda: state.exists() and
                          json.loads(state.read_text())["engines"][0]["pid"] not in (0, first)
                          and json.loads(state.read_text())["engines"][0]["pid"], 15,
                          what="the state written again")
        assert wait_for(lambda: has_note(tmp_path, "sleeping") and second, 5)
        r = subprocess.run([HEALTH], env=env, capture_output=True, timeout=10)
        assert r.returncode == 0, r.stdout
        assert any("written again" in o["msg"] for o in p.log() if o["event"] == "state")
    finally:
        s.close(0)
        ctx.term()


# ---------- 6, 7. what an engine leaves gets the stop signal and the grace ----------

def test_stop_between_lives_gives_leftovers_the_grace(procs, tmp_path):
    port = free_port()
    ctx, s = zmq_router("127.0.0.1", port)
    try:
        env = worker_env(tmp_path, "leave-helper", "0", port, LOCUST_ECS_STOP_GRACE="10s",
                         LOCUST_ECS_REJOIN_WINDOW="60s")
        p = procs.start([ENTRY], env=env, name="sup")
        wait_for(lambda: "master.quit" in p.events(), 15, what="the engine quit")
        assert any(l.startswith("helper ") for l in notes(tmp_path))
        t0 = time.monotonic()
        p.signal(signal.SIGTERM)
        assert p.wait(15) == 0
        assert time.monotonic() - t0 < 8
        assert has_note(tmp_path, "helper got TERM"), notes(tmp_path)
        assert "stop" in p.events(), "the stop is logged even with no engine running"
        assert "engine.kill" not in p.events()
    finally:
        s.close(0)
        ctx.term()


def test_draining_signals_what_the_engine_left(procs, tmp_path):
    env = fake_env(tmp_path, "leave-helper", "3", LOCUST_ECS_STOP_GRACE="20s")
    p = procs.start([ENTRY], env=env, name="sup")
    t0 = time.monotonic()
    assert p.wait(15) == 3
    assert time.monotonic() - t0 < 10, "the helper ended on SIGTERM, not after the grace"
    assert has_note(tmp_path, "helper got TERM")


def test_what_is_sigkilled_is_named(procs, tmp_path):
    env = fake_env(tmp_path, "leave-helper", "0", LOCUST_ECS_STOP_GRACE="1s",
                   FAKE_HELPER_IGNORES="1")
    p = procs.start([ENTRY], env=env, name="sup")
    assert p.wait(15) == 0
    helper = [l.split()[1] for l in notes(tmp_path) if l.startswith("helper ")][0]
    kills = [o["msg"] for o in p.log() if o["event"] == "engine.kill"]
    assert kills and f"pid {helper} (" in kills[0], kills


# ---------- 8. fd hygiene ----------

def test_closed_stdout_is_not_taken_by_an_internal_fd(procs, tmp_path):
    env = fake_env(tmp_path, "stdio")
    p = subprocess.Popen([ENTRY], env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         preexec_fn=lambda: os.close(1), start_new_session=True)
    try:
        p.wait(20)
    finally:
        if p.poll() is None:
            p.kill()
        p.stderr.close()
    assert p.returncode == 0
    line = [l for l in notes(tmp_path) if l.startswith("stdio ")][0]
    assert "1: '/dev/null'" in line, line


@pytest.mark.skipif(ASAN, reason="the ASan runtime must come first in the library list")
@pytest.mark.skipif(not shutil.which("cc"), reason="needs a C compiler")
def test_close_range_failing_still_closes_fds(procs, tmp_path):
    """With close_range refused (ENOSYS, as before Linux 5.9 or under seccomp), an fd the
    supervisor inherited still does not reach the engine."""
    src = tmp_path / "nocr.c"
    src.write_text(r'''
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
/* libc's syscall(), with close_range refused as an old kernel or seccomp would */
long syscall(long n, ...)
{
	va_list ap;
	long a[6];
	va_start(ap, n);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (n == SYS_close_range) {
		errno = ENOSYS;
		return -1;
	}
	long (*real)(long, ...) = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
''')
    so = tmp_path / "nocr.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(so), str(src), "-ldl"], check=True)
    r, w = os.pipe()
    os.set_inheritable(w, True)
    try:
        env = fake_env(tmp_path, "stdio", LD_PRELOAD=str(so), FAKE_LEAK_FD=str(w))
        p = procs.start([ENTRY], env=env, name="sup", pass_fds=(w,))
        assert p.wait(20) == 0, p.stderr()[-800:]
        assert "leak False" in notes(tmp_path), notes(tmp_path)
    finally:
        os.close(r)
        os.close(w)


def test_only_one_engine_takes_the_terminal(procs, tmp_path):
    port = free_port()
    ctx, s = zmq_router("127.0.0.1", port)
    mfd, sfd = pty.openpty()

    def own_terminal():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    try:
        env = worker_env(tmp_path, "sleep", "60", port, engines=2)
        p = procs.start([ENTRY], env=env, name="sup", stdin=sfd, preexec_fn=own_terminal,
                        start_new_session=False)
        wait_for(lambda: notes(tmp_path).count("sleeping") == 2, 15, what="two engines")
        pids = wait_for(lambda: [e["pid"] for e in json.load(
            open(tmp_path / "state" / "state.json"))["engines"]], 10)
        assert os.tcgetpgrp(mfd) == pids[0], (os.tcgetpgrp(mfd), pids)
    finally:
        s.close(0)
        ctx.term()
        os.close(mfd)
        os.close(sfd)


# ---------- 9. small ones ----------

def test_engine_exit_names_its_pid(procs, tmp_path):
    env = fake_env(tmp_path, "exit", "5")
    p = procs.start([ENTRY], env=env, name="sup")
    assert p.wait(15) == 5
    start = [o for o in p.log() if o["event"] == "engine.start"][0]
    pid = start["msg"].split("pid ")[1].split(",")[0].split()[0]
    ex = [o for o in p.log() if o["event"] == "engine.exit"][0]
    assert f"(pid {pid})" in ex["msg"], ex
