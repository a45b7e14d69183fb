"""Every environment variable and option x every kind of bad value, run through the real
locust-entrypoint: the expected exit status, a one-line message naming the setting, and no
engine started. The table below is the one source: tests/bad_input.md is generated from it
(`/usr/bin/python3 tests/integration/test_bad_input.py > tests/bad_input.md`) and a test checks that
the file is current."""
import json
import os
import subprocess
import sys
from collections import namedtuple

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from conftest import ENTRY  # noqa: E402

MD_PATH = os.path.join(os.path.dirname(HERE), "bad_input.md")
TMP = "{tmp}"  # replaced by the test's temporary directory

# outcome kinds
ERROR = "error"  # exit code != 0, stderr is one line naming the setting, nothing started
PRINT = "print"  # accepted: --print-config exits 0 with JSON, nothing started
START = "start"  # accepted: a real run starts the engine (a stub that exits 0), exit 0
WARN = "warn"    # accepted and started, with a warning line naming the setting

Row = namedtuple("Row", "setting case env argv kind code names")

# The value classes of the issue, in table order. Bytes stand for non-UTF-8 input.
LONG = 65536
CLASSES = [
    ("empty", ""),
    ("whitespace", " \t "),
    ("non-numeric", "abc"),
    ("negative", "-1"),
    ("zero", "0"),
    ("2^63", "9223372036854775808"),
    ("2^128", "340282366920938463463374607431768211456"),
    ("64 KiB", "9" * LONG),
    ("non-UTF-8", b"\xff\xfe"),
    ("newline", "1\n2"),
    ("control", "1\x1b[31m2"),
]


def classes(kind_values=None):
    """The classes with a kind's own spelling of some values (a URL keeps its scheme...)."""
    kv = kind_values or {}
    return [(case, kv.get(case, v)) for case, v in CLASSES]


# Per kind: which classes are accepted ("ok"), else the exit code. Empty counts as unset.
def outcome_map(ok=(), code=78, **special):
    m = {}
    for case, _ in CLASSES:
        m[case] = "ok" if case in ok or case == "empty" else code
    m.update(special)
    return m


BOOL_OK = ("zero",)  # "0" is a boolean: false
KINDS = {
    "choice": (outcome_map(), {}),
    "bool": (outcome_map(ok=BOOL_OK), {}),
    "port": (outcome_map(), {}),
    "duration0": (outcome_map(ok=("zero",)), {}),      # minimum 0
    "duration+": (outcome_map(), {}),                   # minimum above 0
    "count0": (outcome_map(ok=("zero",)), {}),          # 0..N
    "engines": (outcome_map(), {}),                     # auto, 1..256
    "ratio": (outcome_map(ok=("zero",)), {}),
    "dns": (outcome_map(), {}),
    # DNS names: digits and letters are names; blanks, a leading '-', bytes are not
    "host": (outcome_map(ok=("non-numeric", "zero", "2^63", "2^128"), empty=78),
             {"64 KiB": "a" * LONG}),
    "url": (outcome_map(ok=("64 KiB",)),
            {"64 KiB": "http://" + "a" * (LONG - 7), "non-UTF-8": b"http://\xff\xfe/",
             "newline": "http://a\nb/", "control": "http://a\x1b/"}),
    # the file must exist: every value names a missing file (the empty one the default,
    # /locustfile.py, absent on test machines)
    "locustfile": (outcome_map(empty=78), {"64 KiB": "a" * LONG}),
    # words for the engine: anything splits, except bytes that are not UTF-8
    "opts": (outcome_map(ok=[c for c, _ in CLASSES if c != "non-UTF-8"]),
             {"64 KiB": "a" * LONG}),
    "free": (outcome_map(ok=[c for c, _ in CLASSES]), {"64 KiB": "a" * LONG}),
    "free-utf8": (outcome_map(ok=[c for c, _ in CLASSES if c != "non-UTF-8"]),
                  {"64 KiB": "a" * LONG}),
    # a word of the command: every word must be UTF-8 (a usage error, naming the command)
    "free-cmd": (outcome_map(ok=[c for c, _ in CLASSES if c != "non-UTF-8"],
                             **{"non-UTF-8": (64, "command")}), {"64 KiB": "a" * LONG}),
    # a program: not found (127) unless it is a path; bytes that are not UTF-8 are refused
    "engine": (outcome_map(code=127, **{"non-UTF-8": 78}), {"64 KiB": "a" * LONG}),
    # S3 settings: an s3:// location, a test id, an endpoint, a region, a size, a path
    "s3url": (outcome_map(), {}),
    "testid": (outcome_map(ok=("non-numeric", "negative", "zero", "2^63", "2^128")), {}),
    "endpoint": (outcome_map(), {}),
    "region": (outcome_map(ok=("non-numeric", "negative", "zero", "2^63")), {}),
    "size": (outcome_map(), {}),
    "relpath": (outcome_map(ok=("non-numeric", "negative", "zero", "2^63", "2^128")), {}),
    # a CloudWatch namespace: letters, digits, blanks and . - _ / # : only
    "namespace": (outcome_map(ok=("non-numeric", "negative", "zero", "2^63", "2^128")),
                  {"64 KiB": "a" * LONG}),
    # a dimension value: UTF-8 text, no control characters
    "testname": (outcome_map(ok=("non-numeric", "negative", "zero", "2^63", "2^128")),
                 {"64 KiB": "a" * LONG}),
    # N.N[.N] from the start: nothing else is a version
    "version": (outcome_map(), {}),
    # an absolute path without a comma (it joins -f's list); read only when it is used
    "pluginpath": (outcome_map(ok=("64 KiB", "newline", "control")),
                   {"64 KiB": "/" + "a" * (LONG - 1), "non-UTF-8": b"/\xff", "newline": "/a\nb",
                    "control": "/a\x1bb"}),
    # Locust's --processes: -1 (one per vCPU), 0 (not set), 1..256
    "processes": (outcome_map(ok=("negative", "zero")), {}),
    "statedir": (outcome_map(ok=("newline", "control")),
                 {"64 KiB": "/" + "a" * (LONG - 1), "non-UTF-8": TMP.encode() + b"/\xff",
                  "newline": TMP + "/a\nb", "control": TMP + "/a\x1bb"}),
}

