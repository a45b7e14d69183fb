"""A test S3 endpoint and a fake ECS credentials endpoint, on loopback.

No real S3 can be reached from the tests, and s3rver-like stand-ins do not check SigV4 at
all. This endpoint checks every request as S3 does before it stores or serves anything:
the signature is computed again, independently of libcurl, with botocore's own S3 signer
(Debian's python3-botocore) from the request as it arrived (verify() below); the time,
the session token, the region and the body's hash are checked too; refusals are S3's XML
error documents (codes and messages as S3 words them). test_s3.py proves verify() against
the signatures AWS publishes for its S3 SigV4 examples.
"""
import datetime
import hashlib
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_SKEW = datetime.timedelta(minutes=15)   # S3's limit on a request's time
UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/s3/aws4_request,"
                     r"\s*SignedHeaders=([a-z0-9;\-]+),\s*Signature=([0-9a-f]{64})$")


class S3Error(Exception):
    def __init__(self, status, code, message, **extra):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def xml(self):
        esc = lambda v: (str(v).replace("&", "&amp;").replace("<", "&lt;")  # noqa: E731
                         .replace(">", "&gt;"))
        extra = "".join(f"<{k}>{esc(v)}</{k}>" for k, v in self.extra.items())
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{self.code}</Code>'
                f"<Message>{esc(self.message)}</Message>{extra}"
                f"<RequestId>4442587FB7D0A2F9</RequestId></Error>").encode()


class Account:
    """Keys S3 knows: long-term (token None) or temporary (with a session token)."""

    def __init__(self, akid, secret, token=None, expires=None):
        self.akid, self.secret, self.token, self.expires = akid, secret, token, expires


def aws_path(key_bytes):
    """S3's canonical URI of a decoded path: each byte but the unreserved ones and '/' as
    %XX, uppercase."""
    return "".join(chr(b) if b in UNRESERVED or b == 0x2F else "%%%02X" % b for b in key_bytes)


