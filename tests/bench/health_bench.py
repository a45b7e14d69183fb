"""Benchmark (not a test): wall time and peak RSS of one locust-healthcheck run for a master
(web UI), a headless master (ZMTP) and a worker, side by side with the usual
`sh -c 'curl -fsS http://127.0.0.1:PORT/ >/dev/null'`, in the same run, against the same
real Locust processes under the real supervisor. Prints a table; asserts nothing.

    LE_BUILD=$PWD/build /usr/bin/python3 tests/bench/health_bench.py [RUNS]
"""
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from conftest import (ENTRY, HEALTH, LOCUSTFILE, PY, Procs,  # noqa: E402
                      free_port, port_open, stop_supervisor, wait_for)

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 30


def env_for(tmp, name, **extra):
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": tmp,
        "LOCUST_ECS_STATE_DIR": os.path.join(tmp, f"state-{name}"),
        "LOCUST_ECS_LOG_FORMAT": "json", "LOCUST_ECS_METADATA": "off",
        "LOCUSTFILE_PATH": os.path.join(tmp, "locustfile.py"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


TIME = "/usr/bin/time"


def one(argv, env, rssfile):
    """Runs argv once: (wall ms, peak RSS KiB of it and its children, exit status).
    RSS comes from GNU time: a child spawned from Python itself would report Python's own
    RSS (the high-water mark of the memory it shared before exec)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    wrapped = [TIME, "-f", "%M", "-o", rssfile, *argv] if os.path.exists(TIME) else argv
    t = time.monotonic()
    pid = os.posix_spawn(wrapped[0], wrapped, env,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1),
                                       (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status, ru = os.wait4(pid, 0)
    ms = (time.monotonic() - t) * 1000
    os.close(devnull)
    rss = ru.ru_maxrss
    if wrapped is not argv:
        with open(rssfile) as f:
            rss = int(f.read().split()[-1])
    return ms, rss, os.waitstatus_to_exitcode(status)


def measure(name, argv, env):
    rssfile = os.path.join(env["HOME"], "rss.txt")
    one(argv, env, rssfile)  # warm the page cache
    rows = [one(argv, env, rssfile) for _ in range(RUNS)]
    ms = sorted(r[0] for r in rows)
    return {
        "name": name,
        "median": statistics.median(ms),
        "p90": ms[int(len(ms) * 0.9) - 1],
        "max": ms[-1],
        "rss": max(r[1] for r in rows),
        "ok": sum(1 for r in rows if r[2] == 0),
    }


def main():
    tmp = tempfile.mkdtemp(prefix="le-health-bench-")
    with open(os.path.join(tmp, "locustfile.py"), "w") as f:
        f.write(LOCUSTFILE)
    www = os.path.join(tmp, "www")
    os.mkdir(www)
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("ok\n")
    procs = Procs(tmp)
    sups = []
    try:
        tport = free_port()
        procs.start([PY, "-m", "http.server", str(tport), "--bind", "127.0.0.1",
                     "--directory", www], name="target")
        wait_for(lambda: port_open("127.0.0.1", tport), 10, what="the target")
        target = f"http://127.0.0.1:{tport}"

        web, mport = free_port(), free_port()
        menv = env_for(tmp, "master", LOCUST_MODE="master", TARGET_URL=target,
                       LOCUST_OPTS=f"--web-host 127.0.0.1 --web-port {web} "
                                   f"--master-bind-host 127.0.0.1 --master-bind-port {mport}")
        sups.append(procs.start([ENTRY], env=menv, name="master"))
        hport, hweb = free_port(), free_port()
        henv = env_for(tmp, "headless", LOCUST_MODE="master", TARGET_URL=target,
                       LOCUST_OPTS=f"--headless -t 600s -u 1 -r 1 --web-port {hweb} "
                                   f"--master-bind-host 127.0.0.1 --master-bind-port {hport}")
        sups.append(procs.start([ENTRY], env=henv, name="headless"))
        wait_for(lambda: port_open("127.0.0.1", mport), 20, what="the master")
        wenv = env_for(tmp, "worker", LOCUST_MODE="worker", TARGET_URL=target,
                       LOCUST_MASTER_HOST="127.0.0.1", LOCUST_MASTER_PORT=mport,
                       LOCUST_ECS_ENGINES=1, LOCUST_ECS_HEALTH_GRACE="0")
        sups.append(procs.start([ENTRY], env=wenv, name="worker"))

        import subprocess

        def healthy(env, text):
            r = subprocess.run([HEALTH], env=env, capture_output=True, text=True, timeout=10)
            return r.returncode == 0 and text in r.stdout
        wait_for(lambda: healthy(menv, "1 worker"), 30, every=0.3, what="the master healthy")
        wait_for(lambda: healthy(wenv, "connected"), 30, every=0.3, what="the worker healthy")
        wait_for(lambda: healthy(henv, "ZMTP"), 30, every=0.3, what="the headless master")

        curl = "/usr/bin/curl"
        results = [
            measure("locust-healthcheck, master (web UI)", [HEALTH], menv),
            measure("locust-healthcheck, headless master (ZMTP)", [HEALTH], henv),
            measure("locust-healthcheck, worker (1 engine, /proc)", [HEALTH], wenv),
            measure("locust-healthcheck --json, master", [HEALTH, "--json"], menv),
            measure(f"sh -c 'curl -fsS http://127.0.0.1:{web}/ >/dev/null'",
                    ["/bin/sh", "-c", f"{curl} -fsS http://127.0.0.1:{web}/ >/dev/null"], menv),
            measure("sh -c 'curl -fsS .../stats/requests >/dev/null'",
                    ["/bin/sh", "-c",
                     f"{curl} -fsS http://127.0.0.1:{web}/stats/requests >/dev/null"], menv),
        ]
        how = "GNU time %M" if os.path.exists(TIME) else "wait4 (includes Python's RSS!)"
        print(f"# one health check, {RUNS} runs each (after one warm-up); wall time in ms "
              f"(including the start of {TIME}), peak RSS of the process and its children "
              f"in KiB ({how})")
        print(f"{'command':<58} {'median':>8} {'p90':>8} {'max':>8} {'peak RSS':>9} {'exit 0':>7}")
        for r in results:
            print(f"{r['name']:<58} {r['median']:8.1f} {r['p90']:8.1f} {r['max']:8.1f} "
                  f"{r['rss']:9d} {r['ok']:>4}/{RUNS}")
    finally:
        for p in reversed(sups):
            stop_supervisor(p)
        procs.cleanup()


if __name__ == "__main__":
    main()
