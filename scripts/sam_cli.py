"""SAM CLI (the pinned aws-sam-cli in requirements-dev.txt) with more patience for a slow
container: `python scripts/sam_cli.py local invoke …` is `sam local invoke …`.

SAM CLI posts the event as soon as Docker's port proxy accepts a connection, which it does
before the emulator inside the container listens, and gives up after three tries 0.7 s apart
in all ("No response from invoke container"). Here the arm64 emulator runs under qemu-user,
which on a slow or busy machine takes longer than that to start. Up to eight tries (about 13 s)
changes nothing else: the function's own timeout starts only once the event is delivered.
"""
import sys

import requests
from samcli.cli.main import cli
from samcli.lib.utils.retry import retry
from samcli.local.docker.container import Container, ContainerResponseException

# The undecorated method (functools.wraps keeps it); a SAM CLI without it runs as it is.
_undecorated = getattr(Container.wait_for_http_response, "__wrapped__", None)
if _undecorated is not None:
    Container.wait_for_http_response = retry(
        exc=requests.exceptions.RequestException,
        attempts=8,
        exc_raise=ContainerResponseException,
    )(_undecorated)

if __name__ == "__main__":
    sys.argv[0] = "sam"
    sys.exit(cli())
