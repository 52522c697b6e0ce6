"""The route table is written in three places; they must agree: template.yaml (deployed),
Cargo.toml's cargo-lambda router (make dev) and openapi.yaml (documented)."""
import pathlib
import sys
import tomllib

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from create_table import load_template  # noqa: E402


def template_routes():
    """The routes of the functions' SAM events and those declared behind the JWT authorizer
    (`AWS::ApiGatewayV2::Route`s, which make dev's front reads from the template too)."""
    from dev_front import authorized_routes

    routes = {(method, path, binary) for (method, path), binary in authorized_routes().items()}
    for resource in load_template()["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                props = event["Properties"]
                routes.add((props["Method"].upper(), props["Path"], binary))
    return routes


def router_routes():
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())
    router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
    return {
        (entry["method"].upper(), path, entry["function"])
        for path, entries in router.items()
        for entry in entries
    }


def openapi_routes():
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    return {
        (method.upper(), path, operation["x-function"])
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_the_three_route_tables_agree():
    expected = {
        ("POST", "/signup", "signup"),
        ("POST", "/signin", "signin"),
        ("GET", "/me", "me"),
        ("POST", "/signout", "signout"),
        ("POST", "/token/validate", "validate"),
        ("POST", "/token/refresh", "refresh"),
        ("GET", "/sessions", "sessions"),
        ("DELETE", "/sessions/{id}", "sessions"),
        ("GET", "/.well-known/jwks.json", "discovery"),
        ("GET", "/.well-known/openid-configuration", "discovery"),
        ("POST", "/email/verify", "email"),
        ("POST", "/email/verify/resend", "email"),
        ("POST", "/password/forgot", "password"),
        ("POST", "/password/reset", "password"),
        ("POST", "/password/change", "account"),
        ("DELETE", "/me", "account"),
    }
    # GET /hello is an example of a route of your own, not part of the API.
    example = {("GET", "/hello", "example")}
    assert template_routes() == expected | example
    # make dev's front serves the template's authorized routes itself; the router the rest.
    authorized = {route for route in expected | example if route[2] in ("account", "example")}
    assert router_routes() == expected - authorized
    assert openapi_routes() == expected


def test_every_function_is_a_workspace_binary():
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())
    members = set(manifest["workspace"]["members"])
    for _, _, binary in template_routes():
        assert f"functions/{binary}" in members


def test_local_table_schema_is_the_templates():
    from create_table import table_schema

    schema = table_schema()
    assert schema["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]


def rust_error_codes():
    """(code, message) pairs read from shared/src/error.rs: the one source of the codes."""
    import re

    source = (ROOT / "shared/src/error.rs").read_text()
    messages = dict(re.findall(r'#\[error\("([^"]+)"\)\]\s*(\w+)', source))
    by_variant = {v: m for m, v in messages.items()}
    codes = re.findall(r"Self::(\w+)(?:\([^)]*\)| \{ \.\. \})? => (\d{4}),", source)
    return {int(code): by_variant[variant] for variant, code in codes}


def test_error_code_tables_match_the_code():
    codes = rust_error_codes()
    assert len(codes) >= 13
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    assert {int(k): v for k, v in spec["x-error-codes"].items()} == codes
    assert readme_error_rows() == codes


def readme_error_rows():
    """{code: message} from README's errorCode table (`| code | HTTP | message |` rows), with
    each row's HTTP status checked against the code's first three digits."""
    import re

    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| (\d{4}) \| (\d{3}) \| (.+?) \|$", readme, re.MULTILINE)
    for code, status, _ in rows:
        assert code[:3] == status, code
    return {int(code): message for code, _, message in rows}


def test_openapi_is_a_valid_document():
    from openapi_spec_validator import validate

    validate(yaml.safe_load((ROOT / "openapi.yaml").read_text()))
