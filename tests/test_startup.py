"""A function with a bad configuration (no or a short JWT secret, no Redis, an unusable
AWS_CA_BUNDLE) refuses to start, with one clear log line that does not echo the secret."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FUNCTIONS = ["signup", "signin", "me", "signout", "validate", "refresh", "sessions"]


@pytest.fixture(scope="module")
def binaries():
    packages = [arg for name in FUNCTIONS for arg in ("-p", name)]
    subprocess.run(["cargo", "build", "--quiet", *packages], cwd=ROOT, check=True)
    return {name: ROOT / "target" / "debug" / name for name in FUNCTIONS}


def start(binary, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "AWS_", "TABLE_"))}
    base.update(
        AWS_LAMBDA_RUNTIME_API="127.0.0.1:9", AWS_REGION="us-east-1", AWS_LAMBDA_LOG_FORMAT="JSON",
        AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", **env,
    )
    return subprocess.run([binary], env=base, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_refuses_to_start_without_a_secret(binaries, name):
    result = start(binaries[name], TABLE_NAME="t", REDIS_URL="redis://127.0.0.1:9")
    assert result.returncode != 0
    assert "JWT_SECRET or JWT_SECRET_ARN is not set" in result.stdout + result.stderr


@pytest.mark.parametrize("name", FUNCTIONS)
def test_refuses_a_short_secret_without_printing_it(binaries, name):
    result = start(
        binaries[name], TABLE_NAME="t", REDIS_URL="redis://127.0.0.1:9", JWT_SECRET="short-secret-value"
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "must be at least 32 bytes" in output
    assert "short-secret-value" not in output


@pytest.mark.parametrize("name", FUNCTIONS)
def test_refuses_to_start_without_redis(binaries, name):
    result = start(binaries[name], TABLE_NAME="t", JWT_SECRET="x" * 40)
    assert result.returncode != 0
    assert "REDIS_URL is not set" in result.stdout + result.stderr


@pytest.mark.parametrize("name", FUNCTIONS)
def test_refuses_an_unusable_ca_bundle_without_panicking(binaries, name, tmp_path):
    bundle = tmp_path / "bundle.pem"
    # Well-formed PEM around bytes that are no certificate: the SDK's HTTP client would panic.
    bundle.write_text("-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n")
    result = start(
        binaries[name], TABLE_NAME="t", REDIS_URL="redis://127.0.0.1:9", JWT_SECRET="x" * 40,
        AWS_CA_BUNDLE=str(bundle),
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "AWS_CA_BUNDLE" in output and "certificate 1 is not usable" in output
    assert "panicked" not in output
