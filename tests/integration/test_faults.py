"""Faults: signals in every phase, lost processes, bad state directories, odd peers."""
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import (ENTRY, Dnsmasq, base_env, children_of, descendants_of, fake_env,
                      free_port, has_note, notes, start_master, wait_for, workers_of, zmq_router)

UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def test_sigterm_twice_is_forwarded_twice(procs, tmp_path):
    p = procs.start([ENTRY], env=fake_env(tmp_path, "count-term", "2"))
    wait_for(lambda: has_note(tmp_path, "engine up"), 10, what="engine")
    p.signal(signal.SIGTERM)
    wait_for(lambda: has_note(tmp_path, "1 to go"), 5, what="first TERM")
    assert p.poll() is None, "still stopping: the engine has not exited"
    p.signal(signal.SIGTERM)
    assert p.wait(10) == 0
    assert has_note(tmp_path, "0 to go")


def test_sigkill_of_the_engine(procs, tmp_path):
    p = procs.start([ENTRY], env=fake_env(tmp_path, "sleep", "60"))
    wait_for(lambda: has_note(tmp_path, "sleeping"), 10, what="engine")
    engine = children_of(p.pid)[0]
    os.kill(engine, signal.SIGKILL)
    assert p.wait(10) == 137


@pytest.mark.parametrize("ignores", [False, True])
def test_daemon_escaping_the_group_is_stopped(procs, tmp_path, ignores):
    env = fake_env(tmp_path, "daemon", LOCUST_ECS_STOP_GRACE="4s",
                   FAKE_DAEMON_IGNORES_TERM="1" if ignores else "0")
    p = procs.start([ENTRY], env=env)
    wait_for(lambda: has_note(tmp_path, "engine up") and has_note(tmp_path, "daemon "), 10,
             what="engine and daemon")
    daemon = int([l for l in notes(tmp_path) if l.startswith("daemon ")][0].split()[1])
    p.signal(signal.SIGTERM)
    t0 = time.monotonic()
    assert p.wait(15) == 0, "the engine's own status"
    took = time.monotonic() - t0
    assert not pid_alive(daemon), "no process left"
    if ignores:
        assert took >= 3.8, "the daemon got the grace before SIGKILL"
    else:
        assert has_note(tmp_path, "daemon got TERM") and took < 3.5


@pytest.mark.parametrize("ns", [False, True])
def test_thousand_children_exiting_at_once(procs, tmp_path, ns):
    if ns and subprocess.run([UNSHARE, "--pid", "--fork", "--mount-proc", "true"],
                             capture_output=True).returncode != 0:
        pytest.skip("no PID namespaces")
    env = fake_env(tmp_path, "storm", "1000", FAKE_CODE="9", LOCUST_ECS_LOG_LEVEL="debug")
    argv = [UNSHARE, "--pid", "--fork", "--mount-proc", ENTRY] if ns else [ENTRY]
    p = procs.start(argv, env=env)
    assert p.wait(60) == 9
    assert len([o for o in p.log() if o["event"] == "reap"]) == 1000


def test_sigterm_while_draining(procs, tmp_path):
    # the engine is gone, its grandchild is still at work: a stop reaches the grandchild
    p = procs.start([ENTRY], env=fake_env(tmp_path, "drain", "30", LOCUST_ECS_STOP_GRACE="10s"))
    wait_for(lambda: "engine.exit" in p.events(), 10, what="the engine's exit")
    t0 = time.monotonic()
    p.signal(signal.SIGTERM)
    assert p.wait(15) == 0
    assert time.monotonic() - t0 < 5, "the orphan got SIGTERM, not the grace"
    assert descendants_of(p.pid) == []


