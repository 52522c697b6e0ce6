#!/usr/bin/env python3
"""`make dev`'s stand-in for the Lambda event source mapping that feeds MailerFunction: reads
the users table's stream in moto and invokes the `mailer` function (through cargo lambda
watch) with each new `MAIL#` request, in the stream event's shape and with the template's
filter (INSERT of a `MAIL#` key), so a sign-up's code lands in moto's SES (`make mail`).

    dev_mailer.py --endpoint http://127.0.0.1:8000 --table auth-users --watch 127.0.0.1:PORT
"""
import argparse
import http.client
import json
import sys
import time
import urllib.request

import botocore.exceptions

from create_table import local_client


def wanted(record):
    """template.yaml's FilterCriteria: new items whose key starts with MAIL#."""
    keys = record.get("dynamodb", {}).get("Keys", {})
    return record.get("eventName") == "INSERT" and keys.get("pk", {}).get("S", "").startswith("MAIL#")


def invoke(watch, records):
    request = urllib.request.Request(
        f"http://{watch}/2015-03-31/functions/mailer/invocations",
        data=json.dumps({"Records": records}, default=str).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.read().decode()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--watch", required=True, help="cargo lambda watch's host:port")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()
    dynamodb = local_client("dynamodb", args.endpoint, args.region)
    streams = local_client("dynamodbstreams", args.endpoint, args.region)
    arn = dynamodb.describe_table(TableName=args.table)["Table"]["LatestStreamArn"]
    iterators = {}
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterators[shard["ShardId"]] = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST")["ShardIterator"]
    print(f"[mail] following {arn}", file=sys.stderr, flush=True)
    # Records read but not yet taken by the mailer: kept and retried, as the event source
    # mapping retries a batch, so a mailer being rebuilt (cargo lambda watch) loses nothing.
    pending = []
    while True:
        for shard, iterator in list(iterators.items()):
            try:
                page = streams.get_records(ShardIterator=iterator, Limit=100)
            except botocore.exceptions.BotoCoreError as err:
                print(f"[mail] stream not read ({err}); retrying", file=sys.stderr, flush=True)
                continue
            iterators[shard] = page["NextShardIterator"]
            pending += [r for r in page["Records"] if wanted(r)]
        if pending:
            try:
                answer = invoke(args.watch, pending)
                print(f"[mail] {len(pending)} request(s): {answer}", file=sys.stderr, flush=True)
                pending = []
            except (OSError, http.client.HTTPException) as err:
                print(f"[mail] mailer not reached ({err}); {len(pending)} request(s) kept, "
                      "retrying", file=sys.stderr, flush=True)
                time.sleep(1)
        time.sleep(0.2)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
