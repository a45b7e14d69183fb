"""The supervisor as PID 1 (unshare --pid) and as a subreaper: exits, signals, reaping."""
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import ENTRY, children_of, fake_env, notes, wait_for

UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"


def can_unshare():
    try:
        r = subprocess.run([UNSHARE, "--pid", "--fork", "--mount-proc", "/bin/true"],
                           timeout=10, capture_output=True)
        return r.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


HAVE_PIDNS = can_unshare()
pid1 = pytest.mark.skipif(not HAVE_PIDNS, reason="PID namespaces not available (needs root)")


def run(argv, env, timeout=30):
    return subprocess.run(argv, env=env, timeout=timeout, capture_output=True)


def supervisor_in_ns(p):
    """The pid (in our namespace) of the supervisor that unshare started as PID 1."""
    return wait_for(lambda: (children_of(p.pid) or [None])[0], 10, what="the supervisor")


def test_exit_codes_pass_through(tmp_path):
    for code in range(256):
        r = run([ENTRY], fake_env(tmp_path, "exit", str(code)))
        assert r.returncode == code, (code, r.stderr[-500:])


@pid1
@pytest.mark.parametrize("code", [0, 1, 2, 42, 125, 200, 255])
def test_exit_codes_as_pid1(tmp_path, code):
    r = run([UNSHARE, "--pid", "--fork", "--mount-proc", ENTRY],
            fake_env(tmp_path, "exit", str(code)))
    assert r.returncode == code, r.stderr[-800:]
    assert b'"pid 1 (init)' in r.stderr or b"pid 1 (init)" in r.stderr


@pytest.mark.parametrize("sig", [signal.SIGSEGV, signal.SIGKILL, signal.SIGABRT])
def test_death_by_signal_is_128_plus(tmp_path, sig):
    r = run([ENTRY], fake_env(tmp_path, "signal", str(int(sig))))
    assert r.returncode == 128 + sig


def test_engine_not_found_is_127_and_nothing_starts(tmp_path):
    env = fake_env(tmp_path, "exit")
    env["LOCUST_ECS_ENGINE"] = str(tmp_path / "no-such-locust")
    r = run([ENTRY], env)
    assert r.returncode == 127
    assert b"LOCUST_ECS_ENGINE" in r.stderr
    assert notes(tmp_path) == []


def test_engine_not_executable_is_126(tmp_path):
    env = fake_env(tmp_path, "exit")
    f = tmp_path / "locust"
    f.write_text("not a program\n")
    f.chmod(0o644)
    env["LOCUST_ECS_ENGINE"] = str(f)
    r = run([ENTRY], env)
    assert r.returncode == 126
    assert notes(tmp_path) == []


def test_bad_config_starts_nothing(tmp_path):
    env = fake_env(tmp_path, "exit", LOCUST_MODE="boss")
    r = run([ENTRY], env)
    assert r.returncode == 78
    err = r.stderr.decode()
    assert "LOCUST_MODE" in err and "boss" in err and "standalone" in err
    assert len([l for l in err.splitlines() if l.strip()]) == 1
    assert notes(tmp_path) == []


def test_missing_locustfile_is_78(tmp_path):
    env = fake_env(tmp_path, "exit")
    env["LOCUSTFILE_PATH"] = str(tmp_path / "missing.py")
    r = run([ENTRY], env)
    assert r.returncode == 78 and b"LOCUSTFILE_PATH" in r.stderr
    assert notes(tmp_path) == []


def test_usage_error_is_64(tmp_path):
    r = run([ENTRY, "--headless", "-f"], fake_env(tmp_path, "exit"))
    assert r.returncode == 64 and b"-f/--locustfile" in r.stderr


def test_help_and_version(tmp_path):
    r = run([ENTRY, "--help"], fake_env(tmp_path, "exit"))
    assert r.returncode == 0 and b"LOCUST_MODE" in r.stdout
    r = run([ENTRY, "--version"], fake_env(tmp_path, "exit"))
    assert r.returncode == 0 and r.stdout.startswith(b"locust-ecs ")
    assert notes(tmp_path) == []