def test_sigterm_while_restarting(procs, tmp_path):
    port = free_port("127.0.0.2")
    ctx, s = zmq_router("127.0.0.2", port)
    env = fake_env(tmp_path, "count-term", "3", LOCUST_MODE="worker",
                   LOCUST_MASTER_HOST="127.0.0.2", LOCUST_MASTER_PORT=port,
                   LOCUST_ECS_ENGINES=1, LOCUST_ECS_RESTART_GRACE="20s")
    p = procs.start([ENTRY], env=env)
    wait_for(lambda: has_note(tmp_path, "engine up"), 10, what="engine")
    s.close(0)  # the master goes away: the supervisor restarts the engine
    ctx.term()
    wait_for(lambda: has_note(tmp_path, "2 to go"), 10, what="the restart's TERM")
    p.signal(signal.SIGTERM)
    wait_for(lambda: has_note(tmp_path, "1 to go"), 5, what="the stop's TERM")
    p.signal(signal.SIGTERM)
    assert p.wait(10) == 0
    assert "engine.restart" in p.events() and "stop" in p.events()


def test_sigterm_while_rejoining(procs, tmp_path, locustfile):
    port = free_port("127.0.0.2")
    env = base_env(tmp_path, LOCUST_MODE="worker", LOCUST_MASTER_HOST="127.0.0.2",
                   LOCUST_MASTER_PORT=port, LOCUSTFILE_PATH=locustfile, LOCUST_ECS_ENGINES=1)
    m = start_master(procs, locustfile, bind="127.0.0.2", port=port)
    w = procs.start([ENTRY], env=env, name="worker")
    wait_for(lambda: workers_of(m), 15, what="the worker at the master")
    m.signal(signal.SIGTERM)  # quit to every worker
    wait_for(lambda: "master.quit" in w.events(), 10, what="the quit")
    t0 = time.monotonic()
    w.signal(signal.SIGTERM)
    assert w.wait(5) == 0, "the engines had ended with 0; no engine ran when the stop came"
    assert time.monotonic() - t0 < 3


def test_state_dir_full_disk(procs, tmp_path):
    d = tmp_path / "small"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k,mode=0700", "tmpfs", str(d)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.decode().strip()}")
    try:
        with open(d / "filler", "wb") as f:
            try:
                f.write(b"x" * 65536)
            except OSError:
                pass
        p = procs.start([ENTRY], env=fake_env(tmp_path, "exit", "5",
                                              LOCUST_ECS_STATE_DIR=str(d / "state")))
        assert p.wait(10) == 5, "the load test is not stopped by a full disk"
        msgs = [o["msg"] for o in p.log() if o["event"] == "state"]
        assert msgs and "health check" in msgs[0]
    finally:
        subprocess.run(["umount", str(d)], capture_output=True)


@pytest.mark.parametrize("kind", ["missing-parent", "others-can-write", "a-file"])
def test_state_dir_unusable(procs, tmp_path, kind):
    if kind == "missing-parent":
        sd = tmp_path / "no" / "such" / "dir"
    elif kind == "others-can-write":
        sd = tmp_path / "open"
        sd.mkdir()
        sd.chmod(0o777)
    else:
        sd = tmp_path / "file"
        sd.write_text("x")
    p = procs.start([ENTRY], env=fake_env(tmp_path, "exit", "0", LOCUST_ECS_STATE_DIR=str(sd)))
    assert p.wait(10) == 0
    msgs = [o["msg"] for o in p.log() if o["event"] == "state"]
    assert msgs and str(sd) in msgs[0], p.stderr()
    if kind == "others-can-write":
        assert "writable by others" in msgs[0]
        assert not (sd / "state.json").exists()


def test_state_dir_missing_is_created_private(procs, tmp_path):
    sd = tmp_path / "fresh"
    p = procs.start([ENTRY], env=fake_env(tmp_path, "sleep", "30", LOCUST_ECS_STATE_DIR=str(sd)))
    wait_for(lambda: (sd / "state.json").exists(), 10, what="the state document")
    assert (sd.stat().st_mode & 0o777) == 0o700
    assert (sd / "state.json").stat().st_mode & 0o022 == 0, "not writable by others"
    p.signal(signal.SIGTERM)
    p.wait(10)


