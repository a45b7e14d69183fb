"""A validator of CloudWatch Embedded Metric Format lines, written from AWS's
"Specification: Embedded metric format" (CloudWatch User Guide): the rules a line must
follow for CloudWatch Logs to turn it into metrics."""
import json
import re

UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes",
    "Gigabytes", "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits",
    "Percent", "Count", "Bytes/Second", "Kilobytes/Second", "Megabytes/Second",
    "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second",
    "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}
NAMESPACE = re.compile(r"^[0-9A-Za-z.\-_/#: ]{1,255}$")


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def validate(line):
    """Returns the decoded object, or raises AssertionError naming the broken rule."""
    assert isinstance(line, (bytes, str))
    raw = line.encode() if isinstance(line, str) else line
    assert len(raw) <= 1024 * 1024, "an EMF event is at most 1 MB"
    o = json.loads(raw)
    assert isinstance(o, dict), "the root is an object"
    aws = o.get("_aws")
    assert isinstance(aws, dict), "_aws is an object"
    ts = aws.get("Timestamp")
    assert isinstance(ts, int) and not isinstance(ts, bool) and ts > 10**12, \
        "Timestamp: ms since the epoch, an integer"
    dirs = aws.get("CloudWatchMetrics")
    assert isinstance(dirs, list) and dirs, "CloudWatchMetrics: a non-empty array"
    for d in dirs:
        assert isinstance(d, dict)
        ns = d.get("Namespace")
        assert isinstance(ns, str) and NAMESPACE.match(ns) and not ns.startswith("AWS/"), \
            f"Namespace {ns!r}"
        dims = d.get("Dimensions")
        assert isinstance(dims, list), "Dimensions: an array of dimension sets"
        for ds in dims:
            assert isinstance(ds, list) and len(ds) <= 30, "a set of at most 30 keys"
            for k in ds:
                assert isinstance(k, str) and k in o, f"dimension {k!r} is a root member"
                v = o[k]
                assert isinstance(v, str) and 1 <= len(v) <= 1024, \
                    f"dimension {k!r}: a string of 1-1024 characters"
        ms = d.get("Metrics")
        assert isinstance(ms, list) and len(ms) <= 100, "Metrics: at most 100"
        for m in ms:
            assert isinstance(m, dict)
            name = m.get("Name")
            assert isinstance(name, str) and 1 <= len(name) <= 1024, "metric Name"
            assert name in o, f"metric {name!r} is a root member"
            v = o[name]
            assert _number(v) or (isinstance(v, list) and 0 < len(v) <= 100 and
                                  all(_number(x) for x in v)), f"{name}: a number"
            if "Unit" in m:
                assert m["Unit"] in UNITS, f"{name}: unit {m['Unit']!r}"
            if "StorageResolution" in m:
                assert m["StorageResolution"] in (1, 60), f"{name}: StorageResolution"
    return o


def emf_lines(text):
    """The EMF objects among the lines of text (others skipped), each validated."""
    out = []
    for line in text.splitlines():
        if '"_aws"' in line:
            out.append(validate(line))
    return out
