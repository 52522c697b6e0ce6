"""What template.yaml promises, checked: durable table, least privilege per function, the
signing key never in parameters or variables, the cache behind TLS in private subnets."""
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from create_table import load_template  # noqa: E402

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
FUNCTIONS = {n: r for n, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}


def dynamodb_actions(function):
    actions = set()
    for policy in function["Properties"].get("Policies", []):
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            listed = statement["Action"]
            actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def test_the_table_is_durable_and_keyed_for_uniqueness():
    (table,) = [r for r in RESOURCES.values() if r["Type"] == "AWS::DynamoDB::Table"]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]


def table_statements(function):
    """The statements about DynamoDB (the key rotation's are about its secrets)."""
    return [
        statement
        for policy in function["Properties"].get("Policies", [])
        for statement in (policy.get("Statement", []) if isinstance(policy, dict) else [])
        if any(action.startswith("dynamodb:") for action in
               ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]))
    ]


def test_each_function_gets_only_the_dynamodb_actions_it_uses():
    # DescribeEndpoints: the init warm-up of sign-up and sign-in (no table, no data).
    warmup = "dynamodb:DescribeEndpoints"
    assert dynamodb_actions(FUNCTIONS["SignupFunction"]) == {"dynamodb:PutItem", warmup}
    assert dynamodb_actions(FUNCTIONS["SigninFunction"]) == {
        "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", warmup}
    for function in FUNCTIONS.values():
        for statement in table_statements(function):
            listed = statement["Action"]
            actions = {listed} if isinstance(listed, str) else set(listed)
            # Only the warm-up action may name every resource; table actions name the table.
            if statement["Resource"] == "*":
                assert actions == {warmup}
            elif actions == {"dynamodb:Query"}:
                # Queries only the index of a user's sessions, never the table.
                assert statement["Resource"] == {"Sub": "${UsersTable.Arn}/index/sessionsByUser"}
            else:
                assert statement["Resource"] == {"GetAtt": "UsersTable.Arn"}
    assert dynamodb_actions(FUNCTIONS["MeFunction"]) == {"dynamodb:GetItem", "dynamodb:BatchGetItem"}
    assert dynamodb_actions(FUNCTIONS["SignoutFunction"]) == {"dynamodb:BatchGetItem", "dynamodb:UpdateItem"}
    assert dynamodb_actions(FUNCTIONS["ValidateFunction"]) == {"dynamodb:BatchGetItem"}
    assert dynamodb_actions(FUNCTIONS["RefreshFunction"]) == {"dynamodb:BatchGetItem", "dynamodb:UpdateItem"}
    assert dynamodb_actions(FUNCTIONS["SessionsFunction"]) == {
        "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:UpdateItem"}
    # Table statements name the item kinds they may touch (their keys' prefixes).
    kinds = {
        name: [
            (frozenset([s["Action"]] if isinstance(s["Action"], str) else s["Action"]),
             frozenset(s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]))
            for s in table_statements(function)
            if s["Resource"] == {"GetAtt": "UsersTable.Arn"}
        ]
        for name, function in FUNCTIONS.items()
    }
    assert kinds["SignoutFunction"] == [
        (frozenset({"dynamodb:BatchGetItem", "dynamodb:UpdateItem"}), frozenset({"USER#*", "SESSION#*"}))]
    assert (frozenset({"dynamodb:UpdateItem"}), frozenset({"SESSION#*"})) in kinds["RefreshFunction"]
    assert (frozenset({"dynamodb:PutItem"}), frozenset({"SESSION#*"})) in kinds["SigninFunction"]
    assert all("LOCK#*" not in keys and "EMAIL#*" not in keys
               for name in ("MeFunction", "SignoutFunction", "ValidateFunction", "RefreshFunction",
                            "SessionsFunction")
               for _, keys in kinds[name])
    # The e-mail flows: codes are written by the mailer only, consumed by the email function
    # only; sign-up may queue a request but touch no code.
    assert dynamodb_actions(FUNCTIONS["EmailFunction"]) == {
        "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:PutItem"}
    assert kinds["MailerFunction"] == [
        (frozenset({"dynamodb:GetItem"}), frozenset({"EMAIL#*", "USER#*"})),
        (frozenset({"dynamodb:PutItem"}), frozenset({"CODE#*"}))]
    assert (frozenset({"dynamodb:DeleteItem"}), frozenset({"CODE#*"})) in kinds["EmailFunction"]
    # A reset: the code, the credential's hash, the profile's sessions and the sign-in lock,
    # never a session record (they end through the profile) or a new code.
    assert kinds["PasswordFunction"] == [
        (frozenset({"dynamodb:GetItem"}), frozenset({"EMAIL#*", "USER#*", "MAILQUOTA#*"})),
        (frozenset({"dynamodb:UpdateItem"}), frozenset({"CODE#*", "EMAIL#*", "USER#*"})),
        (frozenset({"dynamodb:DeleteItem"}), frozenset({"CODE#*", "LOCK#*"})),
        (frozenset({"dynamodb:PutItem"}), frozenset({"MAIL#*", "MAILQUOTA#*"}))]
    # A change: the new hash, the profile's sessions, the session it keeps, the sign-in lock.
    # A deletion: the credential record, the profile, the codes and the sessions (found
    # through the index); never anything else.
    assert kinds["AccountFunction"] == [
        (frozenset({"dynamodb:GetItem"}), frozenset({"EMAIL#*", "USER#*", "LOCK#*"})),
        (frozenset({"dynamodb:BatchGetItem"}), frozenset({"SESSION#*", "USER#*"})),
        (frozenset({"dynamodb:UpdateItem"}), frozenset({"EMAIL#*", "USER#*", "LOCK#*", "SESSION#*"})),
        (frozenset({"dynamodb:DeleteItem"}), frozenset({"EMAIL#*", "USER#*", "CODE#*", "SESSION#*"}))]
    assert dynamodb_actions(FUNCTIONS["AccountFunction"]) == {
        "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
        "dynamodb:Query", "dynamodb:DescribeEndpoints"}
    assert all("dynamodb:DeleteItem" not in actions or name in ("AccountFunction", "EmailFunction",
                                                                  "PasswordFunction")
               for name, statements in kinds.items() for actions, _ in statements)
    assert all("CODE#*" not in keys for name, statements in kinds.items()
               if name not in ("EmailFunction", "MailerFunction", "PasswordFunction",
                               "AccountFunction")
               for _, keys in statements)
    assert all("LOCK#*" not in keys and "SESSION#*" not in keys
               for name in ("EmailFunction", "MailerFunction") for _, keys in kinds[name])
    assert all("SESSION#*" not in keys for _, keys in kinds["PasswordFunction"])