# S3 in use: accepted rows print the configuration (a run would reach for S3)
S3_CTX = {"LOCUST_ECS_RESULTS": "s3://bucket/runs"}

# (variable, kind, context env, extra rows [(case, value, outcome)])
VARIABLES = [
    ("LOCUST_MODE", "choice", {"LOCUST_MASTER_HOST": "127.0.0.1"},
     [("upper case", "WORKER", "ok"),
                                   ("slave", "slave", "ok"), ("boss", "boss", 78)]),
    ("LOCUST_MODE_MASTER", "bool", {}, [("TRUE", "TRUE", "ok"), ("two", "2", 78)]),
    ("LOCUST_MODE_WORKER", "bool", {"LOCUST_MASTER_HOST": "127.0.0.1"},
     [("yes", "yes", "ok"), ("on", "on", 78)]),
    ("LOCUST_MASTER_HOST", "host", {"LOCUST_MODE": "worker"},
     [("IPv6 in brackets", "[::1]", "ok"), ("SRV owner", "_locust._tcp.m.locust", "ok"),
      ("double dot", "a..b", 78), ("leading dot", ".a", 78), ("253 characters", "a" * 253, "ok"),
      ("254 characters", "a" * 254, 78)]),
    ("LOCUST_MASTER_NODE_HOST", "host", {"LOCUST_MODE": "worker"}, []),
    ("LOCUST_MASTER_PORT", "port", {},
     [("65535", "65535", "ok"), ("65536", "65536", 78), ("plus sign", "+1", 78),
      ("hex", "0x10", 78), ("decimal", "1.5", 78), ("tcp:// form", "tcp://10.0.0.1:5557", "ok"),
      ("tcp:// IPv6", "tcp://[fd00::1]:5557", "ok"), ("tcp:// port 0", "tcp://10.0.0.1:0", 78),
      ("tcp:// no port", "tcp://10.0.0.1", 78), ("tcp:// nothing", "tcp://", 78),
      ("tcp:// 2^63", "tcp://10.0.0.1:9223372036854775808", 78)]),
    ("LOCUST_MASTER_NODE_PORT", "port", {}, [("tcp:// form", "tcp://10.0.0.1:6000", "ok")]),
    ("TARGET_URL", "url", {},
     [("no scheme", "example.com", 78), ("ftp", "ftp://example.com", 78),
      ("https", "https://example.com:8443/x", "ok"), ("IDN in UTF-8", "http://b\u00fccher.example/", "ok"),
      ("blank inside", "http://a b/", 78)]),
    ("LOCUST_HOST", "url", {}, [("no scheme", "example.com", 78),
                                ("https", "https://example.com", "ok")]),
    ("LOCUSTFILE_PATH", "locustfile", {"LOCUSTFILE_PATH": None},
     [("a directory", TMP, "ok"), ("module name", TMP + "/locustfile", "ok"),
      ("list, one missing", TMP + "/locustfile.py," + TMP + "/missing.py", 78)]),
    ("LOCUST_LOCUSTFILE", "locustfile", {"LOCUSTFILE_PATH": None},
     [("existing file", TMP + "/locustfile.py", "ok")]),
    ("LOCUSTFILE_PATH", "locustfile", {"LOCUSTFILE_PATH": None},
     [("S3 object", "s3://bucket/code/web.tar.gz", "ok"), ("s3:// without bucket", "s3:///x.py", 78),
      ("S3 prefix, no object", "s3://bucket/code/", 78), ("S3 dot segment", "s3://bucket/a/../x.py", 78),
      ("unknown scheme", "gs://bucket/x.py", 78)]),
    ("LOCUST_OPTS", "opts", {},
     [("single quote open", "--tags 'a b", 78), ("double quote open", '--tags "a b', 78),
      ("trailing backslash", "--tags a\\", 78), ("-f without value", "-f", 64),
      ("--web-port without value", "--web-port", 64),
      ("option after a taken-over one, no value", "-f x a --web-port", 64),
      ("--web-port=", "--web-port=", 64), ("-P abc", "-P abc", (78, "--web-port")),
      ("--master --worker", "--master --worker", (78, "--worker")),
      ("options Locust 2.x removed", "--no-web -c 10", (78, "--headless")),
      ("quotes and no expansion", "--tags 'a b' \"c\\\"d\" $HOME `x` *", "ok")]),
    ("LOCUST_WEB_PORT", "port", {}, [("65536", "65536", 78)]),
    ("LOCUST_WEB_AUTH", "free", {}, []),
    ("LOCUST_WEB_LOGIN", "bool", {}, [("true", "true", "ok")]),
    ("LOCUST_PROCESSES", "processes", {}, [("4", "4", "ok"), ("256", "256", "ok"),
                                           ("257", "257", 78), ("-2", "-2", 78)]),
    ("LOCUST_TLS_CERT", "free", {}, []),
    ("LOCUST_HEADLESS", "bool", {}, [("true", "true", "ok")]),
    ("LOCUST_AUTOSTART", "bool", {}, [("true", "true", "ok")]),
    ("LOCUST_MASTER_BIND_PORT", "port", {}, [("65536", "65536", 78)]),
    ("LOCUST_WEB_HOST", "free-utf8", {}, []),
    ("LOCUST_MASTER_BIND_HOST", "free-utf8", {}, []),
    ("LOCUST_ECS_ENGINE", "engine", {},
     [("a directory", TMP, 126), ("not executable", TMP + "/locustfile.py", 126),
      ("missing path", TMP + "/no-such-locust", 127)]),
    ("LOCUST_ECS_LOCUST_VERSION", "version", {},
     [("2.46.7", "2.46.7", "ok"), ("2.21", "2.21", "ok"), ("dev release", "2.47.0.dev3", "ok"),
      ("0.0.0", "0.0.0", 78), ("leading v", "v2.46.7", 78), ("major only", "2", 78)]),
    ("LOCUST_ECS_WEB_AUTH_PLUGIN", "pluginpath", {},
     [("absolute", TMP + "/locust_ecs_webauth.py", "ok"), ("relative", "plugin.py", 78),
      ("a comma", "/a,b.py", 78)]),
    # the plugin's own variable: the supervisor sets or drops it for the engine
    ("LOCUST_ECS_WEB_AUTH", "free", {}, []),
    ("LOCUST_ECS_ENGINES", "engines", {},
     [("auto", "auto", "ok"), ("AUTO", "AUTO", "ok"), ("256", "256", "ok"), ("257", "257", 78)]),
    ("LOCUST_ECS_STOP_GRACE", "duration0", {},
     [("30s", "30s", "ok"), ("500ms", "500ms", "ok"), ("2m", "2m", "ok"), ("1h", "1h", 78),
      ("3601s", "3601s", 78), ("2^63-1 s", "9223372036854775807s", 78),
      ("leading blank", " 5", 78), ("trailing blank", "5 ", 78), ("plus sign", "+5", 78),
      ("hex", "0x10", 78), ("decimal", "1.5", 78)]),
    ("LOCUST_ECS_RESTART_GRACE", "duration0", {}, [("3601s", "3601s", 78)]),
    ("LOCUST_ECS_CLEAN_STOP", "bool", {}, [("no", "no", "ok")]),
    ("LOCUST_ECS_MASTER_WAIT", "duration0", {}, [("7 days", str(7 * 24 * 60) + "m", "ok"),
                                                 ("7 days + 1 s", str(7 * 24 * 3600 + 1), 78)]),
    ("LOCUST_ECS_PROBE", "choice", {}, [("tcp", "tcp", "ok"), ("http", "http", 78)]),
    ("LOCUST_ECS_PROBE_TIMEOUT", "duration+", {},
     [("10ms", "10ms", "ok"), ("9ms", "9ms", 78), ("61s", "61s", 78)]),
    ("LOCUST_ECS_DNS_SERVERS", "dns", {},
     [("IPv6 with port", "[::1]:53", "ok"), ("two", "127.0.0.1:5353,::1", "ok"),
      ("leading comma", ",127.0.0.1", 78), ("empty element", "127.0.0.1,,10.0.0.2", 78),
      ("trailing comma", "127.0.0.1,", 78), ("port 0", "127.0.0.1:0", 78),
      ("name", "dns.example", 78), ("nine servers", ",".join(["127.0.0.1"] * 9), 78)]),
    ("LOCUST_ECS_RECHECK_INTERVAL", "duration+", {},
     [("100ms", "100ms", "ok"), ("99ms", "99ms", 78)]),
    ("LOCUST_ECS_REJOIN_WINDOW", "duration0", {}, [("1 day + 1 s", "86401", 78)]),
    ("LOCUST_ECS_STATE_DIR", "statedir", {},
     [("relative", "state", 78), ("a file", TMP + "/locustfile.py", WARN),
      ("parent missing", TMP + "/no/such/dir", WARN),
      ("writable by others", TMP + "/open", WARN)]),
    ("LOCUST_ECS_METADATA", "choice", {}, [("on", "on", "ok"), ("true", "true", 78)]),
    ("LOCUST_ECS_LOG_FORMAT", "choice", {}, [("text", "text", "ok"), ("xml", "xml", 78)]),
    ("LOCUST_ECS_LOG_LEVEL", "choice", {}, [("DEBUG", "DEBUG", "ok"), ("trace", "trace", 78)]),
    ("LOCUST_ECS_HEALTH_TIMEOUT", "duration+", {}, [("99ms", "99ms", 78), ("61s", "61s", 78)]),
    ("LOCUST_CSV", "free", {}, []),      # Locust's: read to upload the files it names
    ("LOCUST_HTML", "free", {}, []),
    ("LOCUST_ECS_RESULTS", "s3url", {},
     [("a prefix", "s3://bucket/runs/", "ok"), ("a bucket's top", "s3://bucket", "ok"),
      ("no bucket", "s3://", 78), ("upper-case bucket", "s3://Bucket/r", 78),
      ("another scheme", "https://bucket/r", 78), ("dot segment", "s3://bucket/./r", 78)]),
    ("LOCUST_ECS_TEST_ID", "testid", S3_CTX,
     [("dots and dashes", "run-1.a_b", "ok"), ("slash", "a/b", 78), ("dot dot", "..", 78),
      ("128 characters", "a" * 128, "ok"), ("129 characters", "a" * 129, 78)]),
    ("LOCUST_ECS_RESULTS_REQUIRED", "bool", S3_CTX, [("true", "true", "ok")]),
    ("LOCUST_ECS_S3_ENDPOINT", "endpoint", S3_CTX,
     [("http with port", "http://127.0.0.1:9000", "ok"), ("https", "https://s3.example", "ok"),
      ("a path", "http://127.0.0.1:9000/x", 78), ("port 0", "http://h:0", 78)]),
    ("LOCUST_ECS_S3_REGION", "region", S3_CTX,
     [("eu-west-1", "eu-west-1", "ok"), ("upper case", "EU-WEST-1", 78),
      ("33 characters", "a" * 33, 78)]),
    ("LOCUST_ECS_BUNDLE_MAX", "size", S3_CTX,
     [("16m", "16m", "ok"), ("1k", "1k", "ok"), ("1g", "1g", "ok"), ("1023", "1023", 78),
      ("1025m", "1025m", 78), ("16mb", "16mb", 78)]),
    ("LOCUST_ECS_BUNDLE_LOCUSTFILE", "relpath", S3_CTX,
     [("a path", "tests/locustfile.py", "ok"), ("dot dot", "../x.py", 78),
      ("absolute", "/x.py", 78)]),
    ("LOCUST_ECS_HEALTH_GRACE", "duration0", {}, [("3601s", "3601s", 78)]),
    ("LOCUST_ECS_HEALTH_MIN_WORKERS", "count0", {},
     [("100000", "100000", "ok"), ("100001", "100001", 78)]),
    ("LOCUST_ECS_HEALTH_MAX_FAIL_RATIO", "ratio", {},
     [("1", "1", "ok"), (".5", ".5", "ok"), ("1e-3", "1e-3", "ok"), ("1.0001", "1.0001", 78),
      ("nan", "nan", 78), ("inf", "inf", 78), ("-0", "-0", 78)]),
    ("LOCUST_ECS_METRICS", "choice", {}, [("on", "on", "ok"), ("yes", "yes", 78)]),
    ("LOCUST_ECS_METRICS_INTERVAL", "duration+", {},
     [("1s", "1s", "ok"), ("999ms", "999ms", 78), ("60m", "60m", "ok"), ("61m", "61m", 78)]),
    ("LOCUST_ECS_METRICS_NAMESPACE", "namespace", {},
     [("blank inside", "Load Tests", "ok"), ("slash and hash", "team/load#1", "ok"),
      ("AWS/ prefix", "AWS/Locust", 78), ("255 characters", "n" * 255, "ok"),
      ("256 characters", "n" * 256, 78), ("UTF-8", "caf\u00e9", 78)]),
    ("LOCUST_ECS_METRICS_PER_REQUEST", "count0", {},
     [("20", "20", "ok"), ("21", "21", 78)]),
    ("LOCUST_ECS_TEST_NAME", "testname", {},
     [("UTF-8", "caf\u00e9 checkout", "ok"), ("quote", 'a"b', 78), ("backslash", "a\\b", 78),
      ("blanks only", "   ", 78), ("255 characters", "t" * 255, "ok"),
      ("256 characters", "t" * 256, 78)]),
    ("LOCUST_ECS_GUARD_FAIL_RATIO", "ratio", {}, [("1", "1", "ok"), ("1.5", "1.5", 78)]),
    ("LOCUST_ECS_GUARD_P95", "duration0", {},
     [("800ms", "800ms", "ok"), ("60m", "60m", "ok"), ("61m", "61m", 78)]),
    ("LOCUST_ECS_GUARD_FOR", "duration0", {}, [("1 day + 1 s", "86401", 78)]),
]

