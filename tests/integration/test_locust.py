"""Standalone and master roles with the real Locust engine, through the entrypoint."""
import csv
import json
import os
import signal
import shutil
import subprocess
import time

import pytest

from conftest import ENTRY, base_env, children_of, free_port, get_json, wait_for

UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"


def standalone_env(tmp_path, locustfile, target, **extra):
    return base_env(tmp_path, TARGET_URL=target, LOCUSTFILE_PATH=locustfile, **extra)


def requests_in_csv(prefix):
    with open(f"{prefix}_stats.csv") as f:
        rows = list(csv.DictReader(f))
    agg = [r for r in rows if r["Name"] == "Aggregated"][0]
    return int(agg["Request Count"]), int(agg["Failure Count"])


def test_standalone_headless_run(procs, tmp_path, locustfile, http_target):
    prefix = str(tmp_path / "stats")
    env = standalone_env(tmp_path, locustfile, http_target,
                         LOCUST_OPTS=f"--headless -u 10 -r 10 -t 5s --csv {prefix}")
    p = procs.start([ENTRY], env=env, name="standalone")
    assert p.wait(60) == 0, p.stderr()[-3000:]
    n, fails = requests_in_csv(prefix)
    assert n > 50 and fails == 0
    assert [e for e in p.events() if e.startswith("engine.")] == ["engine.start", "engine.exit"]


def test_standalone_as_pid1(procs, tmp_path, locustfile, http_target):
    r = subprocess.run([UNSHARE, "--pid", "--fork", "--mount-proc", "--", "true"],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("no PID namespaces")
    prefix = str(tmp_path / "stats")
    env = standalone_env(tmp_path, locustfile, http_target,
                         LOCUST_OPTS=f"--headless -u 5 -r 5 -t 3s --csv {prefix}")
    p = procs.start([UNSHARE, "--pid", "--fork", "--mount-proc", ENTRY], env=env, name="pid1")
    assert p.wait(60) == 0, p.stderr()[-3000:]
    assert requests_in_csv(prefix)[0] > 0
    assert "pid 1 (init)" in [o for o in p.log() if o["event"] == "start"][0]["msg"]


def test_failures_give_locust_exit_code(procs, tmp_path, locustfile):
    # a target where nothing listens: every request fails, Locust exits 1
    env = standalone_env(tmp_path, locustfile, f"http://127.0.0.1:{free_port()}",
                         LOCUST_OPTS="--headless -u 2 -r 2 -t 2s")
    p = procs.start([ENTRY], env=env)
    assert p.wait(60) == 1


def test_master_web_ui_and_clean_sigterm(procs, tmp_path, locustfile, http_target):
    web = free_port()
    mport = free_port()
    env = base_env(tmp_path, LOCUST_MODE="master", TARGET_URL=http_target,
                   LOCUSTFILE_PATH=locustfile,
                   LOCUST_OPTS=f"--web-host 127.0.0.1 --web-port {web} "
                               f"--master-bind-host 127.0.0.1 --master-bind-port {mport}")
    p = procs.start([ENTRY], env=env, name="master")
    d = wait_for(lambda: _stats(web), 20, what="the master's /stats/requests")
    assert d["state"] == "ready" and d["workers"] == []
    st = json.loads((tmp_path / "state" / "state.json").read_text())
    assert st["role"] == "master" and st["phase"] == "running" and st["web"]["port"] == web
    engine = st["engines"][0]["pid"]
    t0 = time.monotonic()
    p.signal(signal.SIGTERM)
    assert p.wait(30) == 0, p.stderr()[-2000:]
    assert time.monotonic() - t0 < 25, "within the stop grace"
    assert not os.path.exists(f"/proc/{engine}")
    assert "engine.kill" not in p.events()


def _stats(web):
    try:
        return get_json(f"http://127.0.0.1:{web}/stats/requests")
    except OSError:
        return None


def test_print_config_redacts_secrets(tmp_path, locustfile):
    env = base_env(tmp_path, LOCUST_MODE="master", LOCUSTFILE_PATH=locustfile,
                   TARGET_URL="https://user:hunter2@example.com/",
                   LOCUST_WEB_AUTH="admin:s3cret",
                   LOCUST_OPTS="--web-auth=admin:s3cret -u 3")
    r = subprocess.run([ENTRY, "--print-config", "--web-auth", "admin:s3cret"], env=env,
                       capture_output=True, timeout=10)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "s3cret" not in out and "hunter2" not in out
    cfg = json.loads(out)
    assert cfg["role"] == "master" and cfg["web"]["auth"] is True
    assert cfg["engine_argv"][:3] == ["locust", "-f", locustfile]
    assert "--master" in cfg["engine_argv"] and "***" in cfg["engine_argv"]


def test_sigterm_before_engine_ready_still_stops(procs, tmp_path, locustfile, http_target):
    env = standalone_env(tmp_path, locustfile, http_target, LOCUST_OPTS="--headless -u 1 -t 60s")
    p = procs.start([ENTRY], env=env)
    # the supervisor has its signals in hand once it logs "start"; the engine is still
    # importing Locust then
    wait_for(lambda: "start" in p.events(), 10, every=0.01, what="the supervisor's start")
    p.signal(signal.SIGTERM)
    rc = p.wait(30)
    assert rc in (0, 143), rc
    assert children_of(p.pid) == []
