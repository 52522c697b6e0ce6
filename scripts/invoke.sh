#!/usr/bin/env bash
# `make invoke FN=<function> EVENT=<fixture>`: one function, built by `sam build` for arm64, run
# by `sam local invoke` in a container with one API Gateway event from events/, against the
# servers of a running `make dev` (its .dev/sam-env.json). A fixture that says
# PASTE-A-TOKEN-FROM-SIGNUP-OR-SIGNIN (or PASTE-A-REFRESH-TOKEN-FROM-SIGNUP-OR-SIGNIN) gets a
# fresh access (or refresh) token of the fixtures' user instead; a fixture of a route behind the
# JWT authorizer gets that token's claims, as API Gateway passes them.
#
# The image: LAMBDA_IMAGE if set; else AWS's provided:al2023 image when a registry answers;
# else a stand-in built from Debian packages (scripts/lambda_base_image.py).
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: invoke.sh FUNCTION EVENT   (FUNCTION: signup, signin, me, signout, validate, refresh, sessions, discovery, example, email, mailer, password, account; EVENT: events/….json)"
fn=${1:?$usage}
event=${2:?$usage}
build_dir=${SAM_BUILD_DIR:?set SAM_BUILD_DIR to the --build-dir of sam build}
sam_env=${DEV_STATE_DIR:-.dev}/sam-env.json
api="http://127.0.0.1:${API_PORT:-9000}"
aws_image=public.ecr.aws/lambda/provided:al2023-arm64

say() { printf '[invoke] %s\n' "$*" >&2; }

logical="${fn^}Function"
grep -q "^  $logical:" "$build_dir/template.yaml" || { say "no function $fn; $usage"; exit 2; }
[ -f "$event" ] || { say "no event file $event; $usage"; exit 2; }
[ -s "$sam_env" ] || {
  say "no $sam_env: run make dev first (in another terminal, with a Docker engine running)"
  exit 1
}
# make dev created every resource in one region; the secret's ARN names it.
region=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["Parameters"]["PUBLIC_KEYS_ARN"].split(":")[3])' "$sam_env")

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for kind in "" REFRESH-; do
  placeholder="PASTE-A-${kind}TOKEN-FROM-SIGNUP-OR-SIGNIN"
  grep -q "$placeholder" "$event" || continue
  token=$(python3 scripts/dev_token.py --api "$api" ${kind:+--refresh})
  sed "s/$placeholder/$token/" "$event" >"$scratch/with-token${kind:+-refresh}.json"
  event="$scratch/with-token${kind:+-refresh}.json"
done
# A route behind the JWT authorizer (claims that say FROM-THE-TOKEN): make dev's front plays
# the authorizer on the fixture's token, and its claims go in the event as API Gateway's would.
if grep -q '"FROM-THE-TOKEN"' "$event"; then
  python3 - "$event" "$api" >"$scratch/authorized.json" <<'PY'
import json, os, sys
sys.path.insert(0, "scripts")
from dev_front import Authorizer, Refused
path, api = sys.argv[1:]
event = json.load(open(path))
authorizer = Authorizer(api, os.environ.get("TOKEN_ISSUER") or api,
                        os.environ.get("TOKEN_AUDIENCE") or "rust-auth-api")
try:
    claims = authorizer.claims(event["headers"].get("authorization"))
except Refused as refused:
    sys.exit(f"[invoke] the authorizer refuses the fixture's token: {refused}")
event["requestContext"]["authorizer"]["jwt"]["claims"] = claims
json.dump(event, sys.stdout)
PY
  event="$scratch/authorized.json"
fi

if [ -n "${LAMBDA_IMAGE:-}" ]; then
  image=$LAMBDA_IMAGE
elif docker image inspect "$aws_image" >/dev/null 2>&1 || timeout 120 docker pull -q "$aws_image" >/dev/null 2>&1; then
  image=$aws_image
else
  say "no registry answers: running in the stand-in image (Debian's arm64 glibc, see docs/local.md)"
  image=$(python3 scripts/lambda_base_image.py)
fi

# SAM CLI through scripts/sam_cli.py: the same command, more patient with an emulated container
# (a SAM CLI installed some other way, without a Python beside it, runs as it is).
sam_python=$(dirname "$(command -v sam)")/python
if "$sam_python" -c 'import samcli' >/dev/null 2>&1; then
  sam=("$sam_python" scripts/sam_cli.py)
else
  sam=(sam)
fi
"${sam[@]}" local invoke "$logical" --template "$build_dir/template.yaml" --event "$event" \
  --env-vars "$sam_env" --region "$region" --invoke-image "$image" --skip-pull-image