# Engine options in the command that the supervisor reads: (option, kind, context env, names)
OPTIONS = [
    ("-f", "locustfile", {"LOCUSTFILE_PATH": None}, "-f/--locustfile"),
    ("-H", "url", {}, "-H/--host"),
    ("--master-host", "host", {"LOCUST_MODE": "worker"}, "--master-host"),
    ("--master-port", "port", {}, "--master-port"),
    ("-P", "port", {}, "--web-port"),
    ("--master-bind-port", "port", {}, "--master-bind-port"),
    ("--web-auth", "free-cmd", {}, "--web-auth"),
    ("--tls-cert", "free-cmd", {}, "--tls-cert"),
    ("--web-host", "free-utf8", {}, "--web-host"),
    ("--processes", "processes", {}, "--processes"),
]

CONFLICTS = [
    ("LOCUST_MODE + LOCUST_MODE_WORKER", {"LOCUST_MODE": "master", "LOCUST_MODE_WORKER": "true"},
     [], 78, ("LOCUST_MODE_WORKER", "LOCUST_MODE")),
    ("LOCUST_MODE_MASTER + LOCUST_MODE_WORKER",
     {"LOCUST_MODE_MASTER": "true", "LOCUST_MODE_WORKER": "true"}, [], 78,
     ("LOCUST_MODE_WORKER", "LOCUST_MODE_MASTER")),
    ("LOCUST_MODE + --master", {"LOCUST_MODE": "worker", "LOCUST_MASTER_HOST": "m"},
     ["--master"], 78, ("--master", "LOCUST_MODE")),
    ("--master + --worker", {}, ["--master", "--worker"], 78, ("--worker", "--master")),
    ("LOCUST_MODE=slave + LOCUST_MODE_WORKER=true (agree)",
     {"LOCUST_MODE": "slave", "LOCUST_MODE_WORKER": "true", "LOCUST_MASTER_HOST": "m"}, [],
     "ok", ()),
    ("LOCUST_MODE=master + LOCUST_MODE_MASTER=false", {"LOCUST_MODE": "master",
                                                       "LOCUST_MODE_MASTER": "false"}, [], "ok", ()),
    ("LOCUST_MASTER_HOST + LOCUST_MASTER_NODE_HOST",
     {"LOCUST_MODE": "worker", "LOCUST_MASTER_HOST": "a", "LOCUST_MASTER_NODE_HOST": "b"}, [],
     78, ("LOCUST_MASTER_HOST", "LOCUST_MASTER_NODE_HOST")),
    ("LOCUST_MASTER_HOST + LOCUST_MASTER_NODE_HOST (agree)",
     {"LOCUST_MODE": "worker", "LOCUST_MASTER_HOST": "a", "LOCUST_MASTER_NODE_HOST": "a"}, [],
     "ok", ()),
    ("LOCUST_MASTER_HOST + --master-host",
     {"LOCUST_MODE": "worker", "LOCUST_MASTER_HOST": "a"}, ["--master-host", "b"], 78,
     ("--master-host", "LOCUST_MASTER_HOST")),
    ("LOCUST_MASTER_PORT + LOCUST_MASTER_NODE_PORT",
     {"LOCUST_MASTER_PORT": "5557", "LOCUST_MASTER_NODE_PORT": "5558"}, [], 78,
     ("LOCUST_MASTER_PORT", "LOCUST_MASTER_NODE_PORT")),
    ("LOCUST_MASTER_PORT + --master-port", {"LOCUST_MASTER_PORT": "5557"},
     ["--master-port", "5558"], 78, ("--master-port", "LOCUST_MASTER_PORT")),
    ("TARGET_URL + -H", {"TARGET_URL": "http://a"}, ["-H", "http://b"], 78,
     ("-H/--host", "TARGET_URL")),
    ("TARGET_URL + LOCUST_HOST", {"TARGET_URL": "http://a", "LOCUST_HOST": "http://b"}, [], 78,
     ("TARGET_URL", "LOCUST_HOST")),
    ("TARGET_URL + LOCUST_HOST (agree)", {"TARGET_URL": "http://a", "LOCUST_HOST": "http://a"},
     [], "ok", ()),
    ("LOCUST_HOST + -H", {"LOCUST_HOST": "http://a"}, ["-H", "http://b"], 78,
     ("-H/--host", "LOCUST_HOST")),
    ("LOCUSTFILE_PATH + LOCUST_LOCUSTFILE", {"LOCUST_LOCUSTFILE": TMP + "/other.py"}, [], 78,
     ("LOCUSTFILE_PATH", "LOCUST_LOCUSTFILE")),
    ("LOCUSTFILE_PATH + -f", {}, ["-f", TMP + "/other.py"], 78,
     ("-f/--locustfile", "LOCUSTFILE_PATH")),
    ("LOCUST_WEB_PORT + -P (the command wins, as in Locust)", {"LOCUST_WEB_PORT": "9000"},
     ["-P", "9001"], "ok", ()),
    ("LOCUST_HEADLESS + LOCUST_AUTOSTART", {"LOCUST_HEADLESS": "true",
                                            "LOCUST_AUTOSTART": "true"}, [], "ok", ()),
    ("LOCUST_PROCESSES + --processes", {"LOCUST_PROCESSES": "2"}, ["--processes", "3"], 78,
     ("--processes", "LOCUST_PROCESSES")),
    ("LOCUST_PROCESSES + the master role", {"LOCUST_MODE": "master", "LOCUST_PROCESSES": "2"},
     [], 78, ("LOCUST_PROCESSES", "standalone")),
    ("LOCUST_PROCESSES + LOCUST_ECS_ENGINES", {"LOCUST_MODE": "worker",
                                               "LOCUST_MASTER_HOST": "m",
                                               "LOCUST_ECS_ENGINES": "2",
                                               "LOCUST_PROCESSES": "2"}, [], 78,
     ("LOCUST_ECS_ENGINES=2", "LOCUST_PROCESSES")),
    ("LOCUST_PROCESSES + LOCUST_ECS_ENGINES=1 (agree)",
     {"LOCUST_MODE": "worker", "LOCUST_MASTER_HOST": "m", "LOCUST_ECS_ENGINES": "1",
      "LOCUST_PROCESSES": "2"}, [], "ok", ()),
    ("LOCUST_WEB_AUTH + --web-login, Locust 2.46.7",
     {"LOCUST_WEB_AUTH": "a:b", "LOCUST_WEB_LOGIN": "true", "LOCUST_ECS_LOCUST_VERSION": "2.46.7",
      "LOCUST_ECS_WEB_AUTH_PLUGIN": TMP + "/locustfile.py"}, [], 78,
     ("LOCUST_WEB_AUTH", "--web-login")),
    ("LOCUST_WEB_AUTH, Locust 2.46.7, no plugin installed",
     {"LOCUST_WEB_AUTH": "a:b", "LOCUST_ECS_LOCUST_VERSION": "2.46.7",
      "LOCUST_ECS_WEB_AUTH_PLUGIN": TMP + "/missing.py"}, [], 78,
     ("LOCUST_ECS_WEB_AUTH_PLUGIN",)),
    ("--web-auth, Locust 2.46.7", {"LOCUST_ECS_LOCUST_VERSION": "2.46.7"},
     ["--web-auth", "a:b"], 78, ("--web-auth", "LOCUST_WEB_AUTH")),
    ("--processes, Locust 2.12.1", {"LOCUST_ECS_LOCUST_VERSION": "2.12.1"},
     ["--processes", "2"], 78, ("--processes", "2.19")),
    ("LOCUSTFILE_PATH without .py, Locust 2.46.7",
     {"LOCUSTFILE_PATH": TMP + "/locustfile", "LOCUST_ECS_LOCUST_VERSION": "2.46.7"}, [], 78,
     ("LOCUSTFILE_PATH", "no .py")),
    ("LOCUSTFILE_PATH=- for a standalone run", {"LOCUSTFILE_PATH": "-"}, [], 78,
     ("LOCUSTFILE_PATH", "worker role")),
]

