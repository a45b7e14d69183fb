#!/usr/bin/env python3
"""render: fills the ${NAME} placeholders of taskdefs/*.json and writes ready-to-use JSON.

    make taskdefs ACCOUNT_ID=123456789012 REGION=ap-northeast-2 ...      (or)
    python3 taskdefs/render.py --out build/taskdefs ACCOUNT_ID=123456789012 ...

Values come from NAME=VALUE arguments, else from the environment, else from the default
listed by --list. Every file is rendered from its parsed JSON, so a value is always
quoted correctly; the output is checked to hold no "${" and to parse again. Python 3
standard library only.

Variants (--variant, make VARIANT=readonly,exec) live in variants/NAME/: variant.json
changes the templates with a JSON merge patch (RFC 7396: objects merge, null removes a
key) per file-name pattern, where a key "name[*]" patches every item of the list "name";
any other JSON file there is a template that only that variant renders.

An object {"$json": VALUE} in a template is written as VALUE filled and encoded as one
JSON string (an API parameter that is a JSON document in a string, such as PutDashboard's
DashboardBody), so the template stays readable and every value in it is quoted correctly.
"""
import argparse
import base64
import copy
import fnmatch
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VARIANTS = os.path.join(HERE, "variants")
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
JSON_STRING = "$json"  # {"$json": value}: value written as a JSON string

# Fargate task sizes: CPU units -> accepted memory (MiB).
FARGATE_SIZES = {
    256: [512, 1024, 2048],
    512: list(range(1024, 4096 + 1, 1024)),
    1024: list(range(2048, 8192 + 1, 1024)),
    2048: list(range(4096, 16384 + 1, 1024)),
    4096: list(range(8192, 30720 + 1, 1024)),
    8192: list(range(16384, 61440 + 1, 4096)),
    16384: list(range(32768, 122880 + 1, 8192)),
}

ARN = r"arn:aws(-cn|-us-gov)?"


class Var:
    """One placeholder: its kind (str, list, int or number), default, accepted form and
    meaning."""

    def __init__(self, name, help, pattern=None, default=None, kind="str", env=(),
                 accepted=None, minimum=None, maximum=None, default_map=None, encode=None):
        self.name = name
        self.help = help
        self.pattern = re.compile(pattern) if pattern else None
        self.default = default
        self.kind = kind
        self.env = env            # other environment variables to take the value from
        self.accepted = accepted  # words for the error message
        self.minimum = minimum
        self.maximum = maximum
        self.default_map = default_map  # the expanded default, looked up here
        self.encode = encode            # "base64": the value is written encoded


