#!/usr/bin/env python3
"""moto's DynamoDB (and Secrets Manager), served one request at a time over keep-alive
connections: the local AWS of `make dev`, the tests and the benchmark.

What moto_server does differently from AWS, fixed here:

- moto's TransactWriteItems is not safe under concurrent requests: a transaction that fails
  its condition restores a snapshot of the table taken before it started, which can undo a
  concurrent transaction that succeeded (two sign-ups of one e-mail would both get 201).
  DynamoDB itself is serialisable; one lock around moto's application gives the same
  guarantee locally.
- Werkzeug's development server closes the connection after every response. DynamoDB keeps
  connections open, and the functions rely on that (a pooled connection, a connection opened
  during init): this server speaks HTTP/1.1 keep-alive, one thread per connection.
- moto ignores TransactWriteItems' ClientRequestToken. DynamoDB answers a repeated token (same
  request, within 10 minutes) with the first call's success without writing again; a retry
  after a lost answer relies on that. Emulated here.

And one thing AWS does that moto never does on its own: cancel a transaction because another
one was writing the same item (TransactionConflict). A test arms it for its table:

    POST /_emulation/transaction-conflicts {"table": "...", "conflicts": 3}

cancels that table's next 3 transactions that way; the answer (also to {"table": "..."}
alone) is {"remaining": n}.

    GET /_emulation/sent-mail

lists what moto's SES sent: {"messages": [{"id", "from", "to", "subject", "body"}]}.

    dynamodb_local.py --port 8000 [--host 127.0.0.1] [--tls-cert server.crt --tls-key server.key]

With a certificate it serves HTTPS, for the tests of which roots the SDK clients trust.
"""
import argparse
import hashlib
import io
import json
import os
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

# Hop-by-hop headers: this server sets its own framing.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


TRANSACT_WRITE = "DynamoDB_20120810.TransactWriteItems"
IDEMPOTENCY_SECONDS = 600
JSON_HEADERS = [("Content-Type", "application/x-amz-json-1.0")]


