"""Every fixture in events/ through `sam local invoke`, the way README's `make invoke` runs it:
the arm64 bootstraps of `sam build` in a Lambda container (aarch64 under qemu-user-static),
SAM CLI's Runtime Interface Emulator, the env-vars file `make dev` writes, the signing key
read from (moto's) Secrets Manager, DynamoDB and Redis reached through the Docker relay.

Nothing can be pulled here, so the container image is the stand-in that
scripts/lambda_base_image.py builds from Debian packages. Skips without a Docker engine or
aarch64 emulation unless REQUIRE_DOCKER=1 (.ci/run sets it): then it fails instead.
"""
import json
import os
import pathlib
import re
import subprocess
import time

import pytest

from conftest import ROOT, dev_stack

EVENTS = sorted(p.stem for p in (ROOT / "events").glob("*.json"))
TOKEN = "PASTE-A-TOKEN-FROM-SIGNUP-OR-SIGNIN"


def missing_prerequisite():
    try:
        subprocess.run(["docker", "info"], capture_output=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "no Docker engine answers `docker info`"
    binfmt = pathlib.Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
    if not binfmt.exists() or "enabled" not in binfmt.read_text():
        return "no aarch64 emulation (install qemu-user-static; mount binfmt_misc)"
    if not os.environ.get("SAM_BUILD_DIR"):
        return "SAM_BUILD_DIR is not set (make e2e sets it to sam build's output)"
    return None


@pytest.fixture(scope="module")
def invoke():
    reason = missing_prerequisite()
    if reason:
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail(f"sam local invoke suite required: {reason}")
        pytest.skip(f"sam local invoke suite skipped: {reason}")
    image = subprocess.run(
        ["python3", "scripts/lambda_base_image.py"], cwd=ROOT, check=True,
        capture_output=True, text=True,
    ).stdout.strip()
    with dev_stack(TABLE_NAME="sam-users") as api:
        env = dict(
            os.environ,
            DEV_STATE_DIR=str(api.state),
            API_PORT=api.base.rsplit(":", 1)[1],
            LAMBDA_IMAGE=image,
        )

        def run(function, event):
            """(status, parsed body or None, headers, seconds) of one `make invoke`."""
            started = time.monotonic()
            done = subprocess.run(
                ["scripts/invoke.sh", function, str(event)], cwd=ROOT, env=env,
                capture_output=True, text=True, timeout=300,
            )
            seconds = time.monotonic() - started
            assert done.returncode == 0, done.stderr[-4000:]
            # SAM CLI prints the function's answer as the last line of stdout.
            lines = done.stdout.strip().splitlines()
            assert lines, f"no answer from {function} with {event}:\n{done.stderr[-4000:]}"
            answer = json.loads(lines[-1])
            if "statusCode" not in answer:
                # Not an HTTP function (the mailer): its answer is the body.
                return None, answer, {}, seconds
            body = answer.get("body")
            return answer["statusCode"], (json.loads(body) if body else None), \
                answer.get("headers", {}), seconds

        run.api = api
        run.timings = {}
        yield run
        print("\nsam local invoke seconds per fixture:",
              json.dumps({k: round(v, 1) for k, v in run.timings.items()}))


def function_of(fixture):
    return fixture.split("-")[0]


# In this order: the sign-ups before the sign-ins, the wrong password before nothing else
# could lock the account. Every fixture of events/ must be here (test_every_fixture_is_run).
EXPECTED = [
    ("signup-wrong-content-type", 415, {"message": "Content-Type must be application/json", "errorCode": 4150}),
    ("signup-malformed-json", 400, {"message": "Request body must be a JSON object", "errorCode": 4002}),
    ("signup-missing-fields", 400, {"message": "Missing fields", "errorCode": 4000}),
    ("signup-invalid-fields", 400, {"message": "Invalid fields", "errorCode": 4001}),
    ("signup-contract-example", 400, {"message": "Invalid fields", "errorCode": 4001}),
    ("signup-base64", 201, "token"),
    ("signup", 409, {"message": "E-mail already exists", "errorCode": 4090}),
    ("signin-missing-fields", 400, {"message": "Missing fields", "errorCode": 4000}),
    ("signin-wrong-password", 401, {"message": "Invalid e-mail or password", "errorCode": 4010}),
    ("signin-unknown-email", 401, {"message": "Invalid e-mail or password", "errorCode": 4010}),
    ("signin", 200, "token"),
    ("me-no-token", 401, {"message": "Unauthorized", "errorCode": 4011}),
    ("me", 200, "profile"),
    ("validate-missing-token", 400, {"message": "Missing fields", "errorCode": 4000}),
    ("validate-not-a-token", 200, "inactive"),
    ("validate", 200, "active"),
    ("refresh-missing-token", 400, {"message": "Missing fields", "errorCode": 4000}),
    ("refresh-not-a-token", 401, {"message": "Unauthorized - invalid session", "errorCode": 4012}),
    ("refresh", 200, "token"),
    ("sessions", 200, "devices"),
    ("sessions-remove-unknown", 404, {"message": "Session not found", "errorCode": 4040}),
    ("signout", 204, None),
    ("signout-all", 204, None),
    ("discovery-jwks", 200, "jwks"),
    ("discovery-openid-configuration", 200, "discovery"),
    ("example-hello", 200, "hello"),
    ("example-no-authorizer", 401, {"message": "Unauthorized", "errorCode": 4011}),
    # The mailer in its container (outside any VPC when deployed) sends hello@world.com a
    # code through moto's SES; the email function takes it (the fixture's placeholder is
    # replaced by it, as a developer pastes it from `make mail`).
    ("mailer-stream", None, "mail"),
    ("email-verify", 200, "verified"),
    ("email-verify-wrong-code", 400, {"message": "Invalid or expired code", "errorCode": 4003}),
    ("email-verify-bad-code", 400, {"message": "Invalid fields", "errorCode": 4001}),
    ("email-resend", 202, "accepted"),
    # The account routes, with the claims make dev's front (playing the JWT authorizer) read
    # from a fresh token. A change is undone through the API at once, so the fixtures'
    # password stays the one events/signin.json sends.
    ("account-no-authorizer", 401, {"message": "Unauthorized", "errorCode": 4011}),
    ("account-change-wrong-current", 400, {"message": "Invalid fields", "errorCode": 4001}),
    ("account-change", 204, "changed"),
    ("account-delete-wrong-password", 400, {"message": "Invalid fields", "errorCode": 4001}),
    # Last: the reset ends hello@world.com's sessions. It sets the fixtures' own password
    # again, so events/signin.json still works after it (the code is the one the stack's
    # mailer sent for password-forgot, pasted as from `make mail`).
    ("password-forgot", 202, "accepted"),
    ("password-reset-weak", 400, {"message": "Invalid fields", "errorCode": 4001}),
    ("password-reset-wrong-code", 400, {"message": "Invalid or expired code", "errorCode": 4003}),
    ("password-reset", 204, "reset"),
    # Really last: hello@world.com is gone (make invoke's token helper signs it up again).
    ("account-delete", 204, "deleted"),
]


SIGNIN = {"email": "hello@world.com", "password": "correct horse battery staple"}
# events/account-change.json's new password.
CHANGED = "a brand new horse on a battery"


def reset_code(api, timeout=60):
    """The reset code (8 digits) the stack's mailer sent hello@world.com."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for message in reversed(api.sent_mail("hello@world.com")):
            codes = re.findall(r"\b\d{8}\b", message["body"])
            if codes:
                return codes[0]
        time.sleep(0.5)
    raise AssertionError("no reset code for hello@world.com:\n" + api.log()[-3000:])


def test_every_fixture_is_run():
    assert sorted(name for name, _, _ in EXPECTED) == EVENTS


def test_every_fixture_through_sam_local_invoke(invoke, tmp_path):
    for fixture, status, expected in EXPECTED:
        event = ROOT / "events" / f"{fixture}.json"
        if fixture == "email-verify":
            code = re.findall(r"\d{6,}", invoke.api.sent_mail("hello@world.com")[-1]["body"])[0]
            event = tmp_path / "email-verify.json"
            event.write_text((ROOT / "events" / "email-verify.json").read_text()
                             .replace("PASTE-THE-CODE-FROM-MAKE-MAIL", code))
        if fixture == "password-reset":
            # The mailer in its container sends the reset code, as mailer-stream did the
            # verification code (the request password-forgot queued, in the stream's shape).
            stream = json.loads((ROOT / "events" / "mailer-stream.json").read_text())
            stream["Records"][0]["dynamodb"]["NewImage"]["purpose"] = {"S": "reset"}
            reset_event = tmp_path / "mailer-stream-reset.json"
            reset_event.write_text(json.dumps(stream))
            assert invoke("mailer", reset_event)[1] == {"sent": 1, "skipped": 0, "failed": 0}
            code = reset_code(invoke.api)
            event = tmp_path / "password-reset.json"
            event.write_text((ROOT / "events" / "password-reset.json").read_text()
                             .replace("PASTE-THE-CODE-FROM-MAKE-MAIL", code))
            before = invoke.api.call("POST", "/signin", SIGNIN)[1]["token"]
        got_status, body, headers, seconds = invoke(function_of(fixture), event)
        invoke.timings[fixture] = seconds
        assert got_status == status, (fixture, body)
        if expected == "token":
            assert body["token_type"] == "Bearer" and body["token"].count(".") == 2, body
            assert body["refresh_token"].count(".") == 3 and body["refresh_expires_in"] > 0, body
            # Signed with the key set read from (moto's) Secrets Manager: the make dev
            # stack, which verifies against the same set's published keys, accepts it.
            me_status, me, _ = invoke.api.call(
                "GET", "/me", headers={"authorization": f"Bearer {body['token']}"}
            )
            assert (me_status, me["email"]) == (200, "hello@world.com"), fixture
        elif expected == "active":
            assert body["active"] is True and body["email"] == "hello@world.com", body
        elif expected == "devices":
            assert [s["current"] for s in body["sessions"]].count(True) == 1, body
        elif expected == "jwks":
            # The published half of the key set make dev stored, read from Secrets Manager.
            assert body == invoke.api.call("GET", "/.well-known/jwks.json")[1], body
            assert headers.get("cache-control") == "public, max-age=300", headers
        elif expected == "discovery":
            assert body["issuer"] == invoke.api.base, body
            assert body["jwks_uri"] == invoke.api.base + "/.well-known/jwks.json", body
        elif expected == "hello":
            assert body["claims"]["aud"] == "rust-auth-api" and body["message"] == "Hello, Hello!", body
        elif expected == "mail":
            assert body == {"sent": 1, "skipped": 0, "failed": 0}, body
        elif expected == "verified":
            assert body["email_verified"] is True, body
        elif expected == "accepted":
            assert set(body) == {"message"}, body
        elif expected == "inactive":
            assert body == {"active": False}, body
        elif expected == "profile":
            assert body["email"] == "hello@world.com" and "password" not in json.dumps(body)
        elif expected == "changed":
            assert body is None, body
            status, pair, _ = invoke.api.call("POST", "/signin", {**SIGNIN, "password": CHANGED})
            assert status == 200, pair
            back = {"current_password": CHANGED, "new_password": SIGNIN["password"]}
            status, _, _ = invoke.api.call("POST", "/password/change", back,
                                           headers={"authorization": f"Bearer {pair['token']}"})
            assert status == 204
        elif expected == "deleted":
            assert body is None, body
            status, refused, _ = invoke.api.call("POST", "/signin", SIGNIN)
            assert (status, refused["errorCode"]) == (401, 4010), refused
        elif expected == "reset":
            # Every session ended (in Redis, which the make dev stack shares), and the
            # password works.
            status, refused, _ = invoke.api.call("GET", "/me", headers={"authorization": f"Bearer {before}"})
            assert (status, refused["errorCode"]) == (401, 4012), refused
            assert invoke.api.call("POST", "/signin", SIGNIN)[0] == 200
            assert body is None and "content-type" not in {k.lower() for k in headers}
        elif expected is None:
            assert body is None and "content-type" not in {k.lower() for k in headers}
        else:
            assert {k: body[k] for k in ("message", "errorCode")} == expected, (fixture, body)
            assert headers.get("content-type") == "application/json", (fixture, headers)


def test_a_signed_out_token_is_refused_through_sam(invoke, tmp_path):
    """The token in a fixture is a fresh one per invocation; one signed out by the signout
    function (in its container) is then refused by the me function (in another)."""
    token = subprocess.run(
        ["python3", "scripts/dev_token.py", "--api", invoke.api.base], cwd=ROOT, check=True,
        capture_output=True, text=True,
    ).stdout.strip()
    for fixture in ("signout", "me"):
        event = tmp_path / f"{fixture}.json"
        event.write_text((ROOT / "events" / f"{fixture}.json").read_text().replace(TOKEN, token))
        status, body, _, _ = invoke(fixture, event)
    assert (status, body["errorCode"]) == (401, 4012)
