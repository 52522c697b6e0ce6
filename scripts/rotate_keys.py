#!/usr/bin/env python3
"""Rotates a running `make dev`'s signing key set now (`make rotate`), as Secrets Manager does on
the deployed stack's schedule: the rotation function (functions/rotate-keys, run by cargo lambda
watch like the routes) is invoked with the four steps, createSecret, setSecret, testSecret and
finishSecret, under one new version id. moto cannot run a rotation Lambda outside Docker, so
this script plays Secrets Manager's part; the function and the secrets are the real ones.

The functions pick the rotated set up when their copy is KEY_CACHE_SECONDS old (ten minutes
unless `make dev` was started with a shorter one). Reads DEV_STATE_DIR/stack.json, which
scripts/dev.sh writes while it runs.
"""
import json
import os
import pathlib
import sys
import urllib.error
import urllib.request
import uuid

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
# A step makes at most one RSA key and a few Secrets Manager calls.
STEP_TIMEOUT_SECONDS = 120


def stack(state_dir):
    path = pathlib.Path(state_dir) / "stack.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        sys.exit(f"no {path}: start `make dev` first (with the same DEV_STATE_DIR)")


def invoke(watch, function, payload):
    """One invocation through cargo lambda watch; raises on a function error."""
    request = urllib.request.Request(
        f"http://{watch}/2015-03-31/functions/{function}/invocations",
        data=json.dumps(payload).encode(), method="POST",
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=STEP_TIMEOUT_SECONDS) as response:
            text = response.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        raise RuntimeError(f"{payload['Step']}: HTTP {err.code}: {err.read()[:500]!r}") from None
    answer = json.loads(text) if text.strip() else None
    if isinstance(answer, dict) and "errorType" in answer:
        raise RuntimeError(f"{payload['Step']}: {answer.get('errorMessage', answer)}")
    return answer


def rotate(state_dir):
    """The four steps of one rotation; returns the new version id."""
    running = stack(state_dir)
    version = str(uuid.uuid4())
    for step in STEPS:
        invoke(running["watch"], "rotate-keys",
               {"Step": step, "SecretId": running["signing_keys_arn"],
                "ClientRequestToken": version})
    return version


def main():
    state_dir = os.environ.get("DEV_STATE_DIR") or ".dev"
    try:
        version = rotate(state_dir)
    except (RuntimeError, OSError) as err:
        sys.exit(f"[rotate] the rotation failed: {err}")
    print(f"[rotate] key set rotated (version {version}); the functions use it once their copy "
          "is KEY_CACHE_SECONDS old")


if __name__ == "__main__":
    main()