def test_the_mailer_runs_outside_the_vpc_fed_by_the_stream_and_sends_as_the_identity_only():
    """SES has no VPC endpoint for its API: the mailer alone runs outside the VPC (SAM takes
    an intrinsic VpcConfig as a replacement of the global one, which the transform shows),
    invoked by the table's stream for new MAIL# items only, and may send only as MailFrom."""
    import os
    from samtranslator.translator.transform import transform

    class Policies:
        def load(self):
            return {}

    mailer = FUNCTIONS["MailerFunction"]["Properties"]
    assert mailer["VpcConfig"] == {"Ref": "AWS::NoValue"}
    template = load_template()
    template["Globals"]["Function"]["CodeUri"] = "s3://bucket/key"
    template["Resources"]["HttpApi"]["Properties"].pop("CorsConfiguration", None)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    out = transform(template, {"MailFrom": "no-reply@example.com"}, Policies())["Resources"]
    assert out["MailerFunction"]["Properties"]["VpcConfig"] == {"Ref": "AWS::NoValue"}
    assert "SubnetIds" in out["SignupFunction"]["Properties"]["VpcConfig"]
    (mapping,) = [r for r in out.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert mapping["Properties"]["EventSourceArn"] == {"GetAtt": "UsersTable.StreamArn"}
    (pattern,) = mapping["Properties"]["FilterCriteria"]["Filters"]
    assert json.loads(pattern["Pattern"]) == {
        "eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "MAIL#"}]}}}}
    table = RESOURCES["UsersTable"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    (ses,) = [s for p in mailer["Policies"] for s in p.get("Statement", [])
              if s["Action"] == "ses:SendEmail"]
    assert ses["Condition"] == {"StringEquals": {"ses:FromAddress": {"Ref": "MailFrom"}}}
    assert "identity/${Identity}" in ses["Resource"]["Sub"][0]
    assert "Default" not in TEMPLATE["Parameters"]["MailFrom"], "the sender is the deployer's choice"
    assert RESOURCES["MailSenderIdentity"]["Type"] == "AWS::SES::EmailIdentity"
    # Only the mailer links SES.
    assert all("ses:" not in str(f["Properties"].get("Policies")) for n, f in FUNCTIONS.items()
               if n != "MailerFunction")



SIGNERS = {"SignupFunction", "SigninFunction", "RefreshFunction"}
VERIFIERS = {"MeFunction", "SignoutFunction", "ValidateFunction", "SessionsFunction",
             "DiscoveryFunction"}
# Neither sign nor verify (shared::config::NoTokens): no key document, no secret to read.
KEYLESS = {"EmailFunction", "PasswordFunction", "AccountFunction", "MailerFunction",
           "ExampleFunction"}


def test_only_the_functions_that_issue_tokens_can_read_a_private_key():
    assert SIGNERS | VERIFIERS | KEYLESS | {"KeyRotationFunction"} == set(FUNCTIONS)
    for name in KEYLESS:
        assert "secretsmanager" not in str(FUNCTIONS[name]["Properties"].get("Policies")), name
    assert "Policies" not in FUNCTIONS["ExampleFunction"]["Properties"], "no key, no table"
    for name in SIGNERS | VERIFIERS:
        properties = FUNCTIONS[name]["Properties"]
        readable = {
            p["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"]["Ref"]
            for p in properties["Policies"]
            if isinstance(p, dict) and "AWSSecretsManagerGetSecretValuePolicy" in p
        }
        statements = [s for p in properties["Policies"] if isinstance(p, dict)
                      for s in p.get("Statement", [])]
        assert not any("secretsmanager" in str(s) for s in statements), name
        variables = properties.get("Environment", {}).get("Variables", {})
        if name in SIGNERS:
            assert readable == {"SigningKeys", "RefreshSecret"}, name
            assert variables["SIGNING_KEYS_ARN"] == {"Ref": "SigningKeys"}, name
            assert variables["REFRESH_SECRET_ARN"] == {"Ref": "RefreshSecret"}, name
        else:
            assert readable == {"PublicKeys"}, name
            assert "SIGNING_KEYS_ARN" not in variables and "REFRESH_SECRET_ARN" not in variables
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["PUBLIC_KEYS_ARN"] == {"Ref": "PublicKeys"}
    assert variables["TOKEN_AUDIENCE"] == {"Ref": "TokenAudience"}
    assert "SIGNING_KEYS_ARN" not in variables and "REFRESH_SECRET_ARN" not in variables


def test_functions_are_arm64_rust_with_logs_kept_for_a_while():
    globals_ = TEMPLATE["Globals"]["Function"]
    assert globals_["Runtime"] == "provided.al2023"
    assert globals_["Architectures"] == ["arm64"]
    assert globals_["LoggingConfig"]["LogFormat"] == "JSON"
    for name, function in FUNCTIONS.items():
        assert function["Metadata"]["BuildMethod"] == "rust-cargolambda"
        group = name.replace("Function", "LogGroup")
        assert function["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": group}


def test_the_keys_are_generated_and_passed_by_reference_only():
    secret = RESOURCES["RefreshSecret"]["Properties"]
    assert secret["GenerateSecretString"]["PasswordLength"] >= 32
    for name in ("SigningKeys", "PublicKeys"):
        assert RESOURCES[name]["Properties"]["SecretString"] == '{"keys":[]}'
    assert "JwtSecret" not in RESOURCES
    for function in FUNCTIONS.values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        assert not {"JWT_SECRET", "JWT_SECRET_ARN", "REFRESH_SECRET"} & set(variables)
    text = (ROOT / "template.yaml").read_text()
    assert "resolve:secretsmanager" not in text
    for name, parameter in TEMPLATE["Parameters"].items():
        assert "secret" not in name.lower() and parameter.get("NoEcho") is None


def test_the_cache_is_valkey_serverless_behind_tls_in_private_subnets():
    cache = RESOURCES["Cache"]
    assert cache["Type"] == "AWS::ElastiCache::ServerlessCache"
    assert cache["Properties"]["Engine"] == "valkey"
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["REDIS_URL"]["Sub"].startswith("rediss://")
    vpc = TEMPLATE["Globals"]["Function"]["VpcConfig"]
    assert vpc["SubnetIds"] == cache["Properties"]["SubnetIds"]
    routes = [r for r in RESOURCES.values() if r["Type"] == "AWS::EC2::Route"]
    assert routes == [], "no route to the internet: DynamoDB and Secrets Manager via endpoints"
    endpoints = {
        r["Properties"]["ServiceName"]["Sub"].rsplit(".", 1)[1]: r["Properties"]["VpcEndpointType"]
        for r in RESOURCES.values() if r["Type"] == "AWS::EC2::VPCEndpoint"
    }
    assert endpoints == {"dynamodb": "Gateway", "secretsmanager": "Interface"}
    ingress = RESOURCES["CacheSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert [rule["SourceSecurityGroupId"] for rule in ingress] == [{"Ref": "FunctionSecurityGroup"}]


def test_no_secret_looking_defaults():
    text = (ROOT / "template.yaml").read_text() + (ROOT / "samconfig.toml").read_text()
    assert not re.search(r"(?i)(password|secret|token)\s*[:=]\s*['\"]?[A-Za-z0-9+/]{24,}", text)


def fn_cidr(block, count, host_bits):
    """CloudFormation's Fn::Cidr: `count` blocks of 2**host_bits addresses from the start of
    `block`, or ValueError where they do not fit (the stack would fail to deploy)."""
    import ipaddress

    network = ipaddress.ip_network(block, strict=False)
    prefix = 32 - host_bits
    if prefix < network.prefixlen or count > 2 ** (prefix - network.prefixlen):
        raise ValueError(f"{count} /{prefix} blocks do not fit in {block}")
    return [str(s) for s in list(network.subnets(new_prefix=prefix))[:count]]


def test_every_allowed_vpc_range_holds_its_subnets():
    pattern = re.compile(TEMPLATE["Parameters"]["VpcCidr"]["AllowedPattern"])
    subnets = [RESOURCES[n]["Properties"]["CidrBlock"] for n in ("PrivateSubnetA", "PrivateSubnetB")]
    for prefix in range(16, 29):  # what a VPC may be
        block = f"10.42.0.0/{prefix}"
        allowed = bool(pattern.match(block))
        try:
            expanded = [fn_cidr(block, *s["Select"][1]["Cidr"][1:])[s["Select"][0]] for s in subnets]
        except (ValueError, IndexError):
            expanded = None
        assert allowed == (expanded is not None), f"{block}: allowed {allowed}, subnets {expanded}"
        if expanded:
            assert len(set(expanded)) == 2, "two distinct subnets"
    assert pattern.match(TEMPLATE["Parameters"]["VpcCidr"]["Default"])


def test_lambda_keeps_its_start_and_report_lines():
    logging = TEMPLATE["Globals"]["Function"]["LoggingConfig"]
    assert logging["LogFormat"] == "JSON"
    assert logging["SystemLogLevel"] in ("INFO", "DEBUG")


def test_the_lock_settings_reach_sign_in_and_the_account_routes_only():
    """Only sign-in and the account routes read them (shared::lockout), so only they are
    given them."""
    locks = {"ACCOUNT_LOCK_THRESHOLD", "ACCOUNT_LOCK_MAX_SECONDS", "ADDRESS_LOCK_THRESHOLD"}
    assert not locks & set(TEMPLATE["Globals"]["Function"]["Environment"]["Variables"])
    for name, function in FUNCTIONS.items():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        signing = {"SIGNING_KEYS_ARN", "REFRESH_SECRET_ARN"}
        expected = {"SigninFunction": locks | signing | {"REQUIRE_VERIFIED_EMAIL"},
                    "SignupFunction": signing, "RefreshFunction": signing,
                    "KeyRotationFunction": {"PUBLIC_KEYS_ARN"}, "MailerFunction": {"MAIL_FROM"},
                    "AccountFunction": locks}
        assert set(variables) == expected.get(name, set()), name


def test_the_table_forgets_lock_records_through_its_ttl():
    (table,) = [r for r in RESOURCES.values() if r["Type"] == "AWS::DynamoDB::Table"]
    ttl = table["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expiresAt", "Enabled": True}


ALARMS = {n: r["Properties"] for n, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def alarm_metrics(props):
    """(namespace, metric name) of every metric an alarm reads; our own namespace is "own"."""
    metrics = [props] if "MetricName" in props else [
        m["MetricStat"]["Metric"] for m in props["Metrics"] if "MetricStat" in m
    ]
    return {
        (m["Namespace"] if isinstance(m["Namespace"], str) else "own", m["MetricName"])
        for m in metrics
    }


def test_every_alarm_notifies_the_operator_s_topic():
    assert ALARMS
    topic = {"If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    for name, props in ALARMS.items():
        assert props["AlarmActions"] == topic, name
        assert props["TreatMissingData"] == "notBreaching", name
    assert TEMPLATE["Parameters"]["AlarmTopicArn"]["Default"] == ""


def test_what_an_operator_needs_is_alarmed():
    watched = set().union(*(alarm_metrics(p) for p in ALARMS.values()))
    for function in FUNCTIONS:
        per_function = [
            p["MetricName"]
            for p in ALARMS.values()
            if p.get("Dimensions") == [{"Name": "FunctionName", "Value": {"Ref": function}}]
        ]
        assert sorted(per_function) == ["Duration", "Errors", "Throttles"], function
        duration = next(
            p for p in ALARMS.values()
            if p.get("MetricName") == "Duration" and p["Dimensions"][0]["Value"] == {"Ref": function}
        )
        assert duration["ExtendedStatistic"] == "p99"
    assert {
        ("AWS/ApiGateway", "5xx"),
        ("AWS/DynamoDB", "SystemErrors"),
        ("AWS/DynamoDB", "ReadThrottleEvents"),
        ("AWS/DynamoDB", "WriteThrottleEvents"),
        ("AWS/ElastiCache", "ElastiCacheProcessingUnits"),
        ("AWS/ElastiCache", "BytesUsedForCache"),
    } <= watched
    # 429s come from the functions, counted from the access log.
    (metric,) = [r for r in RESOURCES.values() if r["Type"] == "AWS::Logs::MetricFilter"
                 and r["Properties"]["LogGroupName"] == {"Ref": "ApiAccessLogGroup"}]
    assert metric["Properties"]["LogGroupName"] == {"Ref": "ApiAccessLogGroup"}
    assert '"429"' in metric["Properties"]["FilterPattern"]
    name = metric["Properties"]["MetricTransformations"][0]["MetricName"]
    assert any(p.get("MetricName") == name for p in ALARMS.values())


def test_access_logs_are_json_with_what_an_operator_needs_and_no_credentials():
    settings = RESOURCES["HttpApi"]["Properties"]["AccessLogSettings"]
    assert settings["DestinationArn"] == {"GetAtt": "ApiAccessLogGroup.Arn"}
    import json

    record = json.loads(settings["Format"])
    values = set(record.values())
    for variable in ("requestId", "identity.sourceIp", "routeKey", "status", "responseLatency"):
        assert f"$context.{variable}" in values, variable
    assert not any("header" in v.lower() or "authorizer" in v.lower() for v in values)


def test_each_function_logs_to_its_own_group_with_retention():
    groups = set()
    for name, function in FUNCTIONS.items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        props = RESOURCES[group]["Properties"]
        assert props["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        # Named by the stack, not the function: the function refers to the group.
        assert name not in str(props["LogGroupName"])
        groups.add(group)
    assert len(groups) == len(FUNCTIONS)


def test_sign_up_and_sign_in_concurrency_can_be_reserved():
    for function, parameter in [("SignupFunction", "SignupReservedConcurrency"), ("SigninFunction", "SigninReservedConcurrency")]:
        reserved = FUNCTIONS[function]["Properties"]["ReservedConcurrentExecutions"]
        assert reserved["If"][1] == {"Ref": parameter}
        assert reserved["If"][2] == {"Ref": "AWS::NoValue"}, "0 means unreserved, never 'throttle all'"
    for other in ("MeFunction", "SignoutFunction"):
        assert "ReservedConcurrentExecutions" not in FUNCTIONS[other]["Properties"]


def test_availability_zones_are_parameters():
    for subnet, parameter in [("PrivateSubnetA", "AvailabilityZoneA"), ("PrivateSubnetB", "AvailabilityZoneB")]:
        zone = RESOURCES[subnet]["Properties"]["AvailabilityZone"]
        assert zone["If"][1] == {"Ref": parameter}


def sam_transform(parameters):
    """template.yaml through SAM's own translator (what CloudFormation's AWS::Serverless
    transform runs), as CloudFormation JSON."""
    import json
    import os

    from samtranslator.translator.transform import transform

    def cloudformation(node):  # create_table's loader keeps `!Sub x` as {"Sub": x}
        if isinstance(node, list):
            return [cloudformation(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
            if key not in ("Ref", "Condition") and key[0].isupper() and key in INTRINSICS:
                return {f"Fn::{key}": cloudformation(value)}
        return {key: cloudformation(value) for key, value in node.items()}

    class NoManagedPolicies:
        def load(self):
            return {}

    template = cloudformation(json.loads(json.dumps(TEMPLATE)))
    template["Globals"]["Function"]["CodeUri"] = "s3://bucket/key"  # what `sam package` makes
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return transform(template, parameters, NoManagedPolicies())


INTRINSICS = {"Sub", "GetAtt", "If", "Split", "Not", "Equals", "Select", "GetAZs", "Join",
              "Cidr", "And", "Or", "FindInMap", "Base64"}


def test_cors_is_off_by_default_and_lists_only_the_configured_origins():
    parameter = TEMPLATE["Parameters"]["CorsAllowedOrigins"]
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    for accepted in ["", "https://app.example.com", "https://a.example.com,http://localhost:3000"]:
        assert pattern.fullmatch(accepted), accepted
    for refused in ["*", "https://*.example.com", "https://a.example.com,*", "app.example.com",
                    "https://a.example.com/path", "https://a.example.com, https://b.example.com"]:
        assert not pattern.fullmatch(refused), refused
    assert TEMPLATE["Conditions"]["HasCorsOrigins"] == {
        "Not": [{"Equals": [{"Ref": "CorsAllowedOrigins"}, ""]}]
    }

    origins = "https://app.example.com,http://localhost:3000"
    api = sam_transform({"CorsAllowedOrigins": origins})["Resources"]["HttpApi"]["Properties"]
    condition, cors, otherwise = api["Body"]["x-amazon-apigateway-cors"]["Fn::If"]
    assert condition == "HasCorsOrigins" and otherwise == {"Ref": "AWS::NoValue"}
    assert cors["allowOrigins"] == {"Fn::Split": [",", origins]}
    # Tokens travel in the Authorization header: the browser must be allowed to send it, and
    # never cookies; Retry-After must be readable by the page.
    assert cors["allowCredentials"] is False
    assert set(cors["allowHeaders"]) == {"authorization", "content-type"}
    # DELETE: a device signed out (DELETE /sessions/{id}), the account deleted (DELETE /me).
    assert set(cors["allowMethods"]) == {"GET", "POST", "DELETE"}
    assert cors["exposeHeaders"] == ["retry-after"]


def test_the_signing_keys_rotate_by_schedule_and_only_their_rotation_writes_them():
    for name in ("SigningKeys", "PublicKeys"):
        secret = RESOURCES[name]["Properties"]
        # An empty set, never a key: the rotation makes them.
        assert secret["SecretString"] == '{"keys":[]}', name
    schedule = RESOURCES["SigningKeysRotation"]["Properties"]
    assert schedule["SecretId"] == {"Ref": "SigningKeys"}
    assert schedule["RotationLambdaARN"] == {"GetAtt": "KeyRotationFunction.Arn"}
    assert schedule["RotateImmediatelyOnUpdate"] is True
    assert schedule["RotationRules"]["ScheduleExpression"] == {"Sub": "rate(${KeyRotationDays} days)"}
    days = TEMPLATE["Parameters"]["KeyRotationDays"]
    assert days["Default"] == 90 and days["MinValue"] >= 1
    permission = RESOURCES["KeyRotationPermission"]["Properties"]
    assert permission["Principal"] == "secretsmanager.amazonaws.com"
    assert permission["SourceArn"] == {"Ref": "SigningKeys"}
    rotation = FUNCTIONS["KeyRotationFunction"]["Properties"]
    assert "Events" not in rotation, "not a route"
    assert rotation["Environment"]["Variables"]["PUBLIC_KEYS_ARN"] == {"Ref": "PublicKeys"}
    (policy,) = rotation["Policies"]
    granted = {
        statement["Resource"]["Ref"]: set(statement["Action"]) for statement in policy["Statement"]
    }
    assert granted == {
        "SigningKeys": {"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                        "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"},
        "PublicKeys": {"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"},
    }
    # Nothing else may write either; only the signing functions read the private set
    # (test_only_the_functions_that_issue_tokens_can_read_a_private_key).
    for name, function in FUNCTIONS.items():
        if name != "KeyRotationFunction":
            assert "PutSecretValue" not in str(function["Properties"].get("Policies")), name
            assert "UpdateSecretVersionStage" not in str(function["Properties"].get("Policies"))
    for name in VERIFIERS:
        assert "SigningKeys" not in str(FUNCTIONS[name]["Properties"]), name


def test_an_example_route_sits_behind_a_jwt_authorizer_on_our_issuer_and_audience():
    authorizer = RESOURCES["TokenAuthorizer"]["Properties"]
    assert authorizer["ApiId"] == {"Ref": "HttpApi"}
    assert authorizer["AuthorizerType"] == "JWT"
    assert authorizer["IdentitySource"] == ["$request.header.Authorization"]
    jwt = authorizer["JwtConfiguration"]
    assert jwt["Audience"] == [{"Ref": "TokenAudience"}]
    # The same issuer the functions learn (TOKEN_ISSUER, or the API's own URL) and the
    # Issuer output names.
    assert jwt["Issuer"] == TEMPLATE["Outputs"]["Issuer"]["Value"]
    condition, custom, default = jwt["Issuer"]["If"]
    assert (condition, custom) == ("HasIssuer", {"Ref": "TokenIssuer"})
    assert default == {"Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    route = RESOURCES["ExampleRoute"]["Properties"]
    assert route["RouteKey"] == "GET /hello"
    assert route["AuthorizationType"] == "JWT"
    assert route["AuthorizerId"] == {"Ref": "TokenAuthorizer"}
    assert route["Target"] == {"Sub": "integrations/${ExampleIntegration}"}
    integration = RESOURCES["ExampleIntegration"]["Properties"]
    assert integration["IntegrationUri"] == {"GetAtt": "ExampleFunction.Arn"}
    assert integration["PayloadFormatVersion"] == "2.0"
    permission = RESOURCES["ExamplePermission"]["Properties"]
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["SourceArn"]["Sub"].endswith("${HttpApi}/*/GET/hello"), "this route only"
    # Every other route stays public to the gateway: our functions check tokens themselves.
    for name, function in FUNCTIONS.items():
        for event in function["Properties"].get("Events", {}).values():
            assert "Auth" not in event["Properties"], name


def test_the_account_routes_sit_behind_the_jwt_authorizer_each_with_its_own_permission():
    """A password change and an account's deletion are reached only with a token API Gateway
    checked; the function may be invoked for those two routes and no other."""
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::ApiGatewayV2::Route"
        and r["Properties"]["Target"] == {"Sub": "integrations/${AccountIntegration}"}
    }
    assert set(routes) == {"POST /password/change", "DELETE /me"}
    for route in routes.values():
        assert route["AuthorizationType"] == "JWT"
        assert route["AuthorizerId"] == {"Ref": "TokenAuthorizer"}
    integration = RESOURCES["AccountIntegration"]["Properties"]
    assert integration["IntegrationUri"] == {"GetAtt": "AccountFunction.Arn"}
    arns = sorted(
        r["Properties"]["SourceArn"]["Sub"].rsplit("${HttpApi}", 1)[1]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"]["FunctionName"] == {"GetAtt": "AccountFunction.Arn"}
    )
    assert arns == ["/*/DELETE/me", "/*/POST/password/change"]
    assert "Events" not in FUNCTIONS["AccountFunction"]["Properties"]
