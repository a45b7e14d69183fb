"""Shared helpers of the integration tests: real binaries, real Locust, every process ended."""
import fcntl
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("LE_BUILD", os.path.join(ROOT, "build"))
ENTRY = os.path.join(BUILD, "locust-entrypoint")
HEALTH = os.path.join(BUILD, "locust-healthcheck")
PY = "/usr/bin/python3"
LOCUST = "/usr/bin/locust"
FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "engines", "fake_engine.py")
CHROOT_LOCUST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "engines",
                             "chroot_locust.py")
PLUGIN = os.path.join(ROOT, "plugin", "locust_ecs_webauth.py")
# the newest Locust the tests run: Debian sid's, in a root that .ci/sid-locust makes
SID_ROOT = os.environ.get("LE_SID_ROOT", "/var/tmp/locust-ecs-chroot-sid-locust")

# Debian's python3-locust 2.12.1 has an empty version string, which a master rejects
# from a worker; the shim sets it (DESIGN.md). Images FROM locustio/locust need none.
LOCUSTFILE = '''
import locust.runners as r
r.__version__ = r.__version__ or "2.12.1"
from locust import HttpUser, task, constant

class WebsiteUser(HttpUser):
    wait_time = constant(0.05)

    @task
    def index(self):
        self.client.get("/")
'''


_given_ports = set()


def free_port(host="127.0.0.1", udp=False):
    """A port free on host now (for UDP too when udp), never one handed out before in this
    run: two calls in a row cannot give one number to two servers."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(200):
        with socket.socket(fam) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port in _given_ports:
            continue
        if udp:
            try:
                with socket.socket(fam, socket.SOCK_DGRAM) as u:
                    u.bind((host, port))
            except OSError:
                continue
        _given_ports.add(port)
        return port
    raise AssertionError(f"no free port on {host}")


def wait_for(pred, timeout=10.0, every=0.05, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def port_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def get_json(url, timeout=2.0, auth=None):
    req = urllib.request.Request(url)
    if auth:
        import base64
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def log_lines(lines):
    """The supervisor's JSON lines among lines (others, such as Locust's, are skipped)."""
    out = []
    for line in lines:
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if isinstance(o, dict) and "event" in o:
            out.append(o)
    return out


def read_log(path):
    """The supervisor's JSON lines in a file."""
    try:
        with open(path, "rb") as f:
            return log_lines(f)
    except FileNotFoundError:
        return []


class Proc:
    """A process we started: its own process group, output to files, ended by pid."""

    def __init__(self, argv, env=None, cwd=None, logdir=None, name="proc", stdin=None,
                 stderr=None, stdout=None, **popen_kw):
        self.name = name
        self.out = os.path.join(logdir, f"{name}.out")
        self.err = os.path.join(logdir, f"{name}.err")
        self._o = open(self.out, "wb")
        self._e = open(self.err, "wb")
        popen_kw.setdefault("start_new_session", True)
        self.p = subprocess.Popen(argv, env=env, cwd=cwd,
                                  stdout=stdout if stdout is not None else self._o,
                                  stderr=stderr if stderr is not None else self._e,
                                  stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                  **popen_kw)
        self.pid = self.p.pid

    def wait(self, timeout):
        try:
            return self.p.wait(timeout)
        finally:
            pass

    def poll(self):
        return self.p.poll()

    def signal(self, sig):
        if self.p.poll() is None:
            os.kill(self.pid, sig)

    def stderr(self):
        with open(self.err, "rb") as f:
            return f.read().decode(errors="replace")

    def stdout(self):
        with open(self.out, "rb") as f:
            return f.read().decode(errors="replace")

    def log(self):
        return read_log(self.err)

    def events(self):
        return [o["event"] for o in self.log()]

    def kill(self):
        # a supervisor's engines lead process groups of their own: a SIGKILL of the
        # supervisor alone would leave them running, so every descendant is ended by pid
        below = descendants_of(self.pid) if self.p.poll() is None else []
        if self.p.poll() is None:
            for pid in [self.pid] + below:
                for kill in (os.killpg, os.kill):
                    try:
                        kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self._o.close()
        self._e.close()


class Procs:
    def __init__(self, logdir):
        self.logdir = logdir
        self.all = []
        self.n = 0

    def start(self, argv, env=None, name=None, **kw):
        self.n += 1
        p = Proc(argv, env=env, logdir=self.logdir, name=name or f"p{self.n}", **kw)
        self.all.append(p)
        return p

    def cleanup(self):
        for p in reversed(self.all):
            p.kill()


