#!/usr/bin/env bash
# Makes sure `redis-server` is on this machine: `make dev` runs one on loopback and the tests
# start their own. Installs Debian's package when it can; says what to do when it cannot.
set -euo pipefail
command -v redis-server >/dev/null && exit 0

echo "[tools] redis-server not found; installing it"
if command -v apt-get >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if [ -z "$sudo" ] || command -v sudo >/dev/null; then
    $sudo apt-get update -qq && $sudo apt-get install -y -qq redis-server >/dev/null
    # The package may start a system service on 6379; we never use it and leave it alone.
    command -v redis-server >/dev/null && exit 0
  fi
elif command -v brew >/dev/null; then
  brew install redis && exit 0
fi
cat >&2 <<'MSG'
[tools] could not install redis-server. Install Redis 6.2+ or Valkey (any package that
        provides the `redis-server` command) and run the command again, e.g.
          Debian/Ubuntu: sudo apt-get install redis-server
          macOS:         brew install redis
MSG
exit 1
