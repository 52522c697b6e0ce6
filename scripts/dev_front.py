#!/usr/bin/env python3
"""`make dev`'s HTTP front on 127.0.0.1:9000: what API Gateway's HTTP API does in front of the
functions, in front of `cargo lambda watch`.

Each request becomes an API Gateway payload 2.0 event, routed by the table in Cargo.toml
(`[workspace.metadata.lambda.watch.router]`), and goes to cargo lambda's invoke endpoint;
the function's answer becomes the HTTP response. Why not cargo lambda's own HTTP endpoint:

- a body that is not UTF-8 text: cargo lambda answers 500 text/plain before any function
  runs; API Gateway hands it to the function base64-encoded, and so does this front, so the
  answer is the function's own (400 for a JSON body that is not UTF-8);
- a request in flight while `cargo lambda watch` restarts the functions (a code change) can
  be lost with the process that held it; here every request gets an answer within
  API Gateway's own limit of 30 s: the function's, or 503 `{"message": "Service Unavailable"}`.

What API Gateway answers itself is answered here the same way: 404 `{"message": "Not Found"}`
for a route that is not in the table, 413 for a body over 10 MB. The routes template.yaml puts
behind its JWT authorizer (`GET /hello`) get that authorizer's checks here (`Authorizer`):
401 `{"message": "Unauthorized"}` with a `www-authenticate` header saying why, or the token's
claims passed to the function as API Gateway passes them.

    dev_front.py --port 9000 --upstream 127.0.0.1:9001
"""
import argparse
import base64
import datetime
import http.client
import http.server
import json
import os
import pathlib
import socket
import sys
import tomllib
import urllib.parse
import urllib.request
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
# API Gateway's integration timeout for HTTP APIs (DEV_FRONT_TIMEOUT_SECONDS for tests), and
# its payload limit.
UPSTREAM_TIMEOUT_SECONDS = float(os.environ.get("DEV_FRONT_TIMEOUT_SECONDS") or 30)
MAX_BODY = 10 * 1024 * 1024
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


def routes():
    """{(method, path): function} from Cargo.toml's cargo-lambda router."""
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())
    router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
    return {
        (entry["method"].upper(), path): entry["function"]
        for path, entries in router.items()
        for entry in entries
    }


def authorized_routes(template=None):
    """{(method, path): function} of the routes template.yaml puts behind its JWT authorizer
    (`AWS::ApiGatewayV2::Route`s with `AuthorizationType: JWT`, each targeting an integration of
    one function): Cargo.toml's router has no way to say a route needs a token."""
    if template is None:
        sys.path.insert(0, str(ROOT / "scripts"))
        from create_table import load_template

        template = load_template()
    resources = template["Resources"]
    table = {}
    for resource in resources.values():
        properties = resource["Properties"]
        if resource["Type"] != "AWS::ApiGatewayV2::Route" or properties.get("AuthorizationType") != "JWT":
            continue
        method, path = properties["RouteKey"].split(" ", 1)
        integration = properties["Target"]["Sub"].split("${", 1)[1].rstrip("}")
        function = resources[integration]["Properties"]["IntegrationUri"]["GetAtt"].split(".")[0]
        table[(method.upper(), path)] = resources[function]["Metadata"]["BuildProperties"]["Binary"]
    return table


class Refused(Exception):
    """A token the authorizer does not let through; the message is its error_description."""


