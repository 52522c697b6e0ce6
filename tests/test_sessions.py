"""Sessions that last, end to end through `make dev`'s stack: refresh-token rotation, reuse
detection and its grace case, parallel refreshes, sign-out, a Redis flush, lifetimes, the
device list, and what /token/validate says of each kind of token."""
import concurrent.futures
import time
import uuid

from conftest import dev_stack

PASSWORD = "correct horse battery staple"


def signed_up(api):
    user = {
        "firstName": "Session", "lastName": "Tester", "email": f"s-{uuid.uuid4().hex}@example.com",
        "password": PASSWORD, "phones": [],
    }
    status, pair, _ = api.call("POST", "/signup", user)
    assert status == 201, pair
    return user, pair


def sign_in(api, user):
    status, pair, _ = api.call("POST", "/signin", {"email": user["email"], "password": PASSWORD})
    assert status == 200, pair
    return pair


def refresh(api, token):
    return api.call("POST", "/token/refresh", {"refresh_token": token})[:2]


def bearer(pair):
    return {"Authorization": "Bearer " + pair["token"]}


def me(api, pair):
    return api.call("GET", "/me", headers=bearer(pair))[0]


INVALID_SESSION = {"message": "Unauthorized - invalid session", "errorCode": 4012}


def test_sign_in_refresh_refresh(api):
    _, first = signed_up(api)
    assert set(first) == {"token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"}
    # Seconds left, counted when the answer is made: a second may have turned since the
    # session was opened.
    assert first["expires_in"] == 900 and 30 * 86400 - 1 <= first["refresh_expires_in"] <= 30 * 86400
    status, second = refresh(api, first["refresh_token"])
    assert status == 200, second
    status, third = refresh(api, second["refresh_token"])
    assert status == 200, third
    assert len({first["refresh_token"], second["refresh_token"], third["refresh_token"]}) == 3
    assert me(api, third) == 200
    # An access token is not a refresh token, nor the reverse.
    assert refresh(api, third["token"]) == (401, INVALID_SESSION)
    assert api.call("GET", "/me", headers={"Authorization": "Bearer " + third["refresh_token"]})[0] == 401


def test_a_spent_token_kills_the_family(api):
    _, first = signed_up(api)
    second = refresh(api, first["refresh_token"])[1]
    third = refresh(api, second["refresh_token"])[1]
    # Two generations back: reuse, grace or not.
    assert refresh(api, first["refresh_token"]) == (401, INVALID_SESSION)
    assert refresh(api, third["refresh_token"]) == (401, INVALID_SESSION)
    assert me(api, third) == 401
    assert api.call("POST", "/token/validate", {"token": third["token"]})[1] == {"active": False}


def test_the_previous_token_within_grace_gets_the_same_pair(api):
    _, first = signed_up(api)
    second = refresh(api, first["refresh_token"])[1]
    status, again = refresh(api, first["refresh_token"])
    assert status == 200 and again["refresh_token"] == second["refresh_token"]
    assert refresh(api, second["refresh_token"])[0] == 200


def test_64_parallel_refreshes_of_one_token_have_one_successor(api):
    _, first = signed_up(api)
    with concurrent.futures.ThreadPoolExecutor(64) as pool:
        answers = list(pool.map(lambda _: refresh(api, first["refresh_token"]), range(64)))
    statuses = {status for status, _ in answers}
    assert statuses <= {200, 401}, answers
    successors = {body["refresh_token"] for status, body in answers if status == 200}
    assert len(successors) == 1, successors
    assert refresh(api, successors.pop())[0] == 200


def test_sign_out_ends_refresh_tokens_and_scope_all_ends_them_all(api):
    user, one = signed_up(api)
    two, three = sign_in(api, user), sign_in(api, user)
    assert api.call("POST", "/signout", headers=bearer(one))[0] == 204
    assert refresh(api, one["refresh_token"]) == (401, INVALID_SESSION)
    assert refresh(api, two["refresh_token"])[0] == 200
    assert api.call("POST", "/signout?scope=all", headers=bearer(three))[0] == 204
    for pair in (two, three):
        assert refresh(api, pair["refresh_token"]) == (401, INVALID_SESSION)
    assert refresh(api, sign_in(api, user)["refresh_token"])[0] == 200


