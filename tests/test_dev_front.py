"""scripts/dev_front.py, the HTTP front of `make dev`, against stand-in upstreams: what it
sends cargo lambda (an API Gateway payload 2.0 event) and what it answers when the function's
process never answers or drops the connection (a reload)."""
import base64
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import ROOT, free_port


class Upstream(http.server.ThreadingHTTPServer):
    """cargo lambda's invoke endpoint, played by `behaviour`: "echo" answers with the event it
    got as the body, "silent" never answers, "drop" closes the connection."""

    daemon_threads = True

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.events = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                event = json.loads(self.rfile.read(int(self.headers["content-length"])))
                outer.events.append((self.path, event))
                if outer.behaviour == "silent":
                    time.sleep(30)
                    return
                if outer.behaviour == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                answer = json.dumps({
                    "statusCode": 418,
                    "headers": {"content-type": "application/json", "x-seen": "yes"},
                    "multiValueHeaders": {"x-many": ["a", "b"]},
                    "cookies": ["c=1; Secure"],
                    "body": base64.b64encode(b'{"ok": true}').decode(),
                    "isBase64Encoded": True,
                }).encode()
                self.send_response(200)
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def front(request):
    upstream = Upstream(request.param)
    port = free_port()
    env = dict(os.environ, DEV_FRONT_TIMEOUT_SECONDS="2")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts/dev_front.py"), "--port", str(port),
         "--upstream", f"127.0.0.1:{upstream.server_address[1]}"], env=env,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
        except urllib.error.HTTPError:
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", upstream
    process.terminate()
    process.wait(timeout=10)
    upstream.shutdown()


def call(url, method="POST", body=None, headers=None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


@pytest.mark.parametrize("front", ["echo"], indirect=True)
def test_requests_become_api_gateway_events_and_answers_http(front):
    base, upstream = front
    status, headers, body = call(
        f"{base}/signout?scope=all&x=1&x=2", body=b'{"a": 1}',
        headers={"content-type": "application/json", "Cookie": "k=v; l=w", "X-Dup": "1"},
    )
    assert (status, body) == (418, b'{"ok": true}')
    assert headers["x-seen"] == "yes" and headers.get_all("x-many") == ["a", "b"]
    assert headers.get_all("set-cookie") == ["c=1; Secure"]
    path, event = upstream.events[-1]
    assert path == "/2015-03-31/functions/signout/invocations"
    assert event["version"] == "2.0" and event["routeKey"] == "POST /signout"
    assert event["rawPath"] == "/signout" and event["rawQueryString"] == "scope=all&x=1&x=2"
    assert event["queryStringParameters"] == {"scope": "all", "x": "1,2"}
    assert event["cookies"] == ["k=v", "l=w"] and "cookie" not in event["headers"]
    assert event["headers"]["x-dup"] == "1"
    assert (event["body"], event["isBase64Encoded"]) == ('{"a": 1}', False)
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["http"]["method"] == "POST"


@pytest.mark.parametrize("front", ["echo"], indirect=True)
def test_bodies_that_are_not_utf8_text_reach_the_function_base64_encoded(front):
    base, upstream = front
    for body, content_type in [(b'{"e": "\xff\xfe"}', "application/json"),
                               (b"\x00\x01binary", "application/octet-stream"),
                               (b"\xc3\x28", None)]:
        call(f"{base}/signup", body=body,
             headers={"content-type": content_type} if content_type else {})
        event = upstream.events[-1][1]
        assert event["isBase64Encoded"] is True, content_type
        assert base64.b64decode(event["body"]) == body


@pytest.mark.parametrize("front", ["echo"], indirect=True)
def test_what_api_gateway_answers_itself(front):
    base, upstream = front
    for method, path in [("GET", "/signup"), ("POST", "/nowhere"), ("TRACE", "/me"),
                         ("PUT", "/me"), ("DELETE", "/signup")]:
        status, headers, body = call(f"{base}{path}", method=method)
        assert (status, json.loads(body)) == (404, {"message": "Not Found"}), (method, path)
        assert headers["content-type"] == "application/json"
    assert upstream.events == []


@pytest.mark.parametrize("front", ["silent", "drop"], indirect=True)
def test_a_function_that_never_answers_gets_a_503_not_a_hang(front):
    base, upstream = front
    started = time.monotonic()
    status, headers, body = call(f"{base}/me", method="GET")
    assert (status, json.loads(body)) == (503, {"message": "Service Unavailable"})
    assert time.monotonic() - started < 10  # the 2 s timeout given, not the client's 20 s
    assert len(upstream.events) == 1


def test_the_routes_behind_the_jwt_authorizer_are_read_from_the_template():
    sys.path.insert(0, str(ROOT / "scripts"))
    from dev_front import authorized_routes, routes, stringify

    assert authorized_routes() == {("GET", "/hello"): "example",
                                   ("POST", "/password/change"): "account",
                                   ("DELETE", "/me"): "account"}
    assert not set(authorized_routes()) & set(routes()), "cargo lambda's router has none of them"
    # Claims reach the function as API Gateway passes them: strings only.
    assert [stringify(v) for v in (1795400900, "a", True, ["x", "y"])] == \
        ["1795400900", "a", "true", "[x y]"]


@pytest.mark.parametrize("front", ["echo"], indirect=True)
def test_a_protected_route_without_a_usable_token_never_reaches_its_function(front):
    base, upstream = front
    for headers in ({}, {"authorization": "Bearer "}, {"authorization": "Bearer not.a.jwt"},
                    {"authorization": "Basic dXNlcjpwYXNz"}):
        status, answer, body = call(f"{base}/hello", method="GET", headers=headers)
        assert (status, json.loads(body)) == (401, {"message": "Unauthorized"}), headers
        assert answer["www-authenticate"].startswith('Bearer scope="" error="invalid_token"')
    assert upstream.events == []