class Authorizer:
    """What template.yaml's `TokenAuthorizer` (an HTTP API JWT authorizer) does before a
    protected route's function runs: the token from the Authorization header (`Bearer ` or
    not), its key by `kid` from the API's own JWKS (found through its openid-configuration, as
    API Gateway finds it from the issuer; cached, and read again for an unknown kid), RS256,
    `iss` the issuer and `aud` the audience, `exp`, `nbf` and `iat` checked. The claims go to
    the function as strings, as API Gateway passes them."""

    def __init__(self, base, issuer, audience):
        self.base, self.issuer, self.audience = base, issuer, audience
        self.keys = None

    def jwks(self):
        if self.keys is None:
            import jwt

            with urllib.request.urlopen(f"{self.base}/.well-known/openid-configuration",
                                        timeout=10) as response:
                jwks_uri = json.load(response)["jwks_uri"]
            # The JWKS at this front, wherever the issuer says it is (a custom TOKEN_ISSUER).
            path = urllib.parse.urlsplit(jwks_uri).path
            self.keys = jwt.PyJWKClient(self.base + path, cache_keys=True, lifespan=300)
        return self.keys

    def claims(self, authorization):
        import jwt

        token = (authorization or "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            raise Refused("no token in the Authorization header")
        try:
            jwt.get_unverified_header(token)  # not a JWT at all: no need for the keys
            key = self.jwks().get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token, key.key, algorithms=["RS256"], audience=self.audience, issuer=self.issuer,
                options={"require": ["exp"]},
            )
        except (jwt.PyJWTError, OSError, ValueError, KeyError) as err:
            raise Refused(str(err) or type(err).__name__) from None
        return {name: stringify(value) for name, value in claims.items()}


