"""The newest Locust (Debian sid's python3-locust, run from its root on loopback through
engines/chroot_locust.py): the web UI's password through the login plugin, following the
master, a worker that quit on Locust's 60 s heartbeat timeout, --processes, -f forms,
removed options. Skipped, with the reason, where there is no sid root (.ci/sid-locust)."""
import base64
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import (ENTRY, HEALTH, SID_ROOT, base_env, free_port, port_open, read_log,
                      start_master, stop_supervisor, wait_for, workers_of)

SECRET = "s3cret-Pa55"
ASAN = "build-asan" in ENTRY


def http(url, auth=None, timeout=3):
    """(status, headers, body) of a GET; 4xx/5xx answers are answers too."""
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def health(env, *args):
    r = subprocess.run([HEALTH, *args], env=env, capture_output=True, text=True, timeout=15)
    return r.returncode, r.stdout


def engine_pid(sup):
    starts = [o["msg"] for o in sup.log() if o["event"] == "engine.start"]
    return int(starts[-1].split("pid ")[1].split(",")[0]) if starts else None


def proc_text(pid, what):
    with open(f"/proc/{pid}/{what}", "rb") as f:
        return f.read().replace(b"\0", b" ").decode(errors="replace")


def group(pgid):
    """Pids whose process group is pgid."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    s = f.read()
            except OSError:
                continue
            if int(s[s.rindex(")") + 2:].split()[2]) == pgid:
                out.append(int(d))
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def master_of(procs, newest, locustfile, bind="127.0.0.2", port=None, name="master",
              extra=()):
    return start_master(procs, locustfile, bind=bind, port=port, name=name, extra=list(extra),
                        locust=newest.locust, env=newest.engine_env())


def worker_sup(procs, newest, locustfile, master, name="worker", **extra):
    """A worker supervisor of the newest Locust; master: a start_master() process, or
    (host, port)."""
    host, port = master if isinstance(master, tuple) else (master.bind, master.port)
    env = newest.env(**{"LOCUST_MODE": "worker", "LOCUST_MASTER_HOST": host,
                        "LOCUST_MASTER_PORT": port, "LOCUSTFILE_PATH": locustfile,
                        "LOCUST_ECS_ENGINES": 1, "LOCUST_ECS_RECHECK_INTERVAL": "500ms",
                        "LOCUST_ECS_STATE_DIR": str(newest.tmp / f"state-{name}"), **extra})
    p = procs.start([ENTRY], env=env, name=name)
    p.env = env
    return p


# ---------- the web UI's password ----------

def test_web_auth_through_the_plugin(procs, tmp_path, locustfile, http_target, newest):
    web, mport = free_port(), free_port("127.0.0.2")
    env = newest.env(LOCUST_MODE="master", TARGET_URL=http_target, LOCUSTFILE_PATH=locustfile,
                     LOCUST_WEB_AUTH=f"admin:{SECRET}",
                     LOCUST_OPTS=f"--web-host 127.0.0.1 --web-port {web} "
                                 f"--master-bind-host 127.0.0.2 --master-bind-port {mport}",
                     LOCUST_ECS_HEALTH_MIN_WORKERS=1, LOCUST_ECS_HEALTH_GRACE="1s",
                     LOCUST_ECS_METRICS="on", LOCUST_ECS_METRICS_INTERVAL="1s")
    pc = subprocess.run([ENTRY, "--print-config"], env=env, capture_output=True, text=True,
                        timeout=10)
    assert pc.returncode == 0 and SECRET not in pc.stdout + pc.stderr
    cfg = json.loads(pc.stdout)
    assert cfg["web"]["login_plugin"] is True and "--web-login" in cfg["engine_argv"]
    assert cfg["locust_version"]["version"] == newest.version

    m = procs.start([ENTRY], env=env, name="master")
    url = f"http://127.0.0.1:{web}"
    wait_for(lambda: port_open("127.0.0.1", web), 30, what="the web UI")
    for path in ("/stats/requests", "/"):
        code, headers, _ = http(url + path)
        assert code == 401, (path, code)
        assert headers["WWW-Authenticate"].startswith("Basic "), path
        assert http(url + path, auth="admin:wrong")[0] == 401, path
        assert http(url + path, auth="nobody:" + SECRET)[0] == 401, path
        assert http(url + path, auth=f"admin:{SECRET}")[0] == 200, path
    code, _, body = http(url + "/stats/requests", auth=f"admin:{SECRET}")
    assert json.loads(body)["state"] == "ready"

    # the secret is in no command line and no log line; the engine has it as the
    # plugin's variable, not as LOCUST_WEB_AUTH (which this Locust refuses)
    pid = engine_pid(m)
    assert SECRET not in proc_text(pid, "cmdline")
    environ = proc_text(pid, "environ")
    assert f"LOCUST_ECS_WEB_AUTH=admin:{SECRET}" in environ
    assert "LOCUST_WEB_AUTH=" not in environ

    # the health check authenticates from its own LOCUST_WEB_AUTH; the 2.46 shape gives
    # the worker count (none yet: below LOCUST_ECS_HEALTH_MIN_WORKERS=1)
    hc = dict(env)
    rc, out = health(hc)
    assert rc == 1 and "fewer than LOCUST_ECS_HEALTH_MIN_WORKERS=1" in out, out
    w = worker_sup(procs, newest, locustfile, ("127.0.0.2", mport))
    wait_for(lambda: health(hc)[0] == 0, 30, what="healthy with one worker")
    rc, out = health(hc, "--json")
    doc = json.loads(out)
    assert doc["web"]["auth"] and doc["web"]["http_status"] == 200
    assert doc["web"]["stats"]["workers"] == 1
    # the supervisor's own metrics read /stats/requests through the plugin too
    def emf_workers():
        for line in m.stdout().splitlines():
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if o.get("WorkersConnected") == 1:
                return o
        return None
    wait_for(emf_workers, 15, what="a metrics line counting the worker")
    rc, out = health(dict(hc, LOCUST_WEB_AUTH="admin:wrong"))
    assert rc == 1 and "401" in out and SECRET not in out
    rc, out = health({k: v for k, v in hc.items() if k != "LOCUST_WEB_AUTH"})
    assert rc == 1 and "wants credentials" in out

    assert stop_supervisor(w) == 0
    assert stop_supervisor(m) == 0
    for p in (m, w):
        assert SECRET not in p.stderr() + p.stdout()


# ---------- following the master ----------

def test_worker_joins_and_headless_run_completes(procs, tmp_path, locustfile, http_target,
                                                 newest):
    port = free_port("127.0.0.2")
    env = newest.env(LOCUST_MODE="worker", LOCUST_MASTER_HOST="127.0.0.2",
                     LOCUST_MASTER_PORT=port, LOCUSTFILE_PATH=locustfile,
                     LOCUST_ECS_ENGINES=1, LOCUST_ECS_REJOIN_WINDOW="2s")
    w = procs.start([ENTRY], env=env, name="worker")
    time.sleep(0.5)  # the worker waits for a master that is not there yet
    m = master_of(procs, newest, locustfile, port=port,
                  extra=["--headless", "-u", "4", "-r", "4", "-t", "3s", "-H", http_target,
                         "--expect-workers", "1"])
    assert m.wait(60) == 0, m.stderr()[-2000:]
    assert w.wait(30) == 0, w.stderr()[-2000:]
    ev = w.events()
    assert "master.quit" in ev and ev.count("engine.start") == 1


@pytest.mark.parametrize("how,probe", [("moved", "zmtp"), ("same-address", "tcp")])
def test_master_replaced_worker_rejoins(procs, tmp_path, locustfile, newest, dns, how, probe):
    port = free_port("127.0.0.2")
    dns.set({"master.locust": ["127.0.0.2"]})
    env = newest.env(LOCUST_MODE="worker", LOCUST_MASTER_HOST="master.locust",
                     LOCUST_MASTER_PORT=port, LOCUSTFILE_PATH=locustfile, LOCUST_ECS_ENGINES=2,
                     LOCUST_ECS_PROBE=probe, LOCUST_ECS_RECHECK_INTERVAL="500ms",
                     LOCUST_ECS_DNS_SERVERS=dns.servers)
    m1 = master_of(procs, newest, locustfile, port=port, name="master1")
    w = procs.start([ENTRY], env=env, name="worker")
    wait_for(lambda: len(workers_of(m1)) == 2, 30, what="2 workers at the first master")
    first = [int(o["msg"].split("pid ")[1].split(",")[0]) for o in w.log()
             if o["event"] == "engine.start"]
    m1.signal(signal.SIGKILL)
    m1.wait(5)
    if how == "same-address":
        time.sleep(1.5)  # a tcp recheck (500 ms) must fall in the gap: test_worker.py
    bind = "127.0.0.3" if how == "moved" else "127.0.0.2"
    if how == "moved":
        dns.set({"master.locust": ["127.0.0.3"]})
    m2 = master_of(procs, newest, locustfile, bind=bind, port=port, name="master2")
    wait_for(lambda: len(workers_of(m2)) == 2, 30, what="2 workers at the new master")
    assert not any(alive(p) for p in first), "no orphan engine left"
    assert "engine.restart" in w.events()
    assert stop_supervisor(w) == 0


@pytest.mark.skipif(ASAN, reason="80 s of Locust's own heartbeat timeout: run once, in the "
                    "plain build (the ASan run covers the supervisor's rejoin code elsewhere)")
def test_worker_that_lost_heartbeats_joins_the_master_again(procs, tmp_path, locustfile,
                                                            newest):
    """Locust 2.19+ workers quit 60 s after the master's last heartbeat. A master stopped
    for 70 s (SIGSTOP: its port still accepts connections, so the tcp probe sees it there)
    makes the engine exit 0 at about 60 s; that is no quit from a master that ended: once
    the master answers again the worker registers with it."""
    m = master_of(procs, newest, locustfile)
    # a recheck every 2 s (the default) connects 35 times in 70 s: a stopped master's
    # listen backlog (ZMQ's 100) holds them; 500 ms would fill it in 50 s and the
    # supervisor would see the port stop answering before the engine quits
    w = worker_sup(procs, newest, locustfile, m, LOCUST_ECS_PROBE="tcp",
                   LOCUST_ECS_REJOIN_WINDOW="60s", LOCUST_ECS_RECHECK_INTERVAL="2s")
    first = wait_for(lambda: workers_of(m), 30, what="the worker at the master")
    m.signal(signal.SIGSTOP)
    try:
        wait_for(lambda: "master.quit" in w.events(), 80, every=0.5,
                 what="the engine's exit on the heartbeat timeout")
        quit_at = time.monotonic()
        quit_status = [o["msg"] for o in w.log() if o["event"] == "engine.exit"][-1]
        assert "status 0" in quit_status, quit_status
        time.sleep(max(0.0, 10 - (time.monotonic() - quit_at)))  # stopped 70 s in all
    finally:
        m.signal(signal.SIGCONT)
    again = wait_for(lambda: [x for x in workers_of(m) if x["id"] != first[0]["id"]], 40,
                     every=0.5, what="the worker registered again")
    assert again and w.poll() is None, "the supervisor follows the master still"
    ready = [o["msg"] for o in w.log() if o["event"] == "master.ready"]
    assert "lost its heartbeats" in ready[-1], ready
    assert w.events().count("engine.start") == 2
    assert stop_supervisor(w) == 0


# ---------- --processes ----------

def test_processes(procs, tmp_path, locustfile, newest):
    m1 = master_of(procs, newest, locustfile, name="master1")
    w = worker_sup(procs, newest, locustfile, m1, LOCUST_OPTS="--processes 2",
                   LOCUST_ECS_HEALTH_GRACE="1s", LOCUST_ECS_STOP_GRACE="10s")
    wait_for(lambda: len(workers_of(m1)) == 2, 30, what="2 forked workers at the master")
    parent = engine_pid(w)
    kids = [p for p in group(parent) if p != parent]
    assert len(kids) == 2, kids
    st = json.loads((newest.tmp / "state-worker" / "state.json").read_text())
    assert st["processes"] == 2 and len(st["engines"]) == 1
    rc, out = health(w.env)
    assert rc == 0 and "its 2 worker processes are connected" in out, out

    # the master replaced at the same address: all of the old group goes before the
    # new engine starts, and the new master gets 2 workers, not 4
    m1.signal(signal.SIGKILL)
    m1.wait(5)
    m2 = master_of(procs, newest, locustfile, port=m1.port, name="master2")
    wait_for(lambda: len(workers_of(m2)) == 2, 30, what="2 workers at the new master")
    time.sleep(2)
    assert len(workers_of(m2)) == 2
    assert not any(alive(p) for p in [parent, *kids]), "nothing of the old engine is left"
    parent2 = engine_pid(w)
    kids2 = [p for p in group(parent2) if p != parent2]
    wait_for(lambda: health(w.env)[0] == 0, 15, what="healthy again")

    # one forked worker dies: the parent waits on, the check sees it
    os.kill(kids2[0], signal.SIGKILL)
    wait_for(lambda: "1 of its 2 worker processes" in health(w.env)[1], 15,
             what="unhealthy with one worker process gone")

    # a stop ends the parent (which Locust lets die at once) and what it forked
    t0 = time.monotonic()
    rc = stop_supervisor(w, timeout=30)
    assert rc is not None and time.monotonic() - t0 < 10
    assert not any(alive(p) for p in [parent2, *kids2])
    assert "engine.kill" not in w.events()


def test_processes_with_engines_refused(tmp_path, newest):
    env = newest.env(LOCUST_MODE="worker", LOCUST_MASTER_HOST="127.0.0.2",
                     LOCUST_ECS_ENGINES=2, LOCUST_OPTS="--processes 4")
    r = subprocess.run([ENTRY], env=env, capture_output=True, text=True, timeout=10)
    assert r.returncode == 78
    lines = [o for o in read_stderr(r) if o["level"] == "error"]
    assert len(lines) == 1 and "LOCUST_ECS_ENGINES=2" in lines[0]["msg"]


def read_stderr(r):
    out = []
    for line in r.stderr.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


# ---------- -f ----------

def test_locustfile_from_the_master(procs, tmp_path, locustfile, newest):
    m = master_of(procs, newest, locustfile)
    w = worker_sup(procs, newest, "-", m)
    wait_for(lambda: workers_of(m), 40, what="a worker that took the locustfile from the master")
    assert "-f" in proc_text(engine_pid(w), "cmdline").split()
    assert stop_supervisor(w) == 0


def test_locustfile_from_a_url(procs, tmp_path, locustfile, http_target, newest):
    www = tmp_path / "www"
    (www / "lf.py").write_text((tmp_path / "locustfile.py").read_text())
    env = newest.env(TARGET_URL=http_target, LOCUSTFILE_PATH=f"{http_target}/lf.py",
                     LOCUST_OPTS="--headless -u 2 -r 2 -t 2s")
    p = procs.start([ENTRY], env=env, name="standalone")
    assert p.wait(60) == 0, p.stderr()[-2000:]


def test_locustfile_without_py_refused(tmp_path, locustfile, newest):
    env = newest.env(LOCUSTFILE_PATH=locustfile[:-3])
    r = subprocess.run([ENTRY], env=env, capture_output=True, text=True, timeout=10)
    assert r.returncode == 78 and "no .py" in r.stderr
    # and Locust itself refuses it
    e = subprocess.run([newest.locust, "-f", locustfile[:-3], "--headless", "-t", "1s"],
                       env=newest.engine_env(), capture_output=True, text=True, timeout=60)
    assert e.returncode != 0 and "Could not find" in e.stderr


# ---------- removed options, and the version ----------

@pytest.mark.parametrize("opts,instead", [("--hatch-rate 5", "-r/--spawn-rate"),
                                          ("--legacy-ui", "legacy web UI"),
                                          ("--web-auth admin:" + SECRET, "LOCUST_WEB_AUTH")])
def test_removed_options(tmp_path, locustfile, newest, opts, instead):
    env = newest.env(LOCUSTFILE_PATH=locustfile, LOCUST_OPTS=f"--headless -t 1s {opts}")
    r = subprocess.run([ENTRY], env=env, capture_output=True, text=True, timeout=10)
    errors = [o for o in read_stderr(r) if o["level"] == "error"]
    assert r.returncode == 78 and len(errors) == 1 and instead in errors[0]["msg"], r.stderr
    assert SECRET not in r.stderr
    assert not [o for o in read_stderr(r) if o["event"] == "engine.start"]
    # what the supervisor says is true of this Locust: it refuses the option too
    e = subprocess.run([newest.locust, "-f", locustfile, *opts.split(), "--headless", "-t",
                        "1s"], env=newest.engine_env(), capture_output=True, text=True,
                       timeout=60)
    assert e.returncode != 0, e.stderr[-500:]


def test_version_found_beside_the_engine(tmp_path, locustfile, newest):
    env = base_env(tmp_path, LOCUSTFILE_PATH=locustfile,
                   LOCUST_ECS_ENGINE=f"{SID_ROOT}/usr/bin/locust")
    r = subprocess.run([ENTRY, "--print-config"], env=env, capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r.stderr
    v = json.loads(r.stdout)["locust_version"]
    assert v["version"] == newest.version
    assert v["from"].startswith(f"{SID_ROOT}/usr/lib/python3/dist-packages/locust-")
