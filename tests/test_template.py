"""What template.yaml promises, checked: durable table, least privilege per function, the
signing key never in parameters or variables, the cache behind TLS in private subnets."""
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
    return [
        statement
        for policy in function["Properties"].get("Policies", [])
        for statement in (policy.get("Statement", []) if isinstance(policy, dict) else [])
    ]


def test_each_function_gets_only_the_dynamodb_actions_it_uses():
    # DescribeEndpoints: the init warm-up of sign-up and sign-in (no table, no data).
    warmup = "dynamodb:DescribeEndpoints"
    assert dynamodb_actions(FUNCTIONS["SignupFunction"]) == {"dynamodb:PutItem", warmup}
    assert dynamodb_actions(FUNCTIONS["SigninFunction"]) == {"dynamodb:GetItem", "dynamodb:UpdateItem", warmup}
    for function in FUNCTIONS.values():
        for statement in table_statements(function):
            listed = statement["Action"]
            actions = {listed} if isinstance(listed, str) else set(listed)
            # Only the warm-up action may name every resource; table actions name the table.
            if statement["Resource"] == "*":
                assert actions == {warmup}
            else:
                assert statement["Resource"] == {"GetAtt": "UsersTable.Arn"}
    assert dynamodb_actions(FUNCTIONS["MeFunction"]) == {"dynamodb:GetItem"}
    assert dynamodb_actions(FUNCTIONS["SignoutFunction"]) == set()
    for function in FUNCTIONS.values():
        secret_policies = [
            p for p in function["Properties"]["Policies"]
            if isinstance(p, dict) and "AWSSecretsManagerGetSecretValuePolicy" in p
        ]
        assert secret_policies == [{"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": "JwtSecret"}}}]


def test_functions_are_arm64_rust_with_logs_kept_for_a_while():
    globals_ = TEMPLATE["Globals"]["Function"]
    assert globals_["Runtime"] == "provided.al2023"
    assert globals_["Architectures"] == ["arm64"]
    assert globals_["LoggingConfig"]["LogFormat"] == "JSON"
    for name, function in FUNCTIONS.items():
        assert function["Metadata"]["BuildMethod"] == "rust-cargolambda"
        group = RESOURCES[name.replace("Function", "LogGroup")]
        assert group["Properties"]["LogGroupName"] == {"Sub": f"/aws/lambda/${{{name}}}"}


def test_the_signing_key_is_generated_and_passed_by_reference_only():
    secret = RESOURCES["JwtSecret"]["Properties"]
    assert secret["GenerateSecretString"]["PasswordLength"] >= 32
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert "JWT_SECRET" not in variables
    assert variables["JWT_SECRET_ARN"] == {"Ref": "JwtSecret"}
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


def test_the_table_forgets_lock_records_through_its_ttl():
    (table,) = [r for r in RESOURCES.values() if r["Type"] == "AWS::DynamoDB::Table"]
    ttl = table["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expiresAt", "Enabled": True}
