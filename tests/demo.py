#!/usr/bin/python3
"""make demo: a short distributed load test on loopback, every process through the
supervisor: a master task (web UI + --autostart) and a worker task with one engine per
CPU, against a local HTTP target. Prints the result and cleans up."""
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("LE_BUILD", os.path.join(ROOT, "build"))
ENTRY = os.path.join(BUILD, "locust-entrypoint")
HEALTH = os.path.join(BUILD, "locust-healthcheck")
RUN_TIME = int(os.environ.get("DEMO_SECONDS", "10"))

# Debian's python3-locust ships an empty version string, which a master rejects from a
# worker; this line sets it for the demo. Images FROM locustio/locust do not need it.
SHIM = 'import locust.runners as _r\n_r.__version__ = _r.__version__ or "2.12.1"\n'
FALLBACK_USER = '''from locust import HttpUser, task, between

class WebsiteUser(HttpUser):
    wait_time = between(0.01, 0.05)

    @task
    def index(self):
        self.client.get("/")
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def up(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def current_rps(d):
    """Requests/s now, whatever the Locust: "current_rps" from 2.45, else the Aggregated
    row's (the top-level "total_rps" is the run's average from 2.43.4)."""
    if "current_rps" in d:
        return d["current_rps"]
    rows = d.get("stats") or [{}]
    return rows[-1].get("current_rps", 0)


def stats(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats/requests", timeout=1) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return None


def health(env, label):
    if not os.path.exists(HEALTH):
        return
    r = subprocess.run([HEALTH], env=env, capture_output=True, timeout=10)
    print(f"  health of the {label}: exit {r.returncode}: {r.stdout.decode().strip()}")


def main():
    work = tempfile.mkdtemp(prefix="locust-ecs-demo-")
    example = os.path.join(ROOT, "docker", "locustfile.py")
    user = open(example).read() if os.path.exists(example) else FALLBACK_USER
    lf = os.path.join(work, "locustfile.py")
    with open(lf, "w") as f:
        f.write(SHIM + user)
    www = os.path.join(work, "www")
    os.mkdir(www)
    for page in ("index.html", "about.html"):
        with open(os.path.join(www, page), "w") as f:
            f.write("<h1>demo target</h1>\n")
    target_port, web_port, master_port = free_port(), free_port(), free_port()
    procs = []

    def start(argv, env, name):
        log = open(os.path.join(work, name + ".log"), "wb")
        p = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        procs.append(p)
        return p

    base = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": work, "LOCUST_ECS_LOG_FORMAT": "json",
            "LOCUSTFILE_PATH": lf, "TARGET_URL": f"http://127.0.0.1:{target_port}"}
    master_env = dict(base, LOCUST_MODE="master", LOCUST_ECS_STATE_DIR=os.path.join(work, "m"),
                      LOCUST_OPTS=f"--autostart --autoquit 3 -u 30 -r 15 -t {RUN_TIME}s "
                                  f"--expect-workers 2 --web-host 127.0.0.1 --web-port {web_port} "
                                  f"--master-bind-host 127.0.0.1 --master-bind-port {master_port} "
                                  f"--csv {work}/demo")
    worker_env = dict(base, LOCUST_MODE="worker", LOCUST_MASTER_HOST="127.0.0.1",
                      LOCUST_MASTER_PORT=str(master_port), LOCUST_ECS_ENGINES="auto",
                      LOCUST_ECS_REJOIN_WINDOW="3s", LOCUST_ECS_STATE_DIR=os.path.join(work, "w"))
    rc = 1
    try:
        start([sys.executable if sys.executable.startswith("/usr/bin/") else "/usr/bin/python3",
               "-m", "http.server", str(target_port), "--bind", "127.0.0.1", "--directory", www],
              dict(base), "target")
        deadline = time.monotonic() + 10
        while not up(target_port) and time.monotonic() < deadline:
            time.sleep(0.05)
        print(f"locust-ecs demo: target http://127.0.0.1:{target_port}, logs in {work}")
        worker = start([ENTRY], worker_env, "worker")
        print("  worker task started first: it waits for the master")
        time.sleep(1)
        master = start([ENTRY], master_env, "master")
        print(f"  master task started; web UI while it runs: http://127.0.0.1:{web_port}/")
        joined, last = set(), None
        end = time.monotonic() + RUN_TIME + 60
        checked = False
        while master.poll() is None and time.monotonic() < end:
            d = stats(web_port)
            if d:
                joined |= {w["id"] for w in d.get("workers", [])}
                line = (f"  {d['state']:<9} users {d.get('user_count', 0):>3}  "
                        f"workers {len([w for w in d['workers'] if w['state'] != 'missing'])}  "
                        f"rps {current_rps(d):8.1f}  fail ratio {d.get('fail_ratio', 0):.3f}")
                if line != last:
                    print(line)
                    last = line
                if d["state"] == "running" and not checked:
                    health(master_env, "master")
                    health(worker_env, "worker task")
                    checked = True
            time.sleep(1)
        mrc = master.wait(30)
        wrc = worker.wait(30)
        with open(f"{work}/demo_stats.csv") as f:
            agg = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"][0]
        print(f"result: {agg['Request Count']} requests, {agg['Failure Count']} failures, "
              f"{float(agg['Requests/s']):.1f} requests/s, median {agg['Median Response Time']} ms")
        print(f"workers that joined: {len(joined)} ({', '.join(sorted(j[-8:] for j in joined))})")
        print(f"exit status: master {mrc}, worker task {wrc}")
        rc = 0 if mrc == 0 and wrc == 0 and int(agg["Request Count"]) > 0 else 1
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                    p.wait(10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(p.pid, signal.SIGKILL)
    return rc


if __name__ == "__main__":
    sys.exit(main())