VARS = {v.name: v for v in [
    Var("ACCOUNT_ID", "AWS account ID (12 digits)", r"\d{12}"),
    Var("REGION", "AWS region, as ap-northeast-2 (else AWS_REGION, AWS_DEFAULT_REGION)",
        r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+", env=("AWS_REGION", "AWS_DEFAULT_REGION")),
    Var("IMAGE", "the image to run (ECR repository URI with a tag)", r"[^\s\"]+",
        default="${ACCOUNT_ID}.dkr.ecr.${REGION}.amazonaws.com/locust-ecs:latest"),
    Var("EXECUTION_ROLE_ARN", "task execution role: pulls the image, writes the logs, "
        "reads the web UI secret", ARN + r":iam::\d{12}:role/[\w+=,.@/-]+",
        default="arn:aws:iam::${ACCOUNT_ID}:role/locust-ecs-execution"),
    Var("CLUSTER", "ECS cluster name", r"[A-Za-z0-9_-]{1,255}", default="locust"),
    Var("LOG_GROUP", "CloudWatch Logs group of the awslogs driver", r"[\w./#-]{1,512}",
        default="/ecs/locust"),
    Var("CPU_ARCHITECTURE", "X86_64, or ARM64 for an image built for arm64",
        r"X86_64|ARM64", default="X86_64", accepted="X86_64 or ARM64"),
    Var("SUBNETS", "subnet IDs of the tasks, comma-separated", r"subnet-[0-9a-f]+",
        kind="list"),
    Var("MASTER_SECURITY_GROUP", "security group of the master and standalone tasks "
        "(5557 from the VPC, 8089 from your address)", r"sg-[0-9a-f]+", kind="list"),
    Var("WORKER_SECURITY_GROUP", "security group of the worker tasks (no inbound rule)",
        r"sg-[0-9a-f]+", kind="list"),
    Var("ASSIGN_PUBLIC_IP", "ENABLED in public subnets (no NAT), else DISABLED",
        r"ENABLED|DISABLED", default="ENABLED", accepted="ENABLED or DISABLED"),
    Var("VPC_ID", "the VPC of the Cloud Map private DNS namespace", r"vpc-[0-9a-f]+"),
    Var("NAMESPACE", "Cloud Map private DNS namespace (the domain of the master's name)",
        r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*",
        default="locust"),
    Var("MASTER_SERVICE", "Cloud Map service name of the master: workers resolve "
        "MASTER_SERVICE.NAMESPACE", r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", default="master"),
    Var("NAMESPACE_ID", "ID of the namespace, once created (ns-...)", r"ns-[a-z0-9]+"),
    Var("CLOUDMAP_SERVICE_ARN", "ARN of the Cloud Map service, once created",
        ARN + r":servicediscovery:[a-z0-9-]+:\d{12}:service/srv-[a-z0-9]+"),
    Var("TARGET_URL", "the system under test, as https://example.com", r"https?://[^\s\"]+"),
    Var("WEB_AUTH_SECRET_ARN", "SSM parameter or Secrets Manager secret holding "
        "user:password for the master's web UI",
        ARN + r":(ssm:[a-z0-9-]+:\d{12}:parameter/.+|secretsmanager:[a-z0-9-]+:\d{12}:secret:.+)",
        default="arn:aws:ssm:${REGION}:${ACCOUNT_ID}:parameter/locust/web-auth"),
    Var("WORKER_COUNT", "worker tasks of the worker service", r"\d+", default="2",
        kind="int", minimum=0, maximum=5000),
    Var("STANDALONE_CPU", "CPU units of the standalone task", r"\d+", default="1024"),
    Var("STANDALONE_MEMORY", "memory (MiB) of the standalone task", r"\d+", default="2048"),
    Var("MASTER_CPU", "CPU units of the master task", r"\d+", default="1024"),
    Var("MASTER_MEMORY", "memory (MiB) of the master task", r"\d+", default="2048"),
    Var("WORKER_CPU", "CPU units of a worker task (one engine per vCPU)", r"\d+",
        default="1024"),
    Var("WORKER_MEMORY", "memory (MiB) of a worker task", r"\d+", default="2048"),
    Var("METRICS", "live metrics (CloudWatch EMF lines) of the master and standalone tasks",
        r"on|off", default="on", accepted="on or off"),
    Var("TEST_NAME", "the TestName dimension of the metrics; names the dashboard and alarms",
        r"[A-Za-z0-9_-]{1,200}", default="loadtest",
        accepted="1 to 200 letters, digits, - or _"),
    Var("METRICS_NAMESPACE", "CloudWatch namespace of the metrics (not AWS/...)",
        r"(?!AWS/|:)[A-Za-z0-9_./#:-]{1,255}", default="Locust"),
    Var("METRICS_PERIOD", "seconds between two metric lines, and the alarms' period "
        "(10, 20 and 30: high resolution, dearer alarms)", r"10|20|30|60", default="60",
        kind="int", accepted="10, 20, 30 or 60"),
    Var("ALARM_ROLE", "the role whose metrics the alarms watch", r"master|standalone",
        default="master", accepted="master or standalone"),
    Var("ALARM_FAIL_RATIO", "alarm above this share of failed requests", r"\d+(\.\d+)?",
        default="0.05", kind="number", minimum=0, maximum=1),
    Var("ALARM_P95_MS", "alarm above this 95th percentile response time (ms)", r"\d+",
        default="1000", kind="int", minimum=1, maximum=3600000),
    Var("TASK_ROLE_ARN", "task role of the exec variant (ECS Exec's ssmmessages channels)",
        ARN + r":iam::\d{12}:role/[\w+=,.@/-]+",
        default="arn:aws:iam::${ACCOUNT_ID}:role/locust-ecs-task"),
    Var("EC2_CAPACITY_PROVIDER", "ec2 variant: capacity provider of the Auto Scaling group",
        r"[A-Za-z0-9_-]{1,255}", default="locust-ec2"),
    Var("EC2_INSTANCE_TYPE", "ec2 variant: instance type of the Auto Scaling group",
        r"[a-z0-9-]+\.[a-z0-9]+", default="c6i.xlarge"),
    Var("EC2_MAX_INSTANCES", "ec2 variant: most instances the group may have", r"\d+",
        default="4", kind="int", minimum=1, maximum=1000),
    Var("EC2_IMAGE_ID", "ec2 variant: AMI ID, or resolve:ssm:PARAMETER naming one",
        r"ami-[0-9a-f]+|resolve:ssm:[\w./:-]+", default="${CPU_ARCHITECTURE}",
        default_map={
            "X86_64": "resolve:ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/"
                      "recommended/image_id",
            "ARM64": "resolve:ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/"
                     "recommended/image_id"}),
    Var("EC2_USER_DATA", "ec2 variant: instance user data, a script (written base64)",
        r"#![^\0]+", default="#!/bin/bash\necho ECS_CLUSTER=${CLUSTER} >> /etc/ecs/ecs.config\n",
        encode="base64"),
    Var("EC2_ASG_ARN", "ec2 variant: ARN of the Auto Scaling group, once created",
        ARN + r":autoscaling:[a-z0-9-]+:\d{12}:autoScalingGroup:[0-9a-f-]+:"
        r"autoScalingGroupName/[\w.-]+"),
]}

SIZES = [("STANDALONE_CPU", "STANDALONE_MEMORY"), ("MASTER_CPU", "MASTER_MEMORY"),
         ("WORKER_CPU", "WORKER_MEMORY")]
# Task-level CPU units on EC2 (RegisterTaskDefinition, cpu): 128 (0.125 vCPU) to 196608.
EC2_CPU = (128, 196608)


class RenderError(Exception):
    pass


def template_paths(variant_names=()):
    """{file name: path} of the templates: taskdefs/*.json, then those of each variant."""
    paths = {f: os.path.join(HERE, f) for f in os.listdir(HERE) if f.endswith(".json")}
    for v in variant_names:
        d = os.path.join(VARIANTS, v)
        for f in sorted(os.listdir(d)):
            if f.endswith(".json") and f != "variant.json":
                if f in paths:
                    raise RenderError(f"variant {v}: {f} is already a template")
                paths[f] = os.path.join(d, f)
    return dict(sorted(paths.items()))


def templates(variant_names=()):
    """Template names (file names), sorted."""
    return list(template_paths(variant_names))


def variant_names():
    """Every variant under variants/, sorted."""
    return sorted(d for d in os.listdir(VARIANTS)
                  if os.path.isfile(os.path.join(VARIANTS, d, "variant.json")))


def load_variant(name):
    path = os.path.join(VARIANTS, name, "variant.json")
    try:
        with open(path, encoding="utf-8") as f:
            v = json.load(f)
    except ValueError as e:
        raise RenderError(f"{path}: not valid JSON: {e}")
    unknown = set(v) - {"about", "excludes", "requires", "task_sizes", "patch"}
    if unknown or not isinstance(v.get("patch"), dict):
        raise RenderError(f"{path}: expected about, patch and optionally excludes, "
                          f"requires, task_sizes; found {sorted(v)}")
    return v


def choose_variants(words):
    """The variants named in words (comma or space separated), checked against each other."""
    known = variant_names()
    chosen = []
    for w in re.split(r"[,\s]+", (words or "").strip()):
        if not w:
            continue
        if w not in known:
            raise RenderError(f"--variant: no variant {w}: choose from {', '.join(known)}")
        if w not in chosen:
            chosen.append(w)
    loaded = {n: load_variant(n) for n in chosen}
    for n, v in loaded.items():
        for other, why in v.get("excludes", {}).items():
            if other in loaded:
                raise RenderError(f"variant {n} does not go with {other}: {why}")
    return loaded


def placeholders(node, found):
    if isinstance(node, dict):
        for v in node.values():
            placeholders(v, found)
    elif isinstance(node, list):
        for v in node:
            placeholders(v, found)
    elif isinstance(node, str):
        found.update(PLACEHOLDER.findall(node))
    return found


def merge_patch(doc, patch, where):
    """RFC 7396 merge patch, and "key[*]": patch every item of the list doc[key]."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(doc) if isinstance(doc, dict) else {}
    for k, v in patch.items():
        if k.endswith("[*]"):
            key = k[:-3]
            if not isinstance(out.get(key), list):
                raise RenderError(f"{where}.{key}: a variant patches its items, but it is "
                                  "not a list")
            out[key] = [merge_patch(item, v, f"{where}.{key}[{i}]")
                        for i, item in enumerate(out[key])]
        elif v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v, f"{where}.{k}")
    return out


def given_value(name, given, environ):
    if name in given:
        return given[name]
    for e in (name,) + VARS[name].env:
        if environ.get(e):
            return environ[e]
    return None


def resolve(needed, given, environ):
    """Strings for every needed name (defaults expanded). Raises with every missing name."""
    values, missing, active = {}, [], set()

    def value_of(name):
        if name in values:
            return values[name]
        if name in active:
            raise RenderError(f"the default of {name} refers to itself")
        var = VARS[name]
        v = given_value(name, given, environ)
        if v is None and var.default is not None:
            active.add(name)
            parts = [value_of(n) for n in PLACEHOLDER.findall(var.default)]
            active.discard(name)
            if None in parts:
                return None
            v = PLACEHOLDER.sub(lambda m: values[m.group(1)], var.default)
            if var.default_map is not None:
                v = var.default_map[v]
        if v is None:
            if name not in missing:
                missing.append(name)
            return None
        values[name] = v
        return v

    for name in sorted(needed):
        value_of(name)
    if missing:
        order = list(VARS)
        missing.sort(key=order.index)
        lines = "\n".join(f"  {n}: {VARS[n].help}" for n in missing)
        raise RenderError(
            f"missing value{'s' if len(missing) > 1 else ''} for "
            f"{', '.join(missing)}:\n{lines}\n"
            "Give them as make variables (make taskdefs NAME=VALUE ...), as NAME=VALUE "
            "arguments or in the environment.")
    return values


def check_sizes(typed, task_sizes, errors):
    for cpu, mem in SIZES:
        if cpu not in typed or mem not in typed:
            continue
        c, m = int(typed[cpu]), int(typed[mem])
        if task_sizes == "ec2":
            if not EC2_CPU[0] <= c <= EC2_CPU[1] or m < 1:
                errors.append(f"{cpu}={c} {mem}={m}: on EC2 the task's CPU units go from "
                              f"{EC2_CPU[0]} to {EC2_CPU[1]} and its memory is at least 1")
        elif c not in FARGATE_SIZES:
            errors.append(f"{cpu}={c} is not a Fargate size: use one of "
                          f"{', '.join(map(str, FARGATE_SIZES))}")
        elif m not in FARGATE_SIZES[c]:
            ok = FARGATE_SIZES[c]
            errors.append(f"{mem}={m} does not go with {cpu}={c} on Fargate: use "
                          f"{ok[0]} to {ok[-1]} in steps of {ok[1] - ok[0]}"
                          if len(ok) > 3 else
                          f"{mem}={m} does not go with {cpu}={c} on Fargate: use "
                          f"{', '.join(map(str, ok))}")


def check(values, variants=None):
    """Checks each value's form and converts lists and numbers. Returns typed values."""
    variants = variants or {}
    typed, errors = {}, []
    for name, raw in sorted(values.items()):
        var = VARS[name]
        items = [x for x in re.split(r"[,\s]+", raw) if x] if var.kind == "list" else [raw]
        bad = [x for x in items if not (var.pattern and var.pattern.fullmatch(x))]
        if not items or bad:
            errors.append(f"{name}=\"{raw}\" is not accepted: "
                          f"{var.accepted or 'expected ' + var.help}")
            continue
        if var.kind in ("int", "number"):
            n = int(raw) if var.kind == "int" else float(raw)
            if (var.minimum is not None and n < var.minimum) or \
               (var.maximum is not None and n > var.maximum):
                errors.append(f"{name}={raw} is out of range: from {var.minimum} to "
                              f"{var.maximum}")
                continue
            typed[name] = n
        elif var.encode == "base64":
            typed[name] = base64.b64encode(raw.encode()).decode()
        else:
            typed[name] = items if var.kind == "list" else raw
    for vname, v in variants.items():
        for name, accepted in v.get("requires", {}).items():
            if name in values and values[name] not in accepted:
                errors.append(f"variant {vname} needs {name}={' or '.join(accepted)}, not "
                              f"{values[name]}: {v['about']}")
    sizes = {v.get("task_sizes", "fargate") for v in variants.values()} - {"fargate"}
    check_sizes(typed, sizes.pop() if sizes else "fargate", errors)
    if errors:
        raise RenderError("\n".join(errors))
    return typed


def fill(node, typed, where):
    """A copy of node with every placeholder replaced. A string that is exactly one
    placeholder of a list becomes its items in a list, its items joined by commas
    elsewhere; of a number, the number (inside a longer string, its digits). An object
    {"$json": value} becomes value, filled, as a JSON string."""
    if isinstance(node, dict):
        if set(node) == {JSON_STRING}:
            return json.dumps(fill(node[JSON_STRING], typed, where), ensure_ascii=False,
                              separators=(",", ":"))
        return {k: fill(v, typed, f"{where}.{k}") for k, v in node.items()}
    if isinstance(node, list):
        out = []
        for i, v in enumerate(node):
            m = PLACEHOLDER.fullmatch(v) if isinstance(v, str) else None
            if m and VARS[m.group(1)].kind == "list":
                out.extend(typed[m.group(1)])
            else:
                out.append(fill(v, typed, f"{where}[{i}]"))
        return out
    if isinstance(node, str):
        m = PLACEHOLDER.fullmatch(node)
        if m and VARS[m.group(1)].kind in ("int", "number"):
            return typed[m.group(1)]
        if m and VARS[m.group(1)].kind == "list":
            return ",".join(typed[m.group(1)])
        for name in PLACEHOLDER.findall(node):
            if VARS[name].kind == "list":
                raise RenderError(f"{where}: ${{{name}}} is a {VARS[name].kind} and must be "
                                  "a whole value")
        return PLACEHOLDER.sub(lambda mm: str(typed[mm.group(1)]), node)
    return node


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except ValueError as e:
        raise RenderError(f"{path}: not valid JSON: {e}")
    return doc


def check_placeholders(doc, where):
    unknown = sorted(placeholders(doc, set()) - set(VARS))
    if unknown:
        raise RenderError(f"{where}: unknown placeholder(s) {', '.join(unknown)}")


def patched(name, doc, variants):
    """The template with the patches of every chosen variant whose pattern matches it."""
    for vname, v in variants.items():
        for pattern, patch in v["patch"].items():
            if fnmatch.fnmatchcase(name, pattern):
                doc = merge_patch(doc, patch, f"{name} (variant {vname})")
    return doc


def select(only, variant_list=()):
    names = templates(variant_list)
    if not only:
        return names
    chosen = []
    for word in re.split(r"[,\s]+", only.strip()):
        if not word:
            continue
        name = word if word.endswith(".json") else word + ".json"
        if name not in names:
            raise RenderError(f"--only: no template {word}: choose from "
                              f"{', '.join(n[:-5] for n in names)}")
        chosen.append(name)
    return chosen


def render(names, given, environ, out, variants=None):
    variants = variants or {}
    paths = template_paths(list(variants))
    docs = {}
    for n in names:
        doc = patched(n, load(paths[n]), variants)
        check_placeholders(doc, paths[n])
        docs[n] = doc
    needed = set()
    for doc in docs.values():
        placeholders(doc, needed)
    needed.update(n for pair in SIZES for n in pair if needed & set(pair))
    for v in variants.values():
        needed.update(n for n in v.get("requires", {}) if n in VARS)
    typed = check(resolve(needed, given, environ), variants)
    os.makedirs(out, exist_ok=True)
    written = []
    for name, doc in docs.items():
        text = json.dumps(fill(doc, typed, name), indent=2, ensure_ascii=False) + "\n"
        if "${" in text:
            raise RenderError(f"{name}: a placeholder is left after rendering")
        json.loads(text)  # parses again
        path = os.path.join(out, name)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
        written.append(path)
    return written


def describe():
    rows = []
    for v in VARS.values():
        shown = v.default.replace("\n", "\\n") if v.default is not None else None
        d = f" (default {shown})" if v.default is not None else " (required)"
        if v.default_map is not None:
            d = f" (default by {v.default[2:-1]}: {v.default_map})"
        rows.append(f"  {v.name:<22} {v.help}{d}")
    rows.append("variants (--variant, make VARIANT=a,b):")
    for n in variant_names():
        rows.append(f"  {n:<22} {load_variant(n)['about']}")
    return "\n".join(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="render.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Fills the placeholders of taskdefs/*.json (ECS task definitions, "
                    "overrides, services, Cloud Map, IAM, CloudWatch dashboard and alarms) "
                    "and writes them to --out.",
        epilog="values:\n" + describe())
    ap.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "build", "taskdefs"),
                    help="output directory (default build/taskdefs)")
    ap.add_argument("--only", default="",
                    help="render only these templates, as cloudmap-namespace,master.taskdef")
    ap.add_argument("--variant", default="",
                    help="apply these variants, as readonly,exec (see the list below)")
    ap.add_argument("--list", action="store_true", help="list the values and exit")
    ap.add_argument("values", nargs="*", metavar="NAME=VALUE")
    args = ap.parse_args(argv)
    if args.list:
        print(describe())
        return 0
    given = {}
    for a in args.values:
        name, eq, value = a.partition("=")
        if not eq or name not in VARS:
            ap.error(f"{a!r}: expected NAME=VALUE with NAME one of {', '.join(VARS)}")
        given[name] = value
    try:
        variants = choose_variants(args.variant)
        written = render(select(args.only, list(variants)), given, os.environ, args.out,
                         variants)
    except RenderError as e:
        print(f"render.py: {e}", file=sys.stderr)
        return 1
    for path in written:
        print(os.path.relpath(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