FORWARDED = [signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH,
             signal.SIGCONT, signal.SIGALRM, signal.SIGURG, signal.SIGTSTP, signal.SIGTTIN,
             signal.SIGTTOU, signal.SIGPWR, signal.SIGXCPU, signal.SIGVTALRM, signal.SIGPROF,
             signal.SIGRTMIN, signal.SIGTERM]


def check_forwarding(procs, tmp_path, argv):
    p = procs.start(argv, env=fake_env(tmp_path, "record"), name="sup")
    wait_for(lambda: sum(1 for l in notes(tmp_path) if " pgid " in l) == 2, 10,
             what="engine and its child")
    sup = supervisor_in_ns(p) if argv[0] == UNSHARE else p.pid
    for s in FORWARDED:
        os.kill(sup, s)
        wait_for(lambda: sum(1 for l in notes(tmp_path) if l.endswith(f"got {s.name}")) >= 2,
                 5, what=f"{s.name} at the engine and its child")
    assert p.wait(10) == 0
    pg = {l.split()[3] for l in notes(tmp_path) if " pgid " in l}
    assert len(pg) == 1, "engine and child share one process group"


def test_every_signal_reaches_the_engine_group(procs, tmp_path):
    check_forwarding(procs, tmp_path, [ENTRY])


@pid1
def test_every_signal_reaches_the_engine_group_as_pid1(procs, tmp_path):
    check_forwarding(procs, tmp_path, [UNSHARE, "--pid", "--fork", "--mount-proc", ENTRY])


def zombies_of(pid):
    z = []
    for c in children_of(pid):
        try:
            with open(f"/proc/{c}/stat") as f:
                s = f.read()
        except OSError:
            continue
        if s[s.rindex(")") + 2] == "Z":
            z.append(c)
    return z


@pid1
def test_hundred_orphans_leave_no_zombie_as_pid1(procs, tmp_path):
    env = fake_env(tmp_path, "orphans", "100", FAKE_LINGER="3", LOCUST_ECS_LOG_LEVEL="debug")
    p = procs.start([UNSHARE, "--pid", "--fork", "--mount-proc", ENTRY], env=env, name="sup")
    sup = supervisor_in_ns(p)
    wait_for(lambda: sum(1 for l in notes(tmp_path) if l.startswith("orphan")) == 100, 20,
             what="100 orphans to finish")
    # their parent was the supervisor (PID 1 inside), and it reaped every one
    assert all(l.endswith("ppid 1") for l in notes(tmp_path) if l.startswith("orphan"))
    wait_for(lambda: zombies_of(sup) == [], 5, what="every orphan reaped")
    assert p.wait(20) == 0
    reaped = [o for o in p.log() if o["event"] == "reap"]
    assert len(reaped) >= 100


def test_orphans_reparent_to_the_subreaper(procs, tmp_path):
    env = fake_env(tmp_path, "orphans", "20", FAKE_LINGER="2")
    p = procs.start([ENTRY], env=env, name="sup")
    wait_for(lambda: sum(1 for l in notes(tmp_path) if l.startswith("orphan")) == 20, 20,
             what="20 orphans")
    assert all(l.endswith(f"ppid {p.pid}") for l in notes(tmp_path) if l.startswith("orphan"))
    wait_for(lambda: zombies_of(p.pid) == [], 5, what="every orphan reaped")
    assert p.wait(20) == 0


@pytest.mark.parametrize("ns", [False, True])
def test_term_ignored_ends_in_sigkill_after_grace(procs, tmp_path, ns):
    if ns and not HAVE_PIDNS:
        pytest.skip("no PID namespaces")
    env = fake_env(tmp_path, "ignore-term", LOCUST_ECS_STOP_GRACE="1s")
    argv = [UNSHARE, "--pid", "--fork", "--mount-proc", ENTRY] if ns else [ENTRY]
    p = procs.start(argv, env=env, name="sup")
    wait_for(lambda: "ignoring TERM" in notes(tmp_path), 10, what="engine up")
    sup = supervisor_in_ns(p) if ns else p.pid
    t0 = time.monotonic()
    os.kill(sup, signal.SIGTERM)
    assert p.wait(15) == 128 + signal.SIGKILL
    assert time.monotonic() - t0 >= 0.9, "the grace was honoured"
    assert "engine.kill" in p.events()


