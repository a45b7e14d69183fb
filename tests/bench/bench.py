#!/usr/bin/python3
"""make bench: figures side by side in one run, printed as a table and written to
tests/bench/results.txt. Nothing here is asserted: benchmarks are not tests."""
import csv
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from conftest import BUILD, ENTRY, HEALTH, LOCUST, read_log  # noqa: E402
TINI = shutil.which("tini") or "/usr/bin/tini"
SHIM = 'import locust.runners as _r\n_r.__version__ = _r.__version__ or "2.12.1"\n'
USER = SHIM + '''from locust import HttpUser, task, constant
class U(HttpUser):
    wait_time = constant(0)
    @task
    def index(self):
        self.client.get("/")
'''
LOAD_SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
rows = []
work = tempfile.mkdtemp(prefix="locust-ecs-bench-")
started = []


def row(what, value, peer="", ratio=""):
    rows.append((what, value, peer, ratio))
    print(f"{what:<58} {value:>16} {peer:>22} {ratio:>8}", flush=True)


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def up(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def wait(pred, timeout, every=0.002):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(every)
    return None


def start(argv, env=None, name="p"):
    log = open(os.path.join(work, name + ".log"), "ab")
    p = subprocess.Popen(argv, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    started.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=30):
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)


def env(**kw):
    e = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": work, "LOCUST_ECS_LOG_FORMAT": "json",
         "LOCUST_ECS_METADATA": "off", "LOCUST_ECS_STATE_DIR": os.path.join(work, "state")}
    e.update({k: str(v) for k, v in kw.items()})
    return e


def startup_overhead(lf, n=200):
    def timeit(argv, e=None):
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            subprocess.run(argv, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts) * 1000
    bare = timeit(["/bin/true"])
    tini = timeit([TINI, "-s", "--", "/bin/true"]) if os.path.exists(TINI) else None
    sup = timeit([ENTRY], env(LOCUST_ECS_ENGINE="/bin/true", LOCUSTFILE_PATH=lf))
    row("start-up: supervisor running /bin/true (median ms)", f"{sup:.2f}",
        f"tini {tini:.2f}" if tini else "tini n/a", f"{sup / tini:.2f}x" if tini else "")
    row("start-up: bare /bin/true (median ms)", f"{bare:.2f}")


def mem_of(pid):
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def ctxt(pid):
    v = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if "ctxt_switches" in line:
                v += int(line.split()[1])
    return v


def memory_and_wakeups(lf):
    # the engine is given "-f FILE": a tiny program that ignores it and sleeps
    sleeper = os.path.join(work, "sleeper")
    with open(sleeper, "w") as f:
        f.write("#!/bin/sh\nexec sleep 60\n")
    os.chmod(sleeper, 0o755)
    sup = start([ENTRY], env(LOCUST_ECS_ENGINE=sleeper, LOCUSTFILE_PATH=lf), "sleep-sup")
    ti = start([TINI, "-s", "--", "/bin/sleep", "60"], None, "sleep-tini") \
        if os.path.exists(TINI) else None
    time.sleep(1.0)
    s_rss, s_pss = mem_of(sup.pid)
    if ti:
        t_rss, t_pss = mem_of(ti.pid)
        row("memory: supervisor RSS / PSS while the engine sleeps (KiB)", f"{s_rss} / {s_pss}",
            f"tini {t_rss} / {t_pss}", f"{s_rss / t_rss:.1f}x")
    else:
        row("memory: supervisor RSS / PSS (KiB)", f"{s_rss} / {s_pss}")
    c0 = ctxt(sup.pid)
    t0 = ctxt(ti.pid) if ti else 0
    time.sleep(10)
    row("idle wake-ups over 10 s, standalone (context switches)", str(ctxt(sup.pid) - c0),
        f"tini {ctxt(ti.pid) - t0}" if ti else "")
    stop(sup)
    if ti:
        stop(ti)


def master(lf, bind, port, web, extra=(), name="master"):
    p = start([LOCUST, "-f", lf, "--master", "--master-bind-host", bind, "--master-bind-port",
               str(port), "--web-host", bind, "--web-port", str(web), *extra], None, name)
    return p


