#!/usr/bin/env bash
# The local stack behind `make dev`: moto_server (DynamoDB and Secrets Manager) and
# redis-server on loopback, the users table with template.yaml's key schema, the token keys in
# moto's Secrets Manager as the deployed stack keeps them (a dev RSA signing key),
# `cargo lambda watch` running the functions, and scripts/dev_front.py serving POST /signup,
# POST /signin, GET /me, POST /signout, POST /token/validate, POST /token/refresh, GET /sessions,
# DELETE /sessions/{id}, GET /.well-known/jwks.json, GET /.well-known/openid-configuration and
# GET /hello, POST /password/change and DELETE /me (behind template.yaml's JWT authorizer,
# which the front plays) as API Gateway does, plus POST /email/verify, /email/verify/resend,
# /password/forgot and /password/reset,
# and the mailer fed by the table's stream (scripts/dev_mailer.py) sending through moto's SES.
# With a Docker engine, also what `make invoke` needs: the refresh secret in moto, a relay for
# containers, .dev/sam-env.json.
# Ctrl-C stops everything it started.
#
# Overrides (environment): API_PORT (9000), DYNAMODB_PORT (8000), REDIS_PORT (6380, beside a
# system Redis that may hold 6379), WATCH_PORT (cargo lambda's; a free one), AWS_REGION
# (us-east-1), TABLE_NAME (auth-users), RATE_LIMIT_CAPACITY,
# RATE_LIMIT_REFILL_PER_SECOND, PROFILE_CACHE_TTL_SECONDS, ACCOUNT_LOCK_THRESHOLD,
# ACCOUNT_LOCK_MAX_SECONDS, ADDRESS_LOCK_THRESHOLD, REDIS_MAX_IDLE_SECONDS,
# JWT_SIGNING_KEY_FILE (an RSA private key, PKCS#8 PEM; else one generated once into
# $DEV_STATE_DIR/jwt-signing-key.pem), REFRESH_SECRET (else generated once into
# $DEV_STATE_DIR/refresh-secret), TOKEN_TTL_SECONDS, REFRESH_TTL_SECONDS, SESSION_MAX_SECONDS,
# REFRESH_REUSE_GRACE_SECONDS, TOKEN_ISSUER (http://127.0.0.1:$API_PORT), TOKEN_AUDIENCE, TOKEN_SCOPE,
# KEY_CACHE_SECONDS (how long a function uses its copy of the keys; 600), DEV_STATE_DIR (.dev),
# RUST_LOG (our crates at info, the tooling at warn),
# AWS_LAMBDA_LOG_FORMAT (JSON, as deployed; set it to TEXT for plain lines), MAIL_FROM (the
# sender, no-reply@auth.example.com), REQUIRE_VERIFIED_EMAIL (off), CODE_TTL_SECONDS (the
# codes' life; the purpose's own when unset). The codes sent: `make mail`.
set -euo pipefail
cd "$(dirname "$0")/.."

