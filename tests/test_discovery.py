"""Our tokens as another service checks them: an independent verifier (PyJWT and its JWKS
client, not our code) reads /.well-known/openid-configuration, then the JWKS, from `make dev`
over HTTP, and verifies with `iss`, `aud` and `exp` required, as API Gateway's JWT authorizer
would. Every forgery it refuses, our own `/me` refuses too."""
import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from test_api import new_user

AUDIENCE = "rust-auth-api"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def discover(api):
    status, config, headers = api.call("GET", "/.well-known/openid-configuration")
    assert status == 200, config
    assert headers["cache-control"] == "public, max-age=3600"
    assert config["issuer"] == api.base
    assert config["jwks_uri"] == api.base + "/.well-known/jwks.json"
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    return config


def verify(config, token):
    """What a resource server does with a bearer token: key by kid from the issuer's JWKS,
    RS256 only, iss, aud, exp, iat and sub required, and `typ: at+jwt` (RFC 9068 §4)."""
    key = jwt.PyJWKClient(config["jwks_uri"], cache_keys=False).get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token, key.key, algorithms=["RS256"], audience=AUDIENCE, issuer=config["issuer"],
        options={"require": ["exp", "iss", "aud", "iat", "sub"]},
    )
    if jwt.get_unverified_header(token).get("typ") != "at+jwt":
        raise jwt.InvalidTokenError("not an access token")
    return claims


def me_status(api, token):
    return api.call("GET", "/me", headers={"authorization": f"Bearer {token}"})[0]


def test_the_jwks_is_public_cacheable_and_names_each_key_by_its_thumbprint(api):
    status, jwks, headers = api.call("GET", "/.well-known/jwks.json")
    assert status == 200, jwks
    assert headers["cache-control"] == "public, max-age=300"
    assert jwks["keys"]
    for key in jwks["keys"]:
        assert set(key) == {"kty", "use", "alg", "kid", "n", "e"}, "no private member"
        canonical = json.dumps({"e": key["e"], "kty": "RSA", "n": key["n"]}, separators=(",", ":"))
        assert key["kid"] == b64(hashlib.sha256(canonical.encode()).digest()), "RFC 7638"


def test_an_independent_verifier_accepts_our_tokens(api):
    config = discover(api)
    status, body, _ = api.call("POST", "/signup", new_user())
    assert status == 201, body
    for token in (body["token"], api.call("POST", "/token/refresh", {"refresh_token": body["refresh_token"]})[1]["token"]):
        claims = verify(config, token)
        assert claims["iss"] == api.base and claims["aud"] == AUDIENCE
        assert claims["scope"] == "openid profile email" and claims["jti"]
        header = jwt.get_unverified_header(token)
        assert header["alg"] == "RS256" and header["typ"] == "at+jwt" and header["kid"]


@pytest.fixture(scope="module")
def live(api):
    """The claims of a genuine token of a live session: forgeries name that session, so only
    the forgery itself can make `/me` refuse them."""
    status, body, _ = api.call("POST", "/signup", new_user())
    assert status == 201, body
    return jwt.decode(body["token"], options={"verify_signature": False})


@pytest.fixture(scope="module")
def forger(api, live):
    """Signs what we never would: with the dev stack's own key (make dev's
    .dev/jwt-signing-key.pem) or with a key of its own."""
    ours = serialization.load_pem_private_key((api.state / "jwt-signing-key.pem").read_bytes(), None)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    status, jwks, _ = api.call("GET", "/.well-known/jwks.json")
    kid = jwks["keys"][0]["kid"]
    now = int(time.time())
    base = {"sub": live["sub"], "iat": now, "exp": now + 300, "iss": api.base,
            "aud": AUDIENCE, "sid": live["sid"], "jti": uuid.uuid4().hex}

    def sign(key=ours, headers=None, **claims):
        header = {"typ": "at+jwt", "kid": kid, **(headers or {})}
        return jwt.encode({**base, **claims}, key, algorithm="RS256", headers=header)

    def hs256_with(secret):
        header = b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": kid}).encode())
        payload = b64(json.dumps(base).encode())
        signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{b64(signature)}"

    public_pem = ours.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    unsigned = b64(json.dumps({"alg": "none", "typ": "at+jwt", "kid": kid}).encode())
    return {
        "a key that is not published, under our kid": sign(stranger),
        "an unknown kid": sign(stranger, headers={"kid": "not-one-of-ours"}),
        "a wrong audience": sign(aud="another-api"),
        "a wrong issuer": sign(iss="https://attacker.example"),
        "typ JWT": sign(headers={"typ": "JWT"}),
        "expired": sign(iat=now - 600, exp=now - 300),
        "alg none": f"{unsigned}.{b64(json.dumps(base).encode())}.",
        "HS256 with our public key (PEM) as secret": hs256_with(public_pem),
        "HS256 with our JWKS as secret": hs256_with(json.dumps(jwks).encode()),
        "sound": sign(),
    }


