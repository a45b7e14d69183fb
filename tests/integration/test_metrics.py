"""Live metrics as CloudWatch EMF lines and the guardrail, with real Locust."""
import http.server
import json
import os
import signal
import threading
import time

import pytest

from conftest import ENTRY, base_env, fill_pipe, free_port, get_json, wait_for
from emf import emf_lines, validate


# ---------- the validator itself ----------

def test_validator_takes_the_specification_example_and_refuses_breaks():
    # the example document of AWS's "Specification: Embedded metric format"
    example = {
        "_aws": {"Timestamp": 1574109732004, "CloudWatchMetrics": [{
            "Namespace": "lambda-function-metrics", "Dimensions": [["functionVersion"]],
            "Metrics": [{"Name": "time", "Unit": "Milliseconds", "StorageResolution": 60}]}]},
        "functionVersion": "$LATEST", "time": 100,
        "requestId": "989ffbf8-9ace-4817-a57c-e4dd734019ee",
    }
    validate(json.dumps(example))
    breaks = [
        lambda d: d["_aws"].pop("Timestamp"),
        lambda d: d.pop("time"),
        lambda d: d.pop("functionVersion"),
        lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].update(Unit="Fortnights"),
        lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].update(StorageResolution=5),
        lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Namespace="AWS/Lambda"),
        lambda d: d.update(time="100"),
        lambda d: d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0].extend(
            [f"k{i}" for i in range(30)]),
    ]
    for b in breaks:
        d = json.loads(json.dumps(example))
        b(d)
        with pytest.raises(AssertionError):
            validate(json.dumps(d))


# ---------- a target whose behaviour a test changes mid-run ----------

class Target:
    """An HTTP target on loopback: 200 until told to fail (500) or to slow down."""

    def __init__(self):
        self.fail = False
        self.delay = 0.0
        t = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if t.delay:
                    time.sleep(t.delay)
                code = 500 if t.fail else 200
                self.send_response(code)
                self.send_header("Content-Length", "3")
                self.end_headers()
                self.wfile.write(b"ok\n")

            def log_message(self, *a):
                pass

        self.port = free_port()
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self.srv.daemon_threads = True
        self.th = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.th.start()
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


@pytest.fixture
def target():
    t = Target()
    yield t
    t.close()


def standalone(procs, tmp_path, locustfile, target_url, opts, stdout=None, name="sup",
               **extra):
    """A standalone supervisor of real Locust with its web UI on loopback."""
    web = free_port()
    env = base_env(tmp_path, LOCUSTFILE_PATH=locustfile, TARGET_URL=target_url,
                   LOCUST_OPTS=f"--web-host 127.0.0.1 --web-port {web} {opts}",
                   LOCUST_ECS_ENGINE="/usr/bin/locust", **extra)
    p = procs.start([ENTRY], env=env, name=name, stdout=stdout)
    p.web = web
    return p


def final_csv_count(prefix):
    import csv
    with open(prefix + "_stats.csv") as f:
        for row in csv.DictReader(f):
            if row["Name"] == "Aggregated":
                return int(row["Request Count"]), int(row["Failure Count"])
    raise AssertionError("no Aggregated row")