API_PORT=${API_PORT:-9000}
DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
REDIS_PORT=${REDIS_PORT:-6380}
TABLE_NAME=${TABLE_NAME:-auth-users}
DEV_STATE_DIR=${DEV_STATE_DIR:-.dev}
# The issuer is where verifiers find /.well-known/openid-configuration: this API's URL.
export TOKEN_ISSUER=${TOKEN_ISSUER:-http://127.0.0.1:$API_PORT}
mkdir -p "$DEV_STATE_DIR"

say() { printf '[dev] %s\n' "$*" >&2; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() {
  for _ in $(seq 1 300); do
    port_busy "$1" && return 0
    sleep 0.1
  done
  say "nothing is listening on 127.0.0.1:$1 after 30 s; see $DEV_STATE_DIR/*.log"
  return 1
}

for port in "$API_PORT" "$DYNAMODB_PORT" "$REDIS_PORT"; do
  if port_busy "$port"; then
    say "127.0.0.1:$port is already in use; stop what runs there or set API_PORT / DYNAMODB_PORT / REDIS_PORT"
    exit 1
  fi
done

if [ -z "${REFRESH_SECRET:-}" ]; then
  secret_file="$DEV_STATE_DIR/refresh-secret"
  if [ ! -s "$secret_file" ]; then
    (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(48))' >"$secret_file")
    say "generated a dev refresh-token secret in $secret_file (git-ignored)"
  fi
  REFRESH_SECRET=$(cat "$secret_file")
fi
if [ -z "${JWT_SIGNING_KEY_FILE:-}" ]; then
  JWT_SIGNING_KEY_FILE="$DEV_STATE_DIR/jwt-signing-key.pem"
  if [ ! -s "$JWT_SIGNING_KEY_FILE" ]; then
    (umask 077 && python3 - "$JWT_SIGNING_KEY_FILE" <<'PY'
import sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
with open(sys.argv[1], "wb") as f:
    f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))
PY
    )
    say "generated a dev RSA signing key in $JWT_SIGNING_KEY_FILE (git-ignored)"
  fi
fi
[ -r "$JWT_SIGNING_KEY_FILE" ] || { say "JWT_SIGNING_KEY_FILE=$JWT_SIGNING_KEY_FILE is not readable"; exit 1; }

