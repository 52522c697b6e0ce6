"""The e-mail flows end to end through `make dev`'s stack: sign-up's request travels the
table's stream (scripts/dev_mailer.py playing the event source mapping) to the mailer, which
sends the code through moto's SES; `make mail` shows it; /email/verify takes it once; resends
and forgotten passwords answer alike for any address; a reset code sets a new password and
ends every session; REQUIRE_VERIFIED_EMAIL makes sign-in wait for a verified address."""
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import time
import uuid

import pytest

from conftest import ROOT, dev_stack

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def api():
    """A stack of this module's own: the session's shared one goes through the reloads other
    modules cause (tests/test_dev_reload.py rewrites a source file), during which cargo lambda
    watch may swallow the stream follower's invocation until it times out."""
    with dev_stack(TABLE_NAME="e2e-email") as stack:
        yield stack


def sign_up(api, email=None):
    user = {"firstName": "Mail", "lastName": "Tester", "phones": [], "password": PASSWORD,
            "email": email or f"m-{uuid.uuid4().hex}@example.com"}
    status, pair, _ = api.call("POST", "/signup", user)
    assert status == 201, pair
    return user, pair


def test_the_mailed_code_verifies_the_address_once(api):
    user, pair = sign_up(api)
    bearer = {"Authorization": "Bearer " + pair["token"]}
    assert api.call("GET", "/me", headers=bearer)[1]["email_verified"] is False
    code = api.code_for(user["email"])
    # `make mail` prints it too.
    printed = subprocess.run(
        [sys.executable, "scripts/mail.py", "--port", str(api.dynamodb_port), "--to", user["email"]],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert code in printed and "Subject: Your verification code" in printed, printed

    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    status, body, _ = api.call("POST", "/email/verify", {"email": user["email"], "code": wrong})
    assert (status, body["errorCode"]) == (400, 4003), body
    status, body, _ = api.call("POST", "/email/verify", {"email": user["email"], "code": code})
    assert status == 200 and body["email_verified"] is True, body
    profile = api.call("GET", "/me", headers=bearer)[1]
    assert profile["email_verified"] is True
    assert profile["email_verified_at"] == body["email_verified_at"]
    status, body, _ = api.call("POST", "/email/verify", {"email": user["email"], "code": code})
    assert (status, body) == (400, {"message": "Invalid or expired code", "errorCode": 4003})


def test_a_resend_replaces_the_code_and_kills_the_first(api):
    user, _ = sign_up(api)
    first = api.code_for(user["email"])
    status, body, _ = api.call("POST", "/email/verify/resend", {"email": user["email"]})
    assert status == 202, body
    second = api.code_for(user["email"], after=1)
    if second != first:
        status, _, _ = api.call("POST", "/email/verify", {"email": user["email"], "code": first})
        assert status == 400
    status, _, _ = api.call("POST", "/email/verify", {"email": user["email"], "code": second})
    assert status == 200


def mail_follower(api):
    """The pid of this stack's stream follower (scripts/dev_mailer.py)."""
    wanted = ["scripts/dev_mailer.py", "--endpoint", f"http://127.0.0.1:{api.dynamodb_port}"]
    found = []
    for proc in pathlib.Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().decode().split("\0")
        except (OSError, ValueError):
            continue
        if proc.name.isdigit() and args[1:4] == wanted:
            found.append(int(proc.name))
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("path", ["/email/verify/resend", "/password/forgot"])
def test_known_and_unknown_addresses_are_answered_alike_in_body_and_time(api, path):
    """60 alternating requests, each to an address asked about once: 30 of accounts just
    signed up (unverified), 30 of none, each kind first in half the pairs. Same status, same
    body; the median times' ratio is printed and must be within 0.8-1.25. The answer's time
    is the API's alone: the mailer works out of band, and since moto serialises every request
    (where DynamoDB would not), the stream follower is paused while timing so its sends do
    not land on one side."""
    known = [sign_up(api)[0]["email"] for _ in range(30)]
    for address in known:
        api.code_for(address)  # sign-up's messages are out: the mailer is idle
    unknown = [f"none-{uuid.uuid4().hex}@example.com" for _ in range(30)]
    answers, times = {"known": set(), "unknown": set()}, {"known": [], "unknown": []}
    follower = mail_follower(api)
    os.kill(follower, signal.SIGSTOP)
    try:
        # Alternating, and each kind first in half the pairs: the first of two back-to-back
        # requests is measurably slower here, whatever it asks.
        pairs = [(("known", k), ("unknown", u)) if i % 2 == 0 else (("unknown", u), ("known", k))
                 for i, (k, u) in enumerate(zip(known, unknown))]
        for kind, address in (request for pair in pairs for request in pair):
            started = time.perf_counter()
            status, body, _ = api.call("POST", path, {"email": address})
            times[kind].append(time.perf_counter() - started)
            answers[kind].add((status, tuple(sorted(body.items()))))
    finally:
        os.kill(follower, signal.SIGCONT)
    assert answers["known"] == answers["unknown"] and len(answers["known"]) == 1, answers
    assert next(iter(answers["known"]))[0] == 202
    ratio = statistics.median(times["known"]) / statistics.median(times["unknown"])
    print(f"\n{path} median time, known/unknown address: {ratio:.3f} "
          f"({statistics.median(times['known']) * 1000:.1f} ms / "
          f"{statistics.median(times['unknown']) * 1000:.1f} ms, 30 each, alternating)")
    assert 0.8 <= ratio <= 1.25, ratio
    # Once the follower runs again, every account gets its second code, no one else anything.
    digits = 6 if path == "/email/verify/resend" else 8
    for address in known:
        assert len(api.code_for(address, after=1)) == digits
    assert all(api.sent_mail(address) == [] for address in unknown)


def test_a_forgotten_password_is_reset_by_the_mailed_code(api):
    user, pair = sign_up(api)
    api.code_for(user["email"])  # sign-up's verification message is out first
    status, body, _ = api.call("POST", "/password/forgot", {"email": user["email"].upper()})
    assert status == 202, body
    code = api.code_for(user["email"], after=1)
    assert len(code) == 8, code
    printed = subprocess.run(
        [sys.executable, "scripts/mail.py", "--port", str(api.dynamodb_port), "--to", user["email"]],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert code in printed and "Subject: Your password reset code" in printed, printed

    new = "a brand new horse on a battery"
    wrong = f"{(int(code) + 1) % 100_000_000:08d}"
    reset = {"email": user["email"], "code": wrong, "password": new}
    status, body, _ = api.call("POST", "/password/reset", reset)
    assert (status, body) == (400, {"message": "Invalid or expired code", "errorCode": 4003})
    status, body, _ = api.call("POST", "/password/reset", {**reset, "code": code, "password": "qwerty123"})
    assert (status, body["errorCode"], body["details"][0]["field"]) == (400, 4001, "password"), body
    status, body, headers = api.call("POST", "/password/reset", {**reset, "code": code})
    assert (status, body) == (204, None), body
    # Every session ended: the access token and the refresh token.
    bearer = {"Authorization": "Bearer " + pair["token"]}
    assert api.call("GET", "/me", headers=bearer)[0] == 401
    assert api.call("POST", "/token/refresh", {"refresh_token": pair["refresh_token"]})[0] == 401
    # Nobody signed in by it: the new password signs in, the old one does not.
    assert api.call("POST", "/signin", {"email": user["email"], "password": PASSWORD})[0] == 401
    status, fresh, _ = api.call("POST", "/signin", {"email": user["email"], "password": new})
    assert status == 200, fresh
    profile = api.call("GET", "/me", headers={"Authorization": "Bearer " + fresh["token"]})[1]
    assert profile["email_verified"] is True, profile
    # The code worked once.
    assert api.call("POST", "/password/reset", {**reset, "code": code})[0] == 400


def test_sign_in_can_require_a_verified_address():
    with dev_stack(REQUIRE_VERIFIED_EMAIL="on", TABLE_NAME="e2e-verified") as api:
        user, _ = sign_up(api)
        credentials = {"email": user["email"], "password": PASSWORD}
        status, body, _ = api.call("POST", "/signin", credentials)
        assert (status, body) == (403, {"message": "E-mail address not verified", "errorCode": 4030})
        # A wrong password is still the usual 401: the 403 only follows the right one.
        status, body, _ = api.call("POST", "/signin", {**credentials, "password": "wrong" + PASSWORD})
        assert (status, body["errorCode"]) == (401, 4010)
        code = api.code_for(user["email"])
        assert api.call("POST", "/email/verify", {"email": user["email"], "code": code})[0] == 200
        status, pair, _ = api.call("POST", "/signin", credentials)
        assert status == 200 and pair["token"], pair