def workers(bind, web):
    try:
        with urllib.request.urlopen(f"http://{bind}:{web}/stats/requests", timeout=1) as r:
            d = json.loads(r.read())
        return [w for w in d["workers"] if w["state"] != "missing"]
    except (OSError, ValueError):
        return []


def engine_start_time(logpath, after=0):
    """Wall time (s) of the first engine.start after `after`, from the JSON log."""
    for o in read_log(logpath):
        if o["event"] == "engine.start":
            ts = time.mktime(time.strptime(o["ts"][:19], "%Y-%m-%dT%H:%M:%S")) \
                - time.timezone + int(o["ts"][20:23]) / 1000
            if ts > after:
                return ts
    return None


def registered_at(logpath):
    """Wall time of the master's first "reported as ready" line (Locust logs local time)."""
    try:
        with open(logpath, errors="replace") as f:
            for line in f:
                if "reported as ready" in line and line.startswith("["):
                    stamp = line[1:24]  # 2026-11-27 18:39:44,532
                    return time.mktime(time.strptime(stamp[:19], "%Y-%m-%d %H:%M:%S")) \
                        + int(stamp[20:23]) / 1000
    except OSError:
        pass
    return None


def discovery(lf):
    port, web = free_port("127.0.0.2"), free_port("127.0.0.2")
    log = os.path.join(work, "disc-worker.log")
    w = start([ENTRY], env(LOCUST_MODE="worker", LOCUST_MASTER_HOST="127.0.0.2",
                           LOCUST_MASTER_PORT=port, LOCUSTFILE_PATH=lf, LOCUST_ECS_ENGINES=1),
              "disc-worker")
    time.sleep(1)
    m = master(lf, "127.0.0.2", port, web)
    wait(lambda: up("127.0.0.2", port), 20)
    t_open = time.time()
    t_exec = wait(lambda: engine_start_time(log), 10, 0.01)
    if t_exec:
        row("discovery: master port open -> worker engine exec (ms)",
            f"{(t_exec - t_open) * 1000:.0f}")
    wait(lambda: workers("127.0.0.2", web), 20, 0.05)
    # replacement at a new address is measured by the tests; here: same address, SIGKILL
    m.send_signal(signal.SIGKILL)
    m.wait(5)
    m2 = master(lf, "127.0.0.2", port, web, name="master2")
    wait(lambda: up("127.0.0.2", port), 20)
    t_new = time.time()
    # from the master's own log line: /stats/requests is cached for 2 s by Locust
    t_reg = wait(lambda: registered_at(os.path.join(work, "master2.log")), 20, 0.02)
    if t_reg:
        row("discovery: master replaced (port open) -> worker registered (ms)",
            f"{(t_reg - t_new) * 1000:.0f}")
    t0 = time.monotonic()
    stop(w, signal.SIGTERM)
    row("stop: SIGTERM -> supervisor exit, one connected Locust worker (ms)",
        f"{(time.monotonic() - t0) * 1000:.0f}")
    stop(m2)


def stop_while_waiting(lf, n=20):
    """SIGTERM to a worker supervisor waiting for a master that is not there."""
    ts = []
    for i in range(n):
        log = os.path.join(work, f"wait{i}.log")
        p = start([ENTRY], env(LOCUST_MODE="worker", LOCUST_MASTER_HOST="127.0.0.2",
                               LOCUST_MASTER_PORT=free_port("127.0.0.2"), LOCUSTFILE_PATH=lf),
                  f"wait{i}")
        wait(lambda: "dns.resolved" in open(log, errors="replace").read(), 10, 0.005)
        time.sleep(0.05)
        t0 = time.perf_counter()
        os.kill(p.pid, signal.SIGTERM)
        p.wait(10)
        ts.append((time.perf_counter() - t0) * 1000)
    row("stop: SIGTERM -> exit while waiting for the master (median ms)",
        f"{statistics.median(ts):.1f}", f"max {max(ts):.1f}")


def nginx_target():
    port = free_port()
    d = os.path.join(work, "nginx")
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; daemon off; pid {d}/nginx.pid; error_log {d}/error.log;
events {{ worker_connections 4096; }}
http {{ access_log off; server {{ listen 127.0.0.1:{port};
  location / {{ return 200 "ok"; }} }} }}
