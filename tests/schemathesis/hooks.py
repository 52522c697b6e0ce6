"""Schemathesis hooks for the schema-driven run (tests/test_schema.py, `make fuzz-api`).

Each hook works around something the generator cannot know; none of them hides a response.
"""
import schemathesis

# Put in front of schema-valid sign-up passwords (zxcvbn reads only the first 100 characters). The strength rule (zxcvbn score >= 3) cannot be
# written in JSON Schema, so without this nearly every generated sign-up is a weak-password
# 400, the positive_data_acceptance check cannot hold, and the stateful phase never gets the
# tokens its links (signup -> signin -> me -> signout) need. The rule itself is tested in
# shared/src/domain/password.rs and tests/test_api.py.
STRONG_PREFIX = "tundra-Vexil-93-lantern "
MAX_PASSWORD = 256


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body
    if case.operation.path == "/signup" and isinstance(body, dict):
        password = body.get("password")
        if isinstance(password, str) and 8 <= len(password) <= MAX_PASSWORD:
            # Same length bounds: a password at the maximum keeps its length.
            keep = min(len(password), MAX_PASSWORD - len(STRONG_PREFIX))
            body["password"] = STRONG_PREFIX + password[:keep]