class Serialised:
    """A WSGI wrapper that lets one request at a time into the application, and adds what
    moto lacks of TransactWriteItems (see the module's doc)."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.tokens = {}  # ClientRequestToken -> (request digest, when, status, headers, body)
        self.conflicts = {}  # table -> transactions still to cancel with TransactionConflict

    def __call__(self, environ, start_response):
        with self.lock:
            if environ["PATH_INFO"] == "/_emulation/transaction-conflicts":
                return self.arm(environ, start_response)
            if environ["PATH_INFO"] == "/_emulation/sent-mail":
                return self.sent_mail(start_response)
            if environ.get("HTTP_X_AMZ_TARGET") == TRANSACT_WRITE:
                return self.transact_write(environ, start_response)
            # moto answers with in-memory bodies; materialise them inside the lock.
            return list(self.app(environ, start_response))

    def arm(self, environ, start_response):
        request = json.loads(environ["wsgi.input"].read() or b"{}")
        table = request["table"]
        if "conflicts" in request:
            self.conflicts[table] = int(request["conflicts"])
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"remaining": self.conflicts.get(table, 0)}).encode()]

    def sent_mail(self, start_response):
        """Every message moto's SES accepted, oldest first: `make mail` and the tests read
        the codes there. moto keeps the HTML body when a message has one."""
        from moto.ses.models import ses_backends

        sent = []
        for regions in ses_backends.values():
            for backend in regions.values():
                for message in getattr(backend, "sent_messages", []):
                    sent.append({
                        "id": message.id,
                        "from": message.source,
                        "to": list(getattr(message, "destinations", {}).get("ToAddresses", [])),
                        "subject": getattr(message, "subject", ""),
                        "body": getattr(message, "body", ""),
                    })
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"messages": sent}).encode()]

    def transact_write(self, environ, start_response):
        body = environ["wsgi.input"].read()
        environ["wsgi.input"] = io.BytesIO(body)
        request = json.loads(body or b"{}")
        token = request.pop("ClientRequestToken", None)
        digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        now = time.monotonic()
        self.tokens = {
            t: seen for t, seen in self.tokens.items() if now - seen[1] < IDEMPOTENCY_SECONDS
        }
        if token in self.tokens:
            seen_digest, _, status, headers, payload = self.tokens[token]
            if seen_digest != digest:
                return self.error(
                    start_response,
                    "IdempotentParameterMismatchException",
                    "The request uses the same client token as a previous, but non-identical request.",
                )
            start_response(status, headers)
            return [payload]
        items = request.get("TransactItems", [])
        tables = {op.get("TableName") for item in items for op in item.values()}
        armed = [t for t in tables if self.conflicts.get(t, 0) > 0]
        if armed:
            self.conflicts[armed[0]] -= 1
            reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
            reasons += [{"Code": "None"}] * (len(items) - 1)
            return self.error(
                start_response,
                "TransactionCanceledException",
                "Transaction cancelled, please refer cancellation reasons for specific reasons "
                f"[{', '.join(r['Code'] for r in reasons)}]",
                CancellationReasons=reasons,
            )
        answer = {}

        def capture(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return lambda data: None

        payload = b"".join(self.app(environ, capture))
        if token and answer["status"].startswith("200"):
            self.tokens[token] = (digest, now, answer["status"], answer["headers"], payload)
        start_response(answer["status"], answer["headers"])
        return [payload]

    @staticmethod
    def error(start_response, kind, message, **extra):
        start_response("400 Bad Request", JSON_HEADERS)
        body = {"__type": f"com.amazonaws.dynamodb.v20120810#{kind}", "message": message, **extra}
        return [json.dumps(body).encode()]


def handler_for(app, tls):
    scheme = "https" if tls else "http"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body are two writes: with Nagle's algorithm on, the body waits for the
        # client's delayed ACK (40 ms) whenever the headers went out alone.
        disable_nagle_algorithm = True
        # Headers and body leave in separate writes; with Nagle's algorithm the body would
        # wait for the client's delayed ACK (40 ms) on a kept-alive connection.
        disable_nagle_algorithm = True

        def setup(self):
            # The TLS handshake in this connection's thread: done by the listening socket, it
            # would hold every other connection's handshake until it finished.
            if tls:
                self.request = tls.wrap_socket(self.request, server_side=True)
            super().setup()

        def serve(self):
            body = self.read_body()
            if body is None:
                return
            path, _, query = self.path.partition("?")
            environ = {
                "REQUEST_METHOD": self.command,
                "SCRIPT_NAME": "",
                "PATH_INFO": unquote(path, "latin-1"),
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "SERVER_NAME": self.server.server_address[0],
                "SERVER_PORT": str(self.server.server_address[1]),
                "SERVER_PROTOCOL": self.request_version,
                "REMOTE_ADDR": self.client_address[0],
                "wsgi.version": (1, 0),
                "wsgi.url_scheme": scheme,
                "wsgi.input": io.BytesIO(body),
                "wsgi.errors": sys.stderr,
                "wsgi.multithread": True,
                "wsgi.multiprocess": False,
                "wsgi.run_once": False,
            }
            for name, value in self.headers.items():
                key = "HTTP_" + name.upper().replace("-", "_")
                if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                    environ[key] = value
            answer = {}

            def start_response(status, headers, exc_info=None):
                answer["status"], answer["headers"] = status, headers
                return lambda data: None

            try:
                chunks = app(environ, start_response)
                payload = b"".join(chunks)
            except Exception as err:  # moto failing is a 500, as from AWS; keep serving
                print(f"dynamodb_local: {err!r}", file=sys.stderr)
                answer = {"status": "500 Internal Server Error", "headers": []}
                payload = b'{"__type":"InternalServerError","message":"moto failed"}'
            code, _, reason = answer["status"].partition(" ")
            self.send_response(int(code), reason)
            for name, value in answer["headers"]:
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def read_body(self):
            """The request body, de-chunked; None (after a 4xx) when it cannot be read."""
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                body = bytearray()
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return bytes(body)
                    body += self.rfile.read(size)
                    self.rfile.readline()
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self.send_error(400, "bad Content-Length")
                return None
            return self.rfile.read(length) if length > 0 else b""

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = serve

        def log_message(self, format, *args):  # one line per request is noise here
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate chain")
    parser.add_argument("--tls-key", help="the certificate's PEM private key")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = Serialised(DomainDispatcherApplication(create_backend_app))
    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    server = ThreadingHTTPServer((args.host, args.port), handler_for(app, tls))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
