"""The image and the ECS JSON of every flow: shapes the AWS APIs take, rendering (with
each variant), agreement with the Dockerfile and with `make install`, each task definition
started the way ECS starts it (its own network namespace, entryPoint + command +
environment; the read-only variant with a read-only root and its /tmp volume) with real
Locust and dnsmasq standing in for Cloud Map, and every AWS command of the README's
walkthrough (both languages) through the AWS CLI's own validation, nothing sent."""
import base64
import ctypes
import fnmatch
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest

import readme_commands as rc
from conftest import (BUILD, ENTRY, LOCUSTFILE, PY, ROOT, base_env, get_json, port_open,
                      read_log, wait_for)

TASKDEFS = os.path.join(ROOT, "taskdefs")
DOCKERFILE = os.path.join(ROOT, "docker", "Dockerfile")
PREFIX = "/usr/local"

# Values a user would give `make taskdefs`; the rest come from render.py's defaults.
SAMPLE = {
    "ACCOUNT_ID": "123456789012",
    "REGION": "ap-northeast-2",
    "SUBNETS": "subnet-0a1b2c3d4e5f60718, subnet-0f1e2d3c4b5a69788",
    "MASTER_SECURITY_GROUP": "sg-0123456789abcdef0",
    "WORKER_SECURITY_GROUP": "sg-0fedcba9876543210",
    "VPC_ID": "vpc-0123456789abcdef0",
    "NAMESPACE_ID": "ns-abcdefghijklmnop",
    "CLOUDMAP_SERVICE_ARN": "arn:aws:servicediscovery:ap-northeast-2:123456789012:service/"
                            "srv-abcdefghijklmnop",
    "TARGET_URL": "https://staging.example.com:8443/api?a=1&b=%22x%22",
    "WORKER_COUNT": "3",
}
# Known only once the ec2 variant's Auto Scaling group exists.
ASG_ARN = ("arn:aws:autoscaling:ap-northeast-2:123456789012:autoScalingGroup:"
           "0a1b2c3d-1111-2222-3333-444455556666:autoScalingGroupName/locust-ecs")
# What ECS would put in the container for each secret.
SECRET_VALUES = {"LOCUST_WEB_AUTH": "locust:not-a-real-password"}

# Which run-task overrides go with which task definition (the guide also turned the one
# task definition into a worker with the worker override).
OVERRIDE_PAIRS = [
    ("standalone.taskdef.json", None, "standalone"),
    ("standalone.taskdef.json", "standalone.overrides.json", "standalone"),
    ("master.taskdef.json", None, "master"),
    ("worker.taskdef.json", None, "worker"),
    ("worker.taskdef.json", "worker.overrides.json", "worker"),
    ("standalone.taskdef.json", "worker.overrides.json", "worker"),
]


