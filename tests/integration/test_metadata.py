"""ECS task metadata: a local endpoint serving AWS's examples (and broken answers), what the
supervisor reads, that Locust runs whatever the endpoint does, and engines per vCPU."""
import copy
import json
import os
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import (ENTRY, ROOT, base_env, free_port, port_open, read_log, start_master,
                      wait_for, workers_of)

FIX = os.path.join(ROOT, "tests", "fixtures", "ecs-metadata")
HUGE = 2 * 1024 * 1024  # the client's cap is 1 MiB


def fixture(name):
    with open(os.path.join(FIX, name), "rb") as f:
        return f.read()


def task_doc(cpu=None, **changes):
    """The Fargate task example, with Limits.CPU and other fields changed."""
    d = json.loads(fixture("ecs-v4-fargate-task.json"))
    if cpu is not None:
        d["Limits"]["CPU"] = cpu
    d.update(changes)
    return json.dumps(d).encode()


def ec2_task_doc():
    """An EC2 task document made from AWS's EC2 container example (AWS publishes no EC2
    task example): no task-level limits, launch type EC2, its container inside."""
    c = json.loads(fixture("ecs-v4-ec2-container.json"))
    lab = c["Labels"]
    d = {"Cluster": lab["com.amazonaws.ecs.cluster"], "TaskARN": lab["com.amazonaws.ecs.task-arn"],
         "Family": lab["com.amazonaws.ecs.task-definition-family"],
         "Revision": lab["com.amazonaws.ecs.task-definition-version"],
         "DesiredStatus": "RUNNING", "KnownStatus": "RUNNING", "AvailabilityZone": "us-west-2d",
         "LaunchType": "EC2", "Containers": [copy.deepcopy(c)]}
    return json.dumps(d).encode()


class Route:
    def __init__(self, body=b"", status=200, delay=0.0, length=True, statuses=None,
                 headers=None):
        self.body, self.status, self.delay, self.length = body, status, delay, length
        self.statuses = list(statuses or [])  # statuses of the first requests, then status
        self.headers = headers or {}


class MetadataServer:
    """The ECS agent's endpoint, on loopback, in a thread of the test process."""

    def __init__(self):
        self.routes = {}
        self.hits = []
        self.gone = threading.Event()
        self.port = free_port()
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                srv.hits.append((time.monotonic(), self.path))
                r = srv.routes.get(self.path)
                if r is None:
                    self.send_error(404)
                    return
                if r.delay and srv.gone.wait(r.delay):
                    return
                status = r.statuses.pop(0) if r.statuses else r.status
                body = r.body() if callable(r.body) else r.body
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    for k, v in r.headers.items():
                        self.send_header(k, v)
                    if r.length:
                        self.send_header("Content-Length", str(len(body)))
                    else:
                        self.close_connection = True
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        wait_for(lambda: port_open("127.0.0.1", self.port), 5, what="the metadata server")

    def base(self, version=4):
        return f"http://127.0.0.1:{self.port}/v{version}/abc"

    def serve(self, container, task, version=4):
        """container, task: Route, bytes, or None (404)."""
        for path, r in ((f"/v{version}/abc", container), (f"/v{version}/abc/task", task)):
            if r is None:
                self.routes.pop(path, None)
            else:
                self.routes[path] = r if isinstance(r, Route) else Route(r)

    def paths(self):
        return [p for _, p in self.hits]

    def close(self):
        self.gone.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def meta():
    s = MetadataServer()
    yield s
    s.close()


def meta_env(tmp_path, server=None, version=4, **extra):
    env = base_env(tmp_path, **{"LOCUST_ECS_METADATA": "on", **extra})
    if server:
        key = "ECS_CONTAINER_METADATA_URI_V4" if version == 4 else "ECS_CONTAINER_METADATA_URI"
        env[key] = server.base(version)
    return env


