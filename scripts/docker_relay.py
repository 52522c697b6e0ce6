#!/usr/bin/env python3
"""Lets `sam local invoke`'s containers reach `make dev`'s moto and Redis, which listen on
127.0.0.1 only.

SAM CLI runs a function in a container on Docker's default bridge network (its
`--docker-network host` does not give the container the host's network), where 127.0.0.1 is
the container itself. This relay listens on the bridge's gateway address, the host as the
containers see it, and forwards each connection to the same port on 127.0.0.1. It answers
only peers inside the bridge's subnet: the containers, not the rest of the network.

    docker_relay.py PORT [PORT...]      # prints "relaying <gateway>:<port>" per port
    docker_relay.py --gateway           # prints the gateway address and exits
"""
import argparse
import asyncio
import ipaddress
import json
import subprocess
import sys


def bridge():
    """The default bridge's subnet and gateway (the gateway is the subnet's first address
    when the daemon does not report it)."""
    inspected = subprocess.run(
        ["docker", "network", "inspect", "bridge"], capture_output=True, text=True, check=True
    )
    config = json.loads(inspected.stdout)[0]["IPAM"]["Config"][0]
    subnet = ipaddress.ip_network(config["Subnet"])
    gateway = ipaddress.ip_address(config.get("Gateway") or next(subnet.hosts()))
    return subnet, gateway


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


async def relay(port, subnet, client_reader, client_writer):
    peer = ipaddress.ip_address(client_writer.get_extra_info("peername")[0])
    if peer not in subnet:
        client_writer.close()
        return
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, writer), pipe(reader, client_writer))
    writer.close()
    client_writer.close()


async def serve(ports, subnet, gateway):
    servers = []
    for port in ports:
        servers.append(
            await asyncio.start_server(
                lambda r, w, port=port: relay(port, subnet, r, w), str(gateway), port
            )
        )
        print(f"relaying {gateway}:{port} -> 127.0.0.1:{port}", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ports", nargs="*", type=int)
    parser.add_argument("--gateway", action="store_true", help="print the gateway and exit")
    args = parser.parse_args()
    subnet, gateway = bridge()
    if args.gateway:
        print(gateway)
        return
    if not args.ports:
        parser.error("name at least one port")
    try:
        asyncio.run(serve(args.ports, subnet, gateway))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