# Every server runs in a process group of its own (setsid), so a Ctrl-C in the terminal
# reaches this script only, and stopping means stopping each group. A supervisor or an IDE
# sends SIGTERM and SIGKILL two seconds later, so a group still there after one second is
# killed outright.
pids=()
any_alive() {
  local pid
  for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && return 0; done
  return 1
}
cleanup() {
  trap - EXIT INT TERM HUP
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for _ in $(seq 1 10); do
    any_alive || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  # make invoke and make rotate read them to find this stack: they must not outlive it.
  rm -f "${sam_env:-}" "${stack_file:-}"
  say "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

say "starting moto_server (DynamoDB) on 127.0.0.1:$DYNAMODB_PORT"
setsid python3 scripts/dynamodb_local.py -H 127.0.0.1 -p "$DYNAMODB_PORT" >"$DEV_STATE_DIR/moto.log" 2>&1 &
pids+=($!)
wait_for_port "$DYNAMODB_PORT"
python3 scripts/create_table.py --endpoint "http://127.0.0.1:$DYNAMODB_PORT" --table "$TABLE_NAME"
say "table $TABLE_NAME ready"
export AWS_REGION=${AWS_REGION:-us-east-1}
# The sender identity, as the template's MailSenderIdentity; moto's SES refuses any other.
export MAIL_FROM=${MAIL_FROM:-no-reply@auth.example.com}
python3 scripts/create_table.py --region "$AWS_REGION" --endpoint "http://127.0.0.1:$DYNAMODB_PORT" \
  --ses-identity "$MAIL_FROM"
# The key set (the PEM as its active key) and its public half, where the deployed functions
# find theirs: the signing functions read the first, the others the second only.
key_arns=$(python3 scripts/create_table.py --region "$AWS_REGION" \
  --endpoint "http://127.0.0.1:$DYNAMODB_PORT" --signing-keys "$TABLE_NAME" --key-file "$JWT_SIGNING_KEY_FILE")
SIGNING_KEYS_ARN=$(sed -n 1p <<<"$key_arns")
PUBLIC_KEYS_ARN=$(sed -n 2p <<<"$key_arns")
say "token keys ready in Secrets Manager (moto)"

say "starting redis-server on 127.0.0.1:$REDIS_PORT"
setsid redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
  >"$DEV_STATE_DIR/redis.log" 2>&1 &
pids+=($!)
wait_for_port "$REDIS_PORT"

# `sam local invoke` (make invoke) runs a function in a Docker container: it reaches these
# servers through a relay on the Docker bridge's gateway, reads its keys from moto's Secrets
# Manager as deployed functions do, and gets both from the env-vars file written here.
sam_env="$DEV_STATE_DIR/sam-env.json"
rm -f "$sam_env"
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  gateway=$(python3 scripts/docker_relay.py --gateway)
  secret_arn=$(REFRESH_SECRET=$REFRESH_SECRET python3 scripts/create_table.py --region "$AWS_REGION" \
    --endpoint "http://127.0.0.1:$DYNAMODB_PORT" --secret "$TABLE_NAME-refresh-secret")
  setsid python3 scripts/docker_relay.py "$DYNAMODB_PORT" "$REDIS_PORT" >"$DEV_STATE_DIR/relay.log" 2>&1 &
  pids+=($!)
  TABLE_NAME=$TABLE_NAME REFRESH_SECRET_ARN=$secret_arn SIGNING_KEYS_ARN=$SIGNING_KEYS_ARN \
    PUBLIC_KEYS_ARN=$PUBLIC_KEYS_ARN REDIS_URL="redis://$gateway:$REDIS_PORT" \
    AWS_ENDPOINT_URL="http://$gateway:$DYNAMODB_PORT" python3 - "$sam_env" <<'PY'
import json, os, sys
names = ["TABLE_NAME", "MAIL_FROM", "REFRESH_SECRET_ARN", "SIGNING_KEYS_ARN", "PUBLIC_KEYS_ARN", "REDIS_URL",
         "AWS_ENDPOINT_URL", "TOKEN_TTL_SECONDS", "TOKEN_ISSUER", "TOKEN_AUDIENCE", "RATE_LIMIT_CAPACITY", "RATE_LIMIT_REFILL_PER_SECOND",
         "ACCOUNT_LOCK_THRESHOLD", "ACCOUNT_LOCK_MAX_SECONDS", "ADDRESS_LOCK_THRESHOLD",
         "REFRESH_TTL_SECONDS", "SESSION_MAX_SECONDS", "REFRESH_REUSE_GRACE_SECONDS",
         "REQUIRE_VERIFIED_EMAIL"]
values = {name: os.environ[name] for name in names if os.environ.get(name)}
with open(sys.argv[1], "w") as f:
    json.dump({"Parameters": values}, f, indent=2)
PY
  say "wrote $sam_env for sam local invoke (make invoke FN=… EVENT=…)"
else
  say "no Docker engine: make invoke (sam local invoke) is unavailable, the rest works"
fi

# What the functions see; the same variables the template sets, pointed at local servers.
export REFRESH_SECRET TABLE_NAME SIGNING_KEYS_ARN PUBLIC_KEYS_ARN
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
for optional in TOKEN_TTL_SECONDS TOKEN_ISSUER TOKEN_AUDIENCE TOKEN_SCOPE KEY_CACHE_SECONDS RATE_LIMIT_CAPACITY RATE_LIMIT_REFILL_PER_SECOND \
  PROFILE_CACHE_TTL_SECONDS ACCOUNT_LOCK_THRESHOLD ACCOUNT_LOCK_MAX_SECONDS ADDRESS_LOCK_THRESHOLD \
  REDIS_MAX_IDLE_SECONDS REFRESH_TTL_SECONDS SESSION_MAX_SECONDS REFRESH_REUSE_GRACE_SECONDS \
  REQUIRE_VERIFIED_EMAIL CODE_TTL_SECONDS; do
  if [ -n "${!optional:-}" ]; then export "${optional?}"; fi
done
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DYNAMODB_PORT"
export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$DYNAMODB_PORT"
export AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$DYNAMODB_PORT"
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
export RUST_LOG=${RUST_LOG:-warn,shared=info,signup=info,signin=info,me=info,signout=info,validate=info,refresh=info,sessions=info,discovery=info,example=info,rotate_keys=info,email=info,mailer=info,password=info,account=info,lambda_runtime=info}
export AWS_LAMBDA_LOG_FORMAT=${AWS_LAMBDA_LOG_FORMAT:-JSON}

say "building the functions"
cargo build --quiet -p signup -p signin -p me -p signout -p validate -p refresh -p sessions -p discovery \
  -p example -p rotate-keys -p email -p mailer -p password -p account

# cargo lambda watch runs the functions on a port of its own; the front on API_PORT turns
# HTTP requests into API Gateway events for it (scripts/dev_front.py says why).
WATCH_PORT=${WATCH_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
say "starting cargo lambda watch on 127.0.0.1:$WATCH_PORT"
setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" &
pids+=($!)
wait_for_port "$WATCH_PORT"
# What `make rotate` (scripts/rotate_keys.py) needs to run the key rotation in this stack.
stack_file="$DEV_STATE_DIR/stack.json"
printf '{"watch": "127.0.0.1:%s", "signing_keys_arn": "%s"}\n' "$WATCH_PORT" "$SIGNING_KEYS_ARN" >"$stack_file"
# The table's stream feeds the mailer, as the deployed event source mapping does.
setsid python3 scripts/dev_mailer.py --endpoint "http://127.0.0.1:$DYNAMODB_PORT" --table "$TABLE_NAME" \
  --watch "127.0.0.1:$WATCH_PORT" >"$DEV_STATE_DIR/mailer.log" 2>&1 &
pids+=($!)
say "starting the API front on 127.0.0.1:$API_PORT"
setsid python3 scripts/dev_front.py --port "$API_PORT" --upstream "127.0.0.1:$WATCH_PORT" &
pids+=($!)
wait_for_port "$API_PORT"

# One request per route starts each function now, so the first real request is not a cold one.
for route in "POST /signup" "POST /signin" "GET /me" "POST /signout" "POST /token/validate" "POST /token/refresh" \
  "GET /sessions" "GET /.well-known/jwks.json" "POST /email/verify" "POST /password/reset"; do
  method=${route% *} path=${route#* }
  for _ in $(seq 1 600); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X "$method" -H 'content-type: application/json' \
      --data-binary '{}' "http://127.0.0.1:$API_PORT$path" || true)
    case "$code" in 200 | 4??) break ;; esac
    sleep 0.2
  done
  case "${code:-}" in 200 | 4??) ;; *) say "$route did not answer (last status: ${code:-none})"; exit 1 ;; esac
