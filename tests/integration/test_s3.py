"""S3: test code in before the engine starts, reports out after it ends (issue 15).

Every request goes to the test S3 endpoint of s3server.py, which computes each SigV4
signature again with botocore and refuses what S3 would refuse; it is itself checked here
against the signatures AWS publishes for its S3 examples. Credentials come from the
environment or from a fake ECS credentials endpoint (the full URI on loopback; the
relative URI, fixed to 169.254.170.2 by the SDKs' rule, is left to the unit tests: no test
sends to that address). Loopback only."""
import datetime
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time
import zipfile

import pytest

from conftest import ENTRY, LOCUST, LOCUSTFILE, PY, base_env, free_port, port_open, wait_for
from s3server import Account, CredsEndpoint, S3Error, S3Server, verify

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = os.path.join(HERE, "engines", "report_engine.py")
UTC = datetime.timezone.utc
REGION = "eu-west-1"
KEY = Account("AKIAEXAMPLELONGTERM1", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYLONGTERM")
TEMP = Account("ASIAEXAMPLETEMPORARY", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbTEMPORARY",
               token="IQoJb3JpZ2luX2VjEB0aCXVzLWVhc3QtMSJHMEUCIQ+test/session+token==")
SECRETS = (KEY.secret, TEMP.secret, TEMP.token)
RESULTS = "locust-results"
CODE = "locust-code"
FILES = {"locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv",
         "locust_exceptions.csv", "report.html", "summary.json"}


def now():
    return datetime.datetime.now(UTC)


@pytest.fixture
def s3():
    srv = S3Server([KEY, TEMP], {RESULTS: REGION, CODE: REGION, "west-bucket": "us-west-2"})
    yield srv
    srv.close()


def s3_env(tmp_path, srv, keys=KEY, **extra):
    """A supervisor whose engine is the stand-in report engine, with S3 at srv."""
    lf = tmp_path / "lf.py"
    lf.write_text("# the stand-in engine reads only this line\n")
    env = base_env(tmp_path, LOCUST_ECS_ENGINE=REPORT, LOCUSTFILE_PATH=str(lf),
                   LOCUST_ECS_S3_ENDPOINT=srv.url, AWS_REGION=REGION,
                   REPORT_OUT=str(tmp_path / "engine.out"),
                   LOCUST_ECS_RESULTS=f"s3://{RESULTS}/runs")
    if keys:
        env.update(AWS_ACCESS_KEY_ID=keys.akid, AWS_SECRET_ACCESS_KEY=keys.secret)
        if keys.token:
            env["AWS_SESSION_TOKEN"] = keys.token
    env.update({k: str(v) for k, v in extra.items()})
    return {k: v for k, v in env.items() if v != "None"}


def run(procs, env, timeout=30, name="sup"):
    p = procs.start([ENTRY], env=env, name=name)
    rc = p.wait(timeout)
    return rc, p


def no_secret_in(p):
    text = p.stderr() + p.stdout()
    for s in SECRETS:
        assert s not in text, "a secret was logged"


def uploaded(srv, test_id=None):
    keys = srv.keys(RESULTS, "runs/")
    if test_id:
        assert all(k.startswith(f"runs/{test_id}/") for k in keys), keys
    return {k.rsplit("/", 1)[1]: k for k in keys}


def summary_of(srv):
    names = uploaded(srv)
    return json.loads(srv.get(RESULTS, names["summary.json"]))


def errors_of(p, event="s3.upload"):
    return [o["msg"] for o in p.log() if o["level"] == "error" and o["event"] == event]


def engine_argv(tmp_path):
    for line in (tmp_path / "engine.out").read_text().splitlines():
        if line.startswith("argv "):
            return json.loads(line[5:])
    return None


# ---------- the verifier itself, against AWS's published examples ----------

# "Signature Calculations for the Authorization Header: Transferring Payload in a Single
# Chunk (AWS Signature Version 4)", examples GET Object and PUT Object:
# https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
DOC_KEY = Account("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
DOC_NOW = datetime.datetime(2013, 5, 24, tzinfo=UTC)
DOC_HOST = "examplebucket.s3.amazonaws.com"
DOC_GET = ("GET", "/test.txt", [
    ("Host", DOC_HOST), ("Range", "bytes=0-9"), ("x-amz-date", "20130524T000000Z"),
    ("x-amz-content-sha256", hashlib.sha256(b"").hexdigest()),
    ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
     "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature="
     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")], b"")
DOC_BODY = b"Welcome to Amazon S3."
DOC_PUT = ("PUT", "/test%24file.text", [
    ("Host", DOC_HOST), ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
    ("x-amz-date", "20130524T000000Z"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
    ("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
    ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
     "aws4_request,SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
     "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")], DOC_BODY)


def doc_verify(req, acct=DOC_KEY, at=DOC_NOW, edit=None):
    method, path, headers, body = req
    headers = [(n, edit(n, v) if edit else v) for n, v in headers]
    return verify(method, path, headers, body, {acct.akid: acct}, {"examplebucket": "us-east-1"},
                  at)


def refused(code, *a, **kw):
    with pytest.raises(S3Error) as e:
        doc_verify(*a, **kw)
    assert e.value.code == code, e.value
    return e.value


def test_the_verifier_gives_awss_published_signatures():
    assert doc_verify(DOC_GET)[2] == "test.txt"
    assert doc_verify(DOC_PUT)[2] == "test$file.text"
    # any change is refused, each with S3's own code
    sig = lambda n, v: v[:-1] + ("0" if v[-1] != "0" else "1") if n == "Authorization" else v  # noqa
    refused("SignatureDoesNotMatch", DOC_GET, edit=sig)
    refused("SignatureDoesNotMatch", DOC_GET, acct=Account(DOC_KEY.akid, DOC_KEY.secret + "x"))
    refused("SignatureDoesNotMatch", DOC_PUT, edit=lambda n, v: "STANDARD" if
            n == "x-amz-storage-class" else v)
    refused("InvalidAccessKeyId", DOC_GET, acct=Account("AKIAOTHER", DOC_KEY.secret))
    refused("RequestTimeTooSkewed", DOC_GET, at=DOC_NOW + datetime.timedelta(minutes=16))
    assert doc_verify(DOC_GET, at=DOC_NOW + datetime.timedelta(minutes=14))
    method, path, headers, _ = DOC_PUT
    refused("XAmzContentSHA256Mismatch", (method, path, headers, b"Welcome to Amazon S4."))
    refused("InvalidAccessKeyId", DOC_GET, acct=Account(DOC_KEY.akid, DOC_KEY.secret, token="t"))
    refused("AccessDenied", DOC_GET, edit=lambda n, v: v.replace("SignedHeaders=host;range;",
                                                                  "SignedHeaders=range;")
            if n == "Authorization" else v)


# ---------- reports out ----------

def test_reports_and_summary_land_in_s3(procs, tmp_path, s3):
    # a report of 9 MB: hashed for its signature over several turns of the loop
    env = s3_env(tmp_path, s3, LOCUST_ECS_TEST_ID="run-42", REPORT_SECONDS="0.3",
                 LOCUST_ECS_RESULTS=f"s3://{RESULTS}/runs/team a+b", REPORT_HTML_BYTES=9000000)
    rc, p = run(procs, env)
    assert rc == 0, p.stderr()[-2000:]
    keys = srv_keys = s3.keys(RESULTS)
    names = {k.rsplit("/", 1)[1] for k in srv_keys}
    assert names == FILES | {"locust.json"}, keys   # 2.40 has --json-file
    assert all(k.startswith("runs/team a+b/run-42/") for k in keys), keys
    # every request was signed, the key escaped in uppercase as SigV4 wants
    assert all(r["status"] == 200 for r in s3.requests), s3.requests
    assert any("/runs/team%20a%2Bb/run-42/" in r["path"] for r in s3.requests)
    argv = engine_argv(tmp_path)
    assert "--csv" in argv and "--html" in argv and "--json-file" in argv, argv
    doc = json.loads(s3.get(RESULTS, "runs/team a+b/run-42/summary.json"))
    assert doc["test_id"] == "run-42" and doc["exit_status"] == 0
    assert doc["stopped_by"] == "engine" and doc["locust_version"] == "2.40.0"
    assert doc["totals"]["requests"] == 1234 and doc["totals"]["failures"] == 3
    assert doc["totals"]["p95_ms"] == 30
    assert {f["name"] for f in doc["files"]} == (FILES | {"locust.json"}) - {"summary.json"}
    html, ctype = s3.objects[(RESULTS, "runs/team a+b/run-42/report.html")]
    assert ctype.startswith("text/html") and len(html) > 9000000
    assert "uploaded report.html" in p.stderr()
    no_secret_in(p)


def test_the_users_own_report_options_are_kept_and_uploaded(procs, tmp_path, s3):
    mine = tmp_path / "mine"
    env = s3_env(tmp_path, s3, LOCUST_OPTS=f"--csv {mine} --html={tmp_path}/my.html",
                 REPORT_VERSION="2.12.1", LOCUST_ECS_TEST_ID="t")
    rc, p = run(procs, env)
    assert rc == 0, p.stderr()[-2000:]
    argv = engine_argv(tmp_path)
    assert argv.count("--csv") == 1 and str(mine) in argv, argv
    assert not any(a.startswith("--html ") for a in argv) and "--json-file" not in argv, argv
    names = set(uploaded(s3, "t"))
    assert names == {"mine_stats.csv", "mine_stats_history.csv", "mine_failures.csv",
                     "mine_exceptions.csv", "my.html", "summary.json"}, names
    assert summary_of(s3)["totals"]["from"] == "mine_stats.csv"


CASES = {
    # name: (changes to the environment, to the endpoint, S3's code expected in the log)
    "wrong key": ({"AWS_ACCESS_KEY_ID": "AKIAUNKNOWNKEY000000"}, {}, "InvalidAccessKeyId"),
    "wrong secret": ({"AWS_SECRET_ACCESS_KEY": "not-the-secret"}, {}, "SignatureDoesNotMatch"),
    "missing token": ({"keys": TEMP, "AWS_SESSION_TOKEN": None}, {}, "InvalidAccessKeyId"),
    "wrong token": ({"keys": TEMP, "AWS_SESSION_TOKEN": "b3RoZXI="}, {}, "InvalidToken"),
    "clock skew": ({}, {"clock_offset": datetime.timedelta(minutes=20)}, "RequestTimeTooSkewed"),
    "tampered body": ({}, {"tamper": True}, "XAmzContentSHA256Mismatch"),
    "bucket elsewhere": ({"LOCUST_ECS_RESULTS": "s3://west-bucket/r"}, {},
                         "AuthorizationHeaderMalformed"),
    "no bucket": ({"LOCUST_ECS_RESULTS": "s3://no-such-bucket/r"}, {}, "NoSuchBucket"),
    "denied": ({}, {"policy": {KEY.akid: {"put": ["elsewhere/"]}}}, "AccessDenied"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_refusal_is_reported_per_file_with_s3s_code(procs, tmp_path, s3, case):
    envc, srvc, code = CASES[case]
    envc = dict(envc)
    keys = envc.pop("keys", KEY)
    for k, v in srvc.items():
        setattr(s3, k, v)
    env = s3_env(tmp_path, s3, keys=keys, **envc)
    rc, p = run(procs, env)
    assert rc == 0, "a failed upload must not change the test's status unless required"
    errs = errors_of(p)
    per_file = [e for e in errs if e.startswith("unable to upload")]
    assert len(per_file) == 7, errs
    assert all(code in e for e in per_file), per_file
    assert any("were not uploaded" in e for e in errs), errs
    if case == "bucket elsewhere":
        assert "set LOCUST_ECS_S3_REGION=us-west-2" in per_file[0], per_file[0]
    if case == "denied":
        assert "s3:PutObject on arn:aws:s3:::locust-results/runs/" in per_file[0]
    assert not s3.keys(RESULTS)
    no_secret_in(p)


def test_required_uploads_that_fail_exit_74(procs, tmp_path, s3):
    env = s3_env(tmp_path, s3, AWS_SECRET_ACCESS_KEY="wrong", LOCUST_ECS_RESULTS_REQUIRED="true",
                 REPORT_EXIT="1")
    rc, p = run(procs, env)
    assert rc == 74, p.stderr()[-1500:]
    assert "exit status 74" in p.stderr()


def test_slowdown_and_5xx_are_retried(procs, tmp_path, s3):
    s3.faults = [(503, "SlowDown"), (500, "InternalError"), (503, "SlowDown")]
    rc, p = run(procs, s3_env(tmp_path, s3))
    assert rc == 0
    assert set(uploaded(s3)) == FILES | {"locust.json"}
    warns = [o["msg"] for o in p.log() if o["level"] == "warn"]
    assert sum("trying again" in w for w in warns) == 3, warns
    assert any("SlowDown" in w for w in warns)


def test_no_credentials_at_all_is_said_clearly(procs, tmp_path, s3):
    rc, p = run(procs, s3_env(tmp_path, s3, keys=None))
    assert rc == 0
    errs = errors_of(p)
    assert any("no AWS credentials: give the task an IAM role" in e for e in errs), errs


# ---------- stops ----------

def stop_while_uploading(procs, env):
    """SIGTERM, as ECS sends it, once the uploads have begun: (status, seconds to exit, p)."""
    p = procs.start([ENTRY], env=env, name="sup")
    wait_for(lambda: "uploading" in p.stderr(), 15, what="the uploads")
    t0 = time.monotonic()
    p.signal(signal.SIGTERM)
    rc = p.wait(15)
    return rc, time.monotonic() - t0, p


def test_a_stop_during_the_uploads_keeps_them_within_the_grace(procs, tmp_path, s3):
    s3.delay = 1.0
    rc, took, p = stop_while_uploading(procs, s3_env(tmp_path, s3, LOCUST_ECS_STOP_GRACE="10s"))
    assert rc == 0, p.stderr()[-1500:]
    assert set(uploaded(s3)) == FILES | {"locust.json"}, "an upload was lost"
    assert took < 10, took


def test_a_stop_never_waits_past_the_grace(procs, tmp_path, s3):
    s3.delay = 6.0
    env = s3_env(tmp_path, s3, LOCUST_ECS_STOP_GRACE="2s", LOCUST_ECS_RESULTS_REQUIRED="1")
    rc, took, p = stop_while_uploading(procs, env)
    assert took < 3.5, took
    assert rc == 74
    assert any("LOCUST_ECS_STOP_GRACE" in e for e in errors_of(p))


def test_a_stop_while_fetching_the_code_ends_at_once(procs, tmp_path, s3):
    s3.put(CODE, "lf.py", b"# code\n")
    s3.delay = 5.0
    env = s3_env(tmp_path, s3, LOCUSTFILE_PATH=f"s3://{CODE}/lf.py")
    p = procs.start([ENTRY], env=env, name="sup")
    wait_for(lambda: "fetching" in p.stderr(), 10, what="the download")
    time.sleep(0.3)
    t0 = time.monotonic()
    p.signal(signal.SIGTERM)
    rc = p.wait(10)
    assert time.monotonic() - t0 < 1.5
    assert rc == 128 + signal.SIGTERM
    assert not (tmp_path / "engine.out").exists(), "the engine started"
    assert not s3.keys(RESULTS, "runs/"), "nothing ran, nothing to upload"


# ---------- credentials from the container endpoint ----------

def test_full_uri_token_file_and_refresh_before_expiry(procs, tmp_path, s3):
    first = Account("ASIAFIRSTFROMENDPOINT", "first/secret", token="first-token",
                    expires=now() + datetime.timedelta(hours=1))
    second = Account("ASIASECONDFROMENDPOINT", "second/secret", token="second-token",
                     expires=now() + datetime.timedelta(hours=1))
    s3.accounts.update({first.akid: first, second.akid: second})
    # the first expires 15 min + 3 s after it is handed out: stale 3 s later
    ep = CredsEndpoint([(first, now() + datetime.timedelta(minutes=15, seconds=3)),
                        (second, None)], token="eks-style-token")
    try:
        tok = tmp_path / "token"
        tok.write_text("eks-style-token\n")
        s3.put(CODE, "suite/lf.py", b"# fetched from S3\n")
        env = s3_env(tmp_path, s3, keys=None, LOCUSTFILE_PATH=f"s3://{CODE}/suite/lf.py",
                     AWS_CONTAINER_CREDENTIALS_FULL_URI=ep.url,
                     AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=str(tok),
                     AWS_CONTAINER_AUTHORIZATION_TOKEN="the-file-wins", REPORT_SECONDS="4")
        rc, p = run(procs, env)
        assert rc == 0, p.stderr()[-2000:]
        assert "locustfile # fetched from S3" in (tmp_path / "engine.out").read_text()
        assert [f["auth"] for f in ep.fetches] == ["eks-style-token"] * 2, ep.fetches
        got = [r for r in s3.requests if r["method"] == "GET"]
        puts = [r for r in s3.requests if r["method"] == "PUT"]
        assert [r["akid"] for r in got] == [first.akid]
        assert {r["akid"] for r in puts} == {second.akid}, "not refreshed before expiry"
        assert {r["token"] for r in puts} == {"second-token"}
        assert "credentials from the container credentials endpoint http://127.0.0.1:" in \
            p.stderr()
        assert ep.path not in p.stderr(), "the credentials' path is not logged"
        no_secret_in(p)
        for s in ("first/secret", "second/secret", "first-token", "eks-style-token"):
            assert s not in p.stderr()
    finally:
        ep.close()


def test_the_credentials_endpoint_is_retried_then_refusals_are_clear(procs, tmp_path, s3):
    acct = Account("ASIARETRIEDENDPOINT1", "r/secret", token="r-token")
    s3.accounts[acct.akid] = acct
    ep = CredsEndpoint([acct], failures=2)
    try:
        env = s3_env(tmp_path, s3, keys=None, AWS_CONTAINER_CREDENTIALS_FULL_URI=ep.url)
        rc, p = run(procs, env)
        assert rc == 0 and len(uploaded(s3)) == 7, p.stderr()[-1500:]
        assert len(ep.fetches) == 3
    finally:
        ep.close()
    ep = CredsEndpoint([acct], token="right")
    try:
        env = s3_env(tmp_path, s3, keys=None, AWS_CONTAINER_CREDENTIALS_FULL_URI=ep.url,
                     AWS_CONTAINER_AUTHORIZATION_TOKEN="wrong", LOCUST_ECS_TEST_ID="x")
        rc, p = run(procs, env, name="sup2")
        errs = errors_of(p)
        assert any("answered HTTP status 403" in e and "AccessDenied" in e for e in errs), errs
        assert "wrong" not in p.stderr().replace("wrong\"", "")  # the token itself
    finally:
        ep.close()


def test_a_full_uri_the_sdks_refuse_is_a_configuration_error(procs, tmp_path, s3):
    env = s3_env(tmp_path, s3, keys=None,
                 AWS_CONTAINER_CREDENTIALS_FULL_URI="http://198.18.0.1/creds")
    rc, p = run(procs, env)
    assert rc == 78
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" in p.stderr()
    assert not (tmp_path / "engine.out").exists()


# ---------- code in ----------

def targz(members):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w:gz") as t:
        for name, data in members:
            if isinstance(data, tarfile.TarInfo):
                data.name = name
                t.addfile(data)
                continue
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return bio.getvalue()


def zipped(members):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w") as z:
        for name, data in members:
            z.writestr(name, data)
    return bio.getvalue()


def link(target):
    ti = tarfile.TarInfo("x")
    ti.type, ti.linkname = tarfile.SYMTYPE, target
    return ti


BUNDLE_LOCUSTFILE = LOCUSTFILE.replace("from locust import", "from helpers import PATH\n"
                                       "from locust import").replace('get("/")', "get(PATH)")


def test_a_bundle_runs_and_a_stop_still_writes_the_html(procs, tmp_path, s3, http_target):
    """Real Locust 2.12.1, headless, from a .tar.gz in S3; ECS's SIGTERM becomes SIGINT for
    the engine, which writes --html on SIGINT and not on SIGTERM."""
    s3.put(CODE, "suites/web.tar.gz", targz([
        ("web/locustfile.py", BUNDLE_LOCUSTFILE.encode()),
        ("web/helpers.py", b'PATH = "/"\n')]))
    env = base_env(tmp_path, LOCUSTFILE_PATH=f"s3://{CODE}/suites/web.tar.gz",
                   TARGET_URL=http_target, LOCUST_OPTS="--headless -u 4 -r 4 -t 60s",
                   LOCUST_ECS_RESULTS=f"s3://{RESULTS}/runs", LOCUST_ECS_S3_ENDPOINT=s3.url,
                   AWS_REGION=REGION, AWS_ACCESS_KEY_ID=KEY.akid,
                   AWS_SECRET_ACCESS_KEY=KEY.secret)
    p = procs.start([ENTRY], env=env, name="sup")
    wait_for(lambda: "engine 1 of 1 started" in p.stderr(), 20, what="the engine")
    time.sleep(3)
    p.signal(signal.SIGTERM)
    rc = p.wait(30)
    assert rc == 0, p.stderr()[-3000:]
    names = uploaded(s3)
    assert FILES <= set(names), names
    html = s3.get(RESULTS, names["report.html"])
    assert b"<html" in html.lower() and len(html) > 10000
    doc = summary_of(s3)
    assert doc["stopped_by"] == "SIGTERM" and doc["exit_status"] == 0
    assert doc["totals"]["requests"] > 0
    assert "sent SIGINT rather than SIGTERM" in p.stderr()
    assert "unpacked 2 entries" in p.stderr()


def test_master_and_worker_each_fetch_the_bundle(procs, tmp_path, s3, http_target):
    """A distributed run: both tasks download the same .zip; the master's reports, written
    at the test's normal end, land in S3, its summary with the workers it had."""
    s3.put(CODE, "suites/web.zip", zipped([("locustfile.py", BUNDLE_LOCUSTFILE),
                                           ("helpers.py", 'PATH = "/"\n')]))
    port, web = free_port(), free_port()
    common = dict(LOCUSTFILE_PATH=f"s3://{CODE}/suites/web.zip", LOCUST_ECS_S3_ENDPOINT=s3.url,
                  AWS_REGION=REGION, AWS_ACCESS_KEY_ID=KEY.akid, AWS_SECRET_ACCESS_KEY=KEY.secret,
                  LOCUST_ECS_RESULTS=f"s3://{RESULTS}/runs")
    (tmp_path / "m").mkdir()
    (tmp_path / "w").mkdir()
    # the web UI stays (--autostart): the live metrics sample it and count the workers
    menv = base_env(tmp_path / "m", LOCUST_MODE="master", TARGET_URL=http_target,
                    LOCUST_OPTS=f"--autostart --autoquit 1 -u 4 -r 4 -t 4s --expect-workers 1 "
                                f"--master-bind-host 127.0.0.1 --master-bind-port {port} "
                                f"--web-host 127.0.0.1 --web-port {web}",
                    LOCUST_ECS_METRICS="on", LOCUST_ECS_METRICS_INTERVAL="1s", **common)
    wenv = base_env(tmp_path / "w", LOCUST_MODE="worker", LOCUST_MASTER_HOST="127.0.0.1",
                    LOCUST_MASTER_PORT=str(port), LOCUST_ECS_ENGINES="1",
                    LOCUST_ECS_REJOIN_WINDOW="0", **common)
    m = procs.start([ENTRY], env=menv, name="master")
    w = procs.start([ENTRY], env=wenv, name="worker")
    assert m.wait(60) == 0, m.stderr()[-3000:]
    assert w.wait(20) == 0, w.stderr()[-3000:]
    gets = [r for r in s3.requests if r["method"] == "GET"]
    assert len(gets) == 2 and all(r["key"] == "suites/web.zip" for r in gets)
    names = uploaded(s3)
    assert FILES <= set(names), names
    doc = summary_of(s3)
    assert doc["role"] == "master" and doc["totals"]["requests"] > 0
    assert doc["workers_seen"] == 1, doc
    assert "a worker has no reports" in w.stderr()


BAD_CODE = {
    # name: (LOCUSTFILE_PATH, object put first, exit status, words of the one error line)
    "s3:// without a bucket": ("s3:///x.py", None, 78, "there is no bucket"),
    "unknown scheme": ("gs://bucket/x.py", None, 78, "s3://BUCKET/KEY only"),
    "a bucket in another region": ("s3://west-bucket/x.py", None, 78,
                                   "set LOCUST_ECS_S3_REGION=us-west-2"),
    "a missing key": (f"s3://{CODE}/missing.py", None, 78, "NoSuchKey"),
    "a 20 MB bundle": (f"s3://{CODE}/big.tar.gz", b"\x1f\x8b" + os.urandom(20 << 20), 78,
                       "larger than LOCUST_ECS_BUNDLE_MAX"),
    "an archive with ../": (f"s3://{CODE}/up.tar.gz",
                            targz([("locustfile.py", b"#"), ("../evil.py", b"#")]), 78,
                            "\"../evil.py\" is refused"),
    "a link to /etc": (f"s3://{CODE}/etc.tar.gz",
                       targz([("locustfile.py", b"#"), ("etc", link("/etc"))]), 78,
                       "\"etc\" is refused: a symbolic link"),
    "an empty archive": (f"s3://{CODE}/empty.zip", zipped([]), 78, "the bundle is empty"),
    "no locustfile.py": (f"s3://{CODE}/nolf.zip", zipped([("a.py", "#"), ("b/c.py", "#")]), 78,
                         "no locustfile.py"),
    "not code": (f"s3://{CODE}/notes.txt", b"hello", 78, "neither a locustfile"),
    "no credentials": (f"s3://{CODE}/lf.py", b"#", 78, "no AWS credentials: give the task"),
}


@pytest.mark.parametrize("case", list(BAD_CODE))
def test_bad_code_is_refused_before_the_engine_starts(procs, tmp_path, s3, case):
    url, obj, code, words = BAD_CODE[case]
    if obj is not None:
        s3.put(CODE, url.split("/", 3)[3], obj)
    env = s3_env(tmp_path, s3, keys=None if case == "no credentials" else KEY,
                 LOCUSTFILE_PATH=url, LOCUST_ECS_RESULTS=None)
    rc, p = run(procs, env)
    assert rc == code, p.stderr()[-1500:]
    errs = [o["msg"] for o in p.log() if o["level"] == "error"]
    assert len(errs) == 1 and words in errs[0], errs
    assert not (tmp_path / "engine.out").exists(), "the engine started"
    leftovers = [d for d in os.listdir(tmp_path / "state")] if (tmp_path / "state").exists() else []
    assert not [d for d in leftovers if d.startswith("code.")], leftovers


def test_print_config_shows_s3_and_no_secret(tmp_path, s3):
    env = s3_env(tmp_path, s3, keys=TEMP, LOCUSTFILE_PATH=f"s3://{CODE}/a.tar.gz")
    p = subprocess.run([ENTRY, "--print-config"], env=env, capture_output=True, timeout=20)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["s3"]["code"] == f"s3://{CODE}/a.tar.gz"
    assert doc["s3"]["results"] == f"s3://{RESULTS}/runs"
    assert doc["s3"]["credentials"] == "environment" and doc["s3"]["region"] == REGION
    for s in SECRETS:
        assert s.encode() not in p.stdout + p.stderr