# the program's own options, and the command's words: (setting, argv, exit, named)
SUPERVISOR_OPTIONS = [
    ("--help", ["--help"], 0, ()), ("--version", ["--version"], 0, ()),
    ("--print-config", ["--print-config"], 0, ()),
    ("-- then --help for Locust", ["--print-config", "--", "--help"], 0, ()),
    ("command word not UTF-8", ["--tags", b"\xff"], 64, ("command",)),
    ("command option without its value", ["-f"], 64, ("-f/--locustfile",)),
    ("command option with an empty value", ["--master-port="], 64, ("--master-port",)),
    ("an option Locust 2.x removed, in the command", ["--step-load"], 78, ("LoadTestShape",)),
]


def is_worker(env, argv):
    """A worker would look for its master: accepted worker rows only print the config."""
    mode = env.get("LOCUST_MODE")
    w = env.get("LOCUST_MODE_WORKER")
    return (isinstance(mode, str) and mode.lower() in ("worker", "slave")) or \
        (isinstance(w, str) and w.lower() in ("true", "yes", "1")) or "--worker" in argv


def uses_s3(env):
    """Accepted rows with S3 in use only print the config: a run would reach for S3."""
    lf = env.get("LOCUSTFILE_PATH")
    return bool(env.get("LOCUST_ECS_RESULTS")) or (isinstance(lf, str) and lf.startswith("s3://"))