def test_master_that_accepts_and_never_speaks(procs, tmp_path):
    srv = socket.socket()
    srv.bind(("127.0.0.2", 0))
    srv.listen(16)
    port = srv.getsockname()[1]
    held, stop = [], threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                pass
    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        env = fake_env(tmp_path, "sleep", "30", LOCUST_MODE="worker",
                       LOCUST_MASTER_HOST="127.0.0.2", LOCUST_MASTER_PORT=port,
                       LOCUST_ECS_MASTER_WAIT="3s", LOCUST_ECS_PROBE_TIMEOUT="500ms")
        p = procs.start([ENTRY], env=env)
        assert p.wait(15) == 69
        un = [o["msg"] for o in p.log() if o["event"] == "master.unreachable"][0]
        assert "no ZMTP handshake" in un, un
        assert held, "it did connect"
        assert not has_note(tmp_path, "sleeping")
    finally:
        stop.set()
        t.join(2)
        for c in held:
            c.close()
        srv.close()


def test_dns_answer_with_hundreds_of_records(procs, tmp_path):
    # 300 A records (Cloud Map sends at most 8): the answer comes over TCP after a
    # truncated UDP one; the supervisor probes the first 16 it is given, in order
    d = Dnsmasq(procs, tmp_path)
    port = free_port()
    addrs = [f"127.0.{i // 250 + 1}.{i % 250 + 1}" for i in range(300)]
    d.set({"master.locust": addrs})
    ctx, s = zmq_router("*", port)  # every loopback address answers
    try:
        env = fake_env(tmp_path, "sleep", "30", LOCUST_MODE="worker",
                       LOCUST_MASTER_HOST="master.locust", LOCUST_MASTER_PORT=port,
                       LOCUST_ECS_DNS_SERVERS=d.servers, LOCUST_ECS_ENGINES=1)
        p = procs.start([ENTRY], env=env)
        wait_for(lambda: has_note(tmp_path, "sleeping") or p.poll() is not None, 20,
                 what="the engine, or the end")
        assert p.poll() is None, p.stderr()[-2000:]
        argv = [l for l in notes(tmp_path) if l.startswith("argv ")][0].split()
        assert argv[argv.index("--master-host") + 1] in addrs
    finally:
        s.close(0)
        ctx.term()


class RawHTTP:
    """A metadata endpoint that misbehaves below HTTP: endless headers, or a body cut off."""

    def __init__(self, mode):
        self.mode, self.stop = mode, threading.Event()
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.srv.settimeout(0.2)
        self.port = self.srv.getsockname()[1]
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        while not self.stop.is_set():
            try:
                c, _ = self.srv.accept()
            except OSError:
                continue
            threading.Thread(target=self.answer, args=(c,), daemon=True).start()

    def answer(self, c):
        try:
            c.recv(4096)
            if self.mode == "headers-forever":
                c.sendall(b"HTTP/1.1 200 OK\r\n")
                while not self.stop.is_set():
                    c.sendall(b"X-More: " + b"h" * 64 + b"\r\n")
                    time.sleep(0.005)
            else:
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 5000\r\n\r\n{\"Cluster\": \"half")
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.stop.set()
        self.t.join(2)
        self.srv.close()


@pytest.mark.parametrize("mode", ["headers-forever", "closed-mid-body"])
def test_metadata_endpoint_misbehaving_below_http(tmp_path, mode):
    srv = RawHTTP(mode)
    try:
        env = base_env(tmp_path, LOCUST_ECS_METADATA="on",
                       ECS_CONTAINER_METADATA_URI_V4=f"http://127.0.0.1:{srv.port}/v4/x",
                       LOCUSTFILE_PATH=str(tmp_path))
        t0 = time.monotonic()
        r = subprocess.run([ENTRY, "--print-config"], env=env, capture_output=True, timeout=30)
        took = time.monotonic() - t0
        assert r.returncode == 0, r.stderr
        assert took < 6, f"bounded ({took:.1f}s)"
        import json
        m = json.loads(r.stdout)["metadata"]
        assert m["read"] is False and m["warning"], m
        assert b"metadata" in r.stderr and f"127.0.0.1:{srv.port}".encode() in r.stderr
    finally:
        srv.close()
