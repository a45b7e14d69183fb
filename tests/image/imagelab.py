"""Containers of one image test: started in the tests' own engine on a network of their
own, watched from the host (/proc, docker inspect, docker logs -f), removed at the end.

Every container gets --dns 127.0.0.1: Docker's embedded DNS answers the names of the
test's containers and sends nothing it does not know out of the container."""
import os
import subprocess
import threading
import time

from shared import log_lines, wait_for

FIGURES = []  # (base, what, value): printed at the end of the run (conftest)


def figure(base, what, value):
    FIGURES.append((base, what, value))


class Follower:
    """docker logs -f of one container: every line with the time it arrived."""

    def __init__(self, engine, name, logdir):
        self.lines = []
        self.path = os.path.join(logdir, f"{name}.log")
        self._f = open(self.path, "wb")
        self.p = subprocess.Popen([*engine.client(), "logs", "-f", name], env=engine.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for raw in self.p.stdout:
            self._f.write(raw)
            self._f.flush()
            self.lines.append((time.monotonic(), raw.decode(errors="replace").rstrip("\n")))

    def when(self, text, timeout, since=0.0):
        """The arrival time of the first line containing text after since."""
        def seen():
            return next((t for t, x in list(self.lines) if t >= since and text in x), None)
        return wait_for(seen, timeout, every=0.01, what=f"{text!r} in the log")

    def text(self):
        return "\n".join(x for _, x in list(self.lines))

    def close(self):
        if self.p.poll() is None:
            self.p.kill()  # our own docker logs client, by its pid
        self.p.wait(10)
        self.t.join(5)
        self._f.close()


class Container:
    def __init__(self, box, name):
        self.box, self.name, self.engine = box, name, box.engine
        self.follower = None

    def inspect(self):
        return self.engine.inspect(self.name)

    def pid1(self):
        return self.inspect()["State"]["Pid"]

    def running(self):
        doc = self.inspect()
        return bool(doc and doc["State"]["Running"])

    def health(self):
        h = self.inspect()["State"].get("Health") or {}
        log = h.get("Log") or [{}]
        return h.get("Status"), (log[-1].get("Output") or "").strip()

    def wait_health(self, want, timeout, text=None):
        seen = []

        def ok():
            st, out = self.health()
            seen.append((st, out))
            return st == want and (text is None or text in out)
        try:
            wait_for(ok, timeout, every=0.2, what=f"{self.name} {want}")
        except AssertionError as e:
            raise AssertionError(f"{e}; last: {seen[-2:]}\n{self.logs()[-2000:]}") from None

    def wait_exit(self, timeout):
        """The exit status (docker wait), within timeout seconds."""
        r = self.engine.docker("wait", self.name, timeout=timeout)
        return int(r.stdout.strip())

    def logs(self):
        r = self.engine.docker("logs", self.name, check=False, timeout=30)
        return r.stdout + r.stderr

    def log(self):
        return log_lines(self.logs().splitlines())

    def events(self):
        return [o["event"] for o in self.log()]

    def ip(self):
        nets = self.inspect()["NetworkSettings"]["Networks"]
        return nets[self.box.net]["IPAddress"]

    def follow(self):
        self.follower = Follower(self.engine, self.name, self.box.logdir)
        self.box.followers.append(self.follower)
        return self.follower

    def procs(self):
        """The processes of the container's PID namespace, seen from the host:
        [{pid, ppid, uid, state, cmd}], PID 1 first."""
        p1 = self.pid1()
        ns = os.readlink(f"/proc/{p1}/ns/pid")
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                if os.readlink(f"/proc/{d}/ns/pid") != ns:
                    continue
                with open(f"/proc/{d}/stat") as f:
                    stat = f.read()
                with open(f"/proc/{d}/status") as f:
                    uid = next(int(x.split()[1]) for x in f if x.startswith("Uid:"))
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    cmd = f.read().split(b"\0")
            except (OSError, StopIteration):
                continue
            rest = stat[stat.rindex(")") + 2:].split()
            out.append({"pid": int(d), "ppid": int(rest[1]), "state": rest[0], "uid": uid,
                        "cmd": [c.decode(errors="replace") for c in cmd if c]})
        return sorted(out, key=lambda p: p["pid"] != p1)

    def engines(self):
        """PID 1's children: the engines."""
        ps = self.procs()
        return [p for p in ps[1:] if p["ppid"] == ps[0]["pid"]] if ps else []


class Box:
    """The containers of one test on one user-defined network, removed at its end."""

    def __init__(self, engine, logdir, prefix):
        self.engine, self.logdir, self.prefix = engine, logdir, prefix
        self.containers, self.followers = [], []
        self.net, self.subnet = engine.network(f"{prefix}-net")

    def run(self, name, image, *args, env=None, opts=(), host=None, timeout=60):
        """docker run -d; returns the Container, named PREFIX-name, which the test's other
        containers find as name (a network alias). host: its address on the network is
        .host of the subnet (Docker's choice otherwise)."""
        full = f"{self.prefix}-{name}"
        argv = ["run", "-d", "--name", full, "--network", self.net,
                "--network-alias", name, "--dns", "127.0.0.1"]
        if host is not None:
            a, b, c, d = self.subnet.split(".")
            argv += ["--ip", f"{a}.{b}.{c}.{int(d) + host}"]
        for k, v in (env or {}).items():
            argv += ["-e", f"{k}={v}"]
        c = Container(self, full)
        self.containers.append(c)
        self.engine.docker(*argv, *opts, image, *args, timeout=timeout)
        return c

    def close(self):
        for f in self.followers:
            f.close()
        for c in reversed(self.containers):
            self.engine.docker("rm", "-f", "-v", c.name, check=False, timeout=60)
        self.engine.drop_network(self.net)
