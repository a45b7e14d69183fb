"""The image in a real Docker engine (issue 11), on every stand-in base: built by
`make image`, run as users run it, on a user-defined network in 198.18.0.0/15.

Containers find each other by name through Docker's embedded DNS. Every wait is bounded;
every container and network goes at the end of its test (conftest's box), the engine at
the end of the run (pass or fail)."""
import csv
import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest

from imagelab import figure
from shared import LOCUSTFILE, ROOT, free_port, port_open, wait_for

ENTRY = "/usr/local/bin/locust-entrypoint"
HEALTH = "/usr/local/bin/locust-healthcheck"
FAST_HEALTH = ["--health-interval=1s", "--health-retries=1", "--health-start-period=0s"]


@pytest.fixture
def locustfile(tmp_path):
    """The tests' locustfile (Debian's 2.12.1 needs its version set for a distributed
    run, DESIGN.md), readable by the image's locust user when mounted."""
    p = tmp_path / "locustfile.py"
    p.write_text(LOCUSTFILE)
    p.chmod(0o644)
    return str(p)


def mount(path, at="/locustfile.py"):
    return ["-v", f"{path}:{at}:ro"]


def start_target(box, image):
    """An HTTP target: Python's http.server in the stand-in base, as `target`."""
    t = box.run("target", image.base.image, "-m", "http.server", "8000",
                opts=["--entrypoint", "python3"])
    wait_for(lambda: port_open(t.ip(), 8000), 20, what="the target's port 8000")
    return t


def target_requests(t):
    return sum(1 for line in t.logs().splitlines() if '"GET /' in line)


def stats(c, timeout=2):
    with urllib.request.urlopen(f"http://{c.ip()}:8089/stats/requests",
                                timeout=timeout) as r:
        return json.loads(r.read())


def live_workers(doc):
    return [w for w in doc.get("workers", []) if w.get("state") != "missing"]


def start_master(box, image, locustfile, env=None, host=None, follow=True):
    m = box.run("master", image.name, host=host, opts=FAST_HEALTH + mount(locustfile),
                env={"LOCUST_MODE": "master", "TARGET_URL": "http://target:8000",
                     **(env or {})})
    if follow:
        m.follow()
    wait_for(lambda: port_open(m.ip(), 5557) or not m.running(), 30,
             what="the master's port 5557")
    assert m.running(), m.logs()[-3000:]
    return m


def start_worker(box, image, locustfile, name="worker", env=None):
    return box.run(name, image.name, opts=FAST_HEALTH + mount(locustfile),
                   env={"LOCUST_MODE": "worker", "LOCUST_MASTER_HOST": "master",
                        "LOCUST_ECS_ENGINES": "1", "LOCUST_ECS_HEALTH_GRACE": "2s",
                        **(env or {})})


def stop(c, role, base, timeout=30):
    """docker stop (SIGTERM, SIGKILL after 10 s): returns the exit status; the figure."""
    t = time.monotonic()
    c.engine.docker("stop", c.name, timeout=timeout)
    took = time.monotonic() - t
    figure(base, f"docker stop -> exited, {role}", f"{took * 1000:.0f} ms")
    return c.wait_exit(10), took


def no_zombie(c):
    z = [p for p in c.procs() if p["state"] in "ZX"]
    assert not z, f"zombies in {c.name}: {z}"


# ---------- what the image is ----------

