"""A Docker engine of the image tests' own: started here, stopped by pid, nothing left.

dockerd runs in a mount namespace of its own (unshare --mount) in which tmpfs hides
/etc/docker, /opt and /run: what the engine writes there (its key.json, containerd's
plugin directories, shim sockets) and every mount it makes (overlays, network namespace
files) go with the namespace. It has its own socket, pid file, --exec-root and
--data-root, leaves iptables, IP forwarding and br_netfilter alone
(--iptables=false --ip6tables=false --ip-forward=false --ip-masq=false), makes no default
bridge (--bridge=none) and gives every network it creates a subnet of one /24 of
198.18.0.0/15 that nothing on the machine uses (--default-address-pool). Containers'
cgroups go under a parent named after the run, removed at the end.

The data root is a cache (/var/tmp/locust-ecs-image/docker: the stand-in bases and the
build cache of `make image` survive between runs); a run that finds it in use by another
takes a fresh one of its own. Everything the tests made in the engine is removed before
it stops. Host state that Docker is known to change (iptables, forwarding and bridge
sysctls, interfaces, mounts, /etc/docker, /run/docker, /run/containerd, /opt/containerd)
is compared before and after: changes() lists what differs."""
import fcntl
import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time

from shared import processes_mentioning

DOCKERD = "/usr/sbin/dockerd"
DOCKER = "/usr/bin/docker"         # Debian's client; /usr/local/bin/docker may be another
COMPOSE = "/usr/bin/docker-compose"
CACHE = os.environ.get("LEC_IMAGE_CACHE", "/var/tmp/locust-ecs-image")

# in dockerd's own mount namespace: what it would write outside its roots lands in tmpfs
NS_SCRIPT = """set -e
for d in /etc/docker /opt /run; do
  [ -d "$d" ] && mount -t tmpfs -o mode=0755 lec-docker "$d"
done
exec "$@"
"""

HOST_PATHS = ("/etc/docker/key.json", "/opt/containerd", "/run/docker", "/run/containerd",
              "/var/run/docker.sock")
SYSCTLS = ("net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding",
           "net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables",
           "net/bridge/bridge-nf-call-arptables", "net/ipv4/conf/all/route_localnet")


def skip_reason():
    """Why this machine cannot run the image tests (None when it can)."""
    if os.geteuid() != 0:
        return "the image tests start their own Docker engine: they need root"
    for path, pkg in ((DOCKERD, "docker.io"), (DOCKER, "docker.io"),
                      ("/usr/sbin/debootstrap", "debootstrap"), ("/usr/bin/unshare",
                                                                 "util-linux")):
        if not os.path.exists(path):
            return f"the image tests need {path} (Debian package {pkg}; see .ci/deps)"
    return None


def _run(argv, timeout, env=None, check=True, input=None):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                       input=input)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:6])}...: exit {r.returncode}: "
                           f"{(r.stderr or r.stdout).strip()[-2000:]}")
    return r


def _ip(*args):
    return _run(["ip", *args], 15, check=False).stdout


def _used_nets():
    """/24s of 198.18.0.0/15 with an address or a route on this machine."""
    used = set()
    for out in (_ip("-4", "-o", "addr", "show"), _ip("-4", "route", "show", "table", "all")):
        for tok in out.split():
            if tok.startswith(("198.18.", "198.19.")):
                used.add(".".join(tok.split("/")[0].split(".")[:3]))
    return used


def host_state():
    """What Docker may change on a host, as comparable values."""
    st = {}
    for s in SYSCTLS:
        try:
            with open(f"/proc/sys/{s}") as f:
                st["sysctl " + s] = f.read().strip()
        except OSError:
            st["sysctl " + s] = None
    for tool in ("iptables-save", "ip6tables-save"):
        if shutil.which(tool):
            out = _run([tool], 30, check=False).stdout
            st[tool] = "\n".join(re.sub(r"\[\d+:\d+\]", "", line) for line in
                                 out.splitlines() if not line.startswith("#"))
    links = set(re.findall(r"^\d+: ([^:@]+)", _ip("-o", "link", "show"), re.M))
    st["links"] = {x for x in links if x.startswith(("br-", "docker", "veth"))}
    with open("/proc/self/mountinfo") as f:
        mounts = {line.split()[4] for line in f}
    st["mounts"] = {m for m in mounts if re.search(r"docker|containerd|overlay|lec-dock", m)}
    for p in HOST_PATHS:
        st["path " + p] = os.path.lexists(p)
    return st


def diff_state(before, after):
    out = []
    for k in sorted(set(before) | set(after)):
        b, a = before.get(k), after.get(k)
        if isinstance(b, set) and isinstance(a, set):
            if a - b:
                out.append(f"{k}: new {sorted(a - b)}")
        elif b != a:
            out.append(f"{k}: {b!r} -> {a!r}")
    return out


