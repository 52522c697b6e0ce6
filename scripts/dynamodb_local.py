#!/usr/bin/env python3
"""moto_server, with requests serialised: the local DynamoDB of `make dev` and the tests.

moto's TransactWriteItems is not safe under concurrent requests: a transaction that fails
its condition restores a snapshot of the table taken before it started, which can undo a
concurrent transaction that succeeded (two sign-ups of one e-mail would both get 201).
DynamoDB itself is serialisable; one lock around moto's application gives the same
guarantee locally. Keep-alive connections still work (the server stays threaded).

    dynamodb_local.py --port 8000 [--host 127.0.0.1] [--tls-cert server.crt --tls-key server.key]

With a certificate it serves HTTPS, for the test of which roots the SDK clients trust.
"""
import argparse
import os
import signal
import sys
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


class Serialised:
    """A WSGI wrapper that lets one request at a time into the application."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            # moto answers with in-memory bodies; materialise them inside the lock.
            return list(self.app(environ, start_response))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate chain")
    parser.add_argument("--tls-key", help="the certificate's PEM private key")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    tls = (args.tls_cert, args.tls_key) if args.tls_cert else None
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        Serialised(app),
        threaded=True,
        request_handler=MotoRequestHandler,
        ssl_context=tls,
    )


if __name__ == "__main__":
    main()
