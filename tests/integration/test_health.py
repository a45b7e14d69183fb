"""locust-healthcheck against the real supervisor and real Locust, and against state
documents written by hand for the causes a live system cannot be made to show on demand."""
import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import (ENTRY, HEALTH, base_env, below, kill_left, free_port, port_open,
                      start_master, start_ticks, stop_supervisor, wait_for, workers_of,
                      zmq_router)

SECRET = "s3cret-Pa55"


# ---------- helpers ----------

def health(env, *args, timeout=15):
    """One run of the health check: CompletedProcess with .elapsed (s)."""
    t = time.monotonic()
    r = subprocess.run([HEALTH, *args], env=env, capture_output=True, text=True,
                       timeout=timeout)
    r.elapsed = time.monotonic() - t
    assert r.stdout.count("\n") == 1, f"not one line: {r.stdout!r} {r.stderr!r}"
    return r


def health_json(env, *args):
    r = health(env, "--json", *args)
    doc = json.loads(r.stdout)
    assert doc["healthy"] == (r.returncode == 0), r.stdout
    return r.returncode, doc


def wait_verdict(env, rc, text=None, timeout=20.0):
    """Polls the check until it exits rc with text in its line; returns that line."""
    seen = []

    def probe():
        r = health(env)
        seen.append(r.stdout.strip())
        return r.stdout if r.returncode == rc and (text is None or text in r.stdout) else None
    try:
        return wait_for(probe, timeout, every=0.2, what=f"verdict {rc} {text!r}")
    except AssertionError as e:
        raise AssertionError(f"{e}; last verdicts: {seen[-3:]}") from None


