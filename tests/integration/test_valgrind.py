"""The supervisor and the health check under valgrind memcheck in complete runs with real
Locust: a worker task whose master is replaced (the engines restart) and that is then
stopped by SIGTERM, a headless standalone run to its end, and the health check on a master
and on a worker. Any memcheck error or definite/indirect leak makes valgrind exit 99.
Skipped when valgrind is absent and for sanitizer builds (ASan and valgrind exclude each
other)."""
import glob
import re
import shutil
import subprocess

import pytest

from conftest import (ENTRY, HEALTH, base_env, free_port, port_open,
                      start_master, stop_supervisor, wait_for, workers_of)

VALGRIND = shutil.which("valgrind")


def _sanitized(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
        # an instrumented program needs libasan (or carries it, when linked statically)
        return any(m in data for m in (b"__asan_init", b"libasan", b"AddressSanitizer"))
    except OSError:
        return False


pytestmark = [
    pytest.mark.skipif(not VALGRIND, reason="valgrind is not installed"),
    pytest.mark.skipif(_sanitized(ENTRY), reason="a sanitizer build cannot run under valgrind"),
]

VG_ERROR = 99


def vg(log):
    """valgrind's command line: fork+exec'd engines run natively (--trace-children=no)."""
    argv = [VALGRIND, f"--error-exitcode={VG_ERROR}", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect",
            "--trace-children=no", "--child-silent-after-fork=yes", "--num-callers=30",
            f"--log-file={log}"]
    return argv


def clean_log(path):
    """The memcheck log of one finished run: no error, nothing definitely or indirectly lost."""
    with open(path) as f:
        text = f.read()
    assert "ERROR SUMMARY: 0 errors" in text, text[-4000:]
    for kind in ("definitely", "indirectly"):
        m = re.search(rf"{kind} lost: ([\d,]+) bytes", text)
        assert not m or m.group(1) == "0", text[-4000:]
    return text


def stop(p, timeout):
    """SIGTERM as ECS sends it; the exit status (an exception if it outlived timeout)."""
    rc = stop_supervisor(p, timeout)
    assert rc is not None, f"{p.name} still running {timeout}s after SIGTERM"
    return rc


def supervised(procs, tmp_path, name, locustfile, **env):
    e = base_env(tmp_path, LOCUSTFILE_PATH=locustfile, LOCUST_ECS_STATE_DIR=tmp_path / name,
                 **env)
    log = str(tmp_path / f"vg-{name}.log")
    p = procs.start(vg(log) + [ENTRY], env=e, name=name)
    p.env, p.vglog = e, log
    return p


def check(tmp_path, env, name):
    """One health check under valgrind: (exit status, its line); valgrind must be clean."""
    logs = str(tmp_path / f"vg-health-{name}.%p.log")
    e = dict(env, LOCUST_ECS_HEALTH_TIMEOUT="30s")  # valgrind makes startup slow
    r = subprocess.run(vg(logs) + [HEALTH], env=e, capture_output=True, text=True, timeout=60)
    assert r.returncode != VG_ERROR, (r.stdout, r.stderr)
    assert r.returncode in (0, 1), (r.returncode, r.stdout, r.stderr)
    return r.returncode, r.stdout.strip()


def healthy(tmp_path, env, name, text, timeout=60):
    seen = []

    def once():
        rc, line = check(tmp_path, env, name)
        seen.append(line)
        return line if rc == 0 and text in line else None
    try:
        return wait_for(once, timeout, every=0.5, what=f"healthy: {text}")
    except AssertionError as e:
        raise AssertionError(f"{e}; last verdicts: {seen[-3:]}") from None


def health_logs_clean(tmp_path, name):
    logs = glob.glob(str(tmp_path / f"vg-health-{name}.*.log"))
    assert logs
    for log in logs:
        clean_log(log)
    return len(logs)


def test_worker_restart_and_sigterm(procs, tmp_path, locustfile, http_target):
    m1 = start_master(procs, locustfile, name="master1")
    w = supervised(procs, tmp_path, "worker", locustfile, TARGET_URL=http_target,
                   LOCUST_MODE="worker", LOCUST_MASTER_HOST="127.0.0.1",
                   LOCUST_MASTER_PORT=m1.port, LOCUST_ECS_ENGINES=1,
                   LOCUST_ECS_HEALTH_GRACE="2s")
    try:
        wait_for(lambda: len(workers_of(m1)) == 1, 90, every=0.5, what="the worker at master1")
        healthy(tmp_path, w.env, "worker", f"connected to the master 127.0.0.1:{m1.port}")

        # the master's task is replaced: gone without a word, a new one at the same address
        m1.kill()
        m2 = start_master(procs, locustfile, port=m1.port, name="master2")
        wait_for(lambda: len(workers_of(m2)) == 1, 90, every=0.5, what="the worker at master2")
        assert "engine.restart" in w.events(), w.events()
        healthy(tmp_path, w.env, "worker", f"connected to the master 127.0.0.1:{m1.port}")

        rc = stop(w, 60)
    finally:
        if w.poll() is None:
            stop(w, 30)
    assert rc != VG_ERROR, open(w.vglog).read()[-4000:]
    assert rc in (0, 143), (rc, w.stderr()[-2000:])
    assert "exit" in w.events()
    text = clean_log(w.vglog)
    assert "Command: " + ENTRY in text
    assert health_logs_clean(tmp_path, "worker") >= 2


def test_standalone_run_to_the_end(procs, tmp_path, locustfile, http_target):
    p = supervised(procs, tmp_path, "standalone", locustfile, TARGET_URL=http_target,
                   LOCUST_OPTS="--headless -u 2 -r 2 -t 4s")
    try:
        rc = p.wait(120)
    finally:
        if p.poll() is None:
            stop(p, 30)
    assert rc != VG_ERROR, open(p.vglog).read()[-4000:]
    assert rc == 0, (rc, p.stderr()[-2000:])
    ev = p.events()
    assert "engine.start" in ev and "exit" in ev
    clean_log(p.vglog)


def test_health_check_on_a_master_and_its_worker(procs, tmp_path, locustfile, http_target):
    web, port = free_port(), free_port()
    m = supervised(procs, tmp_path, "master", locustfile, TARGET_URL=http_target,
                   LOCUST_MODE="master",
                   LOCUST_OPTS=f"--web-host 127.0.0.1 --web-port {web} "
                               f"--master-bind-host 127.0.0.1 --master-bind-port {port}")
    w = None
    try:
        wait_for(lambda: port_open("127.0.0.1", web), 90, every=0.5, what="the master's web UI")
        w = supervised(procs, tmp_path, "worker", locustfile, TARGET_URL=http_target,
                       LOCUST_MODE="worker", LOCUST_MASTER_HOST="127.0.0.1",
                       LOCUST_MASTER_PORT=port, LOCUST_ECS_ENGINES=1,
                       LOCUST_ECS_HEALTH_GRACE="2s", LOCUST_ECS_REJOIN_WINDOW="1s")
        healthy(tmp_path, m.env, "master", "1 worker")
        healthy(tmp_path, w.env, "worker", f"connected to the master 127.0.0.1:{port}")
        # the master's SIGTERM ends the test: its worker is told to quit, then leaves
        rc_m = stop(m, 60)
        rc_w = w.wait(60)
    finally:
        for p in (m, w):
            if p is not None and p.poll() is None:
                stop(p, 30)
    for p, rc in ((m, rc_m), (w, rc_w)):
        assert rc != VG_ERROR, open(p.vglog).read()[-4000:]
        assert rc in (0, 1, 143), (rc, p.stderr()[-2000:])
        clean_log(p.vglog)
    health_logs_clean(tmp_path, "master")
    health_logs_clean(tmp_path, "worker")
