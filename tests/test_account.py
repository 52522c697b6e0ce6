"""The account routes end to end through `make dev`'s stack, behind the JWT authorizer its
front plays. POST /password/change: the new password signs in, the other devices are signed
out (access and refresh tokens), this one goes on, and a wrong current password counts in
sign-in's lock. DELETE /me: every token dies, the address is free again. (The forgotten
password, which needs the mailer, is tests/test_email.py's.)"""
import uuid

PASSWORD = "correct horse battery staple"
NEW = "a brand new horse on a battery"


def sign_up(api):
    user = {"firstName": "Pass", "lastName": "Changer", "phones": [], "password": PASSWORD,
            "email": f"p-{uuid.uuid4().hex}@example.com"}
    status, pair, _ = api.call("POST", "/signup", user)
    assert status == 201, pair
    return user, pair


def bearer(pair):
    return {"Authorization": "Bearer " + pair["token"]}


def test_a_change_signs_out_the_other_devices_and_keeps_this_one(api):
    user, this = sign_up(api)
    status, other, _ = api.call("POST", "/signin", {"email": user["email"], "password": PASSWORD})
    assert status == 200, other
    change = {"current_password": PASSWORD, "new_password": NEW}
    status, body, _ = api.call("POST", "/password/change", change, headers=bearer(this))
    assert (status, body) == (204, None), body

    assert api.call("GET", "/me", headers=bearer(other))[0] == 401
    assert api.call("POST", "/token/refresh", {"refresh_token": other["refresh_token"]})[0] == 401
    assert api.call("GET", "/me", headers=bearer(this))[0] == 200
    # A Redis flush changes nothing: the durable records agree.
    api.flush_redis()
    assert api.call("GET", "/me", headers=bearer(other))[0] == 401
    assert api.call("GET", "/me", headers=bearer(this))[0] == 200
    status, refreshed, _ = api.call("POST", "/token/refresh", {"refresh_token": this["refresh_token"]})
    assert status == 200, refreshed
    assert api.call("POST", "/signin", {"email": user["email"], "password": PASSWORD})[0] == 401
    assert api.call("POST", "/signin", {"email": user["email"], "password": NEW})[0] == 200


def test_a_wrong_current_password_is_a_field_error_and_counts_toward_the_lock(api):
    user, this = sign_up(api)
    wrong = {"current_password": "not the password at all", "new_password": NEW}
    for _ in range(5):
        status, body, _ = api.call("POST", "/password/change", wrong, headers=bearer(this))
        assert (status, body["errorCode"], body["details"][0]["field"]) == (400, 4001, "current_password"), body
    # Five failures: the account is locked for sign-in and for a change alike.
    status, body, headers = api.call("POST", "/signin", {"email": user["email"], "password": PASSWORD})
    assert (status, body["errorCode"]) == (429, 4291), body
    status, body, _ = api.call("POST", "/password/change", {**wrong, "current_password": PASSWORD},
                               headers=bearer(this))
    assert (status, body["errorCode"]) == (429, 4291), body
    # No token: the authorizer refuses it before the function runs, as API Gateway does.
    status, body, headers = api.call("POST", "/password/change", wrong)
    assert (status, body) == (401, {"message": "Unauthorized"}), body
    assert "invalid_token" in {k.lower(): v for k, v in headers.items()}["www-authenticate"]


def test_a_deletion_ends_every_session_and_frees_the_address(api):
    user, this = sign_up(api)
    status, other, _ = api.call("POST", "/signin", {"email": user["email"], "password": PASSWORD})
    assert status == 200, other
    status, body, _ = api.call("DELETE", "/me", {"password": "not the password at all"},
                               headers=bearer(this))
    assert (status, body["errorCode"], body["details"][0]["field"]) == (400, 4001, "password"), body
    status, body, _ = api.call("DELETE", "/me", {"password": PASSWORD}, headers=bearer(this))
    assert (status, body) == (204, None), body
    for pair in (this, other):
        status, body, _ = api.call("GET", "/me", headers=bearer(pair))
        assert (status, body["errorCode"]) == (401, 4012), body
        assert api.call("POST", "/token/refresh", {"refresh_token": pair["refresh_token"]})[0] == 401
    # Still signed (the authorizer lets it through), but no session any more: the function's 401.
    status, body, _ = api.call("DELETE", "/me", {"password": PASSWORD}, headers=bearer(this))
    assert (status, body["errorCode"]) == (401, 4012), body
    api.flush_redis()
    assert api.call("GET", "/me", headers=bearer(other))[0] == 401
    status, body, _ = api.call("POST", "/signin", {"email": user["email"], "password": PASSWORD})
    assert (status, body["errorCode"]) == (401, 4010), body
    status, again, _ = api.call("POST", "/signup", user)
    assert status == 201, again