def test_image_config_and_size(engine, image):
    doc = json.loads(engine.docker("image", "inspect", image.name).stdout)[0]
    cfg = doc["Config"]
    assert cfg["Entrypoint"] == [ENTRY]
    assert cfg["Healthcheck"]["Test"] == ["CMD", HEALTH]
    assert cfg["User"] == "locust" and cfg["WorkingDir"] == "/home/locust"
    assert set(cfg["ExposedPorts"]) == {"8089/tcp", "5557/tcp"}
    assert list(cfg["Volumes"]) == ["/tmp"]
    r = engine.docker("run", "--rm", "--network", "none", image.name, "--version")
    assert r.stdout.startswith("locust-ecs "), r.stdout

    # what the image adds over its base: packages (found by the build), the two programs
    base = json.loads(engine.docker("image", "inspect", image.base.image).stdout)[0]
    added = doc["Size"] - base["Size"]

    def packages(img):
        out = engine.docker("run", "--rm", "--network", "none", "--entrypoint", "dpkg-query",
                            img, "-W", "-f", "${Package}\\n", timeout=60).stdout
        return set(out.split())
    new = sorted(packages(image.name) - packages(image.base.image))
    layers = engine.docker("history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}",
                           image.name).stdout.splitlines()
    progs = next(s for s, how in (x.split("\t", 1) for x in layers)
                 if "COPY" in how and "/usr/local/bin/" in how)
    figure(image.suite, f"bytes added over {image.base.image} (Locust {image.base.version})",
           f"{added / 1e6:.1f} MB: {len(new)} packages ({' '.join(new) or 'none'}), "
           f"the two programs {progs}")
    assert added < 60e6, f"the image adds {added / 1e6:.0f} MB"


def test_print_config_and_bad_variable(engine, image, box):
    r = engine.docker("run", "--rm", "--network", "none", "-e", "LOCUST_MODE=worker",
                      "-e", "LOCUST_MASTER_HOST=master", "-e", "LOCUST_ECS_METADATA=off",
                      image.name, "--print-config")
    doc = json.loads(r.stdout)
    assert doc["role"] == "worker" and doc["locustfile"] == "/locustfile.py"
    assert doc["engine_argv"][:3] == ["locust", "-f", "/locustfile.py"]
    assert "--worker" in doc["engine_argv"] and doc["master"]["host"] == "master"
    # a bad variable: the README's code (78), the variable named in docker logs
    c = box.run("bad", image.name, env={"LOCUST_MODE": "boss"})
    assert c.wait_exit(30) == 78
    lines = c.logs().strip().splitlines()
    assert len(lines) == 1 and "LOCUST_MODE" in lines[0] and "boss" in lines[0], lines


# ---------- one container: a standalone test ----------

def test_standalone(engine, image, box, tmp_path):
    target = start_target(box, image)
    c = box.run("standalone", image.name, opts=FAST_HEALTH, env={
        "TARGET_URL": "http://target:8000",
        "LOCUST_OPTS": "--headless -u 10 -r 10 -t 5s --csv /tmp/stats"})
    # PID 1 is the supervisor; it and Locust run as the image's non-root locust user
    wait_for(lambda: c.engines(), 20, what="the engine")
    ps = c.procs()
    assert ps[0]["cmd"][0] == ENTRY, ps[0]
    assert all(p["uid"] == 1000 for p in ps), ps
    assert any("locust" in a for e in c.engines() for a in e["cmd"][:2]), c.engines()
    assert engine.docker("exec", c.name, "id", "-un").stdout.strip() == "locust"
    c.wait_health("healthy", 15)
    assert c.wait_exit(60) == 0, c.logs()[-3000:]
    engine.docker("cp", f"{c.name}:/tmp/stats_stats.csv", str(tmp_path / "stats.csv"))
    with open(tmp_path / "stats.csv") as f:
        agg = {r["Name"]: r for r in csv.DictReader(f)}["Aggregated"]
    assert int(agg["Request Count"]) > 0 and int(agg["Failure Count"]) == 0, agg
    assert target_requests(target) >= int(agg["Request Count"])
    assert [e for e in c.events() if e in ("engine.exit", "exit")] == ["engine.exit", "exit"]


# ---------- a master and a worker: registered, healthy, replaced, stopped ----------