def verify(method, raw_path, headers, body, accounts, buckets, now):
    """Checks one request as S3 would; returns (account, bucket, key) or raises S3Error.

    method, raw_path (as sent, query included), headers (a list of (name, value) as
    received), body (bytes), accounts ({akid: Account}), buckets ({name: region}), now (an
    aware datetime, the server's clock)."""
    h = {}
    for name, value in headers:
        h.setdefault(name.lower(), []).append(value)
    one = lambda n: h.get(n, [None])[0]  # noqa: E731
    path, _, query = raw_path.partition("?")
    host = one("host") or ""
    m = re.match(r"^([a-z0-9.\-]+)\.s3[.\-]", host)
    if m:        # virtual-hosted style (AWS's examples): the bucket is in the host name
        bucket, key = m.group(1), urllib.parse.unquote_to_bytes(path[1:])
    else:        # path style (an endpoint override): /bucket/key
        bucket, _, k = path[1:].partition("/")
        bucket, key = urllib.parse.unquote(bucket), urllib.parse.unquote_to_bytes(k)
    auth = one("authorization")
    if not auth:
        raise S3Error(403, "AccessDenied", "Access Denied")
    am = AUTH_RE.match(auth)
    if not am:
        raise S3Error(400, "AuthorizationHeaderMalformed",
                      "The authorization header is malformed; the authorization header "
                      "requires three components: Credential, SignedHeaders, and Signature.")
    akid, scope_date, region, signed, signature = am.groups()
    acct = accounts.get(akid)
    if acct is None:
        raise S3Error(403, "InvalidAccessKeyId",
                      "The AWS Access Key Id you provided does not exist in our records.",
                      AWSAccessKeyId=akid)
    stamp = one("x-amz-date")
    try:
        when = datetime.datetime.strptime(stamp or "", "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        raise S3Error(403, "AccessDenied", "AWS authentication requires a valid Date or "
                      "x-amz-date header")
    if abs(when - now) > MAX_SKEW:
        raise S3Error(403, "RequestTimeTooSkewed", "The difference between the request time "
                      "and the current time is too large.", RequestTime=stamp,
                      ServerTime=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                      MaxAllowedSkewMilliseconds=900000)
    if scope_date != stamp[:8]:
        raise S3Error(400, "AuthorizationHeaderMalformed", "The authorization header is "
                      f"malformed; Invalid credential date. Date is not the same as X-Amz-Date: "
                      f"{scope_date}.")
    if bucket not in buckets:
        raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist",
                      BucketName=bucket)
    if region != buckets[bucket]:
        raise S3Error(400, "AuthorizationHeaderMalformed", "The authorization header is "
                      f"malformed; the region '{region}' is wrong; expecting '{buckets[bucket]}'",
                      Region=buckets[bucket])
    signed_names = signed.split(";")
    for name in h:
        if (name.startswith("x-amz-") or name == "host") and name not in signed_names:
            raise S3Error(403, "AccessDenied", "There were headers present in the request "
                          "which were not signed", HeadersNotSigned=name)
    token = one("x-amz-security-token")
    if acct.token is not None and token is None:
        # temporary keys are unknown without their session token
        raise S3Error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does "
                      "not exist in our records.", AWSAccessKeyId=akid)
    if token is not None and token != acct.token:
        raise S3Error(400, "InvalidToken", "The provided token is malformed or otherwise "
                      "invalid.")
    payload = one("x-amz-content-sha256")
    if not payload:
        raise S3Error(400, "InvalidRequest", "Missing required header for this request: "
                      "x-amz-content-sha256")
    # the signature, computed again by botocore's S3 signer from what arrived: the
    # canonical URI from the decoded key (as S3 derives it), the signed headers as sent
    uri = "/" + aws_path(key if m else bucket.encode() + b"/" + key)
    req = AWSRequest(method=method, url=f"http://{host}{uri}" + (f"?{query}" if query else ""),
                     headers={n: ",".join(h.get(n, [""])) for n in signed_names}, data=body)
    req.context["timestamp"] = stamp
    signer = S3SigV4Auth(Credentials(acct.akid, acct.secret, acct.token), "s3", region)
    canonical = signer.canonical_request(req)
    expected = signer.signature(signer.string_to_sign(req, canonical), req)
    if expected != signature:
        raise S3Error(403, "SignatureDoesNotMatch", "The request signature we calculated does "
                      "not match the signature you provided. Check your key and signing "
                      "method.", AWSAccessKeyId=akid, CanonicalRequest=canonical)
    if acct.expires is not None and now >= acct.expires:
        raise S3Error(400, "ExpiredToken", "The provided token has expired.")
    if payload != "UNSIGNED-PAYLOAD" and payload != hashlib.sha256(body).hexdigest():
        raise S3Error(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' "
                      "header does not match what was computed.",
                      ClientComputedContentSHA256=payload,
                      S3ComputedContentSHA256=hashlib.sha256(body).hexdigest())
    return acct, bucket, key.decode("utf-8", "replace")