def stringify(value):
    """A claim as API Gateway passes it: numbers as their digits, lists as `[a b]`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(stringify(item) for item in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def route(table, method, path):
    """(function, route key, path parameters) of the route `method path` takes, as API Gateway
    matches it (`{name}` matches one non-empty segment), or None."""
    for (routed, template), function in table.items():
        if routed != method:
            continue
        parts, segments = template.split("/"), path.split("/")
        if len(parts) != len(segments):
            continue
        parameters = {}
        for part, segment in zip(parts, segments):
            if part.startswith("{") and part.endswith("}") and segment:
                parameters[part[1:-1]] = urllib.parse.unquote(segment)
            elif part != segment:
                break
        else:
            return function, f"{method} {template}", parameters
    return None


def event(method, target, headers, body, client_ip, host, request_id, route_key=None,
          path_parameters=None, claims=None):
    """The API Gateway HTTP API (payload 2.0) event for one request."""
    url = urllib.parse.urlsplit(target)
    merged = {}
    for name, value in headers.items():
        name = name.lower()
        merged[name] = f"{merged[name]},{value}" if name in merged else value
    cookies = merged.pop("cookie", None)
    merged.update({"x-forwarded-for": client_ip, "x-forwarded-proto": "http",
                   "x-forwarded-port": host.rsplit(":", 1)[-1]})
    query = {}
    for name, value in urllib.parse.parse_qsl(url.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    content_type = merged.get("content-type", "")
    text = content_type == "" or content_type.lower().startswith(TEXT_TYPES)
    try:
        decoded = body.decode("utf-8") if text else None
    except UnicodeDecodeError:
        decoded = None
    now = datetime.datetime.now(datetime.timezone.utc)
    route_key = route_key or f"{method} {url.path}"
    result = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": url.path,
        "rawQueryString": url.query,
        "headers": merged,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {"method": method, "path": url.path, "protocol": "HTTP/1.1",
                     "sourceIp": client_ip, "userAgent": merged.get("user-agent", "")},
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": bool(body) and decoded is None,
    }
    if claims is not None:
        result["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    if cookies:
        result["cookies"] = [c.strip() for c in cookies.split(";")]
    if query:
        result["queryStringParameters"] = query
    if path_parameters:
        result["pathParameters"] = path_parameters
    if body:
        result["body"] = decoded if decoded is not None else base64.b64encode(body).decode()
    return result


class Front(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm on, the body waits for the
    # client's delayed ACK of the headers, and about one answer in three took 40 ms more.
    disable_nagle_algorithm = True
    table = {}
    # The route keys behind the JWT authorizer, and it.
    protected = set()
    authorizer = None
    upstream = ("127.0.0.1", 9001)

    def log_message(self, *args):  # one line per request is noise in make dev's terminal
        pass

    def send_response(self, code, message=None):
        # As API Gateway: a date and a request id, no server banner.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("date", self.date_time_string())
        self.send_header("apigw-requestid", self.request_id)

    def answer(self, status, body=b"", headers=(), cookies=()):
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        for cookie in cookies:
            self.send_header("set-cookie", cookie)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def gateway_error(self, status, message):
        body = json.dumps({"message": message}, separators=(",", ":")).encode()
        self.answer(status, body, [("content-type", "application/json")])

    def unauthorized(self, description):
        body = json.dumps({"message": "Unauthorized"}, separators=(",", ":")).encode()
        description = description.replace('"', "'")
        challenge = f'Bearer scope="" error="invalid_token" error_description="{description}"'
        self.answer(401, body, [("content-type", "application/json"),
                                ("www-authenticate", challenge)])

    def read_body(self):
        """The body, or None when it is over API Gateway's limit (the connection then closes)."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            chunks, size = [], 0
            while True:
                length = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                size += length
                if size > MAX_BODY:
                    self.close_connection = True
                    return None
                chunks.append(self.rfile.read(length))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length > 0 else b""

    def handle_any(self):
        self.request_id = uuid.uuid4().hex[:16]
        try:
            body = self.read_body()
        except ValueError:
            self.close_connection = True
            return self.gateway_error(400, "Bad Request")
        if body is None:
            return self.gateway_error(413, "Request Entity Too Large")
        path = urllib.parse.urlsplit(self.path).path
        routed = route(self.table, self.command, path)
        if routed is None:
            return self.gateway_error(404, "Not Found")
        function, route_key, parameters = routed
        claims = None
        if route_key in self.protected:
            try:
                claims = self.authorizer.claims(self.headers.get("authorization"))
            except Refused as refused:
                return self.unauthorized(str(refused))
        host = self.headers.get("host") or "127.0.0.1"
        payload = json.dumps(
            event(self.command, self.path, self.headers, body, self.client_address[0], host,
                  self.request_id, route_key, parameters, claims)
        ).encode()
        try:
            status, text = self.invoke(function, payload)
        except (OSError, http.client.HTTPException) as err:
            # Timed out, or the connection was lost while the functions were restarted.
            print(f"[front] {self.command} {path}: no answer from {function} ({err})",
                  file=sys.stderr, flush=True)
            return self.gateway_error(503, "Service Unavailable")
        try:
            if status != 200:
                raise ValueError(f"invoke status {status}")
            response = json.loads(text)
            answer = response.get("body") or ""
            answer = (base64.b64decode(answer) if response.get("isBase64Encoded")
                      else answer.encode())
            headers = list((response.get("headers") or {}).items())
            for name, values in (response.get("multiValueHeaders") or {}).items():
                headers += [(name, value) for value in values]
            self.answer(int(response["statusCode"]), answer, headers, response.get("cookies") or ())
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            # What API Gateway answers when the function fails or answers garbage.
            print(f"[front] {self.command} {path}: {function} failed ({err}): {text[:500]!r}",
                  file=sys.stderr, flush=True)
            self.gateway_error(500, "Internal Server Error")

    def invoke(self, function, payload):
        """POSTs the event to cargo lambda watch in one write: sent as http.client sends it,
        headers then body, about one invocation in three waited 40 ms for the body."""
        if isinstance(payload, str):
            payload = payload.encode()
        host, port = self.upstream
        head = (
            f"POST /2015-03-31/functions/{function}/invocations HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection((host, int(port)), timeout=UPSTREAM_TIMEOUT_SECONDS) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(head + payload)
            response = http.client.HTTPResponse(sock)
            try:
                response.begin()
                return response.status, response.read()
            finally:
                response.close()

    def __getattr__(self, name):
        # Every method (TRACE, PROPFIND…) is routed, and answered 404 when no route has it.
        if name.startswith("do_"):
            return self.handle_any
        raise AttributeError(name)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # A burst of clients at once (64 parallel refreshes) is queued, not reset, as API Gateway
    # would take them; socketserver's default backlog is 5.
    request_queue_size = 256


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="cargo lambda watch's HOST:PORT")
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    protected = authorized_routes()
    Front.table = {**routes(), **protected}
    Front.protected = {f"{method} {path}" for method, path in protected}
    Front.upstream = (host, int(port))
    base = f"http://127.0.0.1:{args.port}"
    Front.authorizer = Authorizer(base, os.environ.get("TOKEN_ISSUER") or base,
                                  os.environ.get("TOKEN_AUDIENCE") or "rust-auth-api")
    server = Server(("127.0.0.1", args.port), Front)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
