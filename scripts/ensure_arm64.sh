#!/usr/bin/env bash
# Makes sure this machine can run the arm64 bootstraps `sam build` makes (what is deployed):
# qemu-aarch64-static and Debian's arm64 glibc for `make arm64-smoke`, and aarch64 emulation
# registered with binfmt_misc so that Docker runs arm64 containers for the sam local invoke
# suite. Installs Debian's packages and registers the emulator when it can (as root); says
# what is missing when it cannot. On an arm64 machine there is nothing to do.
set -euo pipefail
[ "$(uname -m)" = aarch64 ] && exit 0

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
can_root() { [ -z "$sudo" ] || sudo -n true 2>/dev/null; }

if ! command -v qemu-aarch64-static >/dev/null || [ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; then
  echo "[tools] installing qemu-user-static and libc6-arm64-cross (arm64 emulation)"
  if command -v apt-get >/dev/null && can_root; then
    $sudo apt-get update -qq && $sudo apt-get install -y -qq qemu-user-static libc6-arm64-cross >/dev/null
  fi
  if ! command -v qemu-aarch64-static >/dev/null; then
    echo "[tools] could not install them: sudo apt-get install qemu-user-static libc6-arm64-cross" >&2
    exit 1
  fi
fi

# Docker's arm64 containers need the kernel to hand aarch64 binaries to qemu (binfmt_misc,
# with the F flag so it works inside containers). systemd does this at boot; a container or
# a fresh VM may not have it yet.
binfmt=/proc/sys/fs/binfmt_misc
if [ ! -e "$binfmt/qemu-aarch64" ] && can_root; then
  [ -e "$binfmt/register" ] || $sudo mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null || true
  if [ -e "$binfmt/register" ] && [ -r /usr/lib/binfmt.d/qemu-aarch64.conf ]; then
    $sudo sh -c "cat /usr/lib/binfmt.d/qemu-aarch64.conf > $binfmt/register" || true
  fi
fi
if [ ! -e "$binfmt/qemu-aarch64" ]; then
  echo "[tools] aarch64 emulation is not registered with binfmt_misc: the sam local invoke" \
    "suite will skip (as root: mount -t binfmt_misc binfmt_misc $binfmt; then" \
    "update-binfmts --enable qemu-aarch64)" >&2
fi
