#!/usr/bin/env bash
# After `sam build`: each function must have an arm64 `bootstrap`; prints their sizes.
set -euo pipefail
build_dir=${1:?usage: check_bootstraps.sh SAM_BUILD_DIR}
for function in SignupFunction SigninFunction MeFunction; do
  bootstrap="$build_dir/$function/bootstrap"
  [ -x "$bootstrap" ] || { echo "missing $bootstrap"; exit 1; }
  if ! od -An -tx1 -j18 -N2 "$bootstrap" | grep -q 'b7 00'; then
    echo "$bootstrap is not an aarch64 ELF"; exit 1
  fi
  printf '%-16s bootstrap %8d bytes (arm64)\n' "$function" "$(stat -c %s "$bootstrap")"
done
