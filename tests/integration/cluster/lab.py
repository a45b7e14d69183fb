"""An ECS-like cluster on one machine for test_cluster.py: a bridge, network namespaces.

The bridge lives in a network namespace of its own (the "lan"), joined to the host by
one veth pair that carries the host's address on the /24: traffic between tasks is
bridged there, never forwarded by the host, so the host's iptables FORWARD chain (DROP
where Docker runs with its defaults) and br_netfilter (bridge-nf-call-iptables=1) do not
touch it; the lan's own FORWARD chain is empty. The per-bridge nf_call_iptables=0 would
not do: the kernel calls iptables for bridged packets when that or the namespace's
sysctl is set.
A task is a network namespace with its own address in 198.18.0.0/15 on the bridge, its own
/etc/netns/<ns>/resolv.conf (the DNS namespace's dnsmasq, standing in for Cloud Map), its
own ECS metadata endpoint (metadata_server.py on 127.0.0.1 inside the namespace) and the
installed supervisor as its PID 1 (`ip netns exec NS unshare --pid --fork --mount-proc`).
A target namespace runs nginx. Every name made here starts with lec-<run> (links lec<run>);
teardown removes exactly what was made, and ends processes by pid."""
import copy
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

from conftest import LOCUSTFILE, PY, ROOT, Procs, children_of, port_open, read_log, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(ROOT, "tests", "fixtures", "ecs-metadata")
META_PORT = 51679        # the ECS agent's metadata port; each task has its own 127.0.0.1
MASTER_NAME = "master.locust"
MASTER_PORT = 5557
WEB_PORT = 8089
REGION = "us-west-2"
ACCOUNT = "111122223333"
CLUSTER = "lec-cluster"


def ip(*args, check=True, timeout=15):
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")
    return r


def start_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    return int(s[s.rindex(")") + 2:].split()[19])


def proc_alive(pid, ticks):
    """Is pid still the process that started at ticks (and not a zombie)?"""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return False
    rest = s[s.rindex(")") + 2:].split()
    return int(rest[19]) == ticks and rest[0] not in "ZX"


def kill_if_same(pid, ticks, sig=signal.SIGKILL):
    if proc_alive(pid, ticks):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


# ---------- a DNS client, enough to see what the tasks' resolver sees ----------

def dns_a(server, name, timeout=0.5):
    """A records of name at server:53: list of addresses, None for NXDOMAIN."""
    qid = random.randint(0, 0xffff)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    q += struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, (server, 53))
        data = s.recv(1500)
    rid, flags, qd, an, _, _ = struct.unpack(">HHHHHH", data[:12])
    if rid != qid:
        raise OSError("answer to another query")
    if flags & 0xf == 3:
        return None
    pos = 12

    def skip_name(p):
        while True:
            n = data[p]
            if n == 0:
                return p + 1
            if n & 0xc0 == 0xc0:
                return p + 2
            p += n + 1
    for _ in range(qd):
        pos = skip_name(pos) + 4
    out = []
    for _ in range(an):
        pos = skip_name(pos)
        typ, _, _, rdlen = struct.unpack(">HHIH", data[pos:pos + 10])
        pos += 10
        if typ == 1 and rdlen == 4:
            out.append(socket.inet_ntoa(data[pos:pos + 4]))
        pos += rdlen
    return out


# ---------- the lab ----------

