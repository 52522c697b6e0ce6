#!/usr/bin/env python3
"""Builds the stand-in for `public.ecr.aws/lambda/provided:al2023-arm64` that `sam local invoke`
runs our functions in when no registry can be reached (`make invoke`, tests/test_sam_invoke.py).

A user with internet access needs none of this: SAM CLI pulls the real image. Here nothing can
be pulled, so the image is assembled from Debian's arm64 packages: glibc and libgcc (what a
`bootstrap` links), and busybox (the shell SAM CLI's generated Dockerfile runs `mv`/`chmod`
with). SAM CLI adds its own Runtime Interface Emulator on top, as it does to the real image.

`docker import` cannot mark an image arm64 on a daemon without experimental features, so the
image is written in `docker save`'s layout and loaded: one layer, a config that says
`linux/arm64`. Running it needs aarch64 emulation (qemu-user-static's binfmt_misc entry).

Prints the image's name. Rebuilds only when missing (`--force` to rebuild).
"""
import argparse
import hashlib
import io
import json
import os
import pathlib
import subprocess
import sys
import tarfile
import tempfile

# The tag names the image's recipe: a change to it (packages, environment) gets a new tag, so
# an image built by an older recipe is not reused.
IMAGE = "rust-auth-api/lambda-base:al2023-standin-arm64-2"
PACKAGES = ["libc6", "libgcc-s1", "busybox-static"]
BUSYBOX_APPLETS = ["sh", "mv", "chmod", "cp", "rm", "ls", "cat", "mkdir"]


def image_exists(name):
    return (
        subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode == 0
    )


def download(packages, into):
    """`apt-get download` for arm64 with a private state directory: the host's dpkg and apt
    configuration stay untouched (no `dpkg --add-architecture`)."""
    state = pathlib.Path(into) / "apt"
    for sub in ["lists/partial", "archives/partial"]:
        (state / sub).mkdir(parents=True, exist_ok=True)
    (state / "status").touch()
    options = [
        f"-oDir::State={state}",
        f"-oDir::State::status={state}/status",
        f"-oDir::Cache={state}",
        "-oAPT::Architecture=arm64",
        "-oAPT::Architectures::=arm64",
        "-oAPT::Sandbox::User=root",
        "-oDebug::NoLocking=1",
        "-qq",
    ]
    subprocess.run(["apt-get", *options, "update"], check=True)
    subprocess.run(["apt-get", *options, "download", *packages], check=True, cwd=into)
    return sorted(pathlib.Path(into).glob("*.deb"))


def root_filesystem(debs, root):
    for deb in debs:
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    (root / "bin").mkdir(exist_ok=True)
    for applet in BUSYBOX_APPLETS:
        link = root / "bin" / applet
        if not link.exists():
            link.symlink_to("busybox")
    for directory in ["tmp", "var/task", "var/runtime", "opt"]:
        (root / directory).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")


def saved_image(root, name):
    """`docker save` layout: manifest.json, the config, one layer."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        for path in sorted(root.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(root)), recursive=False)
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps(
        {
            "architecture": "arm64",
            "os": "linux",
            "config": {
                "Env": [
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    # The runtime interface emulator SAM CLI adds is a Go program; under
                    # qemu-user, Go's signal-based preemption now and then hangs it for good.
                    "GODEBUG=asyncpreemptoff=1",
                ],
                "WorkingDir": "/var/task",
            },
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created_by": "scripts/lambda_base_image.py (Debian arm64 packages)"}],
        }
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps(
        [{"Config": config_name, "RepoTags": [name], "Layers": ["layer/layer.tar"]}]
    ).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for member, data in [
            ("manifest.json", manifest),
            (config_name, config),
            ("layer/layer.tar", layer_bytes),
        ]:
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if the image exists")
    args = parser.parse_args()
    if args.force or not image_exists(IMAGE):
        with tempfile.TemporaryDirectory(prefix="lambda-base-") as work:
            work = pathlib.Path(work)
            (work / "debs").mkdir()
            debs = download(PACKAGES, work / "debs")
            root = work / "root"
            root.mkdir()
            root_filesystem(debs, root)
            subprocess.run(
                ["docker", "load", "--quiet"], input=saved_image(root, IMAGE), check=True,
                stdout=sys.stderr,
            )
    print(IMAGE)


if __name__ == "__main__":
    os.umask(0o022)
    main()