def _row(setting, case, env, argv, outcome, names):
    worker = is_worker(env, argv) or uses_s3(env)
    if isinstance(outcome, tuple):
        code, name = outcome
        return Row(setting, case, env, argv, ERROR, code, (name,))
    if outcome == "ok":
        return Row(setting, case, env, argv, PRINT if worker else START, 0, ())
    if outcome == WARN:
        return Row(setting, case, env, argv, WARN, 0, names)
    return Row(setting, case, env, argv, ERROR, outcome, names)


def build_rows():
    rows = []
    for var, kind, ctx, extra in VARIABLES:
        outcomes, spelled = KINDS[kind]
        for case, value in classes(spelled):
            env = dict(ctx, **{var: value})
            outcome = outcomes[case]
            names = (var,)
            if case == "empty" and kind == "host":
                names = ("LOCUST_MASTER_HOST",)  # "set LOCUST_MASTER_HOST (or ...NODE_HOST)"
            if case == "empty" and kind == "locustfile":
                names = ("LOCUSTFILE_PATH",)     # the default comes from it
            row = _row(var, case, env, [], outcome, names)
            if case == "empty" and var in ("LOCUST_ECS_ENGINE", "LOCUST_ECS_STATE_DIR"):
                # the defaults are the real Locust and /tmp/locust-ecs: show, do not run
                row = row._replace(kind=PRINT)
            rows.append(row)
        for case, value, outcome in extra:
            rows.append(_row(var, case, dict(ctx, **{var: value}), [], outcome, (var,)))
    for opt, kind, ctx, name in OPTIONS:
        outcomes, spelled = KINDS[kind]
        rows.append(Row(opt, "missing value", dict(ctx), [opt], ERROR, 64, (name,)))
        for case, value in classes(spelled):
            outcome = 64 if case == "empty" else outcomes[case]
            rows.append(_row(opt, case, dict(ctx), [opt, value], outcome, (name,)))
    for setting, env, argv, outcome, names in CONFLICTS:
        rows.append(_row(setting, "conflicting pair", env, argv, outcome, names))
    for setting, argv, code, names in SUPERVISOR_OPTIONS:
        rows.append(Row(setting, "option", {}, argv, ERROR if code else "info", code, names))
    return rows


