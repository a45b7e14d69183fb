#!/usr/bin/python3
"""A stand-in Locust for the S3 tests, quicker than the real one: answers --version, writes
the reports it is asked for as Locust does (--csv files from the start, --html at the end or
on SIGINT but not on SIGTERM, --json-file's FILE.json), runs REPORT_SECONDS or until a
signal, exits REPORT_EXIT. REPORT_OUT gets its argv and the locustfile's first line."""
import json
import os
import signal
import sys
import time

args = sys.argv[1:]
if args == ["--version"]:
    print(f"locust {os.environ.get('REPORT_VERSION', '2.40.0')} from /fake (Python 3)")
    sys.exit(0)


def opt(name):
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a[len(name) + 1:]
    return None


csv, html, jf, lf = opt("--csv"), opt("--html"), opt("--json-file"), opt("-f")
out = os.environ.get("REPORT_OUT")
if out:
    with open(out, "a") as f:
        f.write("argv " + json.dumps(args) + "\n")
        try:
            with open(lf) as code:
                f.write("locustfile " + code.readline().strip() + "\n")
        except (OSError, TypeError) as e:
            f.write(f"locustfile unreadable: {e}\n")

stop = []
signal.signal(signal.SIGINT, lambda n, _: stop.append(n))
signal.signal(signal.SIGTERM, lambda n, _: stop.append(n))
requests = int(os.environ.get("REPORT_REQUESTS", "1234"))


def write_csv(n):
    if not csv:
        return
    head = ("Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
            "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
            "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n")
    rows = (f'GET,"/a, b",{n},3,12,14.5,2,80,100,41.1,0.1,12,13,14,15,20,30,40,50,70,80,80\n'
            f",Aggregated,{n},3,12,14.5,2,80,100,41.1,0.1,12,13,14,15,20,30,40,50,70,80,80\n")
    with open(csv + "_stats.csv", "w") as f:
        f.write(head + rows)
    for suffix in ("_stats_history.csv", "_failures.csv", "_exceptions.csv"):
        with open(csv + suffix, "w") as f:
            f.write("header\n")


write_csv(0)
end = time.time() + float(os.environ.get("REPORT_SECONDS", "0.2"))
while time.time() < end and not stop:
    time.sleep(0.02)
write_csv(requests)
if html and signal.SIGTERM not in stop:
    with open(html, "w") as f:
        f.write("<html><body>report " + "x" * int(os.environ.get("REPORT_HTML_BYTES", "100"))
                + "</body></html>\n")
if jf:
    with open(jf + ".json", "w") as f:
        json.dump([{"name": "Aggregated", "num_requests": requests}], f)
sys.exit(int(os.environ.get("REPORT_EXIT", "0")))