def test_master_and_worker(engine, image, box, locustfile):
    start_target(box, image)
    m1 = start_master(box, image, locustfile, host=3)
    t0 = time.monotonic()
    w = start_worker(box, image, locustfile)
    t_reg = m1.follower.when("1 workers connected", 30, since=t0)
    figure(image.suite, "docker run worker -> registered with a running master",
           f"{(t_reg - t0) * 1000:.0f} ms")
    m1.wait_health("healthy", 20)
    w.wait_health("healthy", 20, "is connected to the master")
    assert m1.inspect()["Config"]["Healthcheck"]["Test"] == ["CMD", HEALTH]

    # its engines stopped (SIGSTOP): Docker's health check turns the worker unhealthy
    engines = w.engines()
    assert len(engines) == 1, engines
    for e in engines:
        os.kill(e["pid"], signal.SIGSTOP)  # a process of this test's container
    try:
        w.wait_health("unhealthy", 15, "is stopped")
    finally:
        for e in engines:
            os.kill(e["pid"], signal.SIGCONT)
    w.wait_health("healthy", 15)

    # the master replaced: a new container of the same name at a new address
    old = {e["pid"] for e in w.engines()}
    old_ip = m1.ip()
    t_rm = time.monotonic()
    engine.docker("rm", "-f", m1.name, timeout=60)
    m2 = start_master(box, image, locustfile, host=12)
    assert m2.ip() != old_ip
    t_reg = m2.follower.when("1 workers connected", 60)
    figure(image.suite, "master replaced (docker rm -f, run) -> worker registered with "
           "the new one", f"{(t_reg - t_rm):.1f} s")
    assert "engine.restart" in w.events()
    new = {e["pid"] for e in w.engines()}
    assert new and not new & old, (old, new)
    assert all(not os.path.exists(f"/proc/{p}") for p in old), "an old engine is left"
    # load through the new master: exactly its one worker, no report from an orphan
    req = urllib.request.Request(f"http://{m2.ip()}:8089/swarm", method="POST",
                                 data=b"user_count=2&spawn_rate=2&host=http://target:8000")
    urllib.request.urlopen(req, timeout=5).read()
    wait_for(lambda: stats(m2).get("state") == "running" and
             sum(s["num_requests"] for s in stats(m2)["stats"]) > 0, 20, what="load")
    assert len(live_workers(stats(m2))) == 1, stats(m2)["workers"]
    w.wait_health("healthy", 15, f"connected to the master {m2.ip()}:5557")
    m2.wait_health("healthy", 15)
    no_zombie(w)
    no_zombie(m2)
    assert "unrecognized worker" not in m2.logs()

    # docker stop of each role: the README's statuses (a connected worker 0; a master
    # ends the test and exits with its result, 0 without failures)
    rc, _ = stop(w, "worker (connected)", image.suite)
    assert rc == 0, w.logs()[-2000:]
    rc, _ = stop(m2, "master", image.suite)
    assert rc == 0, m2.logs()[-2000:]


# ---------- stops and signals ----------

def test_stop_and_signals(engine, image, box, locustfile):
    # a worker still looking for its master ends at once on SIGTERM: 143
    waiting = start_worker(box, image, locustfile, name="waiting",
                           env={"LOCUST_MASTER_HOST": "127.0.0.1"})
    waiting.wait_health("healthy", 20, "waiting for the master 127.0.0.1")
    rc, took = stop(waiting, "worker waiting for its master", image.suite)
    assert rc == 143 and took < 5, (rc, took, waiting.logs()[-2000:])

    # standalone with its web UI, no test running: a stop exits with Locust's 0
    s = box.run("standalone", image.name, opts=FAST_HEALTH + mount(locustfile),
                env={"TARGET_URL": "http://target:8000"})
    s.wait_health("healthy", 30)
    rc, _ = stop(s, "standalone", image.suite)
    assert rc == 0, s.logs()[-2000:]

    # HUP and USR1 are forwarded to Locust, which has no handler for them: it dies of
    # the signal, and the container says so (128 + N)
    for sig, num in (("HUP", 1), ("USR1", 10)):
        c = box.run(f"sig{num}", image.name, opts=mount(locustfile),
                    env={"TARGET_URL": "http://target:8000"})
        wait_for(lambda c=c: port_open(c.ip(), 8089), 30, what="the web UI")
        engine.docker("kill", "--signal", sig, c.name)
        assert c.wait_exit(20) == 128 + num, c.logs()[-2000:]
        assert any(o["event"] == "engine.exit" and f"status {128 + num}" in o["msg"]
                   for o in c.log()), c.log()