class S3Server:
    """The endpoint: path-style requests on 127.0.0.1, objects kept in memory."""

    def __init__(self, accounts=(), buckets=None, policy=None):
        self.accounts = {a.akid: a for a in accounts}
        self.buckets = dict(buckets or {"locust-results": "eu-west-1"})
        self.objects = {}            # (bucket, key) -> (bytes, content type)
        self.policy = policy         # {akid: {"get": [prefixes], "put": [prefixes]}}
        self.clock_offset = datetime.timedelta(0)
        self.tamper = False          # flip a byte of every body as if changed on the way
        self.faults = []             # (status, code) answered to the next requests
        self.delay = 0.0             # seconds before each answer
        self.requests = []           # what came, with the verdict
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"   # 100-continue, keep-alive, as S3

            def log_message(self, *a):
                pass

            def do_GET(self):
                server._handle(self, "GET")

            def do_PUT(self):
                server._handle(self, "PUT")

            def do_HEAD(self):
                server._handle(self, "HEAD")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def now(self):
        return datetime.datetime.now(datetime.timezone.utc) + self.clock_offset

    def _allowed(self, akid, action, key):
        if self.policy is None or akid not in self.policy:
            return True
        return any(key.startswith(p) for p in self.policy[akid].get(action, []))

    def _handle(self, rq, method):
        import time
        body = b""
        te = rq.headers.get("Transfer-Encoding")
        record = {"method": method, "path": rq.path, "headers": dict(rq.headers.items())}
        try:
            if te and te.lower() != "identity":
                rq.close_connection = True
                raise S3Error(411, "MissingContentLength", "You must provide the "
                              "Content-Length HTTP header.")
            n = int(rq.headers.get("Content-Length") or 0)
            body = rq.rfile.read(n) if n else b""
            if method == "PUT" and rq.headers.get("Content-Length") is None:
                raise S3Error(411, "MissingContentLength", "You must provide the "
                              "Content-Length HTTP header.")
            if self.delay:
                time.sleep(self.delay)
            with self.lock:
                fault = self.faults.pop(0) if self.faults else None
            if fault:
                raise S3Error(fault[0], fault[1], "Please reduce your request rate."
                              if fault[1] == "SlowDown" else "We encountered an internal "
                              "error. Please try again.")
            if self.tamper and body:
                body = bytes([body[0] ^ 1]) + body[1:]
            acct, bucket, key = verify(method, rq.path, list(rq.headers.items()), body,
                                       self.accounts, self.buckets, self.now())
            record.update(akid=acct.akid, token=rq.headers.get("x-amz-security-token"),
                          bucket=bucket, key=key)
            if method == "PUT":
                if not self._allowed(acct.akid, "put", key):
                    raise S3Error(403, "AccessDenied", "Access Denied")
                with self.lock:
                    self.objects[(bucket, key)] = (body, rq.headers.get("Content-Type"))
                self._reply(rq, 200, b"", {"ETag": '"%s"' % hashlib.md5(body).hexdigest()})
            else:
                if not self._allowed(acct.akid, "get", key):
                    raise S3Error(403, "AccessDenied", "Access Denied")
                obj = self.objects.get((bucket, key))
                if obj is None:
                    raise S3Error(404, "NoSuchKey", "The specified key does not exist.",
                                  Key=key)
                self._reply(rq, 200, obj[0], {"Content-Type": obj[1] or "binary/octet-stream"},
                            head=method == "HEAD")
            record["status"] = 200
        except S3Error as e:
            record.update(status=e.status, code=e.code)
            extra = {}
            if e.extra.get("Region"):
                extra["x-amz-bucket-region"] = e.extra["Region"]
            self._reply(rq, e.status, e.xml(), {"Content-Type": "application/xml", **extra},
                        head=method == "HEAD")
        with self.lock:
            self.requests.append(record)

    @staticmethod
    def _reply(rq, status, body, headers, head=False):
        rq.send_response(status)
        for k, v in headers.items():
            rq.send_header(k, v)
        rq.send_header("Content-Length", str(len(body)))
        rq.end_headers()
        if not head:
            rq.wfile.write(body)

    def put(self, bucket, key, data, ctype=None):
        self.objects[(bucket, key)] = (data, ctype)

    def get(self, bucket, key):
        obj = self.objects.get((bucket, key))
        return obj[0] if obj else None

    def keys(self, bucket, prefix=""):
        return sorted(k for b, k in self.objects if b == bucket and k.startswith(prefix))


class CredsEndpoint:
    """The ECS (or EKS) container credentials endpoint: hands out the next of a list of
    (Account, Expiration) at each fetch (the last one again at the end), after checking the
    Authorization header. Expiration None: the account's own expiry, if any."""

    def __init__(self, accounts, path="/v2/credentials/7c2f5b0e", token=None, host="127.0.0.1",
                 failures=0):
        self.accounts = [a if isinstance(a, tuple) else (a, None) for a in accounts]
        self.path, self.token, self.failures = path, token, failures
        self.fetches = []
        self.served = 0
        ep = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                ep.fetches.append({"path": self.path, "auth": self.headers.get("Authorization")})
                if ep.failures > 0:
                    ep.failures -= 1
                    return self._json(500, {"code": "InternalError", "message": "try again"})
                if self.path != ep.path:
                    return self._json(404, {"code": "NotFound", "message": "no such path"})
                if ep.token is not None and self.headers.get("Authorization") != ep.token:
                    return self._json(403, {"code": "AccessDenied",
                                            "message": "the authorization token is wrong"})
                a, exp = ep.accounts[min(ep.served, len(ep.accounts) - 1)]
                ep.served += 1
                doc = {"RoleArn": "arn:aws:iam::123456789012:role/locust-task",
                       "AccessKeyId": a.akid, "SecretAccessKey": a.secret, "Token": a.token}
                exp = exp or a.expires
                if exp:
                    doc["Expiration"] = exp.strftime("%Y-%m-%dT%H:%M:%SZ")
                self._json(200, doc)

            def _json(self, status, doc):
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer((host, 0 if host == "127.0.0.1" else 80), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}{path}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
