#!/usr/bin/env python3
"""Creates the users table on a local DynamoDB-compatible server, with the key schema read
from template.yaml so local tables and the deployed one cannot drift apart.

    create_table.py --endpoint http://127.0.0.1:8000 --table users   # create (idempotent)
    create_table.py --endpoint ... --secret NAME   # JWT_SECRET's value as a Secrets Manager
                                                   # secret (created or updated); prints its ARN
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
    try:
        client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST", **schema)
    except client.exceptions.ResourceInUseException:
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


def put_secret(endpoint, name, value, region="us-east-1"):
    """The signing key where a deployed function finds it (`JWT_SECRET_ARN`), for
    `sam local invoke`; returns the secret's ARN."""
    client = local_client("secretsmanager", endpoint, region)
    try:
        return client.create_secret(Name=name, SecretString=value)["ARN"]
    except client.exceptions.ResourceExistsException:
        return client.put_secret_value(SecretId=name, SecretString=value)["ARN"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint")
    parser.add_argument("--table")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--print-schema", action="store_true")
    parser.add_argument("--list-functions", action="store_true")
    parser.add_argument("--secret", metavar="NAME", help="store $JWT_SECRET as secret NAME")
    args = parser.parse_args()
    if args.list_functions:
        resources = load_template()["Resources"]
        print("\n".join(n for n, r in resources.items() if r["Type"] == "AWS::Serverless::Function"))
    elif args.print_schema:
        print(json.dumps(table_schema()))
    elif args.endpoint and args.secret:
        value = os.environ.get("JWT_SECRET") or parser.error("--secret reads JWT_SECRET")
        print(put_secret(args.endpoint, args.secret, value, args.region))
    elif args.endpoint and args.table:
        create_table(args.endpoint, args.table, args.region)
    else:
        parser.error("--endpoint and --table are required unless --print-schema")


if __name__ == "__main__":
    main()
