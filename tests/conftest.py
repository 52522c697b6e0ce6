"""Fixtures for the end-to-end tests: `make dev`'s own stack (scripts/dev.sh: moto_server,
the table, cargo lambda watch running the compiled functions) on free loopback ports."""
import contextlib
import json
import os
import re
import pathlib
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, base, log_path, secret, redis_port=None, dynamodb_port=None):
        self.base = base
        self.dynamodb_port = dynamodb_port
        self.log_path = log_path
        self.secret = secret
        self.redis_port = redis_port
        self.state = log_path.parent  # DEV_STATE_DIR: logs, sam-env.json

    def sent_mail(self, to):
        """What moto's SES sent to `to`, oldest first (what `make mail` prints)."""
        url = f"http://127.0.0.1:{self.dynamodb_port}/_emulation/sent-mail"
        with urllib.request.urlopen(url, timeout=10) as response:
            messages = json.load(response)["messages"]
        return [m for m in messages if to in m["to"]]

    def code_for(self, to, after=0, timeout=30):
        """The code of the first message to `to` beyond the `after` already read, once the
        stream has carried its request to the mailer."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            sent = self.sent_mail(to)
            if len(sent) > after:
                return re.findall(r"\d{6,}", sent[after]["body"])[0]
            time.sleep(0.2)
        raise AssertionError(f"no message to {to} within {timeout} s:\n" + self.log()[-3000:])

    def log(self):
        return self.log_path.read_text()

    def flush_redis(self):
        """FLUSHALL on the stack's redis-server: every key gone, as after a failover."""
        with socket.create_connection(("127.0.0.1", self.redis_port), timeout=5) as s:
            s.sendall(b"*1\r\n$8\r\nFLUSHALL\r\n")
            assert s.recv(5) == b"+OK\r\n"

    def call(self, method, path, body=None, headers=None, raw=None):
        """Returns (status, parsed JSON body or None, headers)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("content-type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, text, hdrs = response.status, response.read(), response.headers
        except urllib.error.HTTPError as err:
            status, text, hdrs = err.code, err.read(), err.headers
        return status, (json.loads(text) if text else None), hdrs


@contextlib.contextmanager
def dev_stack(**overrides):
    """Runs scripts/dev.sh on free ports with `overrides` in its environment until the block ends."""
    state = tempfile.mkdtemp(prefix="auth-e2e-")
    port = free_port()
    env = dict(
        os.environ,
        API_PORT=str(port),
        DYNAMODB_PORT=str(free_port()),
        REDIS_PORT=str(free_port()),
        DEV_STATE_DIR=state,
        TABLE_NAME="e2e-users",
        REFRESH_SECRET="e2e-refresh-secret-that-is-long-enough-for-hmac",
    )
    env.update(overrides)
    log_path = pathlib.Path(state) / "dev.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [str(ROOT / "scripts/dev.sh")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.time() + 600
    try:
        while "ready:" not in log_path.read_text():
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("dev stack did not start:\n" + log_path.read_text()[-4000:])
            time.sleep(0.5)
        yield Api(f"http://127.0.0.1:{port}", log_path, env["REFRESH_SECRET"], int(env["REDIS_PORT"]),
                  int(env["DYNAMODB_PORT"]))
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="session")
def api():
    """`make dev`'s stack with its default settings."""
    with dev_stack() as api:
        yield api
