"""The Makefile: flags from the command line add to what the build needs, never replace
it; objects follow the headers they include."""
import os
import subprocess

from conftest import ROOT


def make(*args):
    return subprocess.run(["make", "-C", ROOT, *args], capture_output=True, text=True,
                          timeout=120)


def test_user_cflags_add_to_the_required_flags(tmp_path):
    r = make("-n", "-B", f"BUILD={tmp_path}", "CFLAGS=-O1", f"{tmp_path}/entrypoint/main.o")
    assert r.returncode == 0, r.stderr
    line = [l for l in r.stdout.splitlines() if "entrypoint/main.c" in l][0]
    for need in ("-std=c11", "-D_GNU_SOURCE", "-DLE_VERSION=", "-Ientrypoint/common",
                 "-O1", "-MMD"):
        assert need in line, (need, line)
    pkg = subprocess.run(["pkg-config", "--cflags", "libzmq"], capture_output=True,
                         text=True).stdout.split()
    assert all(f in line for f in pkg), "pkg-config's flags stay"


def test_objects_follow_their_headers(tmp_path):
    r = make(f"BUILD={tmp_path}", f"{tmp_path}/healthcheck/proctcp.o",
             f"{tmp_path}/entrypoint/common/clock.o")
    assert r.returncode == 0, r.stderr
    dep = (tmp_path / "healthcheck" / "proctcp.d").read_text()
    assert "healthcheck/proctcp.h" in dep and "entrypoint/config.h" not in dep
    # a header an object does not include does not rebuild it
    r = make("-q", f"BUILD={tmp_path}", f"{tmp_path}/entrypoint/common/clock.o",
             "-W", "healthcheck/proctcp.h")
    assert r.returncode == 0, "clock.o is up to date after proctcp.h changed"
    r = make("-q", f"BUILD={tmp_path}", f"{tmp_path}/healthcheck/proctcp.o",
             "-W", "healthcheck/proctcp.h")
    assert r.returncode == 1, "proctcp.o is out of date after proctcp.h changed"


def test_health_check_links_no_process_control():
    """The health check links the shared pieces only: no spawning, no kill(-1)."""
    hc = os.path.join(os.environ.get("LE_BUILD", os.path.join(ROOT, "build")),
                      "locust-healthcheck")
    syms = subprocess.run(["nm", "-C", hc], capture_output=True, text=True).stdout
    for name in ("sup_spawn", "sup_kill_rest", "config_parse", "words_split", "log_at"):
        assert f" {name}" not in syms, name
    for name in ("file_read", "proc_stat", "state_parse", "http_setup"):
        assert f" {name}" in syms, name
