"""End to end: the compiled functions under cargo lambda's runtime emulator, behind make dev's
API Gateway front, on a real moto_server and redis-server; the same stack `make dev` gives a
user."""
import base64
import concurrent.futures
import json
import time
import uuid

PASSWORD = "correct horse battery staple"


def new_user(**overrides):
    user = {
        "firstName": "Hello",
        "lastName": "World",
        "email": f"e2e-{uuid.uuid4().hex}@example.com",
        "password": PASSWORD,
        "phones": [{"number": 988887888, "area_code": 81, "country_code": "+55"}],
    }
    user.update(overrides)
    return user


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_signup_signin_me_flow(api):
    user = new_user(firstName="José", lastName="da Silva")
    status, body, headers = api.call("POST", "/signup", user)
    assert status == 201, body
    assert headers["content-type"] == "application/json"
    token_claims = claims(body["token"])
    assert token_claims["email"] == user["email"]
    assert token_claims["firstName"] == "José"
    assert {"sub", "iat", "exp", "iss"} <= token_claims.keys()
    assert "password" not in json.dumps(token_claims)

    status, profile, _ = api.call("GET", "/me", headers={"Authorization": "Bearer " + body["token"]})
    assert status == 200, profile
    assert profile["firstName"] == "José"
    assert profile["lastName"] == "da Silva"
    assert profile["email"] == user["email"]
    assert profile["phones"] == user["phones"]
    assert profile["created_at"] == profile["last_login"]
    assert profile["created_at"].endswith("Z")

    time.sleep(0.01)
    status, signed_in, _ = api.call(
        "POST", "/signin", {"email": user["email"].upper(), "password": PASSWORD}
    )
    assert status == 200, signed_in
    status, after, _ = api.call("GET", "/me", headers={"Authorization": signed_in["token"]})
    assert status == 200
    assert after["last_login"] > profile["last_login"]
    assert after["created_at"] == profile["created_at"]


def test_duplicate_email_is_409_case_insensitive(api):
    user = new_user()
    assert api.call("POST", "/signup", user)[0] == 201
    status, body, _ = api.call("POST", "/signup", dict(user, email=" " + user["email"].upper()))
    assert (status, body) == (409, {"message": "E-mail already exists", "errorCode": 4090})


def test_sixteen_simultaneous_signups_give_one_201(api):
    user = new_user()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = sorted(pool.map(lambda _: api.call("POST", "/signup", user)[0], range(16)))
    assert statuses == [201] + [409] * 15


def test_signin_failures_are_generic(api):
    user = new_user()
    api.call("POST", "/signup", user)
    wrong = api.call("POST", "/signin", {"email": user["email"], "password": "not it at all"})
    unknown = api.call("POST", "/signin", {"email": "nobody-" + user["email"], "password": PASSWORD})
    expected = {"message": "Invalid e-mail or password", "errorCode": 4010}
    assert wrong[:2] == (401, expected)
    assert unknown[:2] == (401, expected)


def test_contract_errors(api):
    missing = api.call("POST", "/signup", {})
    assert missing[0] == 400 and missing[1]["message"] == "Missing fields"
    invalid = api.call(
        "POST", "/signup",
        new_user(phones=[{"number": "988887888", "area_code": 81, "country_code": "+55"}]),
    )
    assert invalid[0] == 400 and invalid[1]["message"] == "Invalid fields"
    assert invalid[1]["details"][0]["field"] == "phones[0].number"
    weak = api.call("POST", "/signup", new_user(password="hunter2"))
    assert weak[0] == 400 and weak[1]["details"][0]["field"] == "password"
    assert api.call("POST", "/signin", {"email": "a@b.co"})[1]["message"] == "Missing fields"
    assert api.call("GET", "/me")[:2] == (401, {"message": "Unauthorized", "errorCode": 4011})
    bad = api.call("GET", "/me", headers={"Authorization": "Bearer not.a.token"})
    assert bad[:2] == (401, {"message": "Unauthorized - invalid session", "errorCode": 4012})