def processes_mentioning(text):
    """Pids whose command line contains text (this test's own directory)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd:
            out.append((int(d), cmd[:160]))
    return out


@pytest.fixture
def procs(tmp_path):
    ps = Procs(str(tmp_path))
    yield ps
    ps.cleanup()
    # nothing a test started may outlive it: engines lead groups of their own, so a
    # leak here means a supervisor (or this harness) lost track of a process. Those the
    # cleanup has just killed may take a moment to go on a loaded machine.
    try:
        wait_for(lambda: not processes_mentioning(str(tmp_path)), 5, every=0.05)
    except AssertionError:
        pass
    left = processes_mentioning(str(tmp_path))
    for pid, _ in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not left, f"processes left behind: {left}"


@pytest.fixture
def locustfile(tmp_path):
    p = tmp_path / "locustfile.py"
    p.write_text(LOCUSTFILE)
    return str(p)


def base_env(tmp_path, **extra):
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LOCUST_ECS_STATE_DIR": str(tmp_path / "state"),
        "LOCUST_ECS_LOG_FORMAT": "json",
        "LOCUST_ECS_METADATA": "off",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture
def http_target(procs, tmp_path):
    """A real HTTP server on loopback: the load test's target."""
    port = free_port()
    d = tmp_path / "www"
    d.mkdir()
    (d / "index.html").write_text("ok\n")
    procs.start([PY, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                 "--directory", str(d)], name="target")
    wait_for(lambda: port_open("127.0.0.1", port), 10, what="the HTTP target")
    return f"http://127.0.0.1:{port}"


def start_master(procs, locustfile, bind="127.0.0.1", port=None, web_port=None,
                 extra=(), name="master", env=None, locust=LOCUST):
    """A real Locust master on bind:port with its web UI on bind:web_port (locust: the
    program, Debian 12's by default; Newest.locust for the newest)."""
    port = port or free_port(bind)
    web_port = web_port or free_port(bind)
    argv = [locust, "-f", locustfile, "--master", "--master-bind-host", bind,
            "--master-bind-port", str(port), "--web-host", bind, "--web-port",
            str(web_port), *extra]
    p = procs.start(argv, env=env or {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}, name=name)
    wait_for(lambda: port_open(bind, port), 15, what=f"master port {bind}:{port}")
    p.port = port
    p.web_port = web_port
    p.bind = bind
    return p


def workers_of(master, states=("ready", "running", "spawning")):
    """Workers the master lists as connected (Locust 2.12 has no worker_count)."""
    try:
        d = get_json(f"http://{master.bind}:{master.web_port}/stats/requests")
    except OSError:
        return []
    return [w for w in d.get("workers", []) if w.get("state") in states]


def children_of(pid):
    """Pids whose parent is pid (from /proc)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        if ppid == pid:
            out.append(int(d))
    return out


def descendants_of(pid):
    seen, todo = [], [pid]
    while todo:
        for c in children_of(todo.pop()):
            seen.append(c)
            todo.append(c)
    return seen


def start_ticks(pid):
    """When pid started (field 22 of /proc/PID/stat): with the pid, names one process."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    return int(s[s.rindex(")") + 2:].split()[19])


def below(pid):
    """The descendants of pid, each with its start time, so that they can be ended later
    by pid without hitting a process that reused one."""
    out = []
    for d in descendants_of(pid):
        try:
            out.append((d, start_ticks(d)))
        except (OSError, ValueError, IndexError):
            pass
    return out


def kill_left(left):
    """SIGKILL each (pid, start time) of left that is still the same process."""
    for pid, ticks in left:
        try:
            if start_ticks(pid) == ticks:
                os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass


def stop_supervisor(p, timeout=20):
    """SIGTERM as ECS sends it; the exit status, or None when it outlived timeout. Whatever
    the supervisor left (its engines lead process groups of their own) is killed by pid."""
    left = below(p.pid)
    p.signal(signal.SIGTERM)
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        return None
    finally:
        kill_left(left)


class Dnsmasq:
    """A real DNS server on loopback standing in for Cloud Map: records in a hosts file,
    changed during a test and reloaded with SIGHUP."""

    def __init__(self, procs, tmp_path, domain="locust", srv=()):
        import shutil
        exe = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
        self.port = free_port(udp=True)
        self.hosts = tmp_path / "cloudmap.hosts"
        self.hosts.write_text("")
        argv = [exe, "--no-daemon", "--no-resolv", "--no-hosts", "--bind-interfaces",
                "--listen-address=127.0.0.1", f"--port={self.port}", "--user=root",
                f"--addn-hosts={self.hosts}", "--local-ttl=1", "--neg-ttl=1",
                f"--local=/{domain}/", "--log-facility=-", "--pid-file="]
        for owner, target, port in srv:
            argv.append(f"--srv-host={owner},{target},{port}")
        self.proc = procs.start(argv, name="dnsmasq")
        self.servers = f"127.0.0.1:{self.port}"
        wait_for(self._answers, 10, what="dnsmasq")

    def _answers(self):
        import socket as s
        q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04ping\x06locust\x00\x00\x01\x00\x01"
        with s.socket(s.AF_INET, s.SOCK_DGRAM) as u:
            u.settimeout(0.2)
            try:
                u.sendto(q, ("127.0.0.1", self.port))
                return u.recv(512)[:2] == b"\x12\x34"
            except OSError:
                return False

    def set(self, records):
        """records: {name: [address, ...]}; replaces every record, then reloads."""
        lines = [f"{a} {n}" for n, addrs in records.items() for a in addrs]
        self.hosts.write_text("\n".join(lines) + "\n")
        os.kill(self.proc.pid, signal.SIGHUP)
        time.sleep(0.2)


