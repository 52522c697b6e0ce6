"""A function with a bad configuration (no keys, a short refresh secret, no Redis, an unusable
AWS_CA_BUNDLE) refuses to start, with one clear log line that does not echo the secret; a
function reads no key at init (a signer's set is read in the background, a verifier's with
the first token)."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FUNCTIONS = ["signup", "signin", "me", "signout", "validate", "refresh", "sessions", "discovery",
             "email", "mailer", "password", "account"]


@pytest.fixture(scope="module")
def binaries():
    packages = [arg for name in FUNCTIONS for arg in ("-p", name)]
    subprocess.run(["cargo", "build", "--quiet", *packages], cwd=ROOT, check=True)
    return {name: ROOT / "target" / "debug" / name for name in FUNCTIONS}


def start(binary, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "AWS_", "TABLE_", "REFRESH_", "SIGNING_", "PUBLIC_"))}
    base.update(
        AWS_LAMBDA_RUNTIME_API="127.0.0.1:9", AWS_REGION="us-east-1", AWS_LAMBDA_LOG_FORMAT="JSON",
        AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", **env,
    )
    return subprocess.run([binary], env=base, capture_output=True, text=True, timeout=30)


SIGNERS = ["signup", "signin", "refresh"]
VERIFIERS = ["me", "signout", "validate", "sessions", "discovery"]
# Neither sign nor verify a token (shared::config::NoTokens).
KEYLESS = ["email", "password", "account"]
# A Secrets Manager that refuses connections at once, for ARNs that must not be read.
NOWHERE = dict(AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:9")
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:keys"
KEYS = dict(REFRESH_SECRET="x" * 40, SIGNING_KEYS_ARN=ARN, PUBLIC_KEYS_ARN=ARN, **NOWHERE)


@pytest.mark.parametrize("name", SIGNERS)
def test_a_signer_refuses_to_start_without_its_keys(binaries, name):
    base = dict(TABLE_NAME="t", REDIS_URL="redis://127.0.0.1:9", PUBLIC_KEYS_ARN=ARN, **NOWHERE)
    result = start(binaries[name], **base)
    assert result.returncode != 0
    assert "REFRESH_SECRET or REFRESH_SECRET_ARN is not set" in result.stdout + result.stderr
    result = start(binaries[name], REFRESH_SECRET="x" * 40, **base)
    assert result.returncode != 0
    assert "SIGNING_KEYS_ARN is not set" in result.stdout + result.stderr
    # Named but unreadable: the set is read in the background, so init gets past configuration
    # (to the runtime API, which is not there); a request would be a 503 (tests in Rust).
    result = start(binaries[name], REFRESH_SECRET="x" * 40, SIGNING_KEYS_ARN=ARN, **base)
    assert "configuration refused" not in result.stdout + result.stderr


@pytest.mark.parametrize("name", VERIFIERS)
def test_a_verifier_needs_the_published_keys_only_and_reads_nothing_at_init(binaries, name):
    result = start(binaries[name], TABLE_NAME="t", REDIS_URL="redis://127.0.0.1:9", **NOWHERE)
    assert result.returncode != 0
    assert "PUBLIC_KEYS_ARN is not set" in result.stdout + result.stderr
    # The published keys are read with the first token, so init gets past configuration
    # (to the runtime API, which is not there) without Secrets Manager.
    result = start(binaries[name], TABLE_NAME="t", REDIS_URL="redis://127.0.0.1:9",
                   PUBLIC_KEYS_ARN=ARN, **NOWHERE)
    assert "configuration refused" not in result.stdout + result.stderr


@pytest.mark.parametrize("name", KEYLESS)
def test_a_function_that_handles_no_token_needs_no_key(binaries, name):
    """No key named at all, and Secrets Manager unreachable: init gets past configuration (to
    the runtime API, which is not there)."""
    result = start(binaries[name], TABLE_NAME="t", REDIS_URL="redis://127.0.0.1:9", **NOWHERE)
    output = result.stdout + result.stderr
    assert "configuration refused" not in output and "not set" not in output, output


@pytest.mark.parametrize("name", SIGNERS)
def test_refuses_a_short_secret_without_printing_it(binaries, name):
    result = start(
        binaries[name], TABLE_NAME="t", REDIS_URL="redis://127.0.0.1:9",
        **{**KEYS, "REFRESH_SECRET": "short-secret-value"},
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "must be at least 32 bytes" in output
    assert "short-secret-value" not in output


@pytest.mark.parametrize("name", [f for f in FUNCTIONS if f not in ("discovery", "mailer")])
def test_refuses_to_start_without_redis(binaries, name):
    """Discovery reads neither Redis nor DynamoDB, and the mailer (outside the VPC) no Redis,
    so they do not ask for it."""
    result = start(binaries[name], TABLE_NAME="t", **KEYS)
    assert result.returncode != 0
    assert "REDIS_URL is not set" in result.stdout + result.stderr


@pytest.mark.parametrize("name", FUNCTIONS)
def test_refuses_an_unusable_ca_bundle_without_panicking(binaries, name, tmp_path):
    bundle = tmp_path / "bundle.pem"
    # Well-formed PEM around bytes that are no certificate: the SDK's HTTP client would panic.
    bundle.write_text("-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n")
    result = start(
        binaries[name], TABLE_NAME="t", REDIS_URL="redis://127.0.0.1:9", **KEYS,
        AWS_CA_BUNDLE=str(bundle),
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "AWS_CA_BUNDLE" in output and "certificate 1 is not usable" in output
    assert "panicked" not in output


@pytest.mark.parametrize("env, says", [
    (dict(), "MAIL_FROM is not set"),
    (dict(MAIL_FROM="not an address"), "MAIL_FROM is not an e-mail address"),
    (dict(MAIL_FROM="no-reply@example.com", CODE_TTL_SECONDS="0"), "CODE_TTL_SECONDS"),
    (dict(MAIL_FROM="no-reply@example.com", CODE_TTL_SECONDS="ten"), "CODE_TTL_SECONDS"),
])
def test_the_mailer_refuses_a_missing_or_bad_sender_or_code_life(binaries, env, says):
    result = start(binaries["mailer"], TABLE_NAME="t", **env)
    assert result.returncode != 0
    assert says in result.stdout + result.stderr, result.stdout + result.stderr
    assert "panicked" not in result.stdout + result.stderr


def test_the_mailer_starts_with_a_sender_and_reads_nothing_at_init(binaries):
    """Outside the VPC, with SES and DynamoDB clients built by their first call: init gets
    past configuration (to the runtime API, which is not there) with nothing reachable."""
    result = start(binaries["mailer"], TABLE_NAME="t", MAIL_FROM="no-reply@example.com",
                   AWS_ENDPOINT_URL="http://127.0.0.1:9")
    assert "configuration refused" not in result.stdout + result.stderr


def test_sign_in_refuses_an_unknown_verified_email_switch(binaries):
    result = start(binaries["signin"], TABLE_NAME="t", REDIS_URL="redis://127.0.0.1:9",
                   REQUIRE_VERIFIED_EMAIL="yes", **KEYS)
    assert result.returncode != 0
    assert "REQUIRE_VERIFIED_EMAIL" in result.stdout + result.stderr