def read_state(env):
    try:
        with open(os.path.join(env["LOCUST_ECS_STATE_DIR"], "state.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def now_ms():
    return int(time.time() * 1000)


def unused_pid():
    """A pid no process has now."""
    with open("/proc/sys/kernel/pid_max") as f:
        pid = int(f.read()) - 7
    while os.path.exists(f"/proc/{pid}"):
        pid -= 1
    return pid


def supervisor(procs, tmp_path, locustfile, name, args=(), state=None, **env):
    env = base_env(tmp_path, LOCUSTFILE_PATH=locustfile, **env)
    if state:
        env["LOCUST_ECS_STATE_DIR"] = str(tmp_path / state)
    p = procs.start([ENTRY, *args], env=env, name=name)
    p.env = env
    return p


def stop(p, timeout=20):
    stop_supervisor(p, timeout)


@pytest.fixture
def sups():
    """Supervisors of a test, stopped at its end before the procs fixture's SIGKILL."""
    started = []
    yield started
    for p in reversed(started):
        stop(p)


def web_opts(port):
    return f"--web-host 127.0.0.1 --web-port {port}"


def running(env):
    s = read_state(env)
    return s if s and s["phase"] == "running" else None


def assert_no_secret(*texts):
    for t in texts:
        assert SECRET not in t


class SilentServer:
    """Accepts connections on 127.0.0.1 and never answers: a web UI (or port) that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopping = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                continue

    def close(self):
        self.stopping = True
        self.t.join(2)
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.fixture
def silent():
    s = SilentServer()
    yield s
    s.close()


@pytest.fixture
def fake(procs, tmp_path):
    """A hand-written state document whose supervisor and engine are live processes of
    ours (sleep), so that only the cause under test is wrong."""
    sup = procs.start(["/bin/sleep", "300"], name="fake-sup")
    eng = procs.start(["/bin/sleep", "300"], name="fake-engine")
    env = base_env(tmp_path)
    os.makedirs(env["LOCUST_ECS_STATE_DIR"], mode=0o700, exist_ok=True)
    t = now_ms()
    doc = {
        "version": 1, "pid": sup.pid, "pid_start_ticks": start_ticks(sup.pid),
        "role": "standalone", "phase": "running", "phase_since": t - 5000,
        "started": t - 5000,
        "engines": [{"pid": eng.pid, "start_ticks": start_ticks(eng.pid),
                     "started": t - 60000, "restarts": 0}],
        "restarts": 0, "last_restart_reason": None,
        "web": {"port": free_port(), "tls": False, "headless": False, "host": "127.0.0.1"},
        "master_bind_port": free_port(),
        "health": {"min_workers": -1, "max_fail_ratio": -1, "grace_ms": 10000,
                   "timeout_ms": 4000},
    }

    class Fake:
        pass
    f = Fake()
    f.env, f.doc, f.sup, f.eng = env, doc, sup, eng
    f.path = os.path.join(env["LOCUST_ECS_STATE_DIR"], "state.json")

    def write(d=None, raw=None):
        with open(f.path, "w") as fh:
            fh.write(raw if raw is not None else json.dumps(d or f.doc))
    f.write = write
    return f


# ---------- healthy cases with real Locust ----------

def test_standalone_web_ui(procs, sups, tmp_path, locustfile, http_target):
    web = free_port()
    p = supervisor(procs, tmp_path, locustfile, "standalone", TARGET_URL=http_target,
                   LOCUST_OPTS=web_opts(web))
    sups.append(p)
    out = wait_verdict(p.env, 0, "standalone: the web UI answered")
    assert "state ready" in out
    rc, doc = health_json(p.env)
    assert rc == 0
    assert doc["web"]["url"] == f"http://127.0.0.1:{web}/stats/requests"
    assert doc["web"]["http_status"] == 200
    assert doc["web"]["stats"]["workers"] == -1
    assert doc["supervisor"]["pid"] == p.pid and doc["supervisor"]["phase"] == "running"
    assert [c["check"] for c in doc["checks"]] == ["supervisor", "engine 1", "web"]
    assert all(c["ok"] for c in doc["checks"])
    # --state-dir wins over LOCUST_ECS_STATE_DIR
    other = dict(p.env, LOCUST_ECS_STATE_DIR=str(tmp_path / "elsewhere"))
    r = health(other)
    assert r.returncode == 1 and "no state document" in r.stdout
    r = health(other, "--state-dir", p.env["LOCUST_ECS_STATE_DIR"])
    assert r.returncode == 0, r.stdout
    # a truncated copy of this real document
    with open(os.path.join(p.env["LOCUST_ECS_STATE_DIR"], "state.json")) as f:
        text = f.read()
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / "state.json").write_text(text[: len(text) // 2])
    r = health(p.env, "--state-dir", str(cut))
    assert r.returncode == 1 and "corrupt or truncated" in r.stdout, r.stdout
    # the supervisor ends: its document goes with it
    stop(p)
    assert p.poll() is not None
    r = health(p.env)
    assert r.returncode == 1 and "no state document" in r.stdout, r.stdout


@pytest.mark.parametrize("via", ["env", "option"])
def test_web_ui_over_tls(procs, sups, tmp_path, locustfile, http_target, via):
    """A web UI served with --tls-cert/--tls-key (here a self-signed certificate, as the
    engine's own usually is): the check asks it over https."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    web = free_port()
    if via == "env":
        extra = dict(LOCUST_OPTS=web_opts(web), LOCUST_TLS_CERT=str(cert),
                     LOCUST_TLS_KEY=str(key))
    else:
        extra = dict(LOCUST_OPTS=f"{web_opts(web)} --tls-cert {cert} --tls-key {key}")
    p = supervisor(procs, tmp_path, locustfile, "tls", TARGET_URL=http_target,
                   LOCUST_MODE="master", **extra)
    sups.append(p)
    try:
        wait_verdict(p.env, 0, "master: the web UI answered")
    except AssertionError as e:
        raise AssertionError(f"{e}; the supervisor's log: {p.stderr()[-2000:]}") from None
    rc, doc = health_json(p.env)
    assert rc == 0 and doc["web"]["url"] == f"https://127.0.0.1:{web}/stats/requests", doc
    assert doc["web"]["http_status"] == 200
    # the same port asked over plain http is not an answer: the TLS setting counts
    with open(os.path.join(p.env["LOCUST_ECS_STATE_DIR"], "state.json")) as f:
        state = json.load(f)
    assert state["web"]["tls"] is True
    plain = tmp_path / "plain"
    plain.mkdir(mode=0o700)
    state["web"]["tls"] = False
    (plain / "state.json").write_text(json.dumps(state))
    r = health(p.env, "--state-dir", str(plain))
    assert r.returncode == 1, r.stdout


def test_master_web_ui_min_workers(procs, sups, tmp_path, locustfile, http_target):
    web, port = free_port(), free_port()
    m = supervisor(procs, tmp_path, locustfile, "master", state="mstate",
                   TARGET_URL=http_target, LOCUST_MODE="master",
                   LOCUST_OPTS=f"{web_opts(web)} --master-bind-host 127.0.0.1 "
                               f"--master-bind-port {port}",
                   LOCUST_ECS_HEALTH_MIN_WORKERS=1)
    sups.append(m)
    # not met: no worker yet
    out = wait_verdict(m.env, 1, "fewer than LOCUST_ECS_HEALTH_MIN_WORKERS=1")
    assert "master: 0 workers not missing" in out
    # met: a worker (supervised too) joins; the master's stats are cached for 2 s
    w = supervisor(procs, tmp_path, locustfile, "worker", state="wstate",
                   TARGET_URL=http_target, LOCUST_MODE="worker",
                   LOCUST_MASTER_HOST="127.0.0.1", LOCUST_MASTER_PORT=port,
                   LOCUST_ECS_ENGINES=1, LOCUST_ECS_HEALTH_GRACE="1s")
    sups.append(w)
    out = wait_verdict(m.env, 0, "1 worker", timeout=20)
    assert out.startswith("healthy: master: the web UI answered")
    wait_verdict(w.env, 0, "is connected to the master", timeout=15)
    # the same master without the threshold in the state is healthy with 0 workers: shown
    # by a hand-edited copy of its document
    doc = read_state(m.env)
    doc["health"]["min_workers"] = 5
    d = tmp_path / "edited"
    d.mkdir()
    (d / "state.json").write_text(json.dumps(doc))
    r = health(m.env, "--state-dir", str(d))
    assert r.returncode == 1 and "1 worker not missing, fewer than" in r.stdout, r.stdout


@pytest.mark.parametrize("bind,via", [("127.0.0.1", "option"), ("127.0.0.3", "env")])
def test_headless_master_zmtp(procs, sups, tmp_path, locustfile, http_target, bind, via):
    """The probe goes where the master is bound: a master bound to one address (a task's
    private IP) does not listen on 127.0.0.1."""
    web, port = free_port(), free_port(bind)
    opts = f"--headless -t 300s -u 1 -r 1 {web_opts(web)} --master-bind-port {port}"
    extra = {"LOCUST_MASTER_BIND_HOST": bind} if via == "env" else {}
    if via == "option":
        opts += f" --master-bind-host {bind}"
    m = supervisor(procs, tmp_path, locustfile, "headless", TARGET_URL=http_target,
                   LOCUST_MODE="master", LOCUST_OPTS=opts, **extra)
    sups.append(m)
    wait_for(lambda: port_open(bind, port), 15, what="the headless master's port")
    if bind != "127.0.0.1":
        assert not port_open("127.0.0.1", port), "bound to one address only"
    wait_verdict(m.env, 0, f"headless master: {bind} port {port} answered the ZMTP handshake")
    assert not port_open("127.0.0.1", web), "a headless master has no web UI"
    rc, doc = health_json(m.env)
    assert rc == 0 and doc["probe"]["up"] and doc["probe"]["port"] == port
    assert doc["probe"]["address"] == bind
    # the probe must not register as a worker: the master still waits for one
    with open(m.err) as f:
        assert "reported as ready" not in f.read()


def test_worker_connected_then_master_killed(procs, sups, tmp_path, locustfile, http_target):
    master = start_master(procs, locustfile)
    w = supervisor(procs, tmp_path, locustfile, "worker", TARGET_URL=http_target,
                   LOCUST_MODE="worker", LOCUST_MASTER_HOST="127.0.0.1",
                   LOCUST_MASTER_PORT=master.port, LOCUST_ECS_ENGINES=2,
                   LOCUST_ECS_HEALTH_GRACE="3s")
    sups.append(w)
    wait_for(lambda: running(w.env), 15, what="the worker running")
    r = health(w.env)
    assert r.returncode == 0 and "within the grace" in r.stdout, r.stdout
    wait_verdict(w.env, 0, f"2 engines connected to the master 127.0.0.1:{master.port}")
    wait_for(lambda: len(workers_of(master)) == 2, 10, what="2 workers at the master")

    # the master dies: the check stops saying "connected" within the grace
    master.kill()
    t = time.monotonic()
    seen = []

    def lost():
        rc, doc = health_json(w.env)
        seen.append((rc, doc["reason"]))
        return rc == 1 or doc["supervisor"]["phase"] != "running"
    wait_for(lost, 3.0, every=0.1, what="the check to notice the lost master")
    assert time.monotonic() - t < 3.0
    rc, doc = health_json(w.env)
    # the supervisor saw the loss itself: it restarts the engines and waits for a master,
    # which is healthy until LOCUST_ECS_MASTER_WAIT's deadline
    assert (rc == 1) or doc["supervisor"]["phase"] in (
        "restarting", "resolving", "waiting", "rejoining"), doc
    if rc == 0:
        assert "waiting for the master" in doc["reason"] or "restarting" in doc["reason"]

    # a new master on the same port: the supervisor rejoins it, the check is healthy again
    master2 = start_master(procs, locustfile, port=master.port, name="master2")
    wait_verdict(w.env, 0, f"connected to the master 127.0.0.1:{master.port}", timeout=30)
    wait_for(lambda: len(workers_of(master2)) == 2, 10, what="2 workers at the new master")
    assert read_state(w.env)["restarts"] >= 1


def connected_worker(procs, sups, tmp_path, locustfile, http_target, **extra):
    """A master and a worker supervisor with one engine, healthy and connected to it."""
    master = start_master(procs, locustfile)
    w = supervisor(procs, tmp_path, locustfile, "worker", TARGET_URL=http_target,
                   LOCUST_MODE="worker", LOCUST_MASTER_HOST="127.0.0.1",
                   LOCUST_MASTER_PORT=master.port, LOCUST_ECS_ENGINES=1,
                   LOCUST_ECS_HEALTH_GRACE="1s", **extra)
    sups.append(w)
    wait_verdict(w.env, 0, "is connected to the master", timeout=20)
    return master, w


def test_worker_orphan_engine_unhealthy(procs, sups, tmp_path, locustfile, http_target):
    """A supervisor that does not look at the master again (LOCUST_ECS_PROBE=tcp and an
    hour between rechecks) cannot see it die; the engines go on as orphans. The check sees
    that they hold no connection to the master."""
    master, w = connected_worker(procs, sups, tmp_path, locustfile, http_target,
                                 LOCUST_ECS_PROBE="tcp", LOCUST_ECS_RECHECK_INTERVAL="60m")
    master.kill()
    out = wait_verdict(w.env, 1, "holds no ESTABLISHED connection to the master", timeout=3)
    assert f"127.0.0.1:{master.port}" in out
    assert read_state(w.env)["phase"] == "running"


def test_worker_engine_crash(procs, sups, tmp_path, locustfile, http_target):
    _, w = connected_worker(procs, sups, tmp_path, locustfile, http_target)
    pid = read_state(w.env)["engines"][0]["pid"]
    os.kill(pid, signal.SIGKILL)
    # the supervisor starts it again after a 1 s back-off; meanwhile its pid is 0. The
    # supervisor is held there (SIGSTOP) while the check runs, however slow this machine.
    wait_for(lambda: (read_state(w.env) or {}).get("engines", [{}])[0].get("pid") == 0, 5,
             every=0.02, what="the crash in the state")
    os.kill(w.pid, signal.SIGSTOP)
    try:
        r = health(w.env)
    finally:
        os.kill(w.pid, signal.SIGCONT)
    assert r.returncode == 1, r.stdout
    assert "engine 1 is not running: restarting after a crash (status 137)" in r.stdout
    wait_verdict(w.env, 0, timeout=20)
    assert read_state(w.env)["engines"][0]["pid"] not in (0, pid)


def test_worker_engine_stopped(procs, sups, tmp_path, locustfile, http_target):
    """A stopped engine (SIGSTOP) keeps its connection to the master but sends neither
    load nor heartbeats: unhealthy until it goes on (SIGCONT)."""
    _, w = connected_worker(procs, sups, tmp_path, locustfile, http_target)
    pid = read_state(w.env)["engines"][0]["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_verdict(w.env, 1, f"engine 1 (pid {pid}) is stopped (SIGSTOP or a tracer)",
                     timeout=5)
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_verdict(w.env, 0, "is connected to the master", timeout=10)
    assert read_state(w.env)["engines"][0]["pid"] == pid


# ---------- thresholds ----------

@pytest.mark.parametrize("target_ok", [True, False], ids=["met", "not-met"])
def test_max_fail_ratio(procs, sups, tmp_path, locustfile, http_target, target_ok):
    web = free_port()
    target = http_target if target_ok else f"http://127.0.0.1:{free_port()}"
    p = supervisor(procs, tmp_path, locustfile, "standalone", TARGET_URL=target,
                   LOCUST_OPTS=f"{web_opts(web)} --autostart -u 2 -r 2",
                   LOCUST_ECS_HEALTH_MAX_FAIL_RATIO="0.5")
    sups.append(p)

    def users_running():
        rc, doc = health_json(p.env)
        st = doc.get("web", {}).get("stats", {})
        return (rc, doc) if st.get("user_count", 0) > 0 and st.get("current_rps", 0) > 0 else None
    rc, doc = wait_for(users_running, 20, every=0.3, what="the test running")
    if target_ok:
        assert rc == 0 and "fail ratio 0.000" in doc["reason"], doc["reason"]
    else:
        assert rc == 1, doc["reason"]
        assert "fail ratio 1.000 is above LOCUST_ECS_HEALTH_MAX_FAIL_RATIO=0.5" in doc["reason"]


# ---------- web auth ----------

def test_web_auth(procs, sups, tmp_path, locustfile, http_target):
    web = free_port()
    p = supervisor(procs, tmp_path, locustfile, "auth-env", TARGET_URL=http_target,
                   LOCUST_OPTS=web_opts(web), LOCUST_WEB_AUTH=f"user:{SECRET}")
    sups.append(p)
    out = wait_verdict(p.env, 0, "the web UI answered")
    rc, doc = health_json(p.env)
    assert rc == 0 and doc["web"]["auth_source"] == "LOCUST_WEB_AUTH"
    wrong = dict(p.env, LOCUST_WEB_AUTH="user:wrong")
    r = health(wrong)
    assert r.returncode == 1 and "answered 401: it refused the credentials" in r.stdout
    none = {k: v for k, v in p.env.items() if k != "LOCUST_WEB_AUTH"}
    r2 = health(none)
    assert r2.returncode == 1 and "answered 401: it wants credentials" in r2.stdout
    assert_no_secret(out, json.dumps(doc), r.stdout, r.stderr, r2.stdout)

    # --web-auth in LOCUST_OPTS
    web2 = free_port()
    q = supervisor(procs, tmp_path, locustfile, "auth-opts", state="state2",
                   TARGET_URL=http_target,
                   LOCUST_OPTS=f"{web_opts(web2)} --web-auth user:{SECRET}")
    sups.append(q)
    out = wait_verdict(q.env, 0, "the web UI answered")
    rc, doc = health_json(q.env)
    assert doc["web"]["auth_source"] == "--web-auth of the engine's command line"
    assert_no_secret(out, json.dumps(doc))

    # --web-auth as the container's command: the check finds it in the engine's argv
    web3 = free_port()
    s = supervisor(procs, tmp_path, locustfile, "auth-argv", state="state3",
                   args=["--web-auth", f"user:{SECRET}"], TARGET_URL=http_target,
                   LOCUST_OPTS=web_opts(web3))
    sups.append(s)
    out = wait_verdict(s.env, 0, "the web UI answered")
    rc, doc = health_json(s.env)
    assert doc["web"]["auth_source"] == "--web-auth of the engine's command line"
    assert_no_secret(out, json.dumps(doc))


# ---------- a supervisor that died ----------

def test_dead_supervisor(procs, tmp_path, locustfile, http_target):
    web = free_port()
    p = supervisor(procs, tmp_path, locustfile, "doomed", TARGET_URL=http_target,
                   LOCUST_OPTS=web_opts(web))
    wait_verdict(p.env, 0)
    left = below(p.pid)
    try:
        os.kill(p.pid, signal.SIGKILL)
        p.wait(5)
        r = health(p.env)
        assert r.returncode == 1, r.stdout
        assert f"the supervisor (pid {p.pid})" in r.stdout and "is gone" in r.stdout
    finally:
        kill_left(left)


# ---------- hand-written documents: each cause ----------

def test_state_missing(tmp_path):
    env = base_env(tmp_path)
    r = health(env)
    assert r.returncode == 1 and "no state document at" in r.stdout
    assert env["LOCUST_ECS_STATE_DIR"] in r.stdout


@pytest.mark.parametrize("raw,why", [
    ("", "corrupt or truncated"),
    ("{\"version\":1,\"pid\":", "corrupt or truncated"),
    ("not json at all\n", "corrupt or truncated"),
    ("[1,2,3]", "not a JSON object"),
    ("{\"version\":2,\"pid\":1,\"role\":\"worker\",\"phase\":\"running\",\"engines\":[]}",
     "lacks version 1"),
    ("{\"version\":1,\"pid\":1,\"role\":\"worker\",\"phase\":\"running\"}", "no engines array"),
])
def test_state_corrupt(fake, raw, why):
    fake.write(raw=raw)
    r = health(fake.env)
    assert r.returncode == 1 and why in r.stdout, r.stdout


def test_state_too_large(fake):
    fake.write(raw="{" + " " * (300 * 1024) + "}")
    r = health(fake.env)
    assert r.returncode == 1 and "larger than" in r.stdout


def test_state_unreadable(fake):
    # root reads any file whatever its mode: a directory in its place cannot be read
    os.mkdir(fake.path)
    r = health(fake.env)
    assert r.returncode == 1 and "it is a directory" in r.stdout, r.stdout
    os.rmdir(fake.path)
    # a FIFO with no writer must not make the check wait
    os.mkfifo(fake.path)
    r = health(fake.env)
    # (blocked, it would run until its 4 s backstop)
    assert r.returncode == 1 and "not a regular file" in r.stdout and r.elapsed < 2.0
    os.unlink(fake.path)
    # a dangling symlink
    os.symlink("/nonexistent/state.json", fake.path)
    r = health(fake.env)
    assert r.returncode == 1 and "no state document" in r.stdout


def test_state_mode_000(tmp_path):
    """A document the check's user may not read. Root reads whatever the mode, so as root
    the check runs as nobody, on a state directory nobody may enter but not read."""
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="le-hc-", dir="/tmp")
    try:
        os.chmod(d, 0o755)
        path = os.path.join(d, "state.json")
        with open(path, "w") as f:
            f.write("{}")
        os.chmod(path, 0)
        env = base_env(tmp_path, LOCUST_ECS_STATE_DIR=d)
        kw = {"user": 65534, "group": 65534} if os.geteuid() == 0 else {}
        # a copy nobody can reach: the checkout's build/ may sit in a private directory
        hc = os.path.join(tempfile.mkdtemp(prefix="le-hcbin-", dir="/tmp"), "hc")
        os.chmod(os.path.dirname(hc), 0o755)
        shutil.copy(HEALTH, hc)
        os.chmod(hc, 0o755)
        try:
            r = subprocess.run([hc], env=env, capture_output=True, text=True, timeout=10,
                               **kw)
        finally:
            shutil.rmtree(os.path.dirname(hc), ignore_errors=True)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "unable to read the state document" in r.stdout, r.stdout
        assert "Permission denied" in r.stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_short_timeout(fake, silent):
    fake.doc["web"]["port"] = silent.port
    fake.write()
    env = dict(fake.env, LOCUST_ECS_HEALTH_TIMEOUT="500ms")
    r = health(env)
    assert r.returncode == 1 and "did not answer within" in r.stdout, r.stdout


def _dead_engine(d, f):
    d["engines"][0]["pid"] = unused_pid()


CASES = [
    ("supervisor gone", lambda d, f: d.update(pid=unused_pid()), 1, "is gone: the state is stale"),
    ("supervisor pid reused", lambda d, f: d.update(pid_start_ticks=d["pid_start_ticks"] + 1),
     1, "is another process now (pid reused"),
    ("draining", lambda d, f: d.update(phase="draining"), 1, "the engine has ended"),
    ("failed phase (never written)", lambda d, f: d.update(phase="failed"), 1,
     "phase \"failed\" is unknown"),
    ("stopping", lambda d, f: d.update(phase="stopping"), 1, "the supervisor is stopping"),
    ("unknown phase", lambda d, f: d.update(phase="dancing"), 1, "phase \"dancing\" is unknown"),
    ("starting", lambda d, f: d.update(phase="starting"), 0, "the supervisor is starting"),
    ("restarting", lambda d, f: d.update(phase="restarting",
                                         last_restart_reason="the master moved"),
     0, "restarting the engines: the master moved"),
    ("deadline passed", lambda d, f: d.update(
        role="worker", phase="waiting",
        master={"host": "master.locust", "address": None, "port": 0,
                "wait_deadline": now_ms() - 5000}),
     1, "the master master.locust was not reachable before the deadline"),
    ("waiting before the deadline", lambda d, f: d.update(
        role="worker", phase="resolving",
        master={"host": "master.locust", "address": None, "port": 0,
                "wait_deadline": now_ms() + 60000}),
     0, "waiting for the master master.locust (resolving for"),
    ("rejoining", lambda d, f: d.update(
        role="worker", phase="rejoining",
        master={"host": "master.locust", "address": "10.0.0.5", "port": 5557,
                "wait_deadline": 0}),
     0, "no deadline"),
    ("engine gone", _dead_engine, 1, ") is gone"),
    ("engine pid reused", lambda d, f: d["engines"][0].update(
        start_ticks=d["engines"][0]["start_ticks"] + 1), 1, "is another process now"),
    ("engine awaiting a restart", lambda d, f: d["engines"][0].update(pid=0),
     1, "engine 1 is not running: restarting after a crash"),
    ("engine quit", lambda d, f: d["engines"][0].update(pid=0, last_status=0),
     1, "engine 1 is not running: it exited with status 0"),
    ("no engine", lambda d, f: d.update(engines=[]), 1, "the state lists no engine"),
    ("standalone headless", lambda d, f: d["web"].update(headless=True),
     0, "standalone, headless"),
    ("headless master, port closed", lambda d, f: (d.update(role="master"),
                                                    d["web"].update(headless=True)),
     1, "headless master: 127.0.0.1 port"),
    ("worker within the grace", lambda d, f: (
        d.update(role="worker", master={"host": "m", "address": "127.0.0.1", "port": 5557,
                                        "wait_deadline": 0}),
        d["engines"][0].update(started=now_ms() - 1500)),
     0, "engine 1 started 1"),
    ("worker without a connection", lambda d, f: d.update(
        role="worker", master={"host": "m", "address": "127.0.0.1", "port": 5557,
                               "wait_deadline": 0}),
     1, "holds no ESTABLISHED connection to the master 127.0.0.1:5557"),
    ("worker with an IPv6 master", lambda d, f: d.update(
        role="worker", master={"host": "m", "address": "fd00::5", "port": 5557,
                               "wait_deadline": 0}),
     1, "the master [fd00::5]:5557"),
    ("worker, no master address", lambda d, f: d.update(
        role="worker", master={"host": "m", "address": None, "port": 0, "wait_deadline": 0}),
     1, "no usable master address"),
]


@pytest.mark.parametrize("name,mutate,rc,text", CASES, ids=[c[0] for c in CASES])
def test_handwritten(fake, name, mutate, rc, text):
    mutate(fake.doc, fake)
    fake.write()
    r = health(fake.env)
    assert r.returncode == rc, r.stdout
    assert text in r.stdout, r.stdout
    assert r.stdout.startswith("healthy: " if rc == 0 else "unhealthy: ")
    jrc, doc = health_json(fake.env)
    assert jrc == rc and text in doc["reason"]


def test_control_characters_stay_on_one_line(fake):
    fake.doc.update(phase="restarting", last_restart_reason="line one\nline two\x1b[31m")
    fake.write()
    r = health(fake.env)
    assert r.returncode == 0 and "line one?line two?[31m" in r.stdout


# ---------- the time bound ----------

@pytest.mark.parametrize("timeout", [None, "1s"], ids=["default-4s", "1s"])
def test_hanging_web_ui_is_bounded(fake, silent, timeout):
    fake.doc["web"]["port"] = silent.port
    fake.write()
    env = dict(fake.env)
    limit = 4.0
    if timeout:
        env["LOCUST_ECS_HEALTH_TIMEOUT"] = timeout
        limit = 1.0
    r = health(env)
    assert r.returncode == 1, r.stdout
    assert f"the web UI at http://127.0.0.1:{silent.port}/stats/requests did not answer" in r.stdout
    # the check ends itself a quarter of its timeout early; the 0.5 s over the limit are
    # for starting a process on a loaded machine, not for the check
    assert r.elapsed < limit + 0.5, f"took {r.elapsed:.2f}s, over {limit}s"
    assert silent.conns, "the check connected"


@pytest.mark.parametrize("bind,addr", [("[::1]", "::1"), ("::1", "::1"), ("127.0.0.4", "127.0.0.4"),
                                       ("0.0.0.0", "127.0.0.1"), ("*", "127.0.0.1")])
def test_headless_master_bind_host_forms(fake, bind, addr):
    """The bind host as a user may write it: an IPv6 literal with or without brackets, an
    address, a wildcard (probed on loopback). A ZMQ ROUTER stands for the master."""
    port = free_port(addr)
    ctx, s = zmq_router(addr, port)
    try:
        fake.doc.update(role="master", master_bind_port=port, master_bind_host=bind)
        fake.doc["web"]["headless"] = True
        fake.write()
        rc, doc = health_json(fake.env)
        assert rc == 0 and doc["probe"]["address"] == addr and doc["probe"]["up"], doc
    finally:
        s.close(0)
        ctx.term()


def test_hanging_master_port_is_bounded(fake, silent):
    fake.doc.update(role="master", master_bind_port=silent.port)
    fake.doc["web"]["headless"] = True
    fake.write()
    env = dict(fake.env, LOCUST_ECS_HEALTH_TIMEOUT="1500ms")
    r = health(env)
    assert r.returncode == 1 and f"headless master: 127.0.0.1 port {silent.port}" in r.stdout, r.stdout
    assert r.elapsed < 1.5 + 0.5, f"took {r.elapsed:.2f}s"


def test_backstop_timer(fake, silent):
    """Whatever the check waits on, a timer ends it: here the check is stopped (SIGSTOP)
    while it waits for the hanging web UI, past its whole timeout; on SIGCONT the pending
    timer ends it at once with "timed out"."""
    fake.doc["web"]["port"] = silent.port
    fake.write()
    env = dict(fake.env, LOCUST_ECS_HEALTH_TIMEOUT="3s")
    t0 = time.monotonic()
    p = subprocess.Popen([HEALTH, "--json"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: silent.conns, 2, every=0.01, what="the check to connect")
        os.kill(p.pid, signal.SIGSTOP)
        # stopped before its own deadline (a quarter of the timeout early, at 2.25 s)
        assert time.monotonic() - t0 < 2.2, "this machine was too slow to stop it in time"
        time.sleep(3.3)
        os.kill(p.pid, signal.SIGCONT)
        out, _ = p.communicate(timeout=5)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
    assert p.returncode == 1
    doc = json.loads(out)
    assert doc["healthy"] is False
    assert doc["reason"] == "timed out after 2950 ms while asking the web UI", doc


def test_bad_environment_and_usage(fake):
    fake.write()
    r = health(dict(fake.env, LOCUST_ECS_HEALTH_TIMEOUT="soon"))
    assert r.returncode == 1 and "is not a duration" in r.stdout
    assert "LOCUST_ECS_HEALTH_TIMEOUT" in r.stdout
    r = health(dict(fake.env, LOCUST_ECS_STATE_DIR="relative/dir"))
    assert r.returncode == 1 and "LOCUST_ECS_STATE_DIR" in r.stdout and "absolute" in r.stdout
    r = subprocess.run([HEALTH, "--bogus"], env=fake.env, capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 1 and "unknown argument" in r.stderr
    r = subprocess.run([HEALTH, "--help"], env=fake.env, capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0 and "usage: locust-healthcheck" in r.stdout


# ---------- a web UI that answers 200 with the wrong thing ----------

@pytest.mark.parametrize("body,why", [
    (b"<html>hello</html>", "not with Locust's stats"),
    (b'{"state": "running", "workers": "many"}', "not with Locust's stats"),
    (b'[1, 2, 3]', "not with Locust's stats"),
    (b'{"stats": []}', "not with Locust's stats"),
])
def test_web_ui_200_with_wrong_body(fake, body, why):
    from http.server import BaseHTTPRequestHandler, HTTPServer
    import threading

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    srv = HTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        fake.doc["web"]["port"] = srv.server_address[1]
        fake.write()
        r = health(fake.env)
        assert r.returncode == 1, r.stdout
        assert "answered 200 but" in r.stdout and why in r.stdout, r.stdout
    finally:
        srv.shutdown()
        srv.server_close()