def test_transport_level_mistakes(api):
    malformed = api.call("POST", "/signup", raw=b'{"firstName": ')
    assert malformed[:2] == (400, {"message": "Request body must be a JSON object", "errorCode": 4002})
    form = api.call("POST", "/signup", raw=b"a=b", headers={"content-type": "text/plain"})
    assert form[0] == 415 and form[1]["errorCode"] == 4150
    huge = api.call("POST", "/signup", raw=json.dumps({"firstName": "x" * 70_000}).encode())
    assert huge[0] == 413 and huge[1]["errorCode"] == 4130
    # Not UTF-8: make dev's front hands it over base64-encoded, as API Gateway does, and the
    # answer is the function's own.
    for path in ("/signup", "/signin"):
        latin1 = api.call("POST", path, raw='{"email": "é@x.co"}'.encode("latin-1"))
        assert latin1[:2] == (400, {"message": "Request body must be a JSON object", "errorCode": 4002})
    # What API Gateway answers itself, before any function: a route that is not there.
    assert api.call("GET", "/signup")[:2] == (404, {"message": "Not Found"})
    assert api.call("POST", "/users")[:2] == (404, {"message": "Not Found"})


def test_logs_carry_request_ids_and_never_secrets(api):
    password = f"Unique-{uuid.uuid4().hex}-pass"
    user = new_user(password=password)
    status, body, _ = api.call("POST", "/signup", user)
    assert status == 201
    signed_in = api.call("POST", "/signin", {"email": user["email"], "password": password})[1]
    api.call("POST", "/signin", {"email": user["email"], "password": password + "x"})
    api.call("GET", "/me", headers={"Authorization": "Bearer " + signed_in["token"]})
    time.sleep(0.5)  # let the emulator flush the functions' output
    log = api.log()
    for secret in [password, body["token"], signed_in["token"], api.secret, "$argon2id$"]:
        assert secret not in log
    records = [json.loads(line) for line in log.splitlines() if line.startswith('{"timestamp"')]
    signed_up = [r for r in records if r["fields"].get("message") == "user signed up"]
    assert signed_up and all(r["span"]["requestId"] for r in signed_up)
    # Without a timestamp Lambda would file every line as INFO, whatever its level.
    assert all(r["timestamp"].endswith("Z") and r["level"] for r in records)


def test_signout_ends_the_session(api):
    user = new_user()
    token = api.call("POST", "/signup", user)[1]["token"]
    other = api.call("POST", "/signin", {"email": user["email"], "password": PASSWORD})[1]["token"]
    bearer = lambda t: {"Authorization": "Bearer " + t}  # noqa: E731
    status, body, _ = api.call("POST", "/signout", headers=bearer(token))
    assert (status, body) == (204, None)
    assert api.call("GET", "/me", headers=bearer(token))[:2] == (
        401, {"message": "Unauthorized - invalid session", "errorCode": 4012},
    )
    assert api.call("GET", "/me", headers=bearer(other))[0] == 200
    assert api.call("POST", "/signout?scope=all", headers=bearer(other))[0] == 204
    assert api.call("GET", "/me", headers=bearer(other))[0] == 401
    again = api.call("POST", "/signin", {"email": user["email"], "password": PASSWORD})[1]["token"]
    assert api.call("GET", "/me", headers=bearer(again))[0] == 200


def test_repeated_failures_lock_the_account(api):
    user = new_user()
    api.call("POST", "/signup", user)
    for _ in range(5):
        assert api.call("POST", "/signin", {"email": user["email"], "password": "wrong!"})[0] == 401
    status, body, headers = api.call("POST", "/signin", {"email": user["email"], "password": PASSWORD})
    assert status == 429 and body["errorCode"] == 4291
    assert int(headers["retry-after"]) >= 1


def test_token_validation_follows_the_session(api):
    user = new_user()
    token = api.call("POST", "/signup", user)[1]["token"]
    status, verdict, headers = api.call("POST", "/token/validate", {"token": token})
    assert status == 200 and headers["content-type"] == "application/json"
    assert verdict["active"] is True and verdict["email"] == user["email"]
    assert verdict["sub"] == claims(token)["sub"] and verdict["sid"] == claims(token)["sid"]
    assert api.call("POST", "/signout", headers={"Authorization": f"Bearer {token}"})[0] == 204
    assert api.call("POST", "/token/validate", {"token": token})[:2] == (200, {"active": False})
    for nonsense in ["", "a.b.c", token[:-2], "Bearer " + token]:
        expected = (400, "Missing fields") if nonsense == "" else (200, None)
        status, body, _ = api.call("POST", "/token/validate", {"token": nonsense})
        assert status == expected[0], (nonsense, body)
        assert body == {"active": False} if status == 200 else body["message"] == expected[1]
