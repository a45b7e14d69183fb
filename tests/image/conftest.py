"""Fixtures of the image tests: the engine (one per run), a stand-in base and the image
`make image` builds on it (one per suite: LEC_IMAGE_SUITES, default "bookworm trixie sid"),
and a box of containers per test. The figures measured along the way are printed at the
end and written to build/image-figures.md."""
import os
import random
import re
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bases import Base  # noqa: E402
from engine import DOCKER, Engine, skip_reason  # noqa: E402
from imagelab import FIGURES, Box, figure  # noqa: E402
from shared import ROOT  # noqa: E402

SUITES = os.environ.get("LEC_IMAGE_SUITES", "bookworm trixie sid").split()


class Image:
    def __init__(self, name, base, seconds, log):
        self.name, self.base, self.suite, self.seconds, self.log = \
            name, base, base.suite, seconds, log


@pytest.fixture(scope="session")
def engine(tmp_path_factory):
    why = skip_reason()
    if why:
        pytest.skip(why)
    e = Engine(str(tmp_path_factory.mktemp("engine")))
    t = time.monotonic()
    try:
        e.start()
        figure("-", "engine start (dockerd answering)", f"{time.monotonic() - t:.1f} s")
        yield e
    finally:
        left = e.stop()  # also when the start failed half-way
        if left:
            pytest.fail("the host is not as the image tests found it: " + "; ".join(left))


@pytest.fixture(scope="session", params=SUITES)
def base(request, engine, tmp_path_factory):
    log = str(tmp_path_factory.mktemp("bases") / f"{request.param}.log")
    t = time.monotonic()
    b = Base(engine, request.param, log)
    figure(b.suite, "stand-in bases ready (debootstrap when not cached, import, build)",
           f"{time.monotonic() - t:.0f} s")
    return b


@pytest.fixture(scope="session")
def image(base, engine, tmp_path_factory):
    """make image on the stand-in base: the image every test of this suite runs."""
    name = f"lec-test/locust-ecs:{base.suite}"
    log = str(tmp_path_factory.mktemp("make-image") / f"{base.suite}.log")
    t = time.monotonic()
    r = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "image", f"DOCKER={DOCKER}",
                        f"LOCUST_IMAGE={base.image}", f"IMAGE={name}",
                        "DOCKER_BUILD_FLAGS=--network host"], env=engine.env,
                       capture_output=True, text=True, timeout=1200)
    with open(log, "w") as f:
        f.write(r.stdout + r.stderr)
    out = r.stdout + r.stderr
    if r.returncode != 0:
        pytest.fail(f"make image on {base.image}: exit {r.returncode}\n{out[-4000:]}")
    took = time.monotonic() - t
    figure(base.suite, "make image", f"{took:.0f} s")
    return Image(name, base, took, log)


@pytest.fixture
def box(engine, tmp_path, request):
    prefix = "lec-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[-30:].strip("-") \
        + f"-{random.randint(0, 0xfff):03x}"
    b = Box(engine, str(tmp_path), prefix)
    try:
        yield b
    finally:
        b.close()


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    lines = ["| base | what | figure |", "|---|---|---|"]
    lines += [f"| {b} | {w} | {v} |" for b, w, v in FIGURES]
    terminalreporter.write_line("\nimage test figures:\n" + "\n".join(lines))
    build = os.environ.get("LE_BUILD", os.path.join(ROOT, "build"))
    os.makedirs(build, exist_ok=True)
    with open(os.path.join(build, "image-figures.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