def print_config(tmp_path, env, timeout=15):
    """Runs --print-config; returns (exit status, parsed stdout or None, log, seconds)."""
    t0 = time.monotonic()
    r = subprocess.run([ENTRY, "--print-config"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, start_new_session=True)
    took = time.monotonic() - t0
    err = tmp_path / "print-config.err"
    err.write_bytes(r.stderr)
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        doc = None
    return r.returncode, doc, read_log(str(err)), took


def warnings(log):
    return [o for o in log if o["event"] == "metadata" and o["level"] == "warn"]


FARGATE = (fixture("ecs-v4-fargate-container.json"), fixture("ecs-v4-fargate-task.json"))


# ---------- what is read ----------

def test_v4_fargate(tmp_path, meta):
    meta.serve(*FARGATE)
    rc, doc, log, _ = print_config(tmp_path, meta_env(tmp_path, meta))
    assert rc == 0
    m = doc["metadata"]
    assert m["read"] is True and m["version"] == 4 and m["warning"] is None
    assert m["task_id"] == "e9028f8d5d8e4f258373e7b93ce9a3c3"
    assert m["cluster"] == "arn:aws:ecs:us-west-2:111122223333:cluster/default"
    assert (m["family"], m["revision"]) == ("curltest", "3")
    assert m["availability_zone"] == "us-west-2a" and m["launch_type"] == "FARGATE"
    assert m["container_name"] == "curl" and m["ipv4"] == "192.0.2.3"
    assert m["ipv6"] == "2001:dB8:10b:1a00:32bf:a372:d80f:e958"
    assert m["task_vcpu"] == 0.25 and m["task_memory_mib"] == 512
    assert m["container_cpu_units"] == 10
    assert sorted(meta.paths()) == ["/v4/abc", "/v4/abc/task"]
    assert not warnings(log)


def test_v4_ec2(tmp_path, meta):
    meta.serve(fixture("ecs-v4-ec2-container.json"), ec2_task_doc())
    rc, doc, log, _ = print_config(tmp_path, meta_env(tmp_path, meta, LOCUST_MODE="worker",
                                                      LOCUST_MASTER_HOST="127.0.0.1"))
    assert rc == 0
    m = doc["metadata"]
    assert m["read"] and m["launch_type"] == "EC2" and m["cluster"] == "default"
    assert m["task_id"] == "8f03e41243824aea923aca126495f665"
    assert (m["family"], m["revision"]) == ("curltest", "24")
    assert m["ipv4"] == "10.0.2.100" and m["ipv6"] is None
    assert m["task_vcpu"] is None and m["container_cpu_units"] == 10
    # no task-level CPU: a cgroup quota, else the container's 10 CPU units (one engine)
    assert doc["engines"] == "auto" and doc["engine_count"] >= 1
    assert "cgroup" in doc["engine_count_from"] or (
        "container's CPU units" in doc["engine_count_from"] and doc["engine_count"] == 1)
    assert not warnings(log)


def test_v3_only(tmp_path, meta):
    meta.serve(fixture("ecs-v3-container.json"), fixture("ecs-v3-task.json"), version=3)
    rc, doc, log, _ = print_config(tmp_path, meta_env(tmp_path, meta, version=3))
    assert rc == 0
    m = doc["metadata"]
    assert m["read"] and m["version"] == 3
    assert m["task_id"] == "9781c248-0edd-4cdb-9a93-f63cb662a5d3"
    assert (m["family"], m["revision"], m["availability_zone"]) == ("nginx", "5", "us-east-2b")
    assert m["container_name"] == "nginx-curl" and m["ipv4"] == "10.0.2.106"
    assert sorted(meta.paths()) == ["/v3/abc", "/v3/abc/task"]
    assert not warnings(log)


def test_v4_preferred_over_v3(tmp_path, meta):
    meta.serve(*FARGATE)
    meta.serve(fixture("ecs-v3-container.json"), fixture("ecs-v3-task.json"), version=3)
    env = meta_env(tmp_path, meta)
    env["ECS_CONTAINER_METADATA_URI"] = meta.base(3)
    rc, doc, _, _ = print_config(tmp_path, env)
    assert rc == 0 and doc["metadata"]["version"] == 4
    assert all(p.startswith("/v4/") for p in meta.paths())


def test_no_endpoint_is_quiet(tmp_path):
    rc, doc, log, took = print_config(tmp_path, meta_env(tmp_path))
    assert rc == 0 and doc["metadata"] is None
    assert not warnings(log) and took < 4


def test_metadata_off_reads_nothing(tmp_path, meta):
    meta.serve(*FARGATE)
    env = meta_env(tmp_path, meta, LOCUST_ECS_METADATA="off")
    rc, doc, _, _ = print_config(tmp_path, env)
    assert rc == 0 and doc["metadata"] is None and meta.paths() == []


def test_fields_missing_or_wrong_type(tmp_path, meta):
    container = b'{"Name": 42, "Networks": {"IPv4Addresses": "x"}, "Limits": [1], "New": {}}'
    task = (b'{"Cluster": ["c"], "TaskARN": "arn:aws:ecs:us-west-2:1:task/c/abc123", '
            b'"Family": null, "Revision": 9, "AvailabilityZone": 7, "LaunchType": {}, '
            b'"Limits": {"CPU": "4", "Memory": "lots"}, "Containers": "none", '
            b'"SomethingNew": [1, 2, 3]}')
    meta.serve(container, task)
    rc, doc, log, _ = print_config(tmp_path, meta_env(tmp_path, meta, LOCUST_MODE="worker",
                                                      LOCUST_MASTER_HOST="127.0.0.1"))
    assert rc == 0
    m = doc["metadata"]
    assert m["read"] and m["warning"] is None and not warnings(log)
    assert m["task_id"] == "abc123" and m["revision"] == "9"
    for k in ("cluster", "family", "availability_zone", "launch_type", "container_name",
              "ipv4", "task_vcpu", "task_memory_mib", "container_cpu_units"):
        assert m[k] is None, k
    assert doc["engine_count"] >= 1  # a string CPU is not trusted: cgroup or online CPUs


def test_empty_objects(tmp_path, meta):
    meta.serve(b"{}", b"{}")
    rc, doc, log, _ = print_config(tmp_path, meta_env(tmp_path, meta))
    assert rc == 0 and doc["metadata"]["read"] and doc["metadata"]["task_id"] is None
    assert not warnings(log)


# ---------- what goes wrong: a warning, never fatal, bounded ----------

FAILURES = {
    # name: (container route, task route, words expected in the warning)
    "404": (None, None, ["404"]),
    "500": (Route(b"oops", 500), Route(b"oops", 500), ["500", "gave up after retrying"]),
    "slow": (Route(FARGATE[0], delay=8), Route(FARGATE[1], delay=8), ["timed out"]),
    "garbage": (Route(b"<html>hello</html>"), Route(b"\x00\xff garbage"), ["not JSON"]),
    "truncated": (Route(FARGATE[0][:300]), Route(FARGATE[1][:700]), ["not JSON"]),
    "empty": (Route(b""), Route(b""), ["not JSON"]),
    "not-an-object": (Route(b"[1, 2]"), Route(b'"task"'), ["not a JSON object"]),
    "huge": (Route(lambda: b" " * HUGE + b"{}"), Route(lambda: b"[" * HUGE),
             ["larger than 1048576"]),
    "huge-no-length": (Route(lambda: b" " * HUGE + b"{}", length=False),
                       Route(lambda: b" " * HUGE, length=False), ["larger than 1048576"]),
    "redirect": (Route(b"", 302, headers={"Location": "http://127.0.0.2:1/v4/abc"}),
                 Route(b"", 301, headers={"Location": "http://example.com/"}),
                 ["HTTP status 30", "redirects are not followed"]),
}


def serve_failure(meta, name):
    c, t, _ = FAILURES[name]
    meta.serve(c, t)


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_failure_is_a_warning(tmp_path, meta, name):
    serve_failure(meta, name)
    rc, doc, log, took = print_config(tmp_path, meta_env(tmp_path, meta))
    assert rc == 0, "a metadata failure is never fatal"
    m = doc["metadata"]
    assert m["read"] is False and m["task_id"] is None
    w = warnings(log)
    assert w, "a warning is logged"
    assert meta.base() in w[0]["msg"], "the warning names the URL"
    assert len({o["msg"] for o in w}) == len(w) and len(w) <= 2, "logged once per document"
    for word in FAILURES[name][2]:
        assert word in m["warning"] or word in w[0]["msg"], (word, w[0]["msg"])
    assert took < 5.0, "the whole fetch stays within a few seconds"


def test_slow_endpoint_bounded(tmp_path, meta):
    serve_failure(meta, "slow")
    rc, doc, log, took = print_config(tmp_path, meta_env(tmp_path, meta))
    assert rc == 0 and 1.5 < took < 4.5, took
    assert len(warnings(log)) == 1, "a timeout ends the fetch: the task is not asked too"
    assert meta.paths() == ["/v4/abc"]


def test_500_is_retried_then_read(tmp_path, meta):
    meta.serve(Route(FARGATE[0], statuses=[500, 503]), Route(FARGATE[1], statuses=[502]))
    rc, doc, log, took = print_config(tmp_path, meta_env(tmp_path, meta))
    assert rc == 0 and doc["metadata"]["read"] and doc["metadata"]["warning"] is None
    assert doc["metadata"]["task_id"] == "e9028f8d5d8e4f258373e7b93ce9a3c3"
    assert meta.paths() == ["/v4/abc"] * 3 + ["/v4/abc/task"] * 2
    assert not warnings(log) and took < 3


def test_500_container_task_still_read(tmp_path, meta):
    meta.serve(Route(b"", 503), FARGATE[1])
    rc, doc, log, took = print_config(tmp_path, meta_env(tmp_path, meta))
    m = doc["metadata"]
    assert rc == 0 and m["read"] is True and m["task_id"] == "e9028f8d5d8e4f258373e7b93ce9a3c3"
    assert m["container_name"] is None and "503" in m["warning"]
    assert meta.paths() == ["/v4/abc"] * 4 + ["/v4/abc/task"], "4 attempts, then the task"
    assert len(warnings(log)) == 1 and took < 4


def test_task_fails_container_read(tmp_path, meta):
    meta.serve(fixture("ecs-v4-ec2-container.json"), Route(b"{", 200))
    rc, doc, log, _ = print_config(tmp_path, meta_env(tmp_path, meta))
    m = doc["metadata"]
    assert rc == 0 and m["read"] is True
    assert m["task_id"] == "8f03e41243824aea923aca126495f665", "from the container's labels"
    assert meta.base() + "/task" in m["warning"]
    assert len(warnings(log)) == 1


def test_endpoint_down(tmp_path, meta):
    env = meta_env(tmp_path)
    env["ECS_CONTAINER_METADATA_URI_V4"] = f"http://127.0.0.1:{free_port()}/v4/abc"
    rc, doc, log, took = print_config(tmp_path, env)
    assert rc == 0 and doc["metadata"]["read"] is False
    w = warnings(log)
    assert len(w) == 1 and "connect" in w[0]["msg"].lower(), w
    assert took < 4.0


# ---------- Locust still runs ----------

def run_standalone(procs, tmp_path, env, locustfile, http_target, name="le"):
    env.update(LOCUST_OPTS="--headless -u 2 -r 2 -t 2s", TARGET_URL=http_target,
               LOCUSTFILE_PATH=locustfile)
    p = procs.start([ENTRY], env=env, name=name)
    rc = p.wait(40)
    return p, rc


def test_locust_runs_with_metadata_and_logs_carry_the_task(procs, tmp_path, meta, locustfile,
                                                           http_target):
    meta.serve(*FARGATE)
    p, rc = run_standalone(procs, tmp_path, meta_env(tmp_path, meta), locustfile, http_target)
    assert rc == 0, p.stderr()[-2000:]
    log = p.log()
    assert "engine.start" in p.events() and "engine.exit" in p.events()
    for o in log:
        assert o.get("task") == "e9028f8d5d8e4f258373e7b93ce9a3c3", o
        assert o.get("family") == "curltest:3", o
        assert o.get("az") == "us-west-2a", o
    assert "Aggregated" in p.stderr() + p.stdout(), "Locust really ran"


@pytest.mark.parametrize("name", ["404", "500", "slow", "garbage", "truncated", "huge",
                                  "down"])
def test_locust_runs_when_metadata_fails(procs, tmp_path, meta, locustfile, http_target, name):
    env = meta_env(tmp_path, meta)
    if name == "down":
        env["ECS_CONTAINER_METADATA_URI_V4"] = f"http://127.0.0.1:{free_port()}/v4/abc"
    else:
        serve_failure(meta, name)
    p, rc = run_standalone(procs, tmp_path, env, locustfile, http_target)
    assert rc == 0, p.stderr()[-2000:]
    ev = p.events()
    assert ev.count("metadata") >= 1 and "engine.start" in ev and "engine.exit" in ev
    assert ev.index("metadata") < ev.index("engine.start")
    assert all("task" not in o for o in p.log()), "no task context when nothing was read"


def test_fields_missing_locust_runs(procs, tmp_path, meta, locustfile, http_target):
    meta.serve(b'{"Name": 1}', b'{"TaskARN": "arn:aws:ecs:r:1:task/c/t1", "Limits": 5}')
    p, rc = run_standalone(procs, tmp_path, meta_env(tmp_path, meta), locustfile, http_target)
    assert rc == 0, p.stderr()[-2000:]
    log = p.log()
    assert not warnings(log)
    assert all(o.get("task") == "t1" and "family" not in o and "az" not in o for o in log)


# ---------- engines per worker task ----------

def worker_cfg(tmp_path, meta, **extra):
    return meta_env(tmp_path, meta, LOCUST_MODE="worker", LOCUST_MASTER_HOST="127.0.0.1",
                    **extra)


@pytest.mark.parametrize("cpu,want", [(0.25, 1), (0.5, 1), (1, 1), (2, 2), (4, 4), (16, 16)])
def test_engines_auto_from_task_cpu(tmp_path, meta, cpu, want):
    meta.serve(FARGATE[0], task_doc(cpu=cpu))
    rc, doc, _, _ = print_config(tmp_path, worker_cfg(tmp_path, meta))
    assert rc == 0 and doc["engines"] == "auto" and doc["engine_count"] == want
    assert doc["metadata"]["task_vcpu"] == cpu


class CpuCgroup:
    """A real cgroup of this machine with a CPU quota, v1 (cpu controller mounted at
    /sys/fs/cgroup/cpu) or v2 (unified /sys/fs/cgroup with the cpu controller enabled)."""

    def __init__(self, cpus):
        name = f"le-test-{os.getpid()}-{cpus}"
        v1 = "/sys/fs/cgroup/cpu"
        v2 = "/sys/fs/cgroup"
        self.dir = None
        try:
            if os.path.exists(os.path.join(v1, "cpu.cfs_quota_us")):
                os.mkdir(os.path.join(v1, name))
                self.dir = os.path.join(v1, name)
                self._write("cpu.cfs_period_us", "100000")
                self._write("cpu.cfs_quota_us", str(cpus * 100000))
            elif "cpu" in self._read(os.path.join(v2, "cgroup.subtree_control")).split():
                os.mkdir(os.path.join(v2, name))
                self.dir = os.path.join(v2, name)
                self._write("cpu.max", f"{cpus * 100000} 100000")
            else:
                pytest.skip("no cgroup cpu controller to make a quota with (cgroup v1 cpu, "
                            "or v2 with cpu in the root's subtree_control)")
        except OSError as e:
            if self.dir:
                os.rmdir(self.dir)
            pytest.skip(f"unable to make a cgroup with a CPU quota here: {e}")

    @staticmethod
    def _read(path):
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            return ""

    def _write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def argv(self, argv):
        """argv run as a process that first moves itself into this cgroup."""
        code = ("import os, sys; open(sys.argv[1], 'w').write(str(os.getpid())); "
                "os.execv(sys.argv[2], sys.argv[2:])")
        return ["/usr/bin/python3", "-c", code, os.path.join(self.dir, "cgroup.procs"), *argv]

    def remove(self):
        # every process in it has ended by now (the supervisor exits after --print-config)
        for _ in range(50):
            try:
                os.rmdir(self.dir)
                return
            except OSError:
                time.sleep(0.1)
        os.rmdir(self.dir)


def test_engines_auto_from_own_cgroup_quota(tmp_path):
    """No metadata: the quota of the supervisor's own cgroup, found through
    /proc/self/cgroup below the mount as in a container sharing the host's cgroup
    namespace. One CPU fewer than it finds outside, so that only the quota can give it."""
    if os.geteuid() != 0:
        pytest.skip("making a cgroup needs root")
    env = base_env(tmp_path, LOCUST_MODE="worker", LOCUST_MASTER_HOST="127.0.0.1",
                   LOCUST_ECS_METADATA="off")
    rc, doc, _, _ = print_config(tmp_path, env)
    assert rc == 0 and doc["engines"] == "auto" and doc["engine_count"] >= 1
    outside = doc["engine_count"]
    if outside < 2:
        pytest.skip("one CPU here: a quota of fewer could not be told apart")
    want = outside - 1
    cg = CpuCgroup(want)
    try:
        r = subprocess.run(cg.argv([ENTRY, "--print-config"]), env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=15, start_new_session=True)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["engines"] == "auto" and doc["engine_count"] == want, \
            f"the cgroup's quota of {want} CPUs (outside: {outside}): {doc['engine_count']}"
    finally:
        cg.remove()


def test_engines_auto_from_container_cpu_units(tmp_path, meta):
    """EC2 without a task-level CPU: the container's reservation (2048 units = 2 vCPUs)
    sizes the worker, not the CPUs of a host that other tasks share. A cgroup quota, where
    this machine has one, comes first."""
    bare = base_env(tmp_path, LOCUST_MODE="worker", LOCUST_MASTER_HOST="127.0.0.1",
                    LOCUST_ECS_METADATA="off")
    _, plain, _, _ = print_config(tmp_path, bare)
    c = json.loads(fixture("ecs-v4-ec2-container.json"))
    c["Limits"]["CPU"] = 2048
    task = json.loads(ec2_task_doc())
    task["Containers"][0]["Limits"]["CPU"] = 2048
    meta.serve(json.dumps(c).encode(), json.dumps(task).encode())
    rc, doc, _, _ = print_config(tmp_path, worker_cfg(tmp_path, meta))
    assert rc == 0 and doc["metadata"]["container_cpu_units"] == 2048
    if "cgroup" in plain["engine_count_from"]:
        assert doc["engine_count"] == plain["engine_count"], "the quota comes first"
    else:
        assert doc["engine_count"] == 2, doc["engine_count_from"]
        assert "container's CPU units" in doc["engine_count_from"]
    assert "online CPUs" in plain["engine_count_from"] or "cgroup" in plain["engine_count_from"]


def test_engines_explicit_wins(tmp_path, meta):
    meta.serve(FARGATE[0], task_doc(cpu=2))
    rc, doc, _, _ = print_config(tmp_path, worker_cfg(tmp_path, meta, LOCUST_ECS_ENGINES=2))
    assert rc == 0 and doc["engines"] == 2 and doc["engine_count"] == 2
    rc, doc, _, _ = print_config(tmp_path, worker_cfg(tmp_path, meta, LOCUST_ECS_ENGINES=3))
    assert rc == 0 and doc["engine_count"] == 3, "an explicit number wins over the task's 2"
    rc, doc, _, _ = print_config(tmp_path, worker_cfg(tmp_path, meta, LOCUST_ECS_ENGINES="auto"))
    assert rc == 0 and doc["engines"] == "auto" and doc["engine_count"] == 2


def test_engines_without_metadata_are_sized_by_the_machine(tmp_path):
    rc, doc, _, _ = print_config(tmp_path, base_env(tmp_path, LOCUST_MODE="worker",
                                                    LOCUST_MASTER_HOST="127.0.0.1"))
    assert rc == 0 and doc["engines"] == "auto"
    assert 1 <= doc["engine_count"] <= os.cpu_count()


@pytest.mark.parametrize("role", ["standalone", "master"])
def test_engines_one_for_standalone_and_master(tmp_path, meta, role):
    meta.serve(FARGATE[0], task_doc(cpu=4))
    rc, doc, _, _ = print_config(tmp_path, meta_env(tmp_path, meta, LOCUST_MODE=role))
    assert rc == 0 and doc["engine_count"] == 1


@pytest.mark.parametrize("value", ["0", "-1", "two", "2.5", "257", "2x", "0x2", " 2"])
def test_engines_bad_value(tmp_path, value):
    env = base_env(tmp_path, LOCUST_MODE="worker", LOCUST_MASTER_HOST="127.0.0.1",
                   LOCUST_ECS_ENGINES=value)
    rc, doc, log, _ = print_config(tmp_path, env)
    assert rc == 78 and doc is None
    errs = [o["msg"] for o in log if o["level"] == "error"]
    assert errs and "LOCUST_ECS_ENGINES" in errs[0] and "auto" in errs[0], log


# ---------- signals during the fetch ----------

@pytest.mark.parametrize("role", ["worker", "standalone"])
def test_sigterm_during_slow_fetch(procs, tmp_path, meta, locustfile, role):
    meta.serve(Route(FARGATE[0], delay=8), Route(FARGATE[1], delay=8))
    env = meta_env(tmp_path, meta, LOCUST_MODE=role, LOCUSTFILE_PATH=locustfile,
                   LOCUST_MASTER_HOST="127.0.0.1", LOCUST_MASTER_PORT=free_port(),
                   LOCUST_OPTS="--headless -u 1 -r 1 -t 30s")
    p = procs.start([ENTRY], env=env)
    wait_for(lambda: meta.paths(), 5, what="the metadata request")
    time.sleep(0.2)
    t0 = time.monotonic()
    p.signal(signal.SIGTERM)
    rc = p.wait(5)
    took = time.monotonic() - t0
    assert rc == 143, p.stderr()[-2000:]
    assert took < 2.0, f"answered in {took:.2f}s, not after the 8 s the endpoint takes"
    assert meta.paths() == ["/v4/abc"], "no more requests after the signal"


def test_other_signal_during_fetch_neither_stops_nor_spins(tmp_path, meta):
    """A SIGHUP stays pending (the supervisor reads it later): the fetch goes on, without
    spinning on the signalfd that stays readable."""
    meta.serve(Route(FARGATE[0], delay=1.0), FARGATE[1])
    p = subprocess.Popen([ENTRY, "--print-config"], env=meta_env(tmp_path, meta),
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        wait_for(lambda: meta.paths(), 5, what="the metadata request")
        os.kill(p.pid, signal.SIGHUP)
        out = p.stdout.read()
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
        p.stdout.close()
    assert p.returncode == 0
    assert json.loads(out)["metadata"]["read"] is True
    assert ru.ru_utime + ru.ru_stime < 0.5, "no busy loop while the signal is pending"


# ---------- real Locust: one worker task, two engines ----------

def test_worker_task_two_engines_from_task_cpu(procs, tmp_path, meta, locustfile, http_target):
    """A worker task whose metadata says 2 vCPUs runs 2 engines (auto): the master lists
    2 workers, a headless run completes and both engines exit 0."""
    meta.serve(FARGATE[0], task_doc(cpu=2))
    port = free_port()
    env = worker_cfg(tmp_path, meta, LOCUST_MASTER_PORT=port, LOCUSTFILE_PATH=locustfile,
                     LOCUST_ECS_REJOIN_WINDOW="2s")
    # first a master with a web UI: both workers register
    m = start_master(procs, locustfile, port=port)
    w = procs.start([ENTRY], env=env, name="worker")
    wait_for(lambda: len(workers_of(m)) == 2, 20, what="2 workers at the master")
    starts = [o for o in w.log() if o["event"] == "engine.start"]
    assert len(starts) == 2 and all("of 2" in o["msg"] for o in starts)
    assert all(o.get("task") == "e9028f8d5d8e4f258373e7b93ce9a3c3" for o in w.log())
    m.signal(signal.SIGTERM)
    assert m.wait(20) is not None
    # the quit from the master ends both engines with 0; no master back: the task exits 0
    assert w.wait(30) == 0, w.stderr()[-3000:]
    exits = [o["msg"] for o in w.log() if o["event"] == "engine.exit"]
    assert len(exits) == 2 and all("status 0" in e for e in exits), exits


def test_headless_master_two_engines_complete(procs, tmp_path, meta, locustfile, http_target):
    meta.serve(FARGATE[0], task_doc(cpu=4))
    port = free_port()
    env = worker_cfg(tmp_path, meta, LOCUST_MASTER_PORT=port, LOCUSTFILE_PATH=locustfile,
                     LOCUST_ECS_ENGINES=2, LOCUST_ECS_REJOIN_WINDOW="2s")
    w = procs.start([ENTRY], env=env, name="worker")
    m = start_master(procs, locustfile, port=port,
                     extra=["--headless", "-u", "4", "-r", "4", "-t", "3s", "-H", http_target,
                            "--expect-workers", "2"])
    assert m.wait(40) == 0, m.stderr()[-2000:]
    assert w.wait(30) == 0, w.stderr()[-3000:]
    exits = [o["msg"] for o in w.log() if o["event"] == "engine.exit"]
    assert len(exits) == 2 and all("status 0" in e for e in exits), exits