ROWS = build_rows()


# ---------- the markdown table ----------

def show(v):
    """A value as the table shows it: long runs shortened, bytes and controls escaped."""
    if v is None:
        return "(unset)"
    if isinstance(v, bytes):
        return "".join(chr(b) if 0x20 <= b < 0x7f else f"\\x{b:02x}" for b in v)
    out = ""
    i = 0
    while i < len(v):
        j = i
        while j < len(v) and v[j] == v[i]:
            j += 1
        if j - i > 16:
            out += f"{v[i]!r}×{j - i}".replace("'", "")
            i = j
            continue
        c = v[i]
        out += {"\n": "\\n", "\t": "\\t", "\x1b": "\\x1b"}.get(c, c)
        i += 1
    return out if out else '""'


def cell(s):
    return s.replace("|", "\\|").replace("`", "'")


def expect_text(r):
    if r.kind == ERROR:
        return f"**{r.code}**"
    if r.kind == "info":
        return "0 (prints, runs nothing)"
    return {PRINT: "0 (accepted; `--print-config`)", START: "0 (accepted; engine runs)",
            WARN: "0 (engine runs; warning)"}[r.kind]


def markdown():
    lines = [
        "# Bad input, tried and tabled",
        "",
        "Generated from `tests/integration/test_bad_input.py` (the one source; each row is a",
        "test): `/usr/bin/python3 tests/integration/test_bad_input.py > tests/bad_input.md`.",
        "",
        "Every row runs the real `locust-entrypoint` with `LOCUST_ECS_METADATA=off`, a real",
        "locustfile in `LOCUSTFILE_PATH` and a stub engine that records that it ran. A row",
        "with an exit status other than 0 expects exactly one line on stderr naming the",
        "setting (column \"named\") and no engine started. \"accepted\" rows either run the stub",
        "engine (exit 0) or, for the worker role and for defaults that would start the real",
        "Locust, print the configuration with `--print-config`. Empty values count as unset.",
        "Values: `9×65536` is 65536 nines, `\\xff` a byte, `{tmp}` the test's directory.",
        "",
        "| setting | case | value / arguments | context | exit | named |",
        "|---|---|---|---|---|---|",
    ]
    for r in ROWS:
        if r.argv:
            value = " ".join(show(a) for a in r.argv)
        elif r.setting in r.env:
            value = show(r.env[r.setting])
        else:
            value = ""
        ctx = ", ".join(f"{k}={show(v)}" for k, v in r.env.items() if k != r.setting)
        lines.append(f"| `{cell(r.setting)}` | {r.case} | `{cell(value)}` | {cell(ctx)} | "
                     f"{expect_text(r)} | {', '.join(r.names)} |")
    counts = {}
    for r in ROWS:
        counts[r.kind] = counts.get(r.kind, 0) + 1
    lines += ["", f"{len(ROWS)} rows: {counts.get(ERROR, 0)} refused, "
              f"{counts.get(PRINT, 0) + counts.get(START, 0) + counts.get(WARN, 0)} accepted, "
              f"{counts.get('info', 0)} informational.", ""]
    return "\n".join(lines)