def test_worker_engine_signalled_is_restarted(engine, image, box, locustfile):
    """docker kill --signal HUP of a worker: the engine dies of it, the supervisor
    starts another, which registers; nothing is left unreaped."""
    start_target(box, image)
    m = start_master(box, image, locustfile)
    w = start_worker(box, image, locustfile)
    m.follower.when("1 workers connected", 30)
    first = {e["pid"] for e in w.engines()}
    t = time.monotonic()
    engine.docker("kill", "--signal", "HUP", w.name)
    wait_for(lambda: "engine.restart" in w.events() or "engine.exit" in w.events(), 10,
             what="the engine's end")
    # a new engine is a new worker to the master (the old one goes missing in 3 s)
    m.follower.when("reported as ready. 2 workers connected", 30, since=t)
    again = {e["pid"] for e in w.engines()}
    assert again and not again & first
    no_zombie(w)
    assert w.running()


# ---------- variations ----------

@pytest.mark.parametrize("tmp", ["volume", "tmpfs"])
def test_read_only_root(engine, image, box, locustfile, tmp):
    """--read-only: the image's VOLUME /tmp (mode 1777, copied into the new volume as ECS
    does) or a tmpfs keeps the state directory writable for the locust user."""
    opts = ["--read-only"] + (["--tmpfs", "/tmp"] if tmp == "tmpfs" else [])
    m = box.run("ro", image.name, opts=FAST_HEALTH + opts + mount(locustfile),
                env={"LOCUST_MODE": "master"})
    m.wait_health("healthy", 30)
    mounts = {x["Destination"]: x["Type"] for x in m.inspect()["Mounts"]}
    if tmp == "volume":
        assert mounts.get("/tmp") == "volume", mounts
    out = engine.docker("exec", m.name, "stat", "-c", "%a %U", "/tmp",
                        "/tmp/locust-ecs").stdout.split("\n")
    assert out[0] == "1777 root" and out[1] == "700 locust", out
    r = engine.docker("exec", m.name, "touch", "/probe", check=False)
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    rc, _ = stop(m, f"master, --read-only ({tmp})", image.suite)
    assert rc == 0


def test_cpus_give_engines(engine, image):
    want = {"1": 1}
    if os.cpu_count() >= 2:
        want["2"] = 2
    for cpus, n in want.items():
        r = engine.docker("run", "--rm", "--network", "none", "--cpus", cpus,
                          "-e", "LOCUST_MODE=worker", "-e", "LOCUST_MASTER_HOST=master",
                          "-e", "LOCUST_ECS_ENGINES=auto", "-e", "LOCUST_ECS_METADATA=off",
                          image.name, "--print-config")
        doc = json.loads(r.stdout)
        assert doc["engine_count"] == n, (cpus, doc["engine_count"], doc["engine_count_from"])


def test_metadata_endpoint(engine, image, box, tmp_path):
    """A fake ECS metadata endpoint (v4, the AWS examples) in a container of its own:
    the task's context is in every log line."""
    fix = os.path.join(ROOT, "tests", "fixtures", "ecs-metadata")
    d = tmp_path / "meta"
    d.mkdir(mode=0o755)
    for name, src in (("container.json", "ecs-v4-fargate-container.json"),
                      ("task.json", "ecs-v4-fargate-task.json")):
        with open(os.path.join(fix, src)) as f:
            (d / name).write_text(f.read())
        (d / name).chmod(0o644)
    with open(d / "task.json") as f:
        arn = json.load(f)["TaskARN"]
    server = os.path.join(ROOT, "tests", "integration", "cluster", "metadata_server.py")
    meta = box.run("meta", image.base.image, "/meta/server.py", "51679", "/v4/abc", "/meta/doc",
                   "0.0.0.0", opts=["--entrypoint", "python3", *mount(server, "/meta/server.py"),
                                    "-v", f"{d}:/meta/doc:ro"])
    wait_for(lambda: port_open(meta.ip(), 51679), 20, what="the metadata endpoint")
    c = box.run("task", image.name, env={
        "LOCUST_MODE": "worker", "LOCUST_MASTER_HOST": "127.0.0.1",
        "ECS_CONTAINER_METADATA_URI_V4": "http://meta:51679/v4/abc"})
    task_id = arn.rsplit("/", 1)[1]
    wait_for(lambda: len(c.log()) >= 2, 20, what="the supervisor's log")
    log = c.log()
    assert all(o.get("task") == task_id for o in log[1:]), log[:3]
    assert "GET /v4/abc" in meta.logs()
    engine.docker("stop", c.name, timeout=30)