class Lab:
    """The bridge, the DNS and target namespaces, and the tasks of one test."""

    def __init__(self, tmp_path, bindir):
        self.tmp = tmp_path
        self.entry = os.path.join(bindir, "locust-entrypoint")
        self.health_bin = os.path.join(bindir, "locust-healthcheck")
        logs = tmp_path / "logs"
        logs.mkdir(exist_ok=True)
        self.procs = Procs(str(logs))
        self.t0 = time.monotonic()
        self.timeline = []
        self.links, self.netns, self.etc_dirs, self.tasks = [], [], [], []
        self.bridge = self.host_link = self.lan = None
        self.made_etc_netns = False
        self.locustfile = str(tmp_path / "locustfile.py")
        (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
        self.next_host = 10
        self.health_times = []
        self.watcher = None

    # ----- timeline: what happened when, printed at the end of the test -----

    def now(self):
        return time.monotonic() - self.t0

    def note(self, text):
        self.timeline.append((self.now(), text))

    def dump_timeline(self):
        lines = [f"{t:7.2f}s  {x}" for t, x in self.timeline]
        (self.tmp / "timeline.txt").write_text("\n".join(lines) + "\n")
        print("\n--- cluster timeline ---\n" + "\n".join(lines))

    # ----- network -----

    def addr(self, host):
        return f"{self.net}.{host}"

    def _used_nets(self):
        used = set()
        for args in (("-4", "-o", "addr", "show"), ("-4", "route", "show", "table", "all")):
            for tok in ip(*args, check=False).stdout.split():
                if tok.startswith(("198.18.", "198.19.")):
                    used.add(".".join(tok.split("/")[0].split(".")[:3]))
        return used

    def _make_bridge(self):
        """The lan namespace with a bridge, on a /24 of 198.18.0.0/15 that nothing else on
        this machine uses; the host's end of the link to it has .1."""
        for _ in range(20):
            rid = f"{random.randint(0, 0xffff):04x}"
            used = self._used_nets()
            n = random.randint(1, 511)
            net = f"198.{18 + n // 256}.{n % 256}"
            if net in used:
                continue
            lan = f"lec-{rid}-lan"
            if ip("netns", "add", lan, check=False).returncode != 0:
                continue  # another run's name
            self.lan, self.rid, self.net = lan, rid, net
            self.netns.append(lan)
            self.bridge = f"lec{rid}br"
            uplink, peer = f"lec{rid}h1", f"lec{rid}c1"
            ip("netns", "exec", lan, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
               "net.ipv6.conf.default.disable_ipv6=1")
            ip("-n", lan, "link", "add", self.bridge, "type", "bridge")
            ip("-n", lan, "link", "set", self.bridge, "up")
            ip("link", "add", uplink, "type", "veth", "peer", "name", peer, "netns", lan)
            self.host_link = uplink
            ip("-n", lan, "link", "set", peer, "master", self.bridge)
            ip("-n", lan, "link", "set", peer, "up")
            v6 = f"/proc/sys/net/ipv6/conf/{uplink}/disable_ipv6"
            if os.path.exists(v6):
                with open(v6, "w") as f:
                    f.write("1")
            ip("addr", "add", f"{net}.1/24", "dev", uplink)
            # another run may have taken the same /24 at the same moment: then go again
            others = [f for f in (l.split() for l in
                                  ip("-4", "-o", "addr", "show").stdout.splitlines())
                      if len(f) > 3 and f[3].startswith(net + ".") and
                      f[1].split("@")[0] != uplink]
            if others:
                self._drop_bridge()
                continue
            ip("link", "set", uplink, "up")
            self.note(f"bridge {self.bridge} in {lan}, host {uplink} {net}.1/24")
            return
        raise RuntimeError("no free lan name or /24 in 198.18.0.0/15")

    def _drop_bridge(self):
        ip("link", "del", self.host_link, check=False)
        ip("netns", "del", self.lan, check=False)
        self.netns.remove(self.lan)
        self.bridge = self.host_link = None

    def add_netns(self, name, host):
        """A namespace with eth0 at net.host on the bridge, lo up, and its resolv.conf."""
        ns = f"lec-{self.rid}-{name}"
        ip("netns", "add", ns)
        self.netns.append(ns)
        h, c = f"lec{self.rid}h{host}", f"lec{self.rid}c{host}"
        ip("link", "add", h, "netns", self.lan, "type", "veth", "peer", "name", c, "netns", ns)
        self.links.append(h)
        ip("-n", self.lan, "link", "set", h, "master", self.bridge)
        ip("-n", self.lan, "link", "set", h, "up")
        ip("-n", ns, "link", "set", c, "name", "eth0")
        ip("-n", ns, "addr", "add", f"{self.addr(host)}/24", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")
        ip("-n", ns, "link", "set", "lo", "up")
        # no default route: nothing outside this /24 is reachable from a task
        if not os.path.isdir("/etc/netns"):
            os.makedirs("/etc/netns", exist_ok=True)
            self.made_etc_netns = True
        d = f"/etc/netns/{ns}"
        os.makedirs(d, exist_ok=True)
        self.etc_dirs.append(d)
        with open(f"{d}/resolv.conf", "w") as f:
            f.write(f"nameserver {self.addr(2)}\noptions timeout:1 attempts:2\n")
        return ns

    def in_ns(self, ns, argv):
        return ["ip", "netns", "exec", ns, *argv]

    def ns_pids(self, ns):
        r = ip("netns", "pids", ns, check=False)
        return [int(x) for x in r.stdout.split()]

    # ----- the DNS namespace: dnsmasq as Cloud Map -----

    def _start_dns(self):
        self.dns_ns = self.add_netns("dns", 2)
        self.dns_addr = self.addr(2)
        self.hosts = self.tmp / "cloudmap.hosts"
        self.hosts.write_text("")
        self.records = {}
        exe = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
        argv = [exe, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                "--bind-interfaces", f"--listen-address={self.dns_addr}", "--port=53",
                "--user=root", f"--addn-hosts={self.hosts}", "--local=/locust/",
                "--local-ttl=1", "--neg-ttl=1", "--log-queries", "--log-facility=-",
                "--pid-file="]
        self.dnsmasq = self.procs.start(self.in_ns(self.dns_ns, argv), name="dnsmasq")

        def answers():
            try:
                return dns_a(self.dns_addr, "ping." + MASTER_NAME.split(".", 1)[1], 0.2) is None
            except OSError:
                return False
        wait_for(answers, 10, what="dnsmasq in the DNS namespace")

    def register(self, name, addrs):
        """Cloud Map: the name now gives addrs ([] removes it); returns once it does."""
        if addrs:
            self.records[name] = list(addrs)
        else:
            self.records.pop(name, None)
        lines = [f"{a} {n}" for n, aa in self.records.items() for a in aa]
        self.hosts.write_text("".join(x + "\n" for x in lines))
        os.kill(self.dnsmasq.pid, signal.SIGHUP)
        want = sorted(addrs) if addrs else None

        def seen():
            try:
                got = dns_a(self.dns_addr, name, 0.2)
            except OSError:
                return False
            return (sorted(got) if got is not None else None) == want
        wait_for(seen, 5, every=0.02, what=f"dnsmasq to give {name} -> {addrs}")
        self.note(f"cloud map: {name} -> {', '.join(addrs) if addrs else 'NXDOMAIN'}")

    # ----- the target namespace: nginx -----

    def _start_target(self):
        self.target_ns = self.add_netns("target", 3)
        self.target_addr = self.addr(3)
        d = self.tmp / "nginx"
        d.mkdir()
        self.access_log = d / "access.log"
        conf = d / "nginx.conf"
        temps = "".join(f"    {k}_temp_path {d}/{k};\n"
                        for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        conf.write_text(f"""daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format lec '$remote_addr $msec $status "$request" "$http_user_agent"';
    access_log {self.access_log} lec;
{temps}    server {{
        listen {self.target_addr}:80;
        location / {{ return 200 "ok\\n"; }}
    }}
}}
""")
        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        self.nginx = self.procs.start(
            self.in_ns(self.target_ns, [exe, "-p", str(d), "-e", f"{d}/error.log", "-c",
                                        str(conf)]), name="nginx")
        wait_for(lambda: port_open(self.target_addr, 80) or self.nginx.poll() is not None,
                 10, what="nginx in the target namespace")
        assert self.nginx.poll() is None, self.nginx.stderr()
        self.target_url = f"http://{self.target_addr}"

    def access(self, skip_lines=0):
        """{client address: requests} from the target's access log, past skip_lines."""
        out = {}
        try:
            with open(self.access_log) as f:
                for i, line in enumerate(f):
                    if i >= skip_lines:
                        a = line.split(" ", 1)[0]
                        out[a] = out.get(a, 0) + 1
        except FileNotFoundError:
            pass
        return out

    def access_lines(self):
        try:
            with open(self.access_log) as f:
                return sum(1 for _ in f)
        except FileNotFoundError:
            return 0

    # ----- whole lab -----

    def up(self):
        self._make_bridge()
        self._start_dns()
        self._start_target()
        self.note(f"dns {self.dns_addr}, target {self.target_url}")

    def task(self, name, role, cpu=1, opts=None, **env):
        host = self.next_host
        self.next_host += 1
        t = Task(self, name, host, role, cpu, opts, env)
        self.tasks.append(t)
        return t

    def watch(self, interval=0.5):
        """ECS's health checks: every task's, every interval, until the lab goes down."""
        self.watcher = HealthWatcher(self, interval)
        return self.watcher

    def down(self):
        """Everything this lab made, and nothing else, goes: tasks (SIGKILL to each PID 1
        ends its whole PID namespace), processes by pid, links, namespaces, files."""
        leftovers = []
        if self.watcher:
            self.watcher.close()
        for t in self.tasks:
            t.destroy()
        self.procs.cleanup()
        for ns in self.netns:
            for pid in self.ns_pids(ns):
                leftovers.append((ns, pid))
                try:
                    os.kill(pid, signal.SIGKILL)  # inside a namespace of ours
                except ProcessLookupError:
                    pass
        for link in self.links:
            ip("-n", self.lan, "link", "del", link, check=False)
        if self.bridge:
            ip("link", "del", self.host_link, check=False)
        for ns in self.netns:
            ip("netns", "del", ns, check=False)
        for d in self.etc_dirs:
            shutil.rmtree(d, ignore_errors=True)
        if self.made_etc_netns:
            try:
                os.rmdir("/etc/netns")  # only when empty: others may use it now
            except OSError:
                pass

        def gone():
            names = ip("netns", "list", check=False).stdout
            links = ip("-o", "link", "show", check=False).stdout
            return not any(ns in names for ns in self.netns) and \
                f"lec{self.rid}" not in links
        if self.bridge:
            try:
                wait_for(gone, 10, every=0.1, what="the lab's links and namespaces to go")
            except AssertionError as e:
                self.note(f"teardown: {e}")
        if leftovers:
            self.note(f"teardown killed processes left in the lab's namespaces: {leftovers}")
        self.dump_timeline()
        return leftovers


class Task:
    """One ECS task: namespace, metadata endpoint, supervisor as PID 1."""

    def __init__(self, lab, name, host, role, cpu, opts, extra):
        self.lab, self.name, self.role, self.cpu = lab, name, role, cpu
        self.ns = lab.add_netns(name, host)
        self.addr = lab.addr(host)
        self.task_id = uuid.uuid4().hex
        self.dir = lab.tmp / name
        self.dir.mkdir()
        self.state_dir = str(self.dir / "state")
        self.proc = self.sup = self.sup_ticks = self.pidns = None
        self.started = False
        self._write_metadata()
        self.meta = lab.procs.start(
            lab.in_ns(self.ns, [PY, os.path.join(HERE, "metadata_server.py"), str(META_PORT),
                                f"/v4/{self.task_id}", str(self.dir)]), name=f"{name}-meta")
        wait_for(lambda: "ready" in self.meta.stdout() or self.meta.poll() is not None, 10,
                 what=f"the metadata endpoint of {name}")
        assert self.meta.poll() is None, self.meta.stderr()
        self.env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.dir),
            "PYTHONDONTWRITEBYTECODE": "1",
            "LOCUST_MODE": role,
            "LOCUST_ECS_ENGINE": "/usr/bin/locust",   # the installed layout has no locust
            "LOCUSTFILE_PATH": lab.locustfile,
            "TARGET_URL": lab.target_url,
            "LOCUST_ECS_STATE_DIR": self.state_dir,
            "LOCUST_ECS_LOG_FORMAT": "json",
            "LOCUST_ECS_METADATA": "on",
            "ECS_CONTAINER_METADATA_URI_V4": f"http://127.0.0.1:{META_PORT}/v4/{self.task_id}",
            # the check looks at a worker engine's connection 3 s after its start (10 s by
            # default): a Locust worker takes up to about 1.5 s to connect here under load
            "LOCUST_ECS_HEALTH_GRACE": "3s",
        }
        if role == "worker":
            self.env.update(LOCUST_MASTER_HOST=MASTER_NAME, LOCUST_ECS_ENGINES="auto",
                            LOCUST_ECS_REJOIN_WINDOW="2s")
        if opts:
            self.env["LOCUST_OPTS"] = opts
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):  # under make asan
            if k in os.environ:
                self.env[k] = os.environ[k]
        self.env.update({k: str(v) for k, v in extra.items()})

    def _write_metadata(self):
        """AWS's Fargate examples, made this task's: ARN, family, address, DNS, vCPUs."""
        with open(os.path.join(FIX, "ecs-v4-fargate-task.json")) as f:
            task = json.load(f)
        with open(os.path.join(FIX, "ecs-v4-fargate-container.json")) as f:
            cont = json.load(f)
        arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/{self.task_id}"
        cluster = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"
        family = f"locust-{self.role}"
        cont.update(DockerId=f"{self.task_id}-1", Name="locust", DockerName="locust",
                    Image="locust-ecs:latest")
        cont["Labels"].update({
            "com.amazonaws.ecs.cluster": cluster, "com.amazonaws.ecs.container-name": "locust",
            "com.amazonaws.ecs.task-arn": arn,
            "com.amazonaws.ecs.task-definition-family": family,
            "com.amazonaws.ecs.task-definition-version": "1"})
        net = cont["Networks"][0]
        net.update(IPv4Addresses=[self.addr], IPv4SubnetCIDRBlock=f"{self.lab.net}.0/24",
                   DomainNameServers=[self.lab.dns_addr],
                   PrivateDNSName=f"{self.name}.{CLUSTER}.internal")
        net.pop("IPv6Addresses", None)
        cont["Limits"] = {"CPU": int(self.cpu * 1024), "Memory": 2048}
        task.update(Cluster=cluster, TaskARN=arn, Family=family, Revision="1",
                    Containers=[copy.deepcopy(cont)])
        task["Limits"] = {"CPU": self.cpu, "Memory": 2048 * max(1, int(self.cpu))}
        (self.dir / "container.json").write_text(json.dumps(cont, indent=1))
        (self.dir / "task.json").write_text(json.dumps(task, indent=1))

    # ----- the container's life -----

    def start(self):
        lab = self.lab
        argv = lab.in_ns(self.ns, ["unshare", "--pid", "--fork", "--mount-proc", lab.entry])
        self.proc = lab.procs.start(argv, env=self.env, name=self.name)
        entry = os.path.realpath(lab.entry)

        def supervisor():
            for c in children_of(self.proc.pid):
                try:
                    if os.readlink(f"/proc/{c}/exe") == entry:
                        return c
                except OSError:
                    pass
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} ended at once: {self.proc.stderr()[-2000:]}")
            return None
        self.sup = wait_for(supervisor, 10, every=0.01, what=f"{self.name}'s PID 1")
        self.sup_ticks = start_ticks(self.sup)
        self.pidns = os.readlink(f"/proc/{self.sup}/ns/pid")
        with open(f"/proc/{self.sup}/status") as f:
            nspid = [l.split()[1:] for l in f if l.startswith("NSpid:")][0]
        assert nspid[-1] == "1", f"{self.name}'s supervisor is pid {nspid} in its namespace"
        # its signals are set up once it logs "start"
        wait_for(lambda: "start" in self.events() or self.proc.poll() is not None, 10,
                 what=f"{self.name} to start")
        self.lab.note(f"{self.name} started at {self.addr} (pid {self.sup}, {self.role}, "
                      f"{self.cpu} vCPU)")
        self.started = True
        return self

    def alive(self):
        return self.sup is not None and proc_alive(self.sup, self.sup_ticks)

    def signal(self, sig):
        if self.alive():
            os.kill(self.sup, sig)
            self.lab.note(f"{self.name}: {signal.Signals(sig).name} to PID 1")

    def wait(self, timeout):
        rc = self.proc.wait(timeout)
        self.lab.note(f"{self.name} exited: {rc}")
        return rc

    def destroy(self):
        if self.sup is not None:
            kill_if_same(self.sup, self.sup_ticks)
        if self.proc is not None:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def release_eni(self):
        """The task's network interface goes, as ECS releases a stopped task's ENI: its
        address stops answering (no RST, no FIN from now on)."""
        link = f"lec{self.lab.rid}h{self.addr.rsplit('.', 1)[1]}"
        ip("-n", self.lab.lan, "link", "del", link)
        self.lab.note(f"{self.name}: interface released, {self.addr} gone")

    # ----- what it does -----

    def stderr(self):
        return self.proc.stderr() if self.proc else ""

    def log(self):
        return read_log(self.proc.err) if self.proc else []

    def events(self):
        return [o["event"] for o in self.log()]

    def engines(self):
        """The engines as the host sees them: [(pid, start ticks)], children of PID 1."""
        out = []
        for c in children_of(self.sup) if self.alive() else []:
            t = start_ticks(c)
            if t is not None:
                out.append((c, t))
        return out

    def state(self):
        try:
            with open(os.path.join(self.state_dir, "state.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def phase(self):
        s = self.state()
        return s["phase"] if s else None

    def pidns_procs(self):
        """Processes still in this task's PID namespace."""
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    if os.readlink(f"/proc/{d}/ns/pid") == self.pidns:
                        out.append(int(d))
                except OSError:
                    pass
        return out

    def netns_procs(self):
        """Processes in this task's network namespace other than its metadata endpoint."""
        return [p for p in self.lab.ns_pids(self.ns) if p != self.meta.pid]

    # ----- web UI (master) -----

    def stats(self):
        try:
            with urllib.request.urlopen(f"http://{self.addr}:{WEB_PORT}/stats/requests",
                                        timeout=2) as r:
                return json.loads(r.read())
        except (OSError, ValueError):
            return None

    def workers(self, states=("ready", "running", "spawning")):
        d = self.stats()
        return [w for w in (d or {}).get("workers", []) if w.get("state") in states]

    # ----- health -----

    def health(self, quiet=False):
        """The check as ECS runs it: in the container (the supervisor's PID, network and
        mount namespaces), with the container's environment."""
        argv = ["nsenter", f"--target={self.sup}", "--pid", "--net", "--mount",
                self.lab.health_bin]
        if not self.alive():
            # the container's PID 1 is gone: the check in a fresh PID namespace in the
            # task's network, with the state directory left behind
            argv = self.lab.in_ns(self.ns, ["unshare", "--pid", "--fork", "--mount-proc",
                                            self.lab.health_bin])
        t = time.monotonic()
        r = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=20)
        took = time.monotonic() - t
        line = (r.stdout.strip() or r.stderr.strip()).replace("\n", " | ")
        self.lab.health_times.append(took)
        if not quiet:
            self.lab.note(f"health {self.name}: {r.returncode} {line} ({took * 1000:.0f} ms)")
        return r.returncode, line

    def expect_health(self, rc, text=None, timeout=15.0):
        """Polls the check until it exits rc with text in its line; returns the line."""
        seen = []

        def probe():
            got, line = self.health()
            seen.append((got, line))
            return line if got == rc and (text is None or text in line) else None
        try:
            return wait_for(probe, timeout, every=0.3, what=f"{self.name} health {rc} {text!r}")
        except AssertionError as e:
            raise AssertionError(f"{e}; last verdicts: {seen[-3:]}") from None


class HealthWatcher:
    """A thread running every live task's health check every interval, as ECS does (every
    15 s in taskdefs/, with a start period; more often here, to see more moments)."""

    END_WINDOW = 3.0  # s before a task's end in which its check may fail: it is ending

    def __init__(self, lab, interval):
        self.lab, self.interval = lab, interval
        self.verdicts = []  # (task, seconds into the test, rc, line)
        self.ended = {}     # task name: seconds into the test when first seen ended
        self.windows = []   # (task name, words of a reason, from, to): expected for a while
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done.wait(self.interval):
            for t in list(self.lab.tasks):
                if not t.started or self.done.is_set():
                    continue
                if t.proc.poll() is not None:
                    self.ended.setdefault(t.name, self.lab.now())
                    continue
                rc, line = t.health(quiet=True)
                self.verdicts.append((t, self.lab.now(), rc, line))
                if rc != 0:
                    self.lab.note(f"watch {t.name}: {rc} {line}")

    def expect(self, tasks, words, seconds):
        """From now on and for seconds, tasks may be unhealthy for this reason."""
        now = self.lab.now()
        self.windows += [(t.name, words, now, now + seconds) for t in tasks]

    def close(self):
        self.done.set()
        self.thread.join(30)
        for t in self.lab.tasks:
            if t.proc is not None and t.proc.poll() is not None:
                self.ended.setdefault(t.name, self.lab.now())

    def check(self, allow=None):
        """Every unhealthy verdict was expected: allowed for that task (allow: {task name:
        [words of the reason]}); before the task's first healthy verdict, no state yet or
        its web UI not up yet (ECS's startPeriod covers both); or in the last seconds of a
        task that ended."""
        self.close()
        allow = allow or {}
        bad, kinds, count, first_ok = [], {}, {}, {}
        for t, at, rc, line in self.verdicts:
            count[t.name] = count.get(t.name, 0) + 1
            if rc == 0:
                first_ok.setdefault(t.name, at)
                continue
            if any(w in line for w in allow.get(t.name, ())):
                kind = "allowed"
            elif any(n == t.name and w in line and a <= at <= b + 0.5
                     for n, w, a, b in self.windows):
                kind = "expected"
            elif t.name not in first_ok and ("did not answer" in line or
                                             "no state document" in line):
                kind = "starting"
            elif t.name in self.ended and self.ended[t.name] - at <= self.END_WINDOW:
                kind = "ending"
            else:
                bad.append(f"{at:.2f}s {t.name}: {line}")
                continue
            kinds.setdefault(t.name, {}).setdefault(kind, 0)
            kinds[t.name][kind] += 1
        self.lab.note(f"watch: verdicts per task {count}; unhealthy ones by kind {kinds}")
        assert not bad, "unexpected unhealthy verdicts:\n" + "\n".join(bad)
        assert all(count.get(t.name, 0) >= 2 for t in self.lab.tasks if t.started), count
        return kinds


def skip_reason():
    """Why this machine cannot run the cluster (None when it can)."""
    if os.geteuid() != 0:
        return "the cluster test needs root (network namespaces, bridges); CI runs it as root"
    for tool in ("ip", "unshare", "nsenter"):
        if not shutil.which(tool):
            return f"the cluster test needs {tool}"
    if not (shutil.which("dnsmasq") or os.path.exists("/usr/sbin/dnsmasq")):
        return "the cluster test needs dnsmasq (dnsmasq-base)"
    if not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")):
        return "the cluster test needs nginx (nginx-light)"
    probe = f"lec-{os.getpid():x}{random.randint(0, 0xffff):04x}-probe"
    r = ip("netns", "add", probe, check=False)
    ip("netns", "del", probe, check=False)
    if r.returncode != 0:
        return f"network namespaces are not available here: ip netns add: {r.stderr.strip()}"
    return None


def install(tmp_dir):
    """make install DESTDIR=tmp_dir PREFIX=/usr/local from the build the tests use."""
    build = os.environ.get("LE_BUILD", os.path.join(ROOT, "build"))
    r = subprocess.run(["make", "-C", ROOT, "install", f"DESTDIR={tmp_dir}",
                        "PREFIX=/usr/local", f"BUILD={build}"], capture_output=True,
                       text=True, timeout=600)
    if r.returncode != 0:
        sys.stderr.write(r.stdout + r.stderr)
        raise RuntimeError(f"make install failed: {r.stderr[-2000:]}")
    return os.path.join(tmp_dir, "usr", "local", "bin")