def load_render():
    spec = importlib.util.spec_from_file_location("le_render", os.path.join(TASKDEFS,
                                                                             "render.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def clean_env(**extra):
    """An environment without any value render.py would pick up by accident."""
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
    env.update(extra)
    return env


def template_names(variants=()):
    """Names of the templates: taskdefs/*.json, and those of the variants given."""
    return load_render().templates(variants)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("rendered")
    args = [f"{k}={v}" for k, v in SAMPLE.items()]
    r = subprocess.run([PY, os.path.join(TASKDEFS, "render.py"), "--out", str(out), *args],
                       env=clean_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    docs = {}
    for name in template_names():
        with open(out / name, encoding="utf-8") as f:
            text = f.read()
        assert "${" not in text, name
        docs[name] = json.loads(text)
    return docs


# ---------- shapes of the AWS APIs ----------

def shape(obj, spec, where="$"):
    """Checks obj against spec: a type, [item spec], {key: spec} (keys starting with '?'
    are optional; no other key may appear) or a callable that asserts."""
    if isinstance(spec, type):
        ok = isinstance(obj, spec) and not (spec is int and isinstance(obj, bool))
        assert ok, f"{where}: expected {spec.__name__}, got {type(obj).__name__} {obj!r}"
    elif isinstance(spec, list):
        assert isinstance(obj, list), f"{where}: expected a list, got {obj!r}"
        for i, item in enumerate(obj):
            shape(item, spec[0], f"{where}[{i}]")
    elif isinstance(spec, dict):
        assert isinstance(obj, dict), f"{where}: expected an object, got {obj!r}"
        keys = {k.lstrip("?"): k.startswith("?") for k in spec}
        unknown = set(obj) - set(keys)
        assert not unknown, f"{where}: keys the API does not take: {sorted(unknown)}"
        for k, optional in keys.items():
            if k in obj:
                shape(obj[k], spec[("?" if optional else "") + k], f"{where}.{k}")
            else:
                assert optional, f"{where}: required key {k} missing"
    else:
        spec(obj, where)


def one_of(*values):
    def check(v, where):
        assert v in values, f"{where}: {v!r} is not one of {values}"
    return check


def int_in(lo, hi):
    def check(v, where):
        shape(v, int, where)
        assert lo <= v <= hi, f"{where}: {v} not within {lo}..{hi}"
    return check


def str_match(pattern):
    def check(v, where):
        shape(v, str, where)
        assert re.fullmatch(pattern, v), f"{where}: {v!r} does not match {pattern}"
    return check


def nonempty(spec):
    def check(v, where):
        shape(v, spec, where)
        assert v, f"{where}: empty"
    return check


def unique_names(v, where):
    names = [e["name"] for e in v]
    assert len(names) == len(set(names)), f"{where}: duplicate names {names}"


def both(*specs):
    def check(v, where):
        for s in specs:
            shape(v, s, where)
    return check


ENV_LIST = both([{"name": str_match(r"[A-Za-z_][A-Za-z0-9_]*"), "value": str}], unique_names)
PORT = int_in(1, 65535)
PORT_MAPPING = {"containerPort": PORT, "?hostPort": PORT, "?protocol": one_of("tcp", "udp"),
                "?name": str, "?appProtocol": one_of("http", "http2", "grpc")}
HEALTH = {"command": both(nonempty([str]), lambda v, w: shape(v[0], one_of("CMD", "CMD-SHELL"),
                                                                    w + "[0]")),
          "?interval": int_in(5, 300), "?timeout": int_in(2, 120), "?retries": int_in(1, 10),
          "?startPeriod": int_in(0, 300)}
ULIMIT = {"name": one_of("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue",
                         "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending",
                         "stack"),
          "softLimit": int, "hardLimit": int}
CONTAINER = {
    "name": str_match(r"[A-Za-z0-9_-]{1,255}"), "image": nonempty(str), "essential": bool,
    "?entryPoint": [str], "?command": [str], "?portMappings": [PORT_MAPPING],
    "?environment": ENV_LIST,
    "?secrets": both([{"name": str, "valueFrom": nonempty(str)}], unique_names),
    "?healthCheck": HEALTH, "?stopTimeout": int_in(2, 120), "?startTimeout": int_in(2, 600),
    "?ulimits": [ULIMIT],
    "?logConfiguration": {"logDriver": one_of("awslogs", "awsfirelens", "splunk", "json-file",
                                              "fluentd", "gelf", "journald", "syslog"),
                          "?options": lambda v, w: shape(v, dict, w) or
                          [shape(x, str, f"{w}.{k}") for k, x in v.items()],
                          "?secretOptions": list},
    # accepted by the API, not used by the definitions here
    "?cpu": int, "?memory": int, "?memoryReservation": int, "?user": str,
    "?workingDirectory": str, "?readonlyRootFilesystem": bool, "?dockerLabels": dict,
    "?mountPoints": [{"sourceVolume": nonempty(str), "containerPath": str_match(r"/.*"),
                      "?readOnly": bool}],
    "?volumesFrom": list, "?dependsOn": list, "?linuxParameters": dict,
    "?systemControls": list, "?resourceRequirements": list, "?environmentFiles": list,
    "?repositoryCredentials": dict, "?firelensConfiguration": dict,
}
TASK_DEFINITION = {
    "family": str_match(r"[A-Za-z0-9_-]{1,255}"),
    "requiresCompatibilities": one_of(["FARGATE"], ["EC2"]),
    "networkMode": one_of("awsvpc"),
    "cpu": str_match(r"\d+"), "memory": str_match(r"\d+"),
    "executionRoleArn": str_match(r"arn:aws[a-z-]*:iam::\d{12}:role/.+"),
    "?taskRoleArn": str_match(r"arn:aws[a-z-]*:iam::\d{12}:role/.+"),
    "?runtimePlatform": {"?cpuArchitecture": one_of("X86_64", "ARM64"),
                         "?operatingSystemFamily": one_of("LINUX")},
    "containerDefinitions": nonempty([CONTAINER]),
    "?volumes": both([{"name": str_match(r"[A-Za-z0-9_-]{1,255}")}], unique_names),
    "?ephemeralStorage": {"sizeInGiB": int_in(21, 200)}, "?tags": list,
}
AWSVPC = {"awsvpcConfiguration": {
    "subnets": nonempty([str_match(r"subnet-[0-9a-f]+")]),
    "?securityGroups": nonempty([str_match(r"sg-[0-9a-f]+")]),
    "?assignPublicIp": one_of("ENABLED", "DISABLED")}}
def one_launch_choice(v, where):
    assert ("launchType" in v) != ("capacityProviderStrategy" in v), \
        f"{where}: a service has a launchType or a capacityProviderStrategy, one of them"


SERVICE_FIELDS = {
    "cluster": nonempty(str), "serviceName": str_match(r"[A-Za-z0-9_-]{1,255}"),
    "taskDefinition": nonempty(str), "desiredCount": int_in(0, 5000),
    "?launchType": one_of("FARGATE"), "?platformVersion": str,
    "?capacityProviderStrategy": nonempty([{"capacityProvider": nonempty(str),
                                            "?weight": int_in(0, 1000),
                                            "?base": int_in(0, 100000)}]),
    "networkConfiguration": AWSVPC,
    "?serviceRegistries": [{"registryArn": str_match(
        r"arn:aws[a-z-]*:servicediscovery:[a-z0-9-]+:\d{12}:service/srv-[a-z0-9]+"),
        "?port": PORT, "?containerName": str, "?containerPort": PORT}],
    "?deploymentConfiguration": {"?maximumPercent": int_in(100, 200),
                                 "?minimumHealthyPercent": int_in(0, 100),
                                 "?deploymentCircuitBreaker": dict},
    "?enableExecuteCommand": bool, "?propagateTags": one_of("SERVICE", "TASK_DEFINITION"),
    "?enableECSManagedTags": bool, "?tags": list,
}
SERVICE = both(SERVICE_FIELDS, one_launch_choice)
OVERRIDES = {"containerOverrides": nonempty([{
    "name": str, "?environment": ENV_LIST, "?command": [str], "?cpu": int, "?memory": int}])}
NAMESPACE = {"Name": nonempty(str), "Vpc": str_match(r"vpc-[0-9a-f]+"), "?Description": str,
             "?CreatorRequestId": str, "?Tags": list,
             "Properties": {"DnsProperties": {"SOA": {"TTL": int_in(0, 60)}}}}
CLOUDMAP_SERVICE = {
    "Name": str_match(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"), "NamespaceId": str_match(r"ns-\w+"),
    "?Description": str, "?CreatorRequestId": str, "?Tags": list,
    "DnsConfig": {"RoutingPolicy": one_of("MULTIVALUE"),
                  "DnsRecords": nonempty([{"Type": one_of("A"), "TTL": int_in(0, 60)}])},
    # FailureThreshold is no longer supported and always 1 (Cloud Map API reference)
    "HealthCheckCustomConfig": {},
}
POLICY = {"Version": one_of("2012-10-17"), "Statement": nonempty([dict])}


def json_string(spec):
    """A string holding one JSON document of the shape spec."""
    def check(v, where):
        shape(v, str, where)
        try:
            doc = json.loads(v)
        except ValueError as e:
            raise AssertionError(f"{where}: not a JSON document: {e}")
        shape(doc, spec, f"{where}<json>")
    return check


def at_most(n):
    def check(v, where):
        assert len(v) <= n, f"{where}: {len(v)} items, the most is {n}"
    return check


def number(v, where):
    assert isinstance(v, (int, float)) and not isinstance(v, bool), \
        f"{where}: expected a number, got {v!r}"


def dashboard_period(v, where):
    shape(v, int, where)
    assert v >= 60 and v % 60 == 0, f"{where}: a widget's period is a multiple of 60, not {v}"


def alarm_period(v, where):
    shape(v, int, where)
    assert v in (10, 20, 30) or (v >= 60 and v % 60 == 0), \
        f"{where}: an alarm's period is 10, 20, 30 or a multiple of 60, not {v}"


STAT = str_match(r"SampleCount|Average|Sum|Minimum|Maximum|p\d{1,2}(\.\d+)?")
COLOR = str_match(r"#[0-9a-f]{6}")


def metric_line(v, where):
    """[Namespace, MetricName, DimensionName, DimensionValue, ..., {rendering}], written
    out in full (no "." shorthand, so every line names its own metric)."""
    shape(v, nonempty(list), where)
    names, opts = (v[:-1], v[-1]) if isinstance(v[-1], dict) else (v, {})
    for i, x in enumerate(names):
        shape(x, nonempty(str), f"{where}[{i}]")
        assert x != ".", f"{where}[{i}]: written in full, not \".\""
    assert len(names) >= 2 and len(names) % 2 == 0, f"{where}: namespace, name, dimension pairs"
    shape(opts, {"?label": str, "?color": COLOR, "?stat": STAT,
                 "?yAxis": one_of("left", "right")}, f"{where}[-1]")


# The dashboard body (CloudWatch User Guide, "Dashboard Body Structure and Syntax"): widgets
# on a grid of 24 columns; metric widgets with a region and 1-500 metrics.
METRIC_WIDGET = {
    "title": nonempty(str), "view": one_of("timeSeries", "singleValue"), "stacked": bool,
    "liveData": bool, "region": str, "period": dashboard_period, "stat": STAT,
    "metrics": both(nonempty([metric_line]), at_most(500)),
    "?yAxis": {"?left": {"?min": number, "?max": number, "?label": str, "?showUnits": bool}},
    "?annotations": {"horizontal": nonempty([{
        "value": number, "?label": str, "?fill": one_of("above", "below", "none"),
        "?color": COLOR}])}}
WIDGET_PROPERTIES = {
    "metric": METRIC_WIDGET,
    "text": {"markdown": nonempty(str)},
    "alarm": {"alarms": nonempty([str_match(r"arn:aws:cloudwatch:[a-z0-9-]+:\d{12}:alarm:.+")]),
              "?title": str, "?sortBy": one_of("default", "stateUpdatedTimestamp", "timestamp")},
}


def widgets(v, where):
    shape(v, nonempty([{"type": one_of(*WIDGET_PROPERTIES), "x": int_in(0, 23),
                        "y": int_in(0, 100000), "width": int_in(1, 24),
                        "height": int_in(1, 1000), "properties": dict}]), where)
    at_most(500)(v, where)
    for i, x in enumerate(v):
        assert x["x"] + x["width"] <= 24, f"{where}[{i}]: wider than the grid"
        shape(x["properties"], WIDGET_PROPERTIES[x["type"]], f"{where}[{i}].properties")


DASHBOARD = {"DashboardName": str_match(r"[A-Za-z0-9_-]{1,255}"),
             "DashboardBody": json_string({"?start": str_match(r"-P(T\d+[MH]|\d+[DWM])"),
                                           "?periodOverride": one_of("auto", "inherit"),
                                           "widgets": widgets})}
# PutMetricAlarm (CloudWatch API reference) for one metric with a static threshold
ALARM = {"AlarmName": str_match(r"[A-Za-z0-9_.-]{1,255}"), "?AlarmDescription": str,
         "Namespace": str_match(r"[^:].{0,254}"), "MetricName": str_match(r".{1,255}"),
         "Dimensions": nonempty([{"Name": str, "Value": nonempty(str)}]),
         "Statistic": one_of("SampleCount", "Average", "Sum", "Minimum", "Maximum"),
         "Period": alarm_period, "EvaluationPeriods": int_in(1, 8640),
         "DatapointsToAlarm": int_in(1, 8640), "Threshold": number,
         "ComparisonOperator": one_of("GreaterThanThreshold", "GreaterThanOrEqualToThreshold",
                                      "LessThanThreshold", "LessThanOrEqualToThreshold"),
         "TreatMissingData": one_of("breaching", "notBreaching", "ignore", "missing"),
         "?AlarmActions": [str], "?OKActions": [str], "?ActionsEnabled": bool}


def kind_of(name):
    for suffix, kind in [("ec2-launch-template.json", "launch-template"),
                         ("ec2-auto-scaling-group.json", "auto-scaling-group"),
                         ("ec2-capacity-provider.json", "capacity-provider"),
                         (".taskdef.json", "taskdef"), (".service.json", "service"),
                         (".overrides.json", "overrides"), (".network.json", "network"),
                         ("cloudmap-namespace.json", "namespace"),
                         ("cloudmap-service.json", "cloudmap-service"),
                         ("cloudwatch-dashboard.json", "dashboard")]:
        if name.endswith(suffix):
            return kind
    if name.startswith("iam-"):
        return "policy"
    if name.startswith("cloudwatch-alarm-"):
        return "alarm"
    raise AssertionError(f"taskdefs/{name}: unknown kind of file (name it *.taskdef.json, "
                         "*.service.json, *.overrides.json, *.network.json, cloudmap-*.json, "
                         "cloudwatch-dashboard.json, cloudwatch-alarm-*.json, ec2-*.json or "
                         "iam-*.json)")


SPECS = {"taskdef": TASK_DEFINITION, "service": SERVICE, "overrides": OVERRIDES,
         "network": AWSVPC, "namespace": NAMESPACE, "cloudmap-service": CLOUDMAP_SERVICE,
         "policy": POLICY, "launch-template": dict, "auto-scaling-group": dict,
         "capacity-provider": dict, "dashboard": DASHBOARD, "alarm": ALARM}


def containers(docs, name):
    return {c["name"]: c for c in docs[name]["containerDefinitions"]}


def env_of(container):
    return {e["name"]: e["value"] for e in container.get("environment", [])}


def task_env(docs, taskdef, override):
    """The container's environment as ECS builds it: definition, secrets, then overrides."""
    (c,) = docs[taskdef]["containerDefinitions"]
    env = env_of(c)
    for s in c.get("secrets", []):
        env[s["name"]] = SECRET_VALUES[s["name"]]
    if override:
        for co in docs[override]["containerOverrides"]:
            if co["name"] == c["name"]:
                env.update(env_of(co))
    return c, env


# ---------- the JSON files ----------

def test_every_template_parses_and_names_known_values():
    render = load_render()
    variants = render.variant_names()
    assert variants == ["ec2", "exec", "readonly", "s3", "spot"]
    paths = render.template_paths(variants)
    assert {"standalone.taskdef.json", "standalone.overrides.json", "master.taskdef.json",
            "master.service.json", "worker.taskdef.json", "worker.overrides.json",
            "worker.service.json", "cloudmap-namespace.json", "cloudmap-service.json",
            "cloudwatch-dashboard.json", "cloudwatch-alarm-fail-ratio.json",
            "cloudwatch-alarm-p95.json"} <= set(template_names())
    docs = {name: render.load(path) for name, path in paths.items()}
    docs.update({f"variants/{v}/variant.json": render.load_variant(v) for v in variants})
    for name, doc in docs.items():
        if not name.endswith("variant.json"):
            kind_of(name)
        used = render.placeholders(doc, set())
        assert used <= set(render.VARS), f"{name}: unknown placeholders {used - set(render.VARS)}"
    for v in variants:
        spec = render.load_variant(v)
        for pattern in spec["patch"]:
            assert fnmatch.filter(template_names(), pattern), f"{v}: {pattern} matches nothing"
        for other in spec.get("excludes", {}):
            assert v in render.load_variant(other).get("excludes", {}), \
                f"{v} excludes {other}, and so must {other} exclude {v}"


def test_rendered_files_have_the_shapes_of_the_apis(rendered):
    for name, doc in rendered.items():
        shape(doc, SPECS[kind_of(name)], name)


API_INPUTS = {"taskdef": ("ecs", "RegisterTaskDefinition"), "service": ("ecs", "CreateService"),
              "namespace": ("servicediscovery", "CreatePrivateDnsNamespace"),
              "cloudmap-service": ("servicediscovery", "CreateService"),
              "overrides": ("ecs", "TaskOverride"), "network": ("ecs", "NetworkConfiguration"),
              "launch-template": ("ec2", "CreateLaunchTemplate"),
              "auto-scaling-group": ("autoscaling", "CreateAutoScalingGroup"),
              "capacity-provider": ("ecs", "CreateCapacityProvider"),
              "dashboard": ("cloudwatch", "PutDashboard"),
              "alarm": ("cloudwatch", "PutMetricAlarm")}


def sdk_validate(docs):
    """Validates each document that is an API's input with the AWS SDK's own model of that
    API (Debian's python3-botocore), as the CLI validates --cli-input-json, --overrides and
    --network-configuration before sending. Returns how many were checked."""
    botocore = pytest.importorskip("botocore.session", reason="python3-botocore not installed")
    import botocore.validate
    session = botocore.session.get_session()
    validator = botocore.validate.ParamValidator()
    checked = 0
    for name, doc in docs.items():
        kind = kind_of(name)
        if kind not in API_INPUTS:
            continue
        service, what = API_INPUTS[kind]
        model = session.get_service_model(service)
        shape_ = (model.operation_model(what).input_shape if what in model.operation_names
                  else model.shape_for(what))
        report = validator.validate(doc, shape_)
        assert not report.has_errors(), f"{name}: {report.generate_report()}"
        checked += 1
    return checked


def test_rendered_files_pass_the_aws_sdk_validation(rendered):
    assert sdk_validate(rendered) == 14


def test_every_container_is_set_up_for_the_supervisor(rendered):
    for name, doc in rendered.items():
        if kind_of(name) != "taskdef":
            continue
        for c in doc["containerDefinitions"]:
            where = f"{name}:{c['name']}"
            assert c["entryPoint"] == ["/usr/local/bin/locust-entrypoint"], where
            assert c["healthCheck"]["command"] == ["CMD", "/usr/local/bin/locust-healthcheck"]
            hc = c["healthCheck"]
            assert {"interval", "timeout", "retries", "startPeriod"} <= set(hc), where
            assert hc["timeout"] < hc["interval"], where
            assert "initProcessEnabled" not in json.dumps(c), \
                f"{where}: the supervisor is the init; no initProcessEnabled"
            nofile = [u for u in c["ulimits"] if u["name"] == "nofile"]
            assert nofile and nofile[0]["softLimit"] >= 65536, where
            assert nofile[0]["softLimit"] <= nofile[0]["hardLimit"] <= 1048576, where
            opts = c["logConfiguration"]["options"]
            assert c["logConfiguration"]["logDriver"] == "awslogs", where
            assert {"awslogs-group", "awslogs-region", "awslogs-stream-prefix"} <= set(opts)
            assert opts["awslogs-region"] == SAMPLE["REGION"], where
            for p in c.get("portMappings", []):
                assert p.get("hostPort", p["containerPort"]) == p["containerPort"], \
                    f"{where}: awsvpc needs hostPort == containerPort"
            assert c["stopTimeout"] <= 120, f"{where}: Fargate's maximum stopTimeout is 120"
            assert c["image"].startswith("123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/")


def test_ports_per_role(rendered):
    ports = {n: sorted(p["containerPort"] for c in d["containerDefinitions"]
                       for p in c.get("portMappings", []))
             for n, d in rendered.items() if n.endswith(".taskdef.json")}
    assert ports["master.taskdef.json"] == [5557, 8089]  # 5558 only before Locust 1.0
    assert ports["standalone.taskdef.json"] == [8089]
    assert ports["worker.taskdef.json"] == []


def test_fargate_sizes(rendered):
    render = load_render()
    for name, doc in rendered.items():
        if name.endswith(".taskdef.json"):
            cpu, mem = int(doc["cpu"]), int(doc["memory"])
            assert mem in render.FARGATE_SIZES[cpu], name


def test_overrides_name_containers_of_their_task_definitions(rendered):
    for taskdef, override, _ in OVERRIDE_PAIRS:
        if override:
            names = set(containers(rendered, taskdef))
            for co in rendered[override]["containerOverrides"]:
                assert co["name"] in names, f"{override} names {co['name']}, {taskdef} has {names}"
    (co,) = rendered["standalone.overrides.json"]["containerOverrides"]
    assert env_of(co)["TARGET_URL"] == SAMPLE["TARGET_URL"]


def test_services_run_their_task_definitions(rendered):
    families = {d["family"] for n, d in rendered.items() if n.endswith(".taskdef.json")}
    master = rendered["master.service.json"]
    worker = rendered["worker.service.json"]
    for svc in (master, worker):
        assert svc["taskDefinition"] in families
        assert svc["cluster"] == "locust"
        assert svc["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == [
            "subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"]
    assert master["taskDefinition"] == "locust-master"
    assert worker["taskDefinition"] == "locust-worker"
    # one master, registered in Cloud Map; never two at once during a deployment, or the
    # name would give workers two masters
    assert master["desiredCount"] == 1
    assert master["serviceRegistries"] == [{"registryArn": SAMPLE["CLOUDMAP_SERVICE_ARN"]}]
    assert master["deploymentConfiguration"]["maximumPercent"] == 100
    assert "serviceRegistries" not in worker
    assert worker["desiredCount"] == int(SAMPLE["WORKER_COUNT"])
    sg = lambda d: d["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"]
    assert sg(master) == [SAMPLE["MASTER_SECURITY_GROUP"]]
    assert sg(worker) == [SAMPLE["WORKER_SECURITY_GROUP"]]
    assert rendered["standalone.network.json"]["awsvpcConfiguration"]["securityGroups"] == \
        sg(master)
    assert rendered["worker.network.json"]["awsvpcConfiguration"]["securityGroups"] == \
        sg(worker)


def test_cloud_map_name_is_the_workers_master(rendered):
    ns, svc = rendered["cloudmap-namespace.json"], rendered["cloudmap-service.json"]
    # low TTLs: a worker that asks before the master registers must not wait for a
    # negative answer cached 900 s, nor for a stale address
    assert ns["Properties"]["DnsProperties"]["SOA"]["TTL"] <= 30
    assert all(r["TTL"] <= 30 for r in svc["DnsConfig"]["DnsRecords"])
    name = f"{svc['Name']}.{ns['Name']}"
    assert name == "master.locust"
    (_, w_env) = task_env(rendered, "worker.taskdef.json", None)
    assert w_env["LOCUST_MASTER_HOST"] == name
    (_, o_env) = task_env(rendered, "standalone.taskdef.json", "worker.overrides.json")
    assert o_env["LOCUST_MASTER_HOST"] == name
    assert svc["NamespaceId"] == SAMPLE["NAMESPACE_ID"]


def test_execution_role_may_read_the_web_ui_secret(rendered):
    trust = rendered["iam-execution-trust.json"]["Statement"][0]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    secrets = [s["valueFrom"] for c in containers(rendered, "master.taskdef.json").values()
               for s in c.get("secrets", [])]
    assert secrets == ["arn:aws:ssm:ap-northeast-2:123456789012:parameter/locust/web-auth"]
    (stmt,) = rendered["iam-execution-secrets.json"]["Statement"]
    assert set(secrets) <= set(stmt["Resource"])
    assert "ssm:GetParameters" in stmt["Action"]
    roles = {d["executionRoleArn"] for n, d in rendered.items() if n.endswith(".taskdef.json")}
    assert roles == {"arn:aws:iam::123456789012:role/locust-ecs-execution"}


# ---------- live metrics: the definitions, the dashboard and the alarms ----------

# What the supervisor writes as CloudWatch EMF (issue 16): per interval, name -> unit
EMF_METRICS = {"Users": "Count", "RequestsPerSecond": "Count/Second",
               "FailuresPerSecond": "Count/Second", "FailRatio": "None",
               "ResponseTimeP50": "Milliseconds", "ResponseTimeP95": "Milliseconds",
               "ResponseTimeP99": "Milliseconds", "WorkersConnected": "Count",
               "WorkersMissing": "Count"}
EMF_MASTER_ONLY = {"WorkersConnected", "WorkersMissing"}
EMF_SUMMARY = {"TestRequests": "Count", "TestFailures": "Count", "TestDuration": "Seconds"}
EMF_DIMENSIONS = ("TestName", "Role")
EMF_ROLES = ("master", "standalone")


def metrics_env(docs):
    """{role: the metric settings of its definition's container}."""
    out = {}
    for role in EMF_ROLES:
        _, env = task_env(docs, f"{role}.taskdef.json", None)
        out[role] = {k: v for k, v in env.items()
                     if k.startswith("LOCUST_ECS_METRICS") or k == "LOCUST_ECS_TEST_NAME"}
    return out


def dashboard_lines(dashboard):
    """(widget, namespace, metric name, {dimension: value}) of every metric line."""
    body = json.loads(dashboard["DashboardBody"])
    for w in body["widgets"]:
        for line in w["properties"].get("metrics", []) if w["type"] == "metric" else []:
            words = [x for x in line if isinstance(x, str)]
            yield w, words[0], words[1], dict(zip(words[2::2], words[3::2]))


def alarm_docs(docs):
    return {d["MetricName"]: d for n, d in docs.items() if kind_of(n) == "alarm"}


def check_metrics_agree(docs, region, account):
    """The dashboard and the alarms watch exactly what the definitions make the supervisor
    write: the namespace, the test name, the dimensions, the metric names and the period.
    Returns the settings the definitions carry."""
    envs = metrics_env(docs)
    assert envs["master"] == envs["standalone"], envs
    env = envs["master"]
    assert set(env) == {"LOCUST_ECS_METRICS", "LOCUST_ECS_METRICS_INTERVAL",
                        "LOCUST_ECS_METRICS_NAMESPACE", "LOCUST_ECS_TEST_NAME"}, env
    _, worker_env = task_env(docs, "worker.taskdef.json", None)
    assert not [k for k in worker_env if k.startswith("LOCUST_ECS_METRICS")], \
        "workers write no metrics: the master has the test's figures"
    namespace, test = env["LOCUST_ECS_METRICS_NAMESPACE"], env["LOCUST_ECS_TEST_NAME"]
    interval = int(re.fullmatch(r"(\d+)s", env["LOCUST_ECS_METRICS_INTERVAL"]).group(1))

    dash = docs["cloudwatch-dashboard.json"]
    assert dash["DashboardName"] == f"locust-{test}"
    seen, annotated = set(), {}
    for w, ns, name, dims in dashboard_lines(dash):
        where = f"{w['properties']['title']}: {name} {dims}"
        assert w["properties"]["region"] == region, where
        assert ns == namespace, where
        assert name in EMF_METRICS, f"{where}: the supervisor writes no such metric"
        assert tuple(sorted(dims)) == tuple(sorted(EMF_DIMENSIONS)), where
        assert dims["TestName"] == test and dims["Role"] in EMF_ROLES, where
        assert dims["Role"] == "master" or name not in EMF_MASTER_ONLY, where
        seen.add((name, dims["Role"]))
        for a in w["properties"].get("annotations", {}).get("horizontal", []):
            annotated.setdefault(name, set()).add(a["value"])
    assert seen == {(m, r) for m in EMF_METRICS for r in EMF_ROLES
                    if r == "master" or m not in EMF_MASTER_ONLY}, "every metric, every role"
    # the free tier's dashboards hold up to 50 metrics each (CloudWatch pricing)
    assert len(seen) <= 50

    alarms = alarm_docs(docs)
    assert sorted(alarms) == ["FailRatio", "ResponseTimeP95"]
    body = json.loads(dash["DashboardBody"])
    (status,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert sorted(status["properties"]["alarms"]) == sorted(
        f"arn:aws:cloudwatch:{region}:{account}:alarm:{a['AlarmName']}" for a in alarms.values())
    for name, a in alarms.items():
        assert a["Namespace"] == namespace, name
        dims = {d["Name"]: d["Value"] for d in a["Dimensions"]}
        assert len(dims) == len(a["Dimensions"]) and tuple(sorted(dims)) == \
            tuple(sorted(EMF_DIMENSIONS)), name
        assert dims["TestName"] == test and dims["Role"] in EMF_ROLES, name
        # one line per period: an alarm period shorter than the interval finds no data
        assert a["Period"] == interval, name
        assert a["Period"] * a["EvaluationPeriods"] <= 86400, name
        assert a["DatapointsToAlarm"] <= a["EvaluationPeriods"], name
        assert a["ComparisonOperator"] == "GreaterThanThreshold", name
        # no test running is no failure
        assert a["TreatMissingData"] == "notBreaching", name
        assert annotated.get(name) == {a["Threshold"]}, \
            f"{name}: the dashboard marks the alarm's threshold {a['Threshold']}"
    assert 0 <= alarms["FailRatio"]["Threshold"] <= 1
    return env, alarms


def test_dashboard_and_alarms_watch_what_the_supervisor_writes(rendered):
    env, alarms = check_metrics_agree(rendered, SAMPLE["REGION"], SAMPLE["ACCOUNT_ID"])
    assert env == {"LOCUST_ECS_METRICS": "on", "LOCUST_ECS_METRICS_INTERVAL": "60s",
                   "LOCUST_ECS_METRICS_NAMESPACE": "Locust", "LOCUST_ECS_TEST_NAME": "loadtest"}
    assert {n: a["Threshold"] for n, a in alarms.items()} == {"FailRatio": 0.05,
                                                             "ResponseTimeP95": 1000}
    assert {a["Dimensions"][1]["Value"] for a in alarms.values()} == {"master"}


def test_metric_settings_reach_definitions_dashboard_and_alarms(tmp_path):
    """Every metric value given to the renderer lands in the definitions, the dashboard and
    the alarms alike; 10 s makes high-resolution metrics and alarms."""
    values = dict(SAMPLE, METRICS="off", METRICS_PERIOD="10", TEST_NAME="checkout_v2",
                  METRICS_NAMESPACE="Perf/Locust", ALARM_ROLE="standalone",
                  ALARM_FAIL_RATIO="0.2", ALARM_P95_MS="250")
    r = run_render("--out", str(tmp_path), *[f"{k}={v}" for k, v in values.items()])
    assert r.returncode == 0, r.stderr
    docs = {p.name: json.loads(p.read_text()) for p in tmp_path.iterdir()}
    for name, doc in docs.items():
        shape(doc, SPECS[kind_of(name)], name)
    assert sdk_validate(docs) == 14
    env, alarms = check_metrics_agree(docs, SAMPLE["REGION"], SAMPLE["ACCOUNT_ID"])
    assert env == {"LOCUST_ECS_METRICS": "off", "LOCUST_ECS_METRICS_INTERVAL": "10s",
                   "LOCUST_ECS_METRICS_NAMESPACE": "Perf/Locust",
                   "LOCUST_ECS_TEST_NAME": "checkout_v2"}
    assert {n: a["Threshold"] for n, a in alarms.items()} == {"FailRatio": 0.2,
                                                             "ResponseTimeP95": 250}
    assert {a["Period"] for a in alarms.values()} == {10}
    assert {a["Dimensions"][1]["Value"] for a in alarms.values()} == {"standalone"}
    assert {a["AlarmName"] for a in alarms.values()} == {"locust-checkout_v2-fail-ratio",
                                                         "locust-checkout_v2-p95"}


def readme_section(title):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else len(text)]


def test_readme_documents_the_metrics_and_a_query_of_real_fields():
    """README's Live metrics section: the metrics and units the dashboard relies on, every
    setting, and Logs Insights queries that name fields the programs really write."""
    text = readme_section("Live metrics (CloudWatch EMF)")
    rows = re.findall(r"^\| `([A-Z][A-Za-z0-9]+)` \| ([A-Za-z/]+) \|", text, re.M)
    assert dict(rows) == dict(EMF_METRICS, **EMF_SUMMARY) and len(rows) == len(dict(rows))
    for name in ["LOCUST_ECS_METRICS", "LOCUST_ECS_METRICS_INTERVAL",
                 "LOCUST_ECS_METRICS_NAMESPACE", "LOCUST_ECS_TEST_NAME",
                 "LOCUST_ECS_GUARD_FAIL_RATIO", "LOCUST_ECS_GUARD_P95", "LOCUST_ECS_GUARD_FOR"]:
        assert f"| `{name}` |" in text, name
    assert "| 3 |" in readme_section("Exit status")
    # a JSON log line of the supervisor: a configuration error, before anything starts
    r = subprocess.run([ENTRY], env={"PATH": "/usr/bin:/bin", "LOCUST_ECS_LOG_FORMAT": "json",
                                     "LOCUST_ECS_METADATA": "off",
                                     "LOCUSTFILE_PATH": "/nonexistent/locustfile.py"},
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 78, r.stderr
    logged = set(json.loads(r.stderr.splitlines()[-1]))
    context = {"task", "family", "az"}  # from the ECS task metadata, absent here
    queries = re.findall(r"^```\n(fields .*?)^```", text, re.M | re.S)
    assert len(queries) == 2, queries
    def words(query):
        """The fields a query names: not its commands, functions, strings or @fields."""
        query = re.sub(r'"[^"]*"', "", query)
        return set(re.findall(r"(?<![@\w])([A-Za-z_]\w*)\b(?!\()", query)) - {
            "fields", "filter", "sort", "limit", "desc", "asc", "and", "or", "not"}
    assert words(queries[0]) <= logged | context, words(queries[0]) - logged - context
    assert {"level", "event", "msg", "role"} <= logged
    assert words(queries[1]) <= set(EMF_SUMMARY) | set(EMF_DIMENSIONS) | {"ExitStatus",
                                                                            "StoppedBy"}


def test_render_writes_json_strings_with_every_value_quoted():
    """{"$json": ...} becomes one JSON string, filled first: quotes and backslashes of a
    value cannot break it, numbers stay numbers, lists stay lists."""
    render = load_render()
    typed = {"TARGET_URL": 'https://example.com/"a"\\b', "WORKER_COUNT": 3,
             "SUBNETS": ["subnet-1", "subnet-2"], "ALARM_FAIL_RATIO": 0.25}
    doc = {"Body": {"$json": {"u": "${TARGET_URL}", "n": "${WORKER_COUNT}",
                              "s": "every ${WORKER_COUNT}s", "l": ["${SUBNETS}"],
                              "f": "${ALARM_FAIL_RATIO}"}},
           "Other": {"$json": 1, "kept": True}}
    out = render.fill(doc, typed, "t")
    assert isinstance(out["Body"], str)
    assert json.loads(out["Body"]) == {"u": typed["TARGET_URL"], "n": 3, "s": "every 3s",
                                       "l": ["subnet-1", "subnet-2"], "f": 0.25}
    assert out["Other"] == {"$json": 1, "kept": True}, "only an object of that one key"
    with pytest.raises(render.RenderError):
        render.fill({"a": "x${SUBNETS}"}, typed, "t")


# ---------- the renderer and `make taskdefs` ----------

def run_render(*args, env=None):
    return subprocess.run([PY, os.path.join(TASKDEFS, "render.py"), *args],
                          env=env or clean_env(), capture_output=True, text=True, timeout=60)


def test_render_names_every_missing_value(tmp_path):
    r = run_render("--out", str(tmp_path), "ACCOUNT_ID=123456789012")
    assert r.returncode == 1
    for name in ["REGION", "SUBNETS", "MASTER_SECURITY_GROUP", "WORKER_SECURITY_GROUP",
                 "VPC_ID", "NAMESPACE_ID", "CLOUDMAP_SERVICE_ARN", "TARGET_URL"]:
        assert name in r.stderr, (name, r.stderr)
    assert "ACCOUNT_ID:" not in r.stderr
    assert not list(tmp_path.iterdir()), "nothing is written when a value is missing"


@pytest.mark.parametrize("name,value", [
    ("ACCOUNT_ID", "12345"), ("REGION", "Seoul"), ("SUBNETS", "subnet-1,vpc-2"),
    ("TARGET_URL", "example.com"), ("WORKER_COUNT", "many"), ("MASTER_MEMORY", "3000"),
    ("WORKER_CPU", "300"), ("ASSIGN_PUBLIC_IP", "yes"), ("METRICS", "yes"),
    ("METRICS_PERIOD", "15"), ("METRICS_PERIOD", "120"), ("TEST_NAME", "my test"),
    ("TEST_NAME", 'a"b'), ("ALARM_ROLE", "worker"), ("ALARM_FAIL_RATIO", "1.5"),
    ("ALARM_FAIL_RATIO", "5%"), ("ALARM_P95_MS", "0"), ("METRICS_NAMESPACE", "AWS/ECS"),
])
def test_render_rejects_a_bad_value_by_name(tmp_path, name, value):
    values = dict(SAMPLE, **{name: value})
    r = run_render("--out", str(tmp_path), *[f"{k}={v}" for k, v in values.items()])
    assert r.returncode == 1
    assert name in r.stderr, r.stderr


def test_render_takes_values_from_the_environment_and_renders_a_subset(tmp_path):
    env = clean_env(NAMESPACE="loadtest", VPC_ID="vpc-0abc")
    r = run_render("--out", str(tmp_path), "--only", "cloudmap-namespace", env=env)
    assert r.returncode == 0, r.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["cloudmap-namespace.json"]
    doc = json.loads((tmp_path / "cloudmap-namespace.json").read_text())
    assert doc["Name"] == "loadtest" and doc["Vpc"] == "vpc-0abc"
    r = run_render("--out", str(tmp_path), "--only", "nosuch", env=env)
    assert r.returncode == 1 and "cloudmap-namespace" in r.stderr


def test_make_taskdefs_matches_render(tmp_path, rendered):
    env = clean_env(**{k: v for k, v in SAMPLE.items() if k != "TARGET_URL"})
    env.pop("MAKEFLAGS", None)
    r = subprocess.run(["make", "-s", "--no-print-directory", "taskdefs", f"BUILD={tmp_path}",
                        f"TARGET_URL={SAMPLE['TARGET_URL']}", f"PYTHON={PY}"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    out = tmp_path / "taskdefs"
    assert sorted(p.name for p in out.iterdir()) == template_names()
    for name in template_names():
        assert json.loads((out / name).read_text()) == rendered[name], name
    r = subprocess.run(["make", "-s", "--no-print-directory", "taskdefs", f"BUILD={tmp_path}",
                        f"PYTHON={PY}"], cwd=ROOT, env=clean_env(), capture_output=True,
                       text=True, timeout=120)
    assert r.returncode != 0 and "ACCOUNT_ID" in r.stderr


# ---------- the variants ----------

VARIANT_SETS = ["readonly", "spot", "exec", "ec2", "readonly,spot", "exec,spot", "ec2,exec",
                "ec2,readonly", "s3", "s3,exec", "s3,readonly"]
S3_BUCKET = "locust-ecs-123456789012"


def render_variant(out, variant, **values):
    args = [f"{k}={v}" for k, v in dict(SAMPLE, EC2_ASG_ARN=ASG_ARN, S3_BUCKET=S3_BUCKET)
            .items() if k not in values] + [f"{k}={v}" for k, v in values.items()]
    return run_render("--out", str(out), "--variant", variant, *args)


@pytest.fixture(scope="module")
def variant_docs(tmp_path_factory):
    """{variant set: {file: document}} rendered with the sample values."""
    out = {}
    for vs in VARIANT_SETS:
        d = tmp_path_factory.mktemp("variant")
        r = render_variant(d, vs)
        assert r.returncode == 0, f"{vs}: {r.stderr}"
        out[vs] = {p.name: json.loads(p.read_text()) for p in d.iterdir()}
        assert set(out[vs]) == set(template_names(vs.split(","))), vs
    return out


def taskdefs_of(docs):
    return {n: d for n, d in docs.items() if n.endswith(".taskdef.json")}


def awsvpc_of(doc):
    return doc.get("networkConfiguration", doc)["awsvpcConfiguration"]


@pytest.mark.parametrize("vs", VARIANT_SETS)
def test_variant_files_have_the_shapes_and_pass_the_aws_sdk_validation(variant_docs, vs):
    docs = variant_docs[vs]
    for name, doc in docs.items():
        shape(doc, SPECS[kind_of(name)], f"{vs}:{name}")
    assert sdk_validate(docs) >= 11


def test_variants_change_only_what_they_say(rendered, variant_docs):
    """A variant's files equal the base files with its patch applied: nothing else moves."""
    render = load_render()
    typed = render.check({"TASK_ROLE_ARN": "arn:aws:iam::123456789012:role/locust-ecs-task",
                          "EC2_CAPACITY_PROVIDER": "locust-ec2", "S3_BUCKET": S3_BUCKET,
                          "CODE_PREFIX": "locust/code", "CODE_FILE": "bundle.tar.gz",
                          "RESULTS_PREFIX": "locust/results"})
    for vs in VARIANT_SETS:
        chosen = render.choose_variants(vs)
        for name, base in rendered.items():
            want = render.fill(render.patched(name, base, chosen), typed, name)
            assert variant_docs[vs][name] == want, f"{vs}: {name}"


def test_readonly_variant_mounts_a_volume_where_the_supervisor_keeps_its_state(
        variant_docs, tmp_path):
    docs = variant_docs["readonly"]
    for name, td in taskdefs_of(docs).items():
        volumes = {v["name"] for v in td["volumes"]}
        (c,) = td["containerDefinitions"]
        assert c["readonlyRootFilesystem"] is True, name
        mounts = {m["containerPath"]: m for m in c["mountPoints"]}
        assert set(m["sourceVolume"] for m in mounts.values()) <= volumes, name
        assert all(not m.get("readOnly") for m in mounts.values()), name
        env = dict(env_of(c), PATH="/usr/bin:/bin", LOCUST_ECS_METADATA="off",
                   LOCUST_WEB_AUTH=SECRET_VALUES["LOCUST_WEB_AUTH"])
        state_dir = print_config(env, c.get("command", []))["supervisor"]["state_dir"]
        assert any(state_dir.startswith(p.rstrip("/") + "/") for p in mounts), \
            f"{name}: the state directory {state_dir} is on no writable volume"
    # the image declares the volume's path, so Fargate copies the image's /tmp (mode 1777)
    # into the empty volume instead of giving the locust user a root-owned 0755 directory
    stages, _ = parse_dockerfile()
    declared = [p for a in instr(stages[-1], "VOLUME")
                for p in (json.loads(a) if a.startswith("[") else a.split())]
    assert "/tmp" in declared, declared


def test_spot_variant_moves_only_the_worker_service(rendered, variant_docs, tmp_path):
    docs = variant_docs["spot"]
    w = docs["worker.service.json"]
    assert "launchType" not in w
    assert w["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    assert docs["master.service.json"] == rendered["master.service.json"], \
        "the master stays on Fargate: losing it ends the test"
    for name in taskdefs_of(docs):
        assert docs[name] == rendered[name], name
        assert docs[name]["runtimePlatform"]["cpuArchitecture"] == "X86_64"
    r = render_variant(tmp_path, "spot", CPU_ARCHITECTURE="ARM64")
    assert r.returncode == 1 and "X86_64" in r.stderr, r.stderr


def test_exec_variant_gives_a_task_role_with_the_exec_channels(variant_docs):
    docs = variant_docs["exec"]
    role = "arn:aws:iam::123456789012:role/locust-ecs-task"
    for name, td in taskdefs_of(docs).items():
        assert td["taskRoleArn"] == role and td["executionRoleArn"] != role, name
        assert "readonlyRootFilesystem" not in td["containerDefinitions"][0], name
    for name in ("master.service.json", "worker.service.json"):
        assert docs[name]["enableExecuteCommand"] is True, name
    (stmt,) = docs["iam-task-exec.json"]["Statement"]
    assert stmt["Effect"] == "Allow" and sorted(stmt["Action"]) == [
        "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]


def allowed(policy, action, bucket, key):
    """Whether the policy's Allow statements give action on the object (IAM's * wildcard)."""
    import fnmatch
    arn = f"arn:aws:s3:::{bucket}/{key}"
    for st in policy["Statement"]:
        acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        if st["Effect"] == "Allow" and action in acts and \
                any(fnmatch.fnmatchcase(arn, r) for r in res):
            return True
    return False


def test_s3_variant_gives_the_least_policy_and_the_tasks_their_settings(variant_docs, tmp_path):
    docs = variant_docs["s3"]
    policy = docs["iam-task-s3.json"]
    assert sorted(a for st in policy["Statement"] for a in [st["Action"]]) == \
        ["s3:GetObject", "s3:PutObject"], "nothing but reading the code and writing results"
    role = "arn:aws:iam::123456789012:role/locust-ecs-task"
    for name, td in taskdefs_of(docs).items():
        assert td["taskRoleArn"] == role and td["executionRoleArn"] != role, name
        (c,) = td["containerDefinitions"]
        env = env_of(c)
        code = env["LOCUSTFILE_PATH"]
        bucket, key = code[len("s3://"):].split("/", 1)
        assert allowed(policy, "s3:GetObject", bucket, key), name
        assert not allowed(policy, "s3:PutObject", bucket, key), "the code is read-only"
        if name == "worker.taskdef.json":
            assert "LOCUST_ECS_RESULTS" not in env, "a worker writes no reports"
            continue
        rb, prefix = env["LOCUST_ECS_RESULTS"][len("s3://"):].split("/", 1)
        assert allowed(policy, "s3:PutObject", rb, f"{prefix}/20240501T120000Z-a1b2/report.html")
        assert not allowed(policy, "s3:GetObject", rb, f"{prefix}/x"), name
        assert not allowed(policy, "s3:PutObject", rb, "elsewhere/x"), name
        # the supervisor takes the definition; ECS's SIGKILL comes after the grace, which
        # leaves the engine's last report and the uploads time
        cfg = print_config(dict(env, PATH="/usr/bin:/bin", LOCUST_ECS_METADATA="off",
                                LOCUST_WEB_AUTH=SECRET_VALUES["LOCUST_WEB_AUTH"]),
                           c.get("command", []))
        assert cfg["s3"]["code"] == code and cfg["s3"]["results"] == env["LOCUST_ECS_RESULTS"]
        assert cfg["supervisor"]["stop_grace_ms"] >= 100000, name
        assert cfg["supervisor"]["stop_grace_ms"] + 3000 <= c["stopTimeout"] * 1000 <= 120000
    for bad in ("CODE_PREFIX=a/../b", "RESULTS_PREFIX=/abs", "CODE_FILE=run.exe",
                "S3_BUCKET=Upper_Case"):
        r = render_variant(tmp_path, "s3", **dict([bad.split("=", 1)]))
        assert r.returncode == 1 and bad.split("=")[0] in r.stderr, (bad, r.stderr)


def test_ec2_variant_renders_what_ec2_needs(variant_docs, tmp_path):
    docs = variant_docs["ec2"]
    for name, td in taskdefs_of(docs).items():
        assert td["requiresCompatibilities"] == ["EC2"], name
        assert td["networkMode"] == "awsvpc", name
    for name, doc in docs.items():
        if kind_of(name) in ("service", "network"):
            # an awsvpc task on EC2 gets no public IP; ECS rejects ENABLED for it
            assert awsvpc_of(doc)["assignPublicIp"] == "DISABLED", name
        if kind_of(name) == "service":
            assert "launchType" not in doc and "platformVersion" not in doc, name
            assert doc["capacityProviderStrategy"] == [
                {"capacityProvider": "locust-ec2", "weight": 1}], name
    lt = docs["ec2-launch-template.json"]["LaunchTemplateData"]
    assert base64.b64decode(lt["UserData"]).decode() == \
        "#!/bin/bash\necho ECS_CLUSTER=locust >> /etc/ecs/ecs.config\n"
    assert lt["ImageId"] == ("resolve:ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/"
                             "recommended/image_id")
    assert lt["SecurityGroupIds"] == [SAMPLE["WORKER_SECURITY_GROUP"]]
    asg = docs["ec2-auto-scaling-group.json"]
    assert asg["VPCZoneIdentifier"] == "subnet-0a1b2c3d4e5f60718,subnet-0f1e2d3c4b5a69788"
    assert asg["LaunchTemplate"]["LaunchTemplateName"] == \
        docs["ec2-launch-template.json"]["LaunchTemplateName"]
    cp = docs["ec2-capacity-provider.json"]
    assert cp["name"] == "locust-ec2"
    assert cp["autoScalingGroupProvider"]["autoScalingGroupArn"] == ASG_ARN
    assert docs["iam-instance-trust.json"]["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"}
    # Graviton instances get the arm64 AMI; EC2 sizes are not Fargate's
    r = render_variant(tmp_path, "ec2", CPU_ARCHITECTURE="ARM64", MASTER_CPU="1536",
                       MASTER_MEMORY="3000")
    assert r.returncode == 0, r.stderr
    lt = json.loads((tmp_path / "ec2-launch-template.json").read_text())["LaunchTemplateData"]
    assert "/amazon-linux-2023/arm64/recommended/" in lt["ImageId"]
    r = render_variant(tmp_path / "small", "ec2", MASTER_CPU="100")
    assert r.returncode == 1 and "MASTER_CPU" in r.stderr and "128" in r.stderr, r.stderr
    r = render_variant(tmp_path / "fargate", "", MASTER_CPU="1536", MASTER_MEMORY="3000")
    assert r.returncode == 1 and "Fargate" in r.stderr, r.stderr


@pytest.mark.parametrize("combo,why", [("readonly,exec", "ECS Exec"), ("spot,ec2", "capacity"),
                                       ("nosuch", "choose from")])
def test_render_refuses_variants_that_cannot_work(combo, why, tmp_path):
    r = render_variant(tmp_path, combo)
    assert r.returncode == 1 and why in r.stderr, r.stderr
    assert not os.listdir(tmp_path), "nothing is written"


def test_make_taskdefs_applies_variants(tmp_path, variant_docs):
    env = clean_env(**dict(SAMPLE, EC2_ASG_ARN=ASG_ARN))
    r = subprocess.run(["make", "-s", "--no-print-directory", "taskdefs", f"BUILD={tmp_path}",
                        f"PYTHON={PY}", "VARIANT=ec2,exec"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    out = tmp_path / "taskdefs"
    assert {p.name: json.loads(p.read_text()) for p in out.iterdir()} == variant_docs["ec2,exec"]


# ---------- the installed layout and the Dockerfile ----------

@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`make install DESTDIR=... PREFIX=/usr/local`, as the Dockerfile's build stage runs it,
    of the programs under test as they are built (-o: never rebuilt here, so a build
    directory made with other flags, such as ASan's, is left as it is)."""
    dest = tmp_path_factory.mktemp("destdir")
    keep = [a for p in ("locust-entrypoint", "locust-healthcheck")
            for a in ("-o", os.path.join(BUILD, p))]
    r = subprocess.run(["make", "-s", "--no-print-directory", "install", f"DESTDIR={dest}",
                        f"PREFIX={PREFIX}", f"BUILD={BUILD}", *keep], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return str(dest)


def have_healthcheck():
    return any(f.endswith(".c") for f in os.listdir(os.path.join(ROOT, "healthcheck")))


def test_install_puts_both_programs_where_the_image_runs_them(installed):
    bindir = os.path.join(installed, PREFIX.lstrip("/"), "bin")
    want = {"locust-entrypoint"} | ({"locust-healthcheck"} if have_healthcheck() else set())
    assert set(os.listdir(bindir)) == want
    for prog in want:
        path = os.path.join(bindir, prog)
        assert os.path.isfile(path) and os.access(path, os.X_OK), path
        assert os.stat(path).st_mode & 0o777 == 0o755, path
    r = subprocess.run([os.path.join(bindir, "locust-entrypoint"), "--version"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and r.stdout.startswith("locust-ecs "), r.stdout + r.stderr


def parse_dockerfile(path=DOCKERFILE):
    """Stages of a Dockerfile: [{"from": image, "as": name, "ins": [(INSTR, args)]}]."""
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    lines, cur = [], ""
    for line in raw.splitlines():
        if not cur and line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        if cur.strip():
            lines.append(cur.strip())
        cur = ""
    stages, global_args = [], {}
    for line in lines:
        instr, _, args = line.partition(" ")
        instr, args = instr.upper(), args.strip()
        if instr == "FROM":
            m = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", args, re.I)
            stages.append({"from": m.group(1), "as": m.group(2), "ins": []})
        elif stages:
            stages[-1]["ins"].append((instr, args))
        elif instr == "ARG":
            name, _, default = args.partition("=")
            global_args[name] = default
    comments = "\n".join(l for l in raw.splitlines() if l.lstrip().startswith("#"))
    for st in stages:
        st["base"] = re.sub(r"\$\{(\w+)\}", lambda m: global_args.get(m.group(1), m.group(0)),
                            st["from"])
    return stages, comments


def instr(stage, name):
    return [a for i, a in stage["ins"] if i == name]


def apt_packages(stage):
    pkgs = []
    for run in instr(stage, "RUN"):
        for m in re.finditer(r"apt-get install((?:\s+(?!&&)\S+)+)", run):
            pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs


def project_packages():
    """The Debian packages of .ci/deps (the one list `make deps` installs)."""
    with open(os.path.join(ROOT, ".ci", "deps")) as f:
        text = f.read()
    body = re.search(r"pkgs=\((.*?)\n\)", text, re.S).group(1)
    return [w for line in body.splitlines() for w in line.split("#")[0].split()]


def test_dockerfile_agrees_with_make_install_and_the_task_definitions(installed, rendered):
    stages, comments = parse_dockerfile()
    assert len(stages) == 2
    build, final = stages
    # one base, a build argument whose default is a locustio/locust tag; the build stage
    # starts from it too (the libraries it compiles against are the base's release's)
    assert final["from"] == build["from"] == "${LOCUST_IMAGE}", (build["from"], final["from"])
    assert re.fullmatch(r"locustio/locust:2\.\d+\.\d+", final["base"]), final["base"]
    assert "LOCUST_IMAGE" in comments
    # the build stage installs the project's build packages (the list of .ci/deps)
    build_deps = {p for p in project_packages() if p.endswith("-dev")} | {"build-essential",
                                                                          "pkg-config"}
    assert build_deps <= set(apt_packages(build)), build_deps - set(apt_packages(build))
    # it builds with the Makefile and installs with the same PREFIX/DESTDIR the COPY reads
    runs = " ".join(instr(build, "RUN"))
    mi = re.search(r"make install PREFIX=(\S+) DESTDIR=(\S+)", runs)
    assert mi and "make WERROR=-Werror" in runs, runs
    prefix, destdir = mi.groups()
    assert prefix == PREFIX
    copied = [a.split() for a in instr(final, "COPY")
              if a.startswith(f"--from={build['as']}") and "/bin/" in a]
    assert [[f"--from={build['as']}", f"{destdir}{prefix}/bin/", f"{prefix}/bin/"]] == copied
    sources = {w.rstrip("/") for a in instr(build, "COPY") for w in a.split()[:-1]}
    assert {"Makefile", "entrypoint", "healthcheck"} <= sources
    # the programs the image runs are the ones make install produced
    entry = json.loads(instr(final, "ENTRYPOINT")[-1])
    (hc,) = instr(final, "HEALTHCHECK")
    hc_opts = dict(re.findall(r"--([a-z-]+)=(\S+)", hc))
    hc_cmd = json.loads(hc[hc.index("CMD") + 3:])
    for path in entry[:1] + hc_cmd[:1]:
        assert path.startswith(prefix + "/bin/")
        inst = os.path.join(installed, path.lstrip("/"))
        assert os.access(inst, os.X_OK) or (path.endswith("healthcheck") and
                                            not have_healthcheck()), inst
    for name, doc in rendered.items():
        for c in doc.get("containerDefinitions", []):
            assert c["entryPoint"] == entry, name
            assert c["healthCheck"]["command"] == ["CMD", *hc_cmd], name
            assert f"{c['healthCheck']['timeout']}s" == hc_opts["timeout"], name
            for p in c.get("portMappings", []):
                assert str(p["containerPort"]) in " ".join(instr(final, "EXPOSE")).split()
            assert env_of(c).get("LOCUSTFILE_PATH") == "/locustfile.py", name
    assert set(hc_opts) == {"interval", "timeout", "start-period", "retries"}
    # root only for the packages; the image's own non-root user runs everything
    users = instr(final, "USER")
    assert users[0] == "root" and users[-1] == "locust", users
    first_run = next(i for i, (n, _) in enumerate(final["ins"]) if n == "RUN")
    assert final["ins"].index(("USER", "root")) < first_run
    # the guide's locustfile convention
    assert any(a.startswith("LOCUSTFILE=") for a in instr(final, "ARG"))
    assert "${LOCUSTFILE} /locustfile.py" in instr(final, "ADD")


def test_build_stage_builds_from_only_what_it_copies(tmp_path):
    """The build stage's COPY instructions and last RUN line, replayed in an empty directory
    (its /out, /base-packages and /runtime-packages moved there): the Makefile must need
    nothing the Dockerfile leaves out, make install must put both programs where the final
    stage's COPY --from takes them, and the list of runtime packages is written."""
    stages, _ = parse_dockerfile()
    build, final = stages
    src = tmp_path / "src"
    src.mkdir()
    for args in instr(build, "COPY"):  # COPY dir/ to/ copies the directory's contents
        *froms, to = args.split()
        target = src / to
        for f in froms:
            path = os.path.join(ROOT, f)
            if os.path.isdir(path):
                shutil.copytree(path, target, dirs_exist_ok=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target)
    run = instr(build, "RUN")[-1]
    assert "DESTDIR=/out" in run
    out, base, pkgs = tmp_path / "out", tmp_path / "base-packages", tmp_path / "runtime-packages"
    base.write_text("")  # an empty base: the owner of every library is listed
    run = re.sub(r"(?<=[\s=])/out(?=[/\s]|$)", str(out), run)
    run = re.sub(r"(?<=\s)/base-packages\b", str(base), run)
    run = re.sub(r"(?<=\s)/runtime-packages\b", str(pkgs), run)
    r = subprocess.run(["sh", "-c", run], cwd=src,
                       env=clean_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (copy,) = [a.split() for a in instr(final, "COPY") if a.startswith("--from=") and
               "/bin/" in a]
    got = out / copy[1].replace("/out/", "", 1)
    assert sorted(os.listdir(got)) == sorted(
        ["locust-entrypoint"] + (["locust-healthcheck"] if have_healthcheck() else []))
    assert "libc6" in pkgs.read_text().split()


def runtime_packages(installed, base_lines, tmp_path):
    """docker/runtime-packages.sh on the installed programs, given the base's
    "package version" lines: the packages it says the final stage must install."""
    base = tmp_path / "base-packages"
    base.write_text("".join(x + "\n" for x in base_lines))
    bindir = os.path.join(installed, PREFIX.lstrip("/"), "bin")
    progs = [os.path.join(bindir, p) for p in sorted(os.listdir(bindir))]
    r = subprocess.run(["sh", os.path.join(ROOT, "docker", "runtime-packages.sh"), str(base),
                        *progs], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_runtime_packages_cover_every_library_the_programs_link(installed, tmp_path):
    """Each shared library the installed programs need (DT_NEEDED) is owned by a package
    that docker/runtime-packages.sh names, unless the base has it at the same version."""
    everything = set(runtime_packages(installed, [], tmp_path))
    bindir = os.path.join(installed, PREFIX.lstrip("/"), "bin")
    owners = {}
    for prog in os.listdir(bindir):
        out = subprocess.run(["readelf", "-d", os.path.join(bindir, prog)], capture_output=True,
                             text=True, timeout=30).stdout
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
        assert needed, out
        if any(n.startswith(("libasan", "libubsan")) for n in needed):
            pytest.skip("sanitizer build: its runtime libraries are not the image's")
        for lib in needed:
            r = subprocess.run(["dpkg", "-S", f"*/{lib}"], capture_output=True, text=True,
                               timeout=30)
            pkgs = {line.split(":")[0] for line in r.stdout.splitlines()
                    if line.rstrip().endswith("/" + lib)}
            owners[lib] = {p.split(",")[0].strip() for p in pkgs}
            assert owners[lib] & everything, f"{prog} needs {lib} from {owners[lib]}: not " \
                                             f"in the runtime packages {sorted(everything)}"
    # a base that has them all at these versions needs nothing; one with another
    # version of libcurl's package gets it again (the build stage may upgrade a package)
    host = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\n"],
                          capture_output=True, text=True, timeout=60).stdout.splitlines()
    assert runtime_packages(installed, host, tmp_path) == []
    (curl,) = owners["libcurl.so.4"] & everything
    older = [x + "~older" if x.split()[0] == curl else x for x in host]
    assert runtime_packages(installed, older, tmp_path) == [curl]


def test_dockerignore_keeps_what_the_build_reads():
    with open(os.path.join(ROOT, ".dockerignore")) as f:
        pats = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    for path in ["Makefile", "entrypoint/main.c", "healthcheck/main.c", "docker/locustfile.py",
                 "locustfile.py"]:
        for p in pats:
            top = path.split("/")[0]
            assert not (fnmatch.fnmatch(path, p) or fnmatch.fnmatch(top, p)), (path, p)


def test_example_locustfile_loads_in_locust():
    r = subprocess.run(["/usr/bin/locust", "-f", os.path.join(ROOT, "docker", "locustfile.py"),
                        "--list"], capture_output=True, text=True, timeout=60,
                       env=clean_env(PYTHONDONTWRITEBYTECODE="1"))
    assert r.returncode == 0, r.stderr
    assert "WebsiteUser" in r.stdout


# ---------- the supervisor accepts every definition's environment ----------

def known_variables():
    """Names the supervisor documents (--help) and Locust's own LOCUST_* options."""
    r = subprocess.run([ENTRY, "--help"], capture_output=True, text=True, timeout=10)
    names = set(re.findall(r"\b[A-Z][A-Z0-9_]{3,}\*?", r.stdout))
    src = "/usr/lib/python3/dist-packages/locust/argument_parser.py"
    with open(src) as f:
        names |= set(re.findall(r'env_var="([A-Z0-9_]+)"', f.read()))
    return names


def print_config(env, argv=()):
    r = subprocess.run([ENTRY, "--print-config", *argv], env=env, capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("taskdef,override,role", OVERRIDE_PAIRS)
def test_supervisor_accepts_each_definition(tmp_path, rendered, taskdef, override, role):
    c, env = task_env(rendered, taskdef, override)
    known = known_variables()
    for name in env:
        ok = name in known or any(k.endswith("*") and name.startswith(k[:-1]) for k in known)
        assert ok, f"{taskdef}: {name} is neither a supervisor variable nor Locust's"
    lf = tmp_path / "locustfile.py"
    lf.write_text(LOCUSTFILE)
    run_env = dict(env, PATH="/usr/bin:/bin", LOCUSTFILE_PATH=str(lf), LOCUST_ECS_METADATA="off")
    cfg = print_config(run_env, c.get("command", []))
    assert cfg["role"] == role
    assert cfg["locustfile"] == str(lf)
    sup = cfg["supervisor"]
    hc = c["healthCheck"]
    assert sup["health_timeout_ms"] < hc["timeout"] * 1000, "the check must end before ECS's"
    assert sup["stop_grace_ms"] + 3000 <= c["stopTimeout"] * 1000, \
        "ECS's SIGKILL must not come before the supervisor's own grace ends"
    if role == "worker":
        assert cfg["master"]["host"] == "master.locust"
        assert cfg["master"]["port"] == 5557
        assert cfg["engines"] == "auto"
        # the worker may wait for its master longer than the health check's start period:
        # waiting is healthy until this deadline
        assert cfg["master"]["wait_ms"] >= hc["startPeriod"] * 1000
        assert "--worker" in cfg["engine_argv"]
    if role == "master":
        assert cfg["web"]["auth"] is True and cfg["web"]["port"] == 8089
        assert "--master" in cfg["engine_argv"]
        assert SECRET_VALUES["LOCUST_WEB_AUTH"] not in json.dumps(cfg)
    if taskdef == "master.taskdef.json" or override == "standalone.overrides.json":
        assert cfg["target_url"] == SAMPLE["TARGET_URL"]
        assert cfg["engine_argv"][cfg["engine_argv"].index("-H") + 1] == SAMPLE["TARGET_URL"]
    # the image's default locustfile is the definitions' LOCUSTFILE_PATH
    no_path = {k: v for k, v in run_env.items() if k != "LOCUSTFILE_PATH"}
    assert print_config(no_path, c.get("command", []))["locustfile"] == "/locustfile.py"


# ---------- starting the tasks: network namespaces as awsvpc gives them ----------

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


class NetNS:
    """A network namespace of its own, like the one awsvpc gives a task: its loopback,
    with the real ports 8089 and 5557 free, and nothing else. Held open by a sleeping
    process that the procs fixture ends."""

    def __init__(self, procs, name):
        own = os.readlink("/proc/self/ns/net")
        self.holder = procs.start(["unshare", "--net", "--", "sleep", "600"],
                                  name=f"netns-{name}")
        self.path = f"/proc/{self.holder.pid}/ns/net"

        def ready():
            if self.holder.poll() is not None:
                raise AssertionError("unshare --net failed: " + self.holder.stderr())
            try:
                return os.readlink(self.path) != own
            except OSError:
                return False
        wait_for(ready, 5, what="the network namespace")
        subprocess.run(["nsenter", f"--net={self.path}", "ip", "link", "set", "lo", "up"],
                       check=True, timeout=10)

    def argv(self, argv):
        # nsenter enters only the network namespace and then execs: same pid, so
        # signals go straight to the program
        return ["nsenter", f"--net={self.path}", "--", *argv]

    def call(self, fn, *args, **kw):
        """fn(*args) in a thread that joined the namespace (setns applies per thread)."""
        box = {}

        def run():
            try:
                fd = os.open(self.path, os.O_RDONLY)
                try:
                    if _libc.setns(fd, CLONE_NEWNET) != 0:
                        e = ctypes.get_errno()
                        raise OSError(e, os.strerror(e))
                finally:
                    os.close(fd)
                box["v"] = fn(*args, **kw)
            except BaseException as e:  # handed to the caller
                box["e"] = e
        t = threading.Thread(target=run, daemon=True)
        t.start()
        t.join(30)
        if t.is_alive():
            raise AssertionError(f"{fn.__name__} did not return within 30 s")
        if "e" in box:
            raise box["e"]
        return box["v"]


@pytest.fixture
def netns_ok():
    r = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True, timeout=10)
    if r.returncode != 0 or not shutil.which("nsenter"):
        pytest.skip(f"network namespaces unavailable: {r.stderr.strip()}")


def dns_answers(port, name):
    q = struct.pack(">HHHHHH", 0x4c45, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    q += struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        try:
            s.sendto(q, ("127.0.0.1", port))
            r = s.recv(512)
        except OSError:
            return False
    return r[:2] == b"\x4c\x45" and r[3] & 0xF == 0 and struct.unpack(">H", r[6:8])[0] > 0


def start_cloud_map(procs, ns, tmp_path, rendered, address="127.0.0.1"):
    """dnsmasq in the namespace serving the Cloud Map records of the rendered JSON: the
    master's name with the service's record TTL, negative answers with the SOA TTL."""
    svc, nsdoc = rendered["cloudmap-service.json"], rendered["cloudmap-namespace.json"]
    name = f"{svc['Name']}.{nsdoc['Name']}"
    hosts = tmp_path / "cloudmap.hosts"
    hosts.write_text(f"{address} {name}\n")
    port = 19353  # any port of 19300-19399: the namespace is private
    exe = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    ttl = svc["DnsConfig"]["DnsRecords"][0]["TTL"]
    neg = nsdoc["Properties"]["DnsProperties"]["SOA"]["TTL"]
    procs.start(ns.argv([exe, "--no-daemon", "--no-resolv", "--no-hosts",
                         f"--addn-hosts={hosts}", f"--port={port}",
                         "--listen-address=127.0.0.1", "--bind-interfaces", "--user=root",
                         "--pid-file=", f"--local-ttl={ttl}", f"--neg-ttl={neg}",
                         f"--local=/{nsdoc['Name']}/", "--log-facility=-"]), name="dnsmasq")
    wait_for(lambda: ns.call(dns_answers, port, name), 10, what="dnsmasq")
    return f"127.0.0.1:{port}"


def start_target(procs, ns, tmp_path, port=18080):
    www = tmp_path / "www"
    www.mkdir(exist_ok=True)
    (www / "index.html").write_text("ok\n")
    procs.start(ns.argv([PY, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                         "--directory", str(www)]), name="target")
    wait_for(lambda: ns.call(port_open, "127.0.0.1", port), 10, what="the HTTP target")
    return f"http://127.0.0.1:{port}"


def start_task(procs, ns, tmp_path, installed, rendered, taskdef, override, name, **adapt):
    """Starts a container of a definition the way ECS does: entryPoint + command, the
    definition's environment with secrets and overrides. The test adapts only what a host
    cannot give: the image's /locustfile.py, a /tmp of its own for the state, no task
    metadata endpoint, and what `adapt` names (the DNS server instead of the VPC's)."""
    c, env = task_env(rendered, taskdef, override)
    lf = tmp_path / "locustfile.py"
    lf.write_text(LOCUSTFILE)
    bindir = os.path.join(installed, PREFIX.lstrip("/"), "bin")
    own_tmp = tmp_path / f"tmp-{name}"  # the container's /tmp
    own_tmp.mkdir(mode=0o1777)
    full = base_env(tmp_path)
    full.update(env)
    full.update(PATH=f"{bindir}:/usr/bin:/bin", LOCUSTFILE_PATH=str(lf),
                LOCUST_ECS_STATE_DIR=str(own_tmp / "locust-ecs"),
                LOCUST_ECS_METADATA="off")
    full.update({k: str(v) for k, v in adapt.items()})
    argv = [os.path.join(installed, a.lstrip("/")) if a.startswith(PREFIX + "/bin/") else a
            for a in c["entryPoint"]] + c.get("command", [])
    assert os.access(argv[0], os.X_OK), argv[0]
    p = procs.start(ns.argv(argv), env=full, name=name)
    p.task_env = full
    p.container = c
    p.enter = ns.argv  # how a command runs inside the container, as ECS runs it
    p.image_path = lambda path: os.path.join(installed, path.lstrip("/"))
    return p


def health(task, timeout=10):
    """Runs the definition's healthCheck command (CMD form) in the task's namespaces and
    environment, as ECS does inside the container. (exit status, output)."""
    cmd = task.container["healthCheck"]["command"]
    assert cmd[0] == "CMD"
    argv = task.enter([task.image_path(cmd[1]), *cmd[2:]])
    r = subprocess.run(argv, env=task.task_env, capture_output=True, text=True,
                       timeout=timeout, cwd="/")
    return r.returncode, (r.stdout + r.stderr).strip()


def wait_healthy(task, timeout=30):
    if not have_healthcheck():
        return None
    last = []

    def ok():
        rc, out = health(task)
        last[:] = [rc, out]
        return rc == 0
    try:
        wait_for(ok, timeout, every=1.0, what=f"{task.name} to be healthy")
    except AssertionError:
        raise AssertionError(f"{task.name} never healthy: last {last}")
    return last[1]


def stats(ns, auth=None):
    try:
        return ns.call(get_json, "http://127.0.0.1:8089/stats/requests", auth=auth)
    except OSError:
        return None


def ready_workers(ns, auth):
    d = stats(ns, auth) or {}
    return [w for w in d.get("workers", []) if w.get("state") in ("ready", "running",
                                                                    "spawning")]


def web_ui(ns, path, data=None, auth=None):
    """GET (or POST data) on the web UI in the namespace; the HTTP status."""
    req = urllib.request.Request("http://127.0.0.1:8089" + path, data=data)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())

    def go():
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
    return ns.call(go)


def swarm(ns, users, auth=None):
    data = urllib.parse.urlencode({"user_count": users, "spawn_rate": users}).encode()
    assert web_ui(ns, "/swarm", data, auth) == 200


def stop_test(ns, auth=None):
    """The operator's "Stop" button: the test ends, the engines stay."""
    assert web_ui(ns, "/stop", None, auth) == 200
    wait_for(lambda: (stats(ns, auth) or {}).get("state") == "stopped", 30,
             what="the test to stop")


def spawned(ns, users, auth=None):
    """Every user of the test running."""
    d = stats(ns, auth) or {}
    return d.get("state") == "running" and d.get("user_count") == users


def requests_done(ns, auth=None):
    d = stats(ns, auth) or {}
    return sum(s.get("num_requests", 0) for s in d.get("stats", [])
               if s.get("name") != "Aggregated")


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def engines_of(task):
    return [o for o in read_log(task.err) if o.get("event") == "engine.start"]


def stop(task, timeout=10):
    """SIGTERM as ECS sends it; the task must end by itself, well within stopTimeout."""
    assert timeout < task.container["stopTimeout"]
    kids = [int(c) for c in os.listdir("/proc") if c.isdigit() and _ppid(int(c)) == task.pid]
    task.signal(signal.SIGTERM)
    rc = task.wait(timeout)
    wait_for(lambda: not any(alive(k) for k in kids), 5, what="the engines to be gone")
    return rc


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def test_standalone_task_runs_a_test_and_stops_cleanly(netns_ok, procs, tmp_path, installed,
                                                       rendered):
    ns = NetNS(procs, "standalone")
    target = start_target(procs, ns, tmp_path)
    task = start_task(procs, ns, tmp_path, installed, rendered, "standalone.taskdef.json",
                      "standalone.overrides.json", "standalone", TARGET_URL=target)
    wait_for(lambda: stats(ns) is not None or task.poll() is not None, 30,
             what="the web UI on 8089")
    assert task.poll() is None, task.stderr()
    swarm(ns, 2)
    wait_for(lambda: spawned(ns, 2), 30, what="2 users running")
    wait_for(lambda: requests_done(ns) > 0, 30, what="requests to the target")
    wait_healthy(task)
    stop_test(ns)
    assert stop(task) == 0, task.stderr()[-3000:]


@pytest.mark.parametrize("worker_def,worker_override", [
    ("worker.taskdef.json", None),
    ("standalone.taskdef.json", "worker.overrides.json"),  # the guide's way
])
def test_master_and_worker_tasks_make_a_cluster(netns_ok, procs, tmp_path, installed, rendered,
                                                worker_def, worker_override):
    """One namespace for the pair (the master's Cloud Map name points at its loopback),
    the worker started first, as ECS may well do."""
    ns = NetNS(procs, "cluster")
    dns = start_cloud_map(procs, ns, tmp_path, rendered)
    target = start_target(procs, ns, tmp_path)
    auth = SECRET_VALUES["LOCUST_WEB_AUTH"]
    worker = start_task(procs, ns, tmp_path, installed, rendered, worker_def, worker_override,
                        "worker", LOCUST_ECS_DNS_SERVERS=dns)
    master = start_task(procs, ns, tmp_path, installed, rendered, "master.taskdef.json", None,
                        "master", TARGET_URL=target)
    wait_for(lambda: stats(ns, auth) is not None or master.poll() is not None, 30,
             what="the master's web UI")
    assert master.poll() is None, master.stderr()
    assert web_ui(ns, "/stats/requests") == 401, "LOCUST_WEB_AUTH protects the web UI"

    def registered():
        if worker.poll() is not None:
            raise AssertionError(f"worker exited {worker.poll()}: {worker.stderr()[-3000:]}")
        n = len(engines_of(worker))
        return n > 0 and len(ready_workers(ns, auth)) == n
    try:
        wait_for(registered, 30, what="every worker engine registered with the master")
    except AssertionError as e:
        raise AssertionError(f"{e}\nworker log:\n{worker.stderr()[-4000:]}\nmaster log:\n"
                             f"{master.stderr()[-2000:]}")
    swarm(ns, 4, auth)
    wait_for(lambda: spawned(ns, 4, auth), 30, what="4 users running on the workers")
    wait_for(lambda: requests_done(ns, auth) > 0, 30, what="requests through the workers")
    wait_healthy(master)
    wait_healthy(worker)

    # The walkthrough's order: stop the test, then the workers, then the master. (Stopping
    # a worker task of two engines during a running test can make Debian's Locust 2.12.1
    # master fail a greenlet with a KeyError while it re-dispatches users, and exit 2 at
    # shutdown; later Locust releases discard that message.)
    stop_test(ns, auth)
    assert stop(worker) == 0, worker.stderr()[-3000:]
    wait_for(lambda: not ready_workers(ns, auth), 15, what="the master to drop the worker")
    assert stop(master) == 0, master.stderr()[-3000:]


# ---------- the read-only variant, started as ECS starts it ----------

READONLY_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "readonly_root.py")
IMAGE_USER = "65534:65534"  # the image runs as its own unprivileged user (locust)


def start_readonly_task(procs, ns, tmp_path, docs, taskdef, override, name, volume_mode,
                        **adapt):
    """A container of the read-only variant as ECS runs it: a mount namespace where every
    mount is read-only but /proc, /sys, /dev and the task's volumes (a fresh root-owned
    directory each, with volume_mode: 1777 is what ECS copies from the image's VOLUME
    /tmp, 0755 what an empty Fargate volume gets), the image's files (the installed
    programs and the locustfile) read-only at /usr/local, the image's unprivileged user,
    and the definition's entryPoint, environment and state directory unchanged."""
    c, env = task_env(docs, taskdef, override)
    assert c["readonlyRootFilesystem"] is True
    image = tmp_path / f"image-{name}"
    (image / "bin").mkdir(parents=True)
    for prog in ("locust-entrypoint", "locust-healthcheck"):
        if os.path.exists(os.path.join(BUILD, prog)):
            shutil.copy(os.path.join(BUILD, prog), image / "bin" / prog)
    (image / "locustfile.py").write_text(LOCUSTFILE)
    for p in (image, image / "bin"):
        p.chmod(0o755)
    mounts = []
    for i, m in enumerate(c["mountPoints"]):
        vol = tmp_path / f"volume-{name}-{i}"
        vol.mkdir()
        vol.chmod(volume_mode)
        mounts += ["--volume", f"{vol}:{m['containerPath']}"]
    full = dict(env, PATH="/usr/local/bin:/usr/bin:/bin", HOME="/home/locust",
                LOCUSTFILE_PATH="/usr/local/locustfile.py", LOCUST_ECS_METADATA="off",
                PYTHONDONTWRITEBYTECODE="1")
    full.update({k: str(v) for k, v in adapt.items()})
    argv = ns.argv(["unshare", "--mount", "--", PY, READONLY_ROOT, "--bind",
                    f"{image}:/usr/local", *mounts, "--user", IMAGE_USER, "--",
                    *c["entryPoint"], *c.get("command", [])])
    p = procs.start(argv, env=full, name=name)
    p.task_env, p.container = full, c
    uid, gid = IMAGE_USER.split(":")
    p.enter = lambda a: ["nsenter", f"--net={ns.path}", f"--mount=/proc/{p.pid}/ns/mnt",
                         "-S", uid, "-G", gid, "--", *a]
    p.image_path = lambda path: path
    p.volumes = {m["containerPath"]: tmp_path / f"volume-{name}-{i}"
                 for i, m in enumerate(c["mountPoints"])}
    return p


def read_only(task, paths):
    """{path: True when its file system is read-only}, seen from inside the container."""
    code = ("import json, os, sys; print(json.dumps({p: bool(os.statvfs(p).f_flag & 1) "
            "for p in sys.argv[1:]}))")
    r = subprocess.run(task.enter([PY, "-c", code, *paths]), capture_output=True, text=True,
                       timeout=10, cwd="/")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_readonly_task_keeps_its_state_on_the_tmp_volume(netns_ok, procs, tmp_path,
                                                        variant_docs):
    """The read-only variant's standalone definition runs a test and is healthy: with a
    read-only root, only its volume at /tmp is writable, and the supervisor keeps its
    state there (the definition's LOCUST_ECS_STATE_DIR, not one the test chose)."""
    docs = variant_docs["readonly"]
    ns = NetNS(procs, "readonly")
    target = start_target(procs, ns, tmp_path)
    task = start_readonly_task(procs, ns, tmp_path, docs, "standalone.taskdef.json",
                               "standalone.overrides.json", "standalone", 0o1777,
                               TARGET_URL=target)
    wait_for(lambda: stats(ns) is not None or task.poll() is not None, 30,
             what="the web UI on 8089")
    assert task.poll() is None, task.stderr()
    assert read_only(task, ["/", "/usr/local", "/etc", "/home", "/tmp"]) == {
        "/": True, "/usr/local": True, "/etc": True, "/home": True, "/tmp": False}
    swarm(ns, 2)
    wait_for(lambda: spawned(ns, 2), 30, what="2 users running")
    wait_for(lambda: requests_done(ns) > 0, 30, what="requests to the target")
    state = task.volumes["/tmp"] / "locust-ecs" / "state.json"
    assert state.is_file() and state.stat().st_uid == 65534, list(task.volumes["/tmp"].iterdir())
    wait_healthy(task)
    stop_test(ns)
    assert stop(task) == 0, task.stderr()[-3000:]
    assert not [o for o in read_log(task.err) if o.get("level") in ("warn", "error")], \
        task.stderr()[-3000:]


def test_readonly_task_on_a_root_owned_volume_is_unhealthy(netns_ok, procs, tmp_path,
                                                          variant_docs):
    """Without the image's VOLUME ["/tmp"], Fargate's empty volume is root's, mode 0755:
    the image's user cannot make the state directory, the supervisor says so, and every
    health check fails."""
    docs = variant_docs["readonly"]
    ns = NetNS(procs, "readonly-root-owned")
    task = start_readonly_task(procs, ns, tmp_path, docs, "standalone.taskdef.json",
                               "standalone.overrides.json", "standalone", 0o755)
    wait_for(lambda: [o for o in read_log(task.err) if o.get("event") == "state"] or
             task.poll() is not None, 15, what="the supervisor's word on its state")
    (line,) = [o for o in read_log(task.err) if o.get("event") == "state"]
    assert "/tmp/locust-ecs" in line["msg"] and "LOCUST_ECS_STATE_DIR" in line["msg"], line
    if have_healthcheck():
        rc, out = health(task)
        assert rc == 1 and "state" in out, out
    stop(task)


# ---------- the walkthrough: its files, its shell, every AWS command through the CLI ----------

AWSCLI_DRYRUN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "awscli_dryrun.py")
TASK_ARN = "arn:aws:ecs:ap-northeast-2:123456789012:task/locust/0123456789abcdef0123456789abcdef"
# What the walkthrough's shell variables hold when its commands run, as the steps before
# would have set them (a loop over literal words takes each of its words instead).
SHELL_VALUES = dict(
    SAMPLE, AWS_REGION=SAMPLE["REGION"], AWS_DEFAULT_REGION=SAMPLE["REGION"],
    MY_IP="198.51.100.7/32", VPC_CIDR="172.31.0.0/16", STATUS="SUCCESS",
    OP="gv4g5meo7ndmeh4fqskygvk23d2fijwa-k9302yzd", TASK=TASK_ARN, t=TASK_ARN,
    TASKS=f"{TASK_ARN} {TASK_ARN[:-4]}0000", ENI="eni-0123456789abcdef0",
    arn="arn:aws:ecs:ap-northeast-2:123456789012:task-definition/locust-worker:3",
    sg=SAMPLE["MASTER_SECURITY_GROUP"], RUNTIME_ID="0123456789abcdef0123456789abcdef-0265927825",
    EIP="eipalloc-0123456789abcdef0", NAT="nat-0123456789abcdef0", RTB="rtb-0123456789abcdef0",
    PUBLIC_SUBNETS="subnet-0a1b2c3d4e5f60718 subnet-0f1e2d3c4b5a69788", az="ap-northeast-2a",
    i="128", s="subnet-0123456789abcdef0",
    PRIVATE_SUBNETS="subnet-0123456789abcdef0,subnet-0fedcba9876543210", EC2_ASG_ARN=ASG_ARN,
    END="1767229200", START="1767225600", QUERY_ID="12ab3456-12ab-123a-789e-1234567890ab",
    S3_BUCKET="locust-ecs-123456789012-ap-northeast-2")


@pytest.fixture(scope="module")
def walkthroughs():
    return {doc: rc.walkthrough(ROOT, doc) for doc in rc.WALKTHROUGHS}


def block_commands(text):
    """(offset in text, command as written, literal loops of its block) of every aws
    command in the walkthrough's sh blocks."""
    out = []
    for at, block in rc.shell_blocks(text):
        loops = rc.literal_loops(block)
        out += [(at + pos, cmd, loops) for pos, cmd in rc.aws_commands(block)]
    return out


def test_both_walkthroughs_carry_the_same_commands(walkthroughs):
    """The Korean walkthrough is the English one translated: the same shell blocks but for
    their comments, the same inline commands."""
    en, ko = walkthroughs["README.md"], walkthroughs["README.ko.md"]
    blocks = lambda t: [b for _, b in rc.shell_blocks(t)]
    assert blocks(en) == blocks(ko)
    inline = lambda t: sorted(span for span, _, _ in rc.inline_commands(t))
    assert inline(en) == inline(ko)
    assert len(block_commands(en)) >= 60


def test_walkthrough_blocks_are_posix_shell(walkthroughs):
    for doc, text in walkthroughs.items():
        for at, block in rc.raw_blocks(text):
            r = subprocess.run(["sh", "-n"], input=block, capture_output=True, text=True,
                               timeout=10)
            assert r.returncode == 0, f"{doc} at {at}: {r.stderr}\n{block}"


def test_walkthrough_sets_every_variable_before_a_command_uses_it(walkthroughs):
    """Followed from the top, no AWS command meets a variable nothing has set yet."""
    text = walkthroughs["README.md"]
    known = set()
    for _, block in rc.shell_blocks(text):
        events = [(at, 0, name) for at, name in rc.assignments(block)]
        events += [(at, 1, cmd) for at, cmd in rc.aws_commands(block)]
        for _, is_cmd, what in sorted(events):
            if not is_cmd:
                known.add(what)
                continue
            unset = rc.variables(what) - known
            assert not unset, f"{sorted(unset)} used before they are set: {what}"
    for span, _, _ in rc.inline_commands(text):
        assert rc.variables(span) <= known, f"a variable is never set: {span}"


def test_walkthrough_names_real_files(walkthroughs):
    render = load_render()
    names = set(template_names(render.variant_names()))
    for doc, text in walkthroughs.items():
        used = set(re.findall(r"build/taskdefs/([\w.-]+\.json)", text))
        used |= {f"{role}.taskdef.json" for role in ("standalone", "master", "worker")
                 if "$role.taskdef.json" in text}
        assert used and used <= names, (doc, used - names)
        for only in re.findall(r"ONLY=([\w.,-]+)", text):
            assert {n + ".json" for n in only.split(",")} <= names, (doc, only)
        for _, block in rc.shell_blocks(text):
            for variant in re.findall(r"VARIANT=([\w.,-]+)", block):
                render.choose_variants(variant)
        for path in re.findall(r"file://([\w/.$-]+)", text):
            assert path.startswith("build/taskdefs/"), (doc, path)
        assert "--properties 'DnsProperties={SOA={TTL=15}}'" in text
        assert "initProcessEnabled" in text and "5558" in text


def dry_run(runs, cwd, tmp_path):
    """Results of awscli_dryrun.py for runs ({"argv": [...], "run": bool})."""
    stub = tmp_path / "stub-bin"
    stub.mkdir()
    # ECS Exec's command checks that the Session Manager plugin runs before its API call
    plugin = stub / "session-manager-plugin"
    plugin.write_text("#!/bin/sh\nexit 0\n")
    plugin.chmod(0o755)
    nowhere = str(tmp_path / "no-such-file")
    env = {"PATH": f"{stub}:/usr/bin:/bin", "HOME": str(tmp_path), "LC_ALL": "C.UTF-8",
           "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "not-a-key",
           "AWS_REGION": SAMPLE["REGION"], "AWS_DEFAULT_REGION": SAMPLE["REGION"],
           "AWS_CONFIG_FILE": nowhere, "AWS_SHARED_CREDENTIALS_FILE": nowhere,
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1", "AWS_PAGER": "",
           "AWS_CLI_AUTO_PROMPT": "off"}
    r = subprocess.run([PY, AWSCLI_DRYRUN], input=json.dumps(runs), cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout)


def test_every_walkthrough_command_passes_the_aws_cli(walkthroughs, tmp_path):
    """Every AWS command of the walkthrough, with its variables expanded, through the AWS
    CLI itself: option parsing, file:// and shorthand values, the service model's
    validation, then the enums and maxima the CLI leaves to the service. Requests go to a
    dead loopback port and are stopped before they are sent."""
    if subprocess.run([PY, "-c", "import awscli.clidriver"], capture_output=True).returncode:
        pytest.skip("Debian's awscli is not installed (.ci/deps installs it)")
    build = tmp_path / "build" / "taskdefs"
    assert render_variant(build, "s3").returncode == 0        # its own files
    assert render_variant(build, "ec2,exec").returncode == 0  # their own files
    (tmp_path / "build" / "bundle.tar.gz").write_bytes(b"")   # the s3 variant's upload
    assert run_render("--out", str(build), *[f"{k}={v}" for k, v in SAMPLE.items()]
                      ).returncode == 0                   # and the base files over theirs
    text = walkthroughs["README.md"]
    runs, where = [], []
    for _, cmd, loops in block_commands(text):
        for argv in rc.argvs(cmd, SHELL_VALUES, loops):
            runs.append({"argv": argv, "run": True})
            where.append(cmd)
    for span, in_table, _ in rc.inline_commands(text):
        complete = not in_table and " --" in span
        runs.append({"argv": rc.argvs(span, SHELL_VALUES)[0], "run": complete})
        where.append(span)
    unique = list({json.dumps(r, sort_keys=True): r for r in runs}.values())
    by_run = dict(zip((json.dumps(r, sort_keys=True) for r in unique),
                      dry_run(unique, str(tmp_path), tmp_path)))
    results = [by_run[json.dumps(r, sort_keys=True)] for r in runs]
    ingress = []
    for run, res, cmd in zip(runs, results, where):
        assert not res["problems"], f"{cmd}\n{res['problems']}"
        if not run["run"]:
            continue
        assert res["calls"] and all(c["validated"] for c in res["calls"]), \
            f"{cmd}\nexit {res['rc']}: {res['stderr'][-1500:]}"
        assert "stopped before sending" in res["stderr"], res["stderr"][-1500:]
        ingress += [p for c in res["calls"] if c["operation"] == "AuthorizeSecurityGroupIngress"
                    for p in c["params"]["IpPermissions"]]
    # the web UI from the operator's address, workers' port from the VPC; never the world
    assert sorted((p["FromPort"], p["ToPort"]) for p in ingress) == [(5557, 5557), (8089, 8089)]
    sources = {r.get("CidrIp", r.get("CidrIpv6")) for p in ingress
               for r in p.get("IpRanges", []) + p.get("Ipv6Ranges", [])}
    assert sources == {SHELL_VALUES["VPC_CIDR"], SHELL_VALUES["MY_IP"]}, sources
