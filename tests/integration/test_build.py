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


def test_install_puts_the_login_plugin_where_the_supervisor_looks(tmp_path):
    """make install: the programs in $(PREFIX)/bin, the web UI's login plugin in
    $(PREFIX)/share/locust-ecs, the path the supervisor was built to look at."""
    import json
    r = make("install", f"DESTDIR={tmp_path}", "PREFIX=/usr/local")
    assert r.returncode == 0, r.stderr
    plugin = tmp_path / "usr/local/share/locust-ecs/locust_ecs_webauth.py"
    assert plugin.read_text() == open(os.path.join(ROOT, "plugin", "locust_ecs_webauth.py")).read()
    assert oct(plugin.stat().st_mode & 0o777) == "0o644", "readable by Locust's own user"
    lf = tmp_path / "lf.py"
    lf.write_text("")
    env = {"PATH": "/usr/bin:/bin", "LOCUST_ECS_METADATA": "off", "LOCUSTFILE_PATH": str(lf),
           "LOCUST_WEB_AUTH": "admin:pw", "LOCUST_ECS_LOCUST_VERSION": "2.46.7"}
    out = subprocess.run([str(tmp_path / "usr/local/bin/locust-entrypoint"), "--print-config"],
                         env=env, capture_output=True, text=True, timeout=10)
    argv = json.loads(out.stdout)["engine_argv"]
    assert argv[2] == f"{lf},/usr/local/share/locust-ecs/locust_ecs_webauth.py", argv
