"""`make dev` stops everything it started, promptly, however it is stopped: Ctrl-C (SIGINT to
the terminal's foreground group), a supervisor or an IDE (SIGTERM to make alone, SIGKILL two
seconds later), a closed terminal (SIGHUP to the foreground group, from the shell), and make
itself killed outright."""
import os
import pathlib
import signal
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import ROOT, free_port


def marked(marker, redis_port):
    """Pids of everything `make dev` started: the processes whose environment carries `marker`,
    and the redis-server on `redis_port` (it writes its title over its environment)."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[-1].split()[0] == "Z":
            continue  # a zombie holds nothing; its parent will reap it
        ours = f"DEV_STACK_MARKER={marker}".encode() in environ.split(b"\0")
        redis = cmdline.startswith(b"redis-server") and f"127.0.0.1:{redis_port}".encode() in cmdline
        if ours or redis:
            found.append(int(entry.name))
    return found


def default_signals():
    for signum in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


def listening(port):
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


HOW = ["SIGINT to the group", "SIGTERM to make", "SIGHUP to the group", "SIGKILL to make"]


@pytest.mark.parametrize("how", HOW)
def test_make_dev_stops_everything_it_started(how):
    marker = uuid.uuid4().hex
    state = tempfile.mkdtemp(prefix="auth-signals-")
    ports = {"API_PORT": free_port(), "DYNAMODB_PORT": free_port(), "REDIS_PORT": free_port()}
    env = dict(os.environ, DEV_STATE_DIR=state, DEV_STACK_MARKER=marker,
               REFRESH_SECRET="signals-refresh-secret-that-is-long-enough",
               **{k: str(v) for k, v in ports.items()})
    log_path = pathlib.Path(state) / "make-dev.log"
    with open(log_path, "w") as log:
        # As from a terminal: whoever runs the tests may ignore SIGHUP or SIGINT (nohup, a
        # background job), and ignored signals stay ignored across exec.
        make = subprocess.Popen(["make", "--no-print-directory", "dev"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=default_signals)
    try:
        deadline = time.time() + 600
        while "ready:" not in log_path.read_text():
            assert make.poll() is None and time.time() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.5)
        alive = lambda: marked(marker, ports["REDIS_PORT"])  # noqa: E731
        started = alive()
        # make, the script, moto, redis-server, cargo lambda watch and the functions.
        assert len(started) >= 5, started

        if how == "SIGINT to the group":
            os.killpg(make.pid, signal.SIGINT)
        elif how == "SIGTERM to make":
            os.kill(make.pid, signal.SIGTERM)
        elif how == "SIGHUP to the group":
            os.killpg(make.pid, signal.SIGHUP)
        else:  # make gets no chance to pass anything on: the script notices it is gone
            os.kill(make.pid, signal.SIGKILL)
        stopping = time.time()
        while alive() and time.time() - stopping < 5:
            time.sleep(0.1)
        took = time.time() - stopping
        left = alive()
        assert not left, f"still running {took:.1f} s after {how}: {left}\n" + log_path.read_text()[-2000:]
        for name, port in ports.items():
            assert not listening(port), f"{name} {port} still served"
        assert took < 2, f"stopping took {took:.1f} s: a supervisor would SIGKILL before that"
    finally:
        for pid in marked(marker, ports["REDIS_PORT"]):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