@pytest.fixture
def dns(procs, tmp_path):
    return Dnsmasq(procs, tmp_path)


def fake_env(tmp_path, mode, arg="0", **extra):
    """The environment of a supervisor whose engine is the stand-in engines/fake_engine.py,
    doing `mode`; it notes what it sees in tmp_path/fake.out."""
    lf = tmp_path / "lf.py"
    lf.write_text("# unused by the fake engine\n")
    return base_env(tmp_path, **{"LOCUST_ECS_ENGINE": FAKE, "LOCUSTFILE_PATH": str(lf),
                                 "FAKE_MODE": mode, "FAKE_ARG": arg,
                                 "FAKE_OUT": str(tmp_path / "fake.out"), **extra})


def zmq_router(host, port):
    """A ZMQ ROUTER bound like a master's port, with no Locust behind it: (context, socket)."""
    import zmq
    ctx = zmq.Context()
    s = ctx.socket(zmq.ROUTER)
    if ":" in host:
        s.setsockopt(zmq.IPV6, 1)
        s.bind(f"tcp://[{host}]:{port}")
    else:
        s.bind(f"tcp://{host}:{port}")
    return ctx, s


def notes(tmp_path):
    """What the fake engine noted, a line each."""
    p = tmp_path / "fake.out"
    return p.read_text().splitlines() if p.exists() else []


def has_note(tmp_path, text):
    return any(text in l for l in notes(tmp_path))


def fill_pipe(w):
    """Fills the pipe behind w to the last byte, then makes w blocking again."""
    fl = fcntl.fcntl(w, fcntl.F_GETFL)
    fcntl.fcntl(w, fcntl.F_SETFL, fl | os.O_NONBLOCK)
    n = 0
    try:
        while True:
            n += os.write(w, b"x" * 4096)
    except BlockingIOError:
        pass
    try:
        while True:
            n += os.write(w, b"x")
    except BlockingIOError:
        pass
    fcntl.fcntl(w, fcntl.F_SETFL, fl)
    return n


class Newest:
    """The newest Locust (Debian sid's python3-locust), run from its own root on this host's
    loopback through engines/chroot_locust.py: as a supervisor's engine (env()) or as a
    master of its own (start_master(..., locust=n.locust, env=n.engine_env()))."""

    locust = CHROOT_LOCUST

    def __init__(self, version, tmp_path):
        self.version = version
        self.tmp = tmp_path
        # the plugin must be seen inside the root: a copy in the test's directory, which
        # the wrapper shows there
        self.plugin = str(tmp_path / "locust_ecs_webauth.py")
        with open(PLUGIN) as src, open(self.plugin, "w") as dst:
            dst.write(src.read())

    def engine_env(self, **extra):
        return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(self.tmp),
                "LE_CHROOT": SID_ROOT, "LE_CHROOT_BINDS": str(self.tmp),
                "PYTHONDONTWRITEBYTECODE": "1", **{k: str(v) for k, v in extra.items()}}

    def env(self, **extra):
        """A supervisor's environment (base_env) whose engine is the newest Locust."""
        return base_env(self.tmp, LOCUST_ECS_ENGINE=CHROOT_LOCUST, LE_CHROOT=SID_ROOT,
                        LE_CHROOT_BINDS=str(self.tmp),
                        LOCUST_ECS_LOCUST_VERSION=self.version,
                        LOCUST_ECS_WEB_AUTH_PLUGIN=self.plugin, **extra)


def sid_locust_version():
    """The version of the sid root's Locust, or None when there is no such root."""
    import glob
    found = glob.glob(f"{SID_ROOT}/usr/lib/python3/dist-packages/locust-*.dist-info")
    if not found or not os.path.exists(f"{SID_ROOT}/usr/bin/locust"):
        return None
    return found[0].rsplit("/locust-", 1)[1][:-len(".dist-info")]


@pytest.fixture(scope="session")
def sid_version():
    if os.geteuid() != 0:
        pytest.skip("the newest Locust runs in a chroot of its own: the tests need root")
    v = sid_locust_version()
    if not v:
        pytest.skip(f"no Debian sid root with the newest Locust at {SID_ROOT}: "
                    "`bash .ci/sid-locust` (as root) makes it")
    return v


@pytest.fixture
def newest(sid_version, tmp_path):
    return Newest(sid_version, tmp_path)