""")
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    p = start([exe, "-c", conf, "-p", d], None, "nginx")
    wait(lambda: up("127.0.0.1", port), 10)
    return p, f"http://127.0.0.1:{port}"


def rps_from_csv(prefix):
    with open(prefix + "_stats.csv") as f:
        agg = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"][0]
    return float(agg["Requests/s"])


def load(lf):
    ng, target = nginx_target()
    t = f"{LOAD_SECONDS}s"
    # one standalone process
    pre = os.path.join(work, "standalone")
    subprocess.run([LOCUST, "-f", lf, "--headless", "-u", "50", "-r", "50", "-t", t, "-H", target,
                    "--csv", pre, "--only-summary"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=LOAD_SECONDS + 60)
    one = rps_from_csv(pre)

    def distributed(use_supervisor, tag):
        port, web = free_port(), free_port()
        pre = os.path.join(work, tag)
        m = master(lf, "127.0.0.1", port, web, ["--headless", "-u", "50", "-r", "50", "-t", t,
                                                 "-H", target, "--expect-workers", "2",
                                                 "--csv", pre, "--only-summary"], tag + "-m")
        wait(lambda: up("127.0.0.1", port), 20)
        if use_supervisor:
            ws = [start([ENTRY], env(LOCUST_MODE="worker", LOCUST_MASTER_HOST="127.0.0.1",
                                     LOCUST_MASTER_PORT=port, LOCUSTFILE_PATH=lf,
                                     LOCUST_ECS_ENGINES="auto", LOCUST_ECS_REJOIN_WINDOW="1s"),
                        tag + "-w")]
        else:
            ws = [start([LOCUST, "-f", lf, "--worker", "--master-host", "127.0.0.1",
                         "--master-port", str(port)], None, f"{tag}-w{i}") for i in range(2)]
        m.wait(LOAD_SECONDS + 90)
        for w in ws:
            stop(w)
        return rps_from_csv(pre)
    # alternated rounds, so that a disturbance on this shared machine hits both alike
    autos, hands = [], []
    for i in range(ROUNDS):
        autos.append(distributed(True, f"auto{i}"))
        hands.append(distributed(False, f"hand{i}"))
    auto, hand = statistics.mean(autos), statistics.mean(hands)
    row(f"load: requests/s, one standalone process, nginx ({t})", f"{one:.0f}")
    row(f"load: requests/s, master + hand-started workers x2 (mean of {ROUNDS})", f"{hand:.0f}",
        "", f"{hand / one:.2f}x")
    row(f"load: requests/s, master + worker task, engines=auto (mean of {ROUNDS})",
        f"{auto:.0f}", f"hand-started {hand:.0f}", f"{auto / hand:.2f}x")
    stop(ng)


def health(lf):
    script = os.path.join(HERE, "health_bench.py")
    if os.path.exists(script) and os.path.exists(HEALTH):
        r = subprocess.run([sys.executable, script], capture_output=True, timeout=300,
                           env=dict(os.environ, LE_BUILD=BUILD))
        for line in r.stdout.decode().splitlines():
            print(line)
            rows.append((line, "", "", ""))


def main():
    lf = os.path.join(work, "locustfile.py")
    with open(lf, "w") as f:
        f.write(USER)
    print(f"locust-ecs benchmarks on {platform.node()}: {os.cpu_count()} CPUs, "
          f"{platform.platform()}, {time.strftime('%Y-%m-%d')}")
    print(f"{'what':<58} {'value':>16} {'peer':>22} {'ratio':>8}")
    try:
        startup_overhead(lf)
        memory_and_wakeups(lf)
        discovery(lf)
        stop_while_waiting(lf)
        load(lf)
        health(lf)
    finally:
        for p in started:
            stop(p, signal.SIGKILL, 5)
    out = os.path.join(HERE, "results.txt")
    with open(out, "w") as f:
        f.write(f"{os.cpu_count()} CPUs, {platform.platform()}, {time.strftime('%Y-%m-%d')}\n")
        for r in rows:
            f.write(" | ".join(x for x in r if x) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