def test_emf_lines_match_the_engine_and_the_summary_its_final_stats(procs, tmp_path,
                                                                   locustfile, target):
    csv_prefix = str(tmp_path / "final")
    p = standalone(procs, tmp_path, locustfile, target.url,
                   f"--autostart -u 4 -r 4 -t 6s --autoquit 5 --csv {csv_prefix}",
                   LOCUST_ECS_METRICS="on", LOCUST_ECS_METRICS_INTERVAL="1s",
                   LOCUST_ECS_TEST_NAME="smoke", LOCUST_ECS_METRICS_NAMESPACE="LocustTest")
    # the test keeps every answer of the web API it sees (Locust caches it about 2 s, so
    # each sample the supervisor takes is one of these)
    seen = []
    end = time.monotonic() + 40
    while p.poll() is None and time.monotonic() < end:
        try:
            d = get_json(f"http://127.0.0.1:{p.web}/stats/requests", timeout=1)
            if d not in seen:
                seen.append(d)
        except OSError:
            pass
        time.sleep(0.2)
    assert p.wait(30) == 0, p.stderr()[-2000:]
    raw = open(p.out, "rb").read().decode()
    assert all(len(l.encode()) < 4096 for l in raw.splitlines())
    lines = emf_lines(raw)
    live = [o for o in lines if o.get("Event") != "summary"]
    summary = [o for o in lines if o.get("Event") == "summary"]
    assert len(live) >= 5, raw[-2000:]
    assert len(summary) == 1
    for o in lines:
        d = o["_aws"]["CloudWatchMetrics"][0]
        assert d["Namespace"] == "LocustTest" and d["Dimensions"] == [["TestName", "Role"]]
        assert o["TestName"] == "smoke" and o["Role"] == "standalone"
        assert all(m.get("StorageResolution") == 1 for m in d["Metrics"]), "high resolution"
    names = {m["Name"] for m in live[-1]["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"Users", "RequestsPerSecond", "FailuresPerSecond", "FailRatio",
            "ResponseTimeP50", "ResponseTimeP95"} <= names
    assert "WorkersConnected" not in names, "a standalone engine has no workers"

    def figures(d):
        agg = d["stats"][-1]
        return (d["user_count"], agg["current_rps"], d["fail_ratio"],
                d.get("current_response_time_percentile_95"))

    known = [figures(d) for d in seen]
    running = [o for o in live if o["State"] == "running"]
    assert running, "samples during the run"
    for o in running:
        got = (o["Users"], o["RequestsPerSecond"], o["FailRatio"], o.get("ResponseTimeP95"))
        assert got in known, (got, known)
    assert max(o["RequestsPerSecond"] for o in running) > 0
    # the summary: Locust's own final figures (its CSV at exit)
    reqs, fails = final_csv_count(csv_prefix)
    s = summary[0]
    assert s["TestRequests"] == reqs and s["TestFailures"] == fails, (s, reqs, fails)
    assert s["ExitStatus"] == 0 and s["StoppedBy"] == "engine"
    assert 6 <= s["TestDuration"] <= 30


def test_nothing_on_stdout_when_off(procs, tmp_path, locustfile, target):
    p = standalone(procs, tmp_path, locustfile, target.url,
                   "--autostart -u 2 -r 2 -t 3s --autoquit 1",
                   LOCUST_ECS_METRICS_INTERVAL="1s")
    assert p.wait(30) == 0
    assert '"_aws"' not in open(p.out).read()


def test_guardrail_stops_a_test_whose_target_starts_failing(procs, tmp_path, locustfile,
                                                            target):
    p = standalone(procs, tmp_path, locustfile, target.url, "--autostart -u 4 -r 4",
                   LOCUST_ECS_METRICS="on", LOCUST_ECS_METRICS_INTERVAL="1s",
                   LOCUST_ECS_GUARD_FAIL_RATIO="0.2", LOCUST_ECS_GUARD_FOR="2s")
    wait_for(lambda: any(o.get("RequestsPerSecond", 0) > 0
                         for o in emf_lines(open(p.out).read())), 30, what="load")
    assert p.poll() is None, "a healthy run is not stopped"
    target.fail = True
    t0 = time.monotonic()
    # the fail ratio (since the start) climbs past 0.2, stays for 2 s, plus one interval
    # and the web API's 2 s cache
    assert p.wait(30) == 3, p.stderr()[-1500:]
    took = time.monotonic() - t0
    guard = [o for o in p.log() if o["event"] == "guard"]
    assert guard and "fail ratio" in guard[0]["msg"], p.log()
    summary = [o for o in emf_lines(open(p.out).read()) if o.get("Event") == "summary"]
    assert summary and summary[0]["StoppedBy"] == "guardrail"
    assert summary[0]["ExitStatus"] == 3 and "fail ratio" in summary[0]["GuardReason"]
    assert took < 20, took


def test_guardrail_on_p95(procs, tmp_path, locustfile, target):
    p = standalone(procs, tmp_path, locustfile, target.url, "--autostart -u 3 -r 3",
                   LOCUST_ECS_METRICS_INTERVAL="1s", LOCUST_ECS_GUARD_P95="150ms",
                   LOCUST_ECS_GUARD_FOR="2s")
    time.sleep(4)
    assert p.poll() is None, "fast answers: not stopped"
    target.delay = 0.3
    assert p.wait(40) == 3, p.stderr()[-1500:]
    guard = [o for o in p.log() if o["event"] == "guard"]
    assert guard and "p95" in guard[0]["msg"]
    assert '"_aws"' not in open(p.out).read(), "a guardrail alone writes no metrics"


def test_a_healthy_run_is_never_stopped(procs, tmp_path, locustfile, target):
    p = standalone(procs, tmp_path, locustfile, target.url,
                   "--autostart -u 3 -r 3 -t 6s --autoquit 1",
                   LOCUST_ECS_METRICS_INTERVAL="1s", LOCUST_ECS_GUARD_FAIL_RATIO="0.01",
                   LOCUST_ECS_GUARD_P95="2s", LOCUST_ECS_GUARD_FOR="1s")
    assert p.wait(40) == 0
    assert not [o for o in p.log() if o["event"] == "guard"]


def test_stalled_stdout_never_delays_the_stop(procs, tmp_path, locustfile, target):
    r, w = os.pipe()
    try:
        fill_pipe(w)  # full, and blocking for any other writer
        p = standalone(procs, tmp_path, locustfile, target.url, "--autostart -u 2 -r 2",
                       stdout=w, LOCUST_ECS_METRICS="on", LOCUST_ECS_METRICS_INTERVAL="1s",
                       LOCUST_ECS_STOP_GRACE="20s")
        wait_for(lambda: any(o["event"] == "metrics" and "dropped" in o["msg"]
                             for o in p.log()), 30, what="a metrics line dropped")
        t0 = time.monotonic()
        p.signal(signal.SIGTERM)
        rc = p.wait(15)
        assert time.monotonic() - t0 < 10, "stopped at once"
        assert rc in (0, 1), rc  # Locust's own status after a SIGTERM
    finally:
        os.close(r)
        os.close(w)


def test_headless_says_why_there_are_no_metrics(procs, tmp_path, locustfile, target):
    env = base_env(tmp_path, LOCUSTFILE_PATH=locustfile, TARGET_URL=target.url,
                   LOCUST_OPTS="--headless -u 1 -r 1 -t 2s", LOCUST_ECS_METRICS="on")
    p = procs.start([ENTRY], env=env, name="sup")
    assert p.wait(30) == 0
    assert any(o["event"] == "metrics" and "--headless" in o["msg"] for o in p.log())


def test_per_request_lines_only_when_asked_and_capped(procs, tmp_path, target):
    lf = tmp_path / "two.py"
    lf.write_text('''
from locust import HttpUser, task, constant

class U(HttpUser):
    wait_time = constant(0.05)

    @task(5)
    def busy(self):
        self.client.get("/busy")

    @task(1)
    def quiet(self):
        self.client.get("/quiet")
''')
    p = standalone(procs, tmp_path, str(lf), target.url,
                   "--autostart -u 3 -r 3 -t 5s --autoquit 2",
                   LOCUST_ECS_METRICS="on", LOCUST_ECS_METRICS_INTERVAL="1s",
                   LOCUST_ECS_METRICS_PER_REQUEST="1")
    assert p.wait(40) == 0, p.stderr()[-1500:]
    lines = emf_lines(open(p.out).read())
    per = [o for o in lines if "Request" in o]
    assert per, "request lines"
    assert {o["Request"] for o in per} == {"GET /busy"}, "the busiest name only (cap 1)"
    for o in per:
        d = o["_aws"]["CloudWatchMetrics"][0]
        assert d["Dimensions"] == [["TestName", "Role", "Request"]]
        assert o["Requests"] >= 0
    plain = standalone(procs, tmp_path, str(lf), target.url,
                       "--autostart -u 1 -r 1 -t 2s --autoquit 1", name="plain",
                       LOCUST_ECS_METRICS="on", LOCUST_ECS_METRICS_INTERVAL="1s")
    assert plain.wait(40) == 0
    assert not [o for o in emf_lines(open(plain.out).read()) if "Request" in o], \
        "none unless asked"