# ---------- make image with bad input ----------

@pytest.mark.parametrize("var,value,named", [
    ("LOCUSTFILE", "/etc/hostname", "outside the build context"),
    ("LOCUSTFILE", "no-such-locustfile.py", "no such file"),
    ("LOCUST_IMAGE", "127.0.0.1:9/lec-no-such/locust:0", "base image 127.0.0.1:9/lec-no-such"),
])
def test_make_image_bad_input(engine, var, value, named):
    """One clear line, before anything is built (the missing base is asked for on the
    loopback: nothing leaves the machine)."""
    r = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "image",
                        f"DOCKER={engine.client()[0]}", f"{var}={value}",
                        "IMAGE=lec-test/never-built"], env=engine.env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode != 0
    lines = (r.stdout + r.stderr).strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and value in lines[0], lines


# ---------- Compose ----------

def test_compose(engine, image, box, locustfile, tmp_path):
    """docker/compose.yaml with Debian's docker-compose: a master and 4 workers
    (--scale), the locustfile mounted from the host; a test run through the web UI."""
    if not os.path.exists("/usr/bin/docker-compose"):
        pytest.skip("Debian's docker-compose is not installed")
    target = start_target(box, image)
    web = free_port()
    # this run's only additions: Docker's DNS answers nothing but the project's names
    override = tmp_path / "test.yaml"
    override.write_text("services:\n  master:\n    dns: [127.0.0.1]\n"
                        "  worker:\n    dns: [127.0.0.1]\n")
    project = box.prefix.replace("-", "")
    env = {"LOCUST_ECS_IMAGE": image.name, "LOCUSTFILE": locustfile,
           "WEB_UI": f"127.0.0.1:{web}", "TARGET_URL": "http://target:8000"}
    files = ["-p", project, "-f", os.path.join(ROOT, "docker", "compose.yaml"),
             "-f", str(override)]
    try:
        t = time.monotonic()
        engine.compose(*files, "up", "-d", "--scale", "worker=4", env=env, timeout=180)
        engine.docker("network", "connect", "--alias", "target", f"{project}_default",
                      target.name)

        def doc():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{web}/stats/requests",
                                            timeout=2) as r:
                    return json.loads(r.read())
            except (OSError, ValueError):  # published before the web UI listens
                return {}
        wait_for(lambda: len(live_workers(doc())) == 4, 60, every=0.5,
                 what="4 workers at the master")
        figure(image.suite, "docker-compose up --scale worker=4 -> 4 workers registered",
               f"{time.monotonic() - t:.1f} s")
        req = urllib.request.Request(f"http://127.0.0.1:{web}/swarm", method="POST",
                                     data=b"user_count=8&spawn_rate=8&host=http://target:8000")
        urllib.request.urlopen(req, timeout=5).read()
        wait_for(lambda: doc()["user_count"] == 8 and
                 sum(s["num_requests"] for s in doc()["stats"]) > 0, 30, what="the load")
        assert doc()["fail_ratio"] == 0
        # the test is stopped first: Locust 2.12.1's master can die of a KeyError (exit
        # 2) when workers quit while it hands their users to the others
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{web}/stop"),
                               timeout=5).read()
        wait_for(lambda: doc().get("state") == "stopped", 20, every=0.5, what="stopped")
        engine.compose(*files, "stop", env=env, timeout=120)
        ids = engine.compose(*files, "ps", "-q", env=env).stdout.split()
        assert len(ids) == 5
        codes = {engine.inspect(i)["Name"]: engine.inspect(i)["State"]["ExitCode"]
                 for i in ids}
        bad = {n: engine.docker("logs", n.lstrip("/"), timeout=30).stderr[-3000:]
               for n, rc in codes.items() if rc != 0}
        assert not bad, f"{codes}\n" + "\n".join(f"{n}:\n{t}" for n, t in bad.items())
    finally:
        engine.docker("network", "disconnect", "-f", f"{project}_default", target.name,
                      check=False)
        engine.compose(*files, "down", "-v", "--remove-orphans", env=env, timeout=120,
                       check=False)