def test_a_flush_keeps_live_sessions_live_and_ended_ones_ended(api):
    user, live = signed_up(api)
    ended, everywhere_user = sign_in(api, user), signed_up(api)
    assert api.call("POST", "/signout", headers=bearer(ended))[0] == 204
    other_user, other = everywhere_user
    assert api.call("POST", "/signout?scope=all", headers=bearer(other))[0] == 204
    api.flush_redis()
    for _ in range(2):  # from DynamoDB, then from the re-warmed Redis
        assert me(api, live) == 200
        assert me(api, ended) == 401 and me(api, other) == 401
    assert refresh(api, live["refresh_token"])[0] == 200
    assert refresh(api, ended["refresh_token"]) == (401, INVALID_SESSION)
    assert refresh(api, other["refresh_token"]) == (401, INVALID_SESSION)


def test_validate_says_what_each_kind_of_token_is(api):
    user, pair = signed_up(api)
    validate = lambda token: api.call("POST", "/token/validate", {"token": token})[1]  # noqa: E731
    assert validate(pair["token"])["active"] is True
    assert validate(pair["refresh_token"]) == {"active": False}
    renewed = refresh(api, pair["refresh_token"])[1]
    assert validate(renewed["token"])["active"] is True
    assert validate(pair["token"])["active"] is True, "an access token lives on with its session"
    assert api.call("POST", "/signout", headers=bearer(renewed))[0] == 204
    assert validate(pair["token"]) == {"active": False}
    assert validate(renewed["token"]) == {"active": False}


def test_the_device_list_and_removing_a_device(api):
    user, laptop = signed_up(api)
    phone = sign_in(api, user)
    status, listed, _ = api.call("GET", "/sessions", headers=bearer(laptop))
    assert status == 200, listed
    sessions = listed["sessions"]
    assert len(sessions) == 2 and [s["current"] for s in sessions].count(True) == 1
    assert {"id", "created_at", "last_used_at", "ip", "user_agent", "current"} == set(sessions[0])
    assert all(s["ip"] == "127.0.0.1" for s in sessions)
    phone_id = next(s["id"] for s in sessions if not s["current"])
    _, stranger = signed_up(api)
    assert api.call("DELETE", f"/sessions/{phone_id}", headers=bearer(stranger))[:2] == (
        404, {"message": "Session not found", "errorCode": 4040},
    )
    assert api.call("DELETE", f"/sessions/{phone_id}", headers=bearer(laptop))[:2] == (204, None)
    assert me(api, phone) == 401
    assert refresh(api, phone["refresh_token"]) == (401, INVALID_SESSION)
    status, listed, _ = api.call("GET", "/sessions", headers=bearer(laptop))
    assert [s["current"] for s in listed["sessions"]] == [True]
    assert api.call("DELETE", f"/sessions/{phone_id}", headers=bearer(laptop))[0] == 404


def test_lifetimes_idle_and_absolute():
    """Short lifetimes on a stack of their own: a refresh token dies when unused for
    REFRESH_TTL_SECONDS, and a session at SESSION_MAX_SECONDS however it is used."""
    with dev_stack(REFRESH_TTL_SECONDS="3", SESSION_MAX_SECONDS="6", TABLE_NAME="e2e-lifetimes") as api:
        user, idle = signed_up(api)
        assert idle["refresh_expires_in"] in (2, 3)
        busy = sign_in(api, user)
        started = time.monotonic()
        # `busy` is refreshed every second: it outlives the idle one, but not six seconds.
        token, left, status, idle_checked = busy["refresh_token"], [], 200, False
        while status == 200 and time.monotonic() - started < 12:
            time.sleep(1)
            status, pair = refresh(api, token)
            if status == 200:
                token = pair["refresh_token"]
                left.append(pair["refresh_expires_in"])
            if 3.5 < time.monotonic() - started and not idle_checked:
                assert refresh(api, idle["refresh_token"]) == (401, INVALID_SESSION)
                assert me(api, idle) == 401, "a dead session's access token dies with it"
                idle_checked = True
        assert idle_checked and status == 401, pair
        assert 5 <= time.monotonic() - started < 9, left
        assert left[0] >= 2 and left[-1] <= 2, left