@pytest.mark.parametrize("case", [
    "a key that is not published, under our kid", "an unknown kid", "a wrong audience",
    "a wrong issuer", "typ JWT", "expired", "alg none",
    "HS256 with our public key (PEM) as secret", "HS256 with our JWKS as secret",
])
def test_forgeries_are_refused_by_the_independent_verifier_and_by_us(api, forger, case):
    config = discover(api)
    token = forger[case]
    with pytest.raises((jwt.InvalidTokenError, jwt.PyJWKClientError)):
        verify(config, token)
    assert me_status(api, token) == 401


def test_the_forger_is_sound(api, forger):
    """Made right, the forger's token verifies and `/me` serves the live session it names:
    each refusal above is its case's doing."""
    assert verify(discover(api), forger["sound"])["aud"] == AUDIENCE
    assert me_status(api, forger["sound"]) == 200


def hello(api, token):
    return api.call("GET", "/hello", headers={"authorization": f"Bearer {token}"})


def test_hello_gets_the_claims_api_gateway_s_jwt_authorizer_passes(api):
    """`make dev`'s front plays template.yaml's JWT authorizer for GET /hello."""
    user = new_user()
    status, body, _ = api.call("POST", "/signup", user)
    assert status == 201, body
    status, answer, _ = hello(api, body["token"])
    assert status == 200, answer
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert answer["message"] == f"Hello, {user['firstName']}!"
    assert answer["claims"]["sub"] == claims["sub"]
    assert answer["claims"]["aud"] == AUDIENCE and answer["claims"]["iss"] == api.base
    assert answer["claims"]["exp"] == str(claims["exp"]), "as API Gateway passes it: a string"

    status, answer, headers = api.call("GET", "/hello")
    assert (status, answer) == (401, {"message": "Unauthorized"})
    assert 'error="invalid_token"' in headers["www-authenticate"]


@pytest.mark.parametrize("case", [
    "a key that is not published, under our kid", "an unknown kid", "a wrong audience",
    "a wrong issuer", "expired", "alg none",
    "HS256 with our public key (PEM) as secret", "HS256 with our JWKS as secret",
])
def test_the_authorizer_refuses_forgeries_before_the_function_runs(api, forger, case):
    status, answer, headers = hello(api, forger[case])
    assert (status, answer) == (401, {"message": "Unauthorized"}), case
    assert headers["www-authenticate"].startswith('Bearer scope="" error="invalid_token"')
    assert hello(api, forger["sound"])[0] == 200


def test_a_signed_out_token_passes_the_gateway_until_it_expires(api):
    """What a JWT authorizer cannot see (README): the session behind a token. Sign-out ends it
    for /me at once; at the gateway the token is good until `exp`, which is why access tokens
    live 15 minutes. A route that must honour sign-out asks POST /token/validate."""
    status, body, _ = api.call("POST", "/signup", new_user())
    assert status == 201, body
    token = body["token"]
    assert api.call("POST", "/signout", headers={"authorization": f"Bearer {token}"})[0] == 204
    assert me_status(api, token) == 401
    assert hello(api, token)[0] == 200
    assert api.call("POST", "/token/validate", {"token": token})[1] == {"active": False}