class Engine:
    """dockerd and its client. docker(...) runs Debian's client against this engine only."""

    def __init__(self, logdir):
        self.logdir = logdir
        self.run_dir = tempfile.mkdtemp(prefix="lec-dock-", dir="/tmp")
        self.sock = os.path.join(self.run_dir, "docker.sock")
        self.pidfile = os.path.join(self.run_dir, "docker.pid")
        self.tag = f"lec-dock-{os.getpid():x}{random.randint(0, 0xfff):03x}"
        self.proc = None
        self.lock = None
        self.data_root = None
        self.cached_root = False
        self.before = None
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{self.sock}",
                        DOCKER_CONFIG=os.path.join(self.run_dir, "client"))
        self.env.pop("DOCKER_BUILDKIT", None)
        self.slots = {}  # network name -> its /28 of the pool
        self.pool = None

    # ----- start and stop -----

    def _take_data_root(self):
        os.makedirs(CACHE, exist_ok=True)
        self.lock = open(os.path.join(CACHE, "docker.lock"), "w")
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.data_root = os.path.join(CACHE, "docker")
            self.cached_root = True
        except BlockingIOError:
            self.lock.close()
            self.lock = None
            self.data_root = os.path.join(self.run_dir, "data")

    def _pick_pool(self):
        used = _used_nets()
        for _ in range(200):
            n = random.randint(0, 511)
            net = f"198.{18 + n // 256}.{n % 256}"
            if net not in used:
                return f"{net}.0/24"
        raise RuntimeError("no free /24 in 198.18.0.0/15 for the engine's networks")

    def start(self, timeout=60):
        self.before = host_state()
        self._take_data_root()
        self.pool = self._pick_pool()
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", NS_SCRIPT,
                "sh", DOCKERD, f"--data-root={self.data_root}",
                f"--exec-root={os.path.join(self.run_dir, 'exec')}",
                f"--host=unix://{self.sock}", f"--pidfile={self.pidfile}",
                "--iptables=false", "--ip6tables=false", "--ip-forward=false",
                "--ip-masq=false", "--bridge=none", "--ipv6=false",
                f"--cgroup-parent=/{self.tag}",
                f"--default-address-pool=base={self.pool},size=28",
                "--log-level=warn"]
        self.log_path = os.path.join(self.logdir, "dockerd.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited {self.proc.returncode}: "
                                   f"{self.log()[-3000:]}")
            if os.path.exists(self.sock) and \
                    self.docker("version", "--format", "{{.Server.Version}}", check=False,
                                timeout=10).returncode == 0:
                self._clear()
                return self
            time.sleep(0.2)
        raise RuntimeError(f"dockerd did not answer within {timeout}s: {self.log()[-3000:]}")

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def _clear(self):
        """Containers, networks, volumes and old untagged images (a cached data root may
        hold what a killed run left)."""
        ids = self.docker("ps", "-aq", timeout=30).stdout.split()
        if ids:
            self.docker("rm", "-f", "-v", *ids, timeout=120, check=False)
        nets = self.docker("network", "ls", "-q", "--filter", "type=custom",
                           timeout=30).stdout.split()
        for n in nets:
            self.docker("network", "rm", n, timeout=60, check=False)
        self.docker("volume", "prune", "-f", timeout=60, check=False)
        # untagged images a day old: what is younger is the build cache of make image
        self.docker("image", "prune", "-f", "--filter", "until=24h", timeout=120, check=False)

    def stop(self):
        """Removes what the tests made, stops dockerd by its pid (SIGTERM, then SIGKILL
        after 30 s), ends what it left by pid, removes its cgroups and run dir. Returns
        what differs on the host from before the start (empty when nothing)."""
        notes = []
        if self.proc and self.proc.poll() is None:
            try:
                self._clear()
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                notes.append(f"clearing the engine: {e}")
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                notes.append("dockerd did not stop within 30 s of SIGTERM: killed")
                self.proc.kill()
                self.proc.wait(10)
        # containerd and its shims name the run dir in their command lines; they end
        # soon after dockerd
        end = time.monotonic() + 10
        while processes_mentioning(self.run_dir) and time.monotonic() < end:
            time.sleep(0.2)
        for pid, cmd in processes_mentioning(self.run_dir):
            notes.append(f"left by dockerd, killed: pid {pid} {cmd}")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
            for ctl in os.listdir(root) if os.path.isdir(root) else []:
                d = os.path.join(root, ctl, self.tag)
                if os.path.isdir(d):
                    try:
                        os.rmdir(d)
                    except OSError as e:
                        notes.append(f"cgroup {d}: {e}")
        if self.lock:
            self.lock.close()
        if hasattr(self, "_log"):
            self._log.close()
        shutil.rmtree(self.run_dir, ignore_errors=True)
        if self.before is not None:
            notes += diff_state(self.before, host_state())
        return notes

    # ----- the client -----

    def client(self):
        return [DOCKER]

    def docker(self, *args, timeout=60, check=True, input=None):
        return _run([DOCKER, *args], timeout, env=self.env, check=check, input=input)

    def compose(self, *args, timeout=120, check=True, env=None):
        return _run([COMPOSE, *args], timeout, env=dict(self.env, **(env or {})),
                    check=check)

    def inspect(self, name):
        r = self.docker("inspect", name, check=False, timeout=30)
        return json.loads(r.stdout)[0] if r.returncode == 0 else None

    def network(self, name):
        """A user-defined bridge network on a free /28 of the upper half of the engine's
        /24 (networks Docker makes by itself, as Compose's, come from the bottom);
        returns (name, subnet prefix such as "198.19.7.240")."""
        free = [i for i in range(15, 7, -1) if i not in self.slots.values()]
        if not free:
            raise RuntimeError("no free /28 for another network in the engine's /24")
        net = self.pool.rsplit(".", 1)[0] + f".{16 * free[0]}"
        self.docker("network", "create", "--subnet", f"{net}/28", name, timeout=60)
        self.slots[name] = free[0]
        return name, net

    def drop_network(self, name):
        self.docker("network", "rm", name, check=False, timeout=60)
        self.slots.pop(name, None)