# ---------- the tests ----------

ENGINE_STUB = "#!/bin/sh\n: > \"$0.ran\"\nexit 0\n"


def _sub(v, tmp):
    if isinstance(v, bytes):
        return v.replace(TMP.encode(), str(tmp).encode())
    return v.replace(TMP, str(tmp))


@pytest.fixture
def world(tmp_path):
    (tmp_path / "locustfile.py").write_text("# not read by the stub engine\n")
    eng = tmp_path / "engine"
    eng.write_text(ENGINE_STUB)
    eng.chmod(0o755)
    (tmp_path / "open").mkdir()
    (tmp_path / "open").chmod(0o777)
    return tmp_path


def run_row(r, tmp):
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp),
        "LOCUST_ECS_METADATA": "off",
        "LOCUST_ECS_LOG_FORMAT": "json",
        "LOCUSTFILE_PATH": str(tmp / "locustfile.py"),
        "LOCUST_ECS_ENGINE": str(tmp / "engine"),
        "LOCUST_ECS_STATE_DIR": str(tmp / "state"),
    }
    for k, v in r.env.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = _sub(v, tmp)
    benv = {k.encode(): v if isinstance(v, bytes) else v.encode() for k, v in env.items()}
    argv = [ENTRY.encode()]
    if r.kind == PRINT:
        argv.append(b"--print-config")
    argv += [a if isinstance(a, bytes) else _sub(a, tmp).encode() for a in r.argv]
    p = subprocess.run(argv, env=benv, cwd=str(tmp), capture_output=True, timeout=30)
    return p, (tmp / "engine.ran").exists()