done

# The routes behind the authorizer answer 401 at the front without a token; their function is
# started straight through cargo lambda watch (an event without claims: a 401 of its own).
for function in account; do
  curl -s -o /dev/null --max-time 120 -X POST -H 'content-type: application/json' \
    --data-binary '{"version": "2.0", "rawPath": "/", "headers": {}, "requestContext": {"http": {"method": "POST", "path": "/"}}, "isBase64Encoded": false}' \
    "http://127.0.0.1:$WATCH_PORT/2015-03-31/functions/$function/invocations" \
    || say "$function did not start (it will on its first request)"
done

say "ready: http://127.0.0.1:$API_PORT  (POST /signup, POST /signin, GET /me, POST /signout, POST /token/validate, POST /token/refresh, GET /sessions, DELETE /sessions/{id}, GET /.well-known/jwks.json, GET /.well-known/openid-configuration, GET /hello, POST /email/verify, POST /email/verify/resend, POST /password/forgot, POST /password/reset, POST /password/change, DELETE /me; codes: make mail; Ctrl-C stops)"
# Until stopped, or until whoever started us is gone (`make dev` killed without a chance to
# pass the signal on): then the EXIT trap stops the servers. A short sleep in the background,
# so a signal's trap runs at once.
parent=$PPID
parent_alive() {
  # Re-parented (on Linux, /proc says so even while the dead parent is an unreaped zombie).
  if [ -r /proc/$$/status ]; then
    local key value
    while read -r key value; do
      [ "$key" = "PPid:" ] && { [ "$value" = "$parent" ]; return; }
    done </proc/$$/status
  fi
  kill -0 "$parent" 2>/dev/null
}
while parent_alive && any_alive; do
  sleep 0.5 &
  wait $! || true
done