def test_draining_grandchild_is_waited_for(procs, tmp_path):
    env = fake_env(tmp_path, "drain-term", "1.0")
    p = procs.start([ENTRY], env=env, name="sup")
    assert p.wait(15) == 0
    assert any(l.startswith("drained got TERM") for l in notes(tmp_path)), \
        "what the engine left was told the test is over"
    assert any(l.startswith("drained ") and "TERM" not in l for l in notes(tmp_path)), \
        "the supervisor waited for the grandchild to finish"


def test_draining_grandchild_killed_after_grace(procs, tmp_path):
    env = fake_env(tmp_path, "drain", "30", LOCUST_ECS_STOP_GRACE="1s")
    p = procs.start([ENTRY], env=env, name="sup")
    assert p.wait(15) == 0, "the engine's own status stays"
    assert not any(l.startswith("drained") for l in notes(tmp_path))
    assert children_of(p.pid) == []


@pytest.mark.parametrize("ns", [False, True])
def test_sigchld_storm_loses_no_exit(procs, tmp_path, ns):
    if ns and not HAVE_PIDNS:
        pytest.skip("no PID namespaces")
    env = fake_env(tmp_path, "storm", "300", FAKE_CODE="7", LOCUST_ECS_LOG_LEVEL="debug")
    argv = [UNSHARE, "--pid", "--fork", "--mount-proc", ENTRY] if ns else [ENTRY]
    p = procs.start(argv, env=env, name="sup")
    assert p.wait(30) == 7
    assert len([o for o in p.log() if o["event"] == "reap"]) == 300


def test_clean_stop_switch(procs, tmp_path):
    env = fake_env(tmp_path, "sleep", "30", LOCUST_ECS_CLEAN_STOP="true")
    p = procs.start([ENTRY], env=env, name="sup")
    wait_for(lambda: "sleeping" in notes(tmp_path), 10, what="engine up")
    p.signal(signal.SIGTERM)
    assert p.wait(10) == 0
    env = fake_env(tmp_path, "sleep", "30")
    p = procs.start([ENTRY], env=env, name="sup2")
    wait_for(lambda: notes(tmp_path).count("sleeping") == 2, 10, what="engine up")
    p.signal(signal.SIGTERM)
    assert p.wait(10) == 128 + signal.SIGTERM


def test_engine_gets_clean_fds_and_signal_state(tmp_path):
    r = run([ENTRY], fake_env(tmp_path, "inspect"))
    assert r.returncode == 0, r.stderr
    n = notes(tmp_path)
    fds = [l for l in n if l.startswith("fds ")][0]
    # 0-2, and the one Python opens to list the directory
    assert eval(fds[4:]) in ([0, 1, 2], [0, 1, 2, 3])
    sig = [l.split() for l in n if l.startswith("SigBlk")][0]
    assert int(sig[1], 16) == 0, "no signal blocked"
    # Python itself ignores SIGPIPE and SIGXFSZ at start-up; glibc keeps signals 32 and 33
    # for itself (no program can set them, so a parent's SIG_IGN there stays); nothing
    # else may be ignored
    allowed = (1 << (signal.SIGPIPE - 1)) | (1 << (signal.SIGXFSZ - 1)) | (1 << 31) | (1 << 32)
    assert int(sig[3], 16) & ~allowed == 0
    pg = [l for l in n if l.startswith("pgid ")][0].split()
    assert pg[1] == pg[3], "the engine leads its own process group"


def test_args_after_the_program_go_to_the_engine(tmp_path):
    env = fake_env(tmp_path, "exit", LOCUST_OPTS="--tags 'a b' -u 3")
    r = run([ENTRY, "--headless", "--csv", "x y"], env)
    assert r.returncode == 0
    argv = [l for l in notes(tmp_path) if l.startswith("argv ")][0]
    assert argv.endswith("--tags a b -u 3 --headless --csv x y")
