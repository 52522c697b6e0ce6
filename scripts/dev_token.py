#!/usr/bin/env python3
"""Prints an access token for the fixtures' user (events/signup.json), from a running
`make dev`: signs the user up if needed, then signs in with events/signin.json. What
`make invoke` puts in the fixtures that say PASTE-A-TOKEN-FROM-SIGNUP-OR-SIGNIN (with
--refresh: the refresh token, for PASTE-A-REFRESH-TOKEN-FROM-SIGNUP-OR-SIGNIN).

    dev_token.py [--api http://127.0.0.1:9000] [--refresh]
"""
import argparse
import json
import pathlib
import sys
import urllib.error
import urllib.request

EVENTS = pathlib.Path(__file__).resolve().parent.parent / "events"


def post(api, path, body):
    request = urllib.request.Request(
        api + path, data=body.encode(), method="POST",
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")
    except OSError as err:
        sys.exit(f"{api} does not answer ({err}): is make dev running?")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", default="http://127.0.0.1:9000")
    parser.add_argument("--refresh", action="store_true", help="print the refresh token")
    args = parser.parse_args()
    fixture = lambda name: json.loads((EVENTS / name).read_text())["body"]
    status, body = post(args.api, "/signup", fixture("signup.json"))
    if status not in (201, 409):
        sys.exit(f"POST /signup answered {status}: {body}")
    status, body = post(args.api, "/signin", fixture("signin.json"))
    if status != 200:
        sys.exit(f"POST /signin answered {status}: {body}")
    print(body["refresh_token" if args.refresh else "token"])


if __name__ == "__main__":
    main()
