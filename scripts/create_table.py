#!/usr/bin/env python3
"""Creates the users table on a local DynamoDB-compatible server, with the key schema read
from template.yaml so local tables and the deployed one cannot drift apart.

    create_table.py --endpoint http://127.0.0.1:8000 --table users   # create (idempotent)
    create_table.py --endpoint ... --secret NAME   # REFRESH_SECRET's value as a Secrets Manager
                                                   # secret (created or updated); prints its ARN
    create_table.py --endpoint ... --signing-keys PREFIX --key-file PEM
        # the two key secrets as the rotation leaves them (PREFIX-signing-keys: the key set,
        # PEM as its active key, rotation enabled as the template does; PREFIX-public-keys:
        # its JWKS); prints both ARNs
    create_table.py --print-schema                                   # the schema as JSON
    create_table.py --list-functions                                 # the Lambda functions
"""
import argparse
import json
import os
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


class _TemplateLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML, keeping intrinsic functions (!Ref, !Sub…) as plain data."""


def _intrinsic(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix: value}


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def load_template(path=ROOT / "template.yaml"):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=_TemplateLoader)


def table_schema(template=None):
    template = template or load_template()
    tables = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::DynamoDB::Table"
    ]
    if len(tables) != 1:
        sys.exit(f"expected one AWS::DynamoDB::Table in template.yaml, found {len(tables)}")
    return {
        "KeySchema": tables[0]["KeySchema"],
        "AttributeDefinitions": tables[0]["AttributeDefinitions"],
        "GlobalSecondaryIndexes": tables[0].get("GlobalSecondaryIndexes", []),
        "StreamSpecification": tables[0].get("StreamSpecification"),
    }


def local_client(service, endpoint, region):
    """A boto3 client for a local server (dummy credentials)."""
    import boto3  # only needed here; --print-schema stays fast

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def create_table(endpoint, table, region="us-east-1"):
    client = local_client("dynamodb", endpoint, region)
    schema = table_schema()
    stream = schema.pop("StreamSpecification")
    stream = {"StreamEnabled": True, **stream} if stream else None
    try:
        client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST", **schema,
                            **({"StreamSpecification": stream} if stream else {}))
    except client.exceptions.ResourceInUseException:
        # A stream the template gained since (the mail outbox) is enabled too.
        described = client.describe_table(TableName=table)["Table"]
        if stream and not described.get("StreamSpecification", {}).get("StreamEnabled"):
            client.update_table(TableName=table, StreamSpecification=stream)
        # Already there: `make dev` reuses the table across restarts. An index the template
        # gained since is added, as CloudFormation adds it to a deployed table.
        existing = client.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
        names = {index["IndexName"] for index in existing}
        for index in schema["GlobalSecondaryIndexes"]:
            if index["IndexName"] not in names:
                client.update_table(
                    TableName=table,
                    AttributeDefinitions=schema["AttributeDefinitions"],
                    GlobalSecondaryIndexUpdates=[{"Create": index}],
                )


def ses_identity(endpoint, address, region="us-east-1"):
    """The sender identity, as template.yaml's MailSenderIdentity creates it: moto's SES
    refuses to send from an address it does not know, as SES does."""
    client = local_client("sesv2", endpoint, region)
    try:
        client.create_email_identity(EmailIdentity=address)
    except client.exceptions.AlreadyExistsException:
        pass


def put_secret(endpoint, name, value, region="us-east-1"):
    """A secret where a deployed function finds it (`REFRESH_SECRET_ARN`, `SIGNING_KEYS_ARN`,
    `PUBLIC_KEYS_ARN`); returns the secret's ARN."""
    client = local_client("secretsmanager", endpoint, region)
    try:
        return client.create_secret(Name=name, SecretString=value)["ARN"]
    except client.exceptions.ResourceExistsException:
        return client.put_secret_value(SecretId=name, SecretString=value)["ARN"]


def enable_rotation(endpoint, arn, region="us-east-1"):
    """Marks the key set as rotated on a schedule, as template.yaml's rotation schedule does, so
    the rotation function (scripts/rotate_keys.py) accepts it; moto then expects the steps to be
    driven from outside, as the script does."""
    client = local_client("secretsmanager", endpoint, region)
    client.rotate_secret(SecretId=arn, RotationRules={"AutomaticallyAfterDays": 90},
                         RotateImmediately=False)


def key_documents(pem):
    """The stored key set (PEM as its one active key) and its JWKS, as the rotation function
    writes them; the kid is the key's RFC 7638 thumbprint."""
    import base64
    import hashlib
    import time

    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    if "BEGIN PRIVATE KEY" not in pem:
        sys.exit("the signing key must be an unencrypted PKCS#8 PEM (BEGIN PRIVATE KEY), as "
                 "`openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048` writes")
    key = load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey) or not 2048 <= key.key_size <= 4096:
        sys.exit("the signing key must be an RSA key of 2048 to 4096 bits")
    numbers = key.public_key().public_numbers()

    def b64(number):
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    n, e = b64(numbers.n), b64(numbers.e)
    canonical = json.dumps({"e": e, "kty": "RSA", "n": n}, separators=(",", ":"), sort_keys=True)
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    stored = {"keys": [{"role": "active", "created": int(time.time()), "pem": pem}]}
    jwks = {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e}]}
    return json.dumps(stored), json.dumps(jwks)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint")
    parser.add_argument("--table")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--print-schema", action="store_true")
    parser.add_argument("--list-functions", action="store_true")
    parser.add_argument("--secret", metavar="NAME", help="store $REFRESH_SECRET as secret NAME")
    parser.add_argument("--signing-keys", metavar="PREFIX", help="store --key-file as the key set")
    parser.add_argument("--key-file", metavar="PEM", help="an RSA private key, PKCS#8 PEM")
    parser.add_argument("--ses-identity", metavar="ADDRESS", help="create the SES sender identity")
    args = parser.parse_args()
    if args.list_functions:
        resources = load_template()["Resources"]
        print("\n".join(n for n, r in resources.items() if r["Type"] == "AWS::Serverless::Function"))
    elif args.print_schema:
        print(json.dumps(table_schema()))
    elif args.endpoint and args.secret:
        value = os.environ.get("REFRESH_SECRET") or parser.error("--secret reads REFRESH_SECRET")
        print(put_secret(args.endpoint, args.secret, value, args.region))
    elif args.endpoint and args.signing_keys and args.key_file:
        pem = pathlib.Path(args.key_file).read_text()
        stored, published = key_documents(pem)
        arns = [put_secret(args.endpoint, f"{args.signing_keys}-{suffix}", value, args.region)
                for suffix, value in (("signing-keys", stored), ("public-keys", published))]
        enable_rotation(args.endpoint, arns[0], args.region)
        print("\n".join(arns))
    elif args.endpoint and args.ses_identity:
        ses_identity(args.endpoint, args.ses_identity, args.region)
    elif args.endpoint and args.table:
        create_table(args.endpoint, args.table, args.region)
    else:
        parser.error("--endpoint and --table are required unless --print-schema")


if __name__ == "__main__":
    main()
