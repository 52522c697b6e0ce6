"""The signing key set's rotation end to end, in `make dev`'s stack: the rotation function
(functions/rotate-keys under cargo lambda watch) runs its four steps against moto's Secrets
Manager through `make rotate`'s script, and the running functions pick the rotated set up
without a restart (KEY_CACHE_SECONDS=1 here, ten minutes by default). Tokens signed before a
rotation keep verifying until they expire; the JWKS shows the old and the new key during the
overlap; a token signed with a key the next rotation retires is refused, by an independent
verifier and by us."""
import os
import subprocess
import sys
import time

import jwt
import pytest

from conftest import ROOT, dev_stack
from test_api import new_user
from test_discovery import discover, me_status, verify

# The functions' copy of the keys is re-read when it is older than this.
KEY_CACHE_SECONDS = 1


@pytest.fixture(scope="module")
def rotating():
    with dev_stack(KEY_CACHE_SECONDS=str(KEY_CACHE_SECONDS)) as api:
        yield api


def rotate(api):
    """`make rotate` against this stack, then long enough for every copy to age."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts/rotate_keys.py")], cwd=ROOT, capture_output=True,
        text=True, timeout=300, env=dict(os.environ, DEV_STATE_DIR=str(api.state)),
    )
    assert done.returncode == 0, done.stdout + done.stderr + api.log()[-3000:]
    assert "key set rotated" in done.stdout
    time.sleep(KEY_CACHE_SECONDS + 0.5)


def published(api):
    status, jwks, _ = api.call("GET", "/.well-known/jwks.json")
    assert status == 200, jwks
    return [key["kid"] for key in jwks["keys"]]


def kid(token):
    return jwt.get_unverified_header(token)["kid"]


def signed_in(api):
    """A fresh account's access and refresh tokens."""
    user = new_user()
    status, body, _ = api.call("POST", "/signup", user)
    assert status == 201, body
    return body["token"], body["refresh_token"]


def validates(api, token):
    status, body, _ = api.call("POST", "/token/validate", {"token": token})
    assert status == 200, body
    return body["active"]


def test_tokens_outlive_one_rotation_and_not_the_next(rotating):
    api = rotating
    config = discover(api)
    (original,) = published(api)
    before, refresh_token = signed_in(api)
    assert kid(before) == original

    rotate(api)
    during = published(api)
    assert original in during and len(during) == 3, "retired, active and next, all published"
    # Signed before the rotation: still good everywhere.
    assert verify(config, before)["sub"]
    assert me_status(api, before) == 200 and validates(api, before) is True
    # What is signed now is signed by the new active key, for sign-up and refresh alike.
    after, _ = signed_in(api)
    status, refreshed, _ = api.call("POST", "/token/refresh", {"refresh_token": refresh_token})
    assert status == 200, refreshed
    active = kid(after)
    assert active != original and active in during and kid(refreshed["token"]) == active
    assert verify(config, after)["sub"] and me_status(api, after) == 200

    rotate(api)
    later = published(api)
    assert original not in later, "the retired key is withdrawn"
    assert active in later, "the key that signed until now stays published, retired"
    # The session is live: only its token's key makes these refusals.
    with pytest.raises((jwt.InvalidTokenError, jwt.PyJWKClientError)):
        verify(config, before)
    assert me_status(api, before) == 401 and validates(api, before) is False
    assert verify(config, after)["sub"] and me_status(api, after) == 200
    newest, _ = signed_in(api)
    assert kid(newest) not in (original, active) and me_status(api, newest) == 200


def test_a_failed_rotation_step_changes_nothing_that_signs(rotating):
    """Secrets Manager retries a failed step; until one succeeds the keys in use stay."""
    api = rotating
    keys = published(api)
    stack_file = api.state / "stack.json"
    saved = stack_file.read_text()
    stack_file.write_text(saved.replace("signing-keys", "no-such-secret"))
    try:
        done = subprocess.run(
            [sys.executable, str(ROOT / "scripts/rotate_keys.py")], cwd=ROOT,
            capture_output=True, text=True, timeout=300,
            env=dict(os.environ, DEV_STATE_DIR=str(api.state)),
        )
    finally:
        stack_file.write_text(saved)
    assert done.returncode != 0 and "rotation failed" in done.stderr, done.stdout + done.stderr
    time.sleep(KEY_CACHE_SECONDS + 0.5)
    assert published(api) == keys
    token, _ = signed_in(api)
    assert me_status(api, token) == 200
