#!/usr/bin/env python3
"""`make mail`: the latest messages moto's SES sent in a running `make dev` (newest last),
so the codes of a local sign-up, resend or reset are readable.

    mail.py [--port 8000] [--to ADDRESS] [--last 5]
"""
import argparse
import html
import json
import os
import re
import sys
import urllib.request


def messages(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulation/sent-mail", timeout=10) as r:
        return json.load(r)["messages"]


def text(body):
    """moto keeps the HTML body: shown as text."""
    return html.unescape(re.sub(r"<[^>]+>", " ", body)).replace("  ", " ").strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("DYNAMODB_PORT", 8000)))
    parser.add_argument("--to", help="only messages to this address")
    parser.add_argument("--last", type=int, default=5)
    args = parser.parse_args()
    try:
        sent = messages(args.port)
    except OSError as err:
        sys.exit(f"no `make dev` answers on 127.0.0.1:{args.port} ({err})")
    if args.to:
        sent = [m for m in sent if args.to.lower() in (t.lower() for t in m["to"])]
    if not sent:
        print("no messages yet")
    for message in sent[-args.last:]:
        print(f"To: {', '.join(message['to'])}\nFrom: {message['from']}\n"
              f"Subject: {message['subject']}\n\n{text(message['body'])}\n")


if __name__ == "__main__":
    main()
