"""Stand-in base images, made offline: Docker Hub is out of reach, so each suite's
`debian` image is a debootstrap --variant=minbase root file system (from the mirror of
this machine's apt sources, read at run time), imported into the tests' engine, and its
`locustio/locust` is locust-standin.Dockerfile built on it with Debian's python3-locust.

The root file systems are cached as tar files under /var/tmp/locust-ecs-image (made
again when missing or older than LEC_BASE_MAX_AGE_DAYS, default 7: sid moves daily).
Downloaded packages and apt lists are removed before the import, as the official images
do, so the bytes an image adds over its base are measured against a clean base."""
import glob
import os
import re
import shutil
import subprocess
import time

from engine import CACHE

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "locust-standin.Dockerfile")
MAX_AGE = float(os.environ.get("LEC_BASE_MAX_AGE_DAYS", "7")) * 86400


def _deb822(text):
    for para in re.split(r"\n\s*\n", text):
        fields = {}
        for line in para.splitlines():
            m = re.match(r"([A-Za-z-]+):\s*(.*)", line)
            if m and not line.startswith("#"):
                fields[m.group(1).lower()] = m.group(2).split()
        yield fields.get("types", []), fields.get("uris", []), fields.get("suites", []), \
            fields.get("components", [])


def _one_line(text):
    for line in text.splitlines():
        line = re.sub(r"\[[^]]*\]", "", line.split("#")[0]).split()
        if len(line) >= 4:
            yield [line[0]], [line[1]], [line[2]], line[3:]


def mirror():
    """The Debian archive this machine's apt uses: the URI of a `deb` entry with the
    main component and a suite that is not -security/-updates/-backports."""
    files = sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
    lists = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
    entries = []
    for path in files + lists:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        entries += _deb822(text) if path.endswith(".sources") else _one_line(text)
    for types, uris, suites, comps in entries:
        if "deb" in types and "main" in comps and uris and \
                any("-" not in s for s in suites):
            return uris[0]
    raise RuntimeError("no Debian archive with 'main' in this machine's apt sources")


def apt_conf():
    """This machine's apt settings for reaching its archive: a snapshot mirror's expired
    Release files (Check-Valid-Until, Check-Date), a proxy."""
    out = subprocess.run(["apt-config", "dump"], capture_output=True, text=True,
                         timeout=30).stdout
    return "\n".join(line for line in out.splitlines() if re.match(
        r"Acquire::(Check-Valid-Until|Check-Date|https?::Proxy|ftp::Proxy) ", line))


def rootfs_tar(suite, log):
    """The cached, cleaned minbase root file system of suite; made when missing or old."""
    os.makedirs(CACHE, exist_ok=True)
    tar = os.path.join(CACHE, f"rootfs-{suite}.tar")
    if os.path.exists(tar) and time.time() - os.path.getmtime(tar) < MAX_AGE:
        return tar
    work = os.path.join(CACHE, f"rootfs-{suite}.tmp")
    shutil.rmtree(work, ignore_errors=True)
    t = time.monotonic()
    with open(log, "ab") as out:
        subprocess.run(["debootstrap", "--variant=minbase", suite, work, mirror()],
                       stdout=out, stderr=subprocess.STDOUT, check=True, timeout=900)
    for junk in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin",
                 "var/lib/apt/lists/*_*"):
        for p in glob.glob(os.path.join(work, junk)):
            os.remove(p)
    subprocess.run(["tar", "-C", work, "--numeric-owner", "-cf", tar + ".part", "."],
                   check=True, timeout=300)
    os.replace(tar + ".part", tar)
    shutil.rmtree(work, ignore_errors=True)
    with open(log, "a") as out:
        out.write(f"debootstrap {suite}: {time.monotonic() - t:.0f}s\n")
    return tar


class Base:
    """lec-debian:SUITE and lec-locust:SUITE in the engine; version: Locust's."""

    def __init__(self, engine, suite, log):
        self.suite = suite
        tar = rootfs_tar(suite, log)
        st = os.stat(tar)
        ident = f"{st.st_size}-{int(st.st_mtime)}"
        self.debian = f"lec-debian:{suite}"
        got = engine.docker("image", "inspect", "--format",
                            '{{index .Config.Labels "lec.rootfs"}}', self.debian,
                            check=False, timeout=30).stdout.strip()
        if got != ident:  # the import makes a new image, which the build cache keys on
            with open(tar, "rb") as f:
                subprocess.run(["/usr/bin/docker", "import", "--change",
                                f"LABEL lec.rootfs={ident}", "-", self.debian], stdin=f,
                               env=engine.env, check=True, timeout=300,
                               capture_output=True)
        self.image = f"lec-locust:{suite}"
        r = engine.docker("build", "--network", "host", "--build-arg", f"BASE={self.debian}",
                          "--build-arg", f"APT_CONF={apt_conf()}", "-f", STANDIN, "-t", self.image, HERE, timeout=900, check=False)
        with open(log, "a") as out:
            out.write(r.stdout + r.stderr)
        if r.returncode != 0:
            raise RuntimeError(f"stand-in for {suite}: {r.stderr[-2000:]}")
        deb = engine.docker("run", "--rm", "--network", "none", "--entrypoint", "dpkg-query",
                            self.image, "-W", "-f", "${Version}", "python3-locust",
                            timeout=60).stdout
        self.version = re.sub(r"-[^-]*$", "", deb.strip())  # upstream part