def _lines(b):
    return [l for l in b.decode(errors="replace").splitlines() if l.strip()]


def _levels(lines):
    out = []
    for l in lines:
        try:
            out.append(json.loads(l).get("level"))
        except ValueError:
            out.append(None)
    return out


@pytest.mark.parametrize("r", ROWS, ids=[f"{r.setting}|{r.case}|{i}" for i, r in enumerate(ROWS)])
def test_row(world, r):
    if r.kind == ERROR and r.case == "empty" and "LOCUSTFILE_PATH" in r.names \
            and os.path.exists("/locustfile.py"):
        pytest.skip("/locustfile.py exists here: the default locustfile is there")
    p, ran = run_row(r, world)
    err = _lines(p.stderr)
    if r.kind == ERROR:
        assert p.returncode == r.code, (p.returncode, err[-3:])
        assert len(err) == 1, err
        for n in r.names:
            assert n in err[0], (n, err[0])
        assert not ran, "an engine was started"
    elif r.kind == PRINT:
        assert p.returncode == 0, err[-3:]
        doc = json.loads(p.stdout)
        assert doc["engine_argv"], doc
        assert "error" not in _levels(err), err
        assert not ran
    elif r.kind == START:
        assert p.returncode == 0, err[-3:]
        assert ran, "the engine did not run"
        assert "error" not in _levels(err), err
    elif r.kind == WARN:
        assert p.returncode == 0, err[-3:]
        assert ran
        warns = [l for l, lv in zip(err, _levels(err)) if lv == "warn"]
        assert any(all(n in l for n in r.names) for l in warns), err
    else:
        assert p.returncode == 0 and p.stdout.strip(), err
        assert not ran


def test_markdown_is_current():
    with open(MD_PATH, encoding="utf-8") as f:
        assert f.read() == markdown() + "\n", \
            "tests/bad_input.md is stale: /usr/bin/python3 tests/integration/test_bad_input.py > tests/bad_input.md"


def test_every_variable_of_the_readme_is_tabled():
    readme = open(os.path.join(os.path.dirname(os.path.dirname(HERE)), "README.md")).read()
    import re
    # LOCUST_IMAGE is the Dockerfile's build argument, not read by the supervisor
    documented = set(re.findall(r"`((?:LOCUST|TARGET)_[A-Z_]+)`", readme)) - {"LOCUST_IMAGE"}
    tabled = {r.setting for r in ROWS}
    assert not (documented - tabled), sorted(documented - tabled)


if __name__ == "__main__":
    sys.stdout.write(markdown() + "\n")
