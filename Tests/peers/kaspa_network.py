#!/usr/bin/env python3
"""A simulated Kaspa network on loopback: many node servers in one process.

Each node listens on its own 127.x address (one grpc.aio server each, all on one
asyncio loop), has a fixed peer id, user agent and address book, and behaves towards
a dialer like rusty-kaspa does (shared/kaspa-p2p-protocol.md):

  * handshake as acceptor (Version at once, Verack on the peer's Version, Ready);
  * after Ready, add the peer's Version.address to the book (§7.3) and send one
    RequestAddresses (§6.1);
  * answer every RequestAddresses with up to 1000 entries picked at random from the
    book (§7.1), without the node's own address (after --answer-delay-ms, which
    makes a slow network to interrupt a crawl in).

The spec is a JSON file:

  {"network": "kaspa-mainnet",
   "nodes": [{"listen": ["127.1.0.1:16111"], "id": "<32 hex>",
              "user_agent": "/kaspad:2.0.1/kaspad:2.0.1/", "protocol_version": 10,
              "book": ["127.1.0.2:16111", "[::ffff:127.1.0.3]:16111"],
              "kind": "node" | "silent"}]}

"silent" nodes accept TCP and never speak. Unreachable (refused) nodes are simply
absent from the spec. Output: JSON lines `listening` (with `port` and `nodes`),
`address_added` (`node`, `address`) whenever a peer's Version.address enters a
book, `protocol_violation` and `done`. Stops on SIGTERM/SIGINT or --lifetime-seconds.

Only loopback addresses are accepted; the simulation never sends traffic elsewhere.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import random
import sys
from typing import Optional

import grpc
import grpc.aio

import kaspa_peer as kp

MAX_ADDRESSES_PER_REPLY = 1000
QUIET_EVENTS = {"listening", "address_added", "protocol_violation", "done"}


class QuietReporter(kp.Reporter):
    """Prints only the events a network-level test reads (hundreds of nodes talk at once)."""

    def bind(self, **fields) -> "QuietReporter":
        return QuietReporter({**self._fields, **fields}, self._start, self._lock)

    def emit(self, event: str, **fields) -> None:
        if event in QUIET_EVENTS:
            super().emit(event, **fields)


class SimulatedNode:
    """One node: identity, address book and the acceptor side of its connections."""

    def __init__(self, spec: dict, network: str, wire: kp.Wire, report: kp.Reporter,
                 stop: asyncio.Event, rng: random.Random, answer_delay: float = 0.0):
        self.listen = [kp.split_host_port(text) for text in spec["listen"]]
        self.name = kp.format_host_port(*self.listen[0])
        self.kind = spec.get("kind", "node")
        self.me = kp.LocalIdentity(network=network,
                                   protocol_version=spec.get("protocol_version", 10),
                                   user_agent=spec.get("user_agent", "/kaspad:2.0.1/kaspad:2.0.1/"),
                                   peer_id=bytes.fromhex(spec["id"]))
        self.book: list[tuple[str, int]] = [kp.split_host_port(text) for text in spec.get("book", [])]
        self.wire = wire
        self.report = report.bind(node=self.name)
        self.stop = stop
        self.rng = rng
        self.answer_delay = answer_delay

    def book_sample(self) -> list[tuple[str, int]]:
        if len(self.book) <= MAX_ADDRESSES_PER_REPLY:
            return list(self.book)
        return self.rng.sample(self.book, MAX_ADDRESSES_PER_REPLY)

    def add_to_book(self, address: tuple[str, int]) -> None:
        # The node's dedup key is (IPv6-mapped IP, port): 4- and 16-byte IPv4 forms collapse.
        key = _book_key(address)
        if all(_book_key(entry) != key for entry in self.book):
            self.book.append(address)
        self.report.emit("address_added", address=kp.format_host_port(*address))

    async def message_stream(self, _requests, context) -> None:
        await context.send_initial_metadata(())
        session = kp.Session(self.wire, kp.ServerTransport(context), self.me, self.report,
                             kp.SessionPolicy(judge_version=self._judge, close_on_violation=True),
                             gzip=True)
        session._handlers["requestAddresses"] = lambda _msg: self._answer(session)
        try:
            async with session.running():
                await self._serve(session)
        except (kp.StreamClosed, kp.LocalClose, kp.PeerRejected):
            pass

    def _judge(self, version) -> Optional[str]:
        return kp.judge_version(version, self.me, None)

    async def _answer(self, session: kp.Session) -> None:
        if self.answer_delay > 0:
            await asyncio.sleep(self.answer_delay)
        await session.answer_addresses(self.book_sample())

    async def _serve(self, session: kp.Session) -> None:
        await session.send_version()
        if not await session.pump_until(
                lambda: session.peer_version is not None and session.got_verack, 4.0):
            await session.reject_and_close("timeout expired after 4s")
        if not await session.pump_until(lambda: session.got_ready, 8.0):
            await session.reject_and_close("timeout expired after 8s")
        version = session.peer_version
        if version.HasField("address") and len(version.address.ip) in (4, 16):
            self.add_to_book((str(ipaddress.ip_address(version.address.ip)), version.address.port))
        await session.request_addresses()
        await session.pump_until(self.stop.is_set, 3600)

    async def start(self) -> list:
        if self.kind == "silent":
            return [await asyncio.start_server(_silent, host, port) for host, port in self.listen]
        server = grpc.aio.server(options=kp.grpc_options(1024), compression=grpc.Compression.Gzip)
        method = grpc.stream_stream_rpc_method_handler(self.message_stream)
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(kp.SERVICE, {"MessageStream": method}),))
        for host, port in self.listen:
            if server.add_insecure_port(kp.format_host_port(host, port)) == 0:
                raise RuntimeError(f"cannot listen on {host}:{port}")
        await server.start()
        return [server]


def _book_key(address: tuple[str, int]) -> tuple[bytes, int]:
    ip = ipaddress.ip_address(address[0])
    if ip.version == 4:
        ip = ipaddress.IPv6Address(b"\0" * 10 + b"\xff\xff" + ip.packed)
    return ip.packed, address[1]


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass
    finally:
        writer.close()


async def stop_server(server) -> None:
    if isinstance(server, grpc.aio.Server):
        await server.stop(grace=1)
    else:
        server.close()


async def run(spec: dict, lifetime: Optional[float], seed: int, answer_delay: float = 0.0) -> bool:
    report = QuietReporter()
    wire = kp.Wire(kp.load_protowire())
    stop = asyncio.Event()
    rng = random.Random(seed)
    network = spec.get("network", kp.MAINNET)
    nodes = [SimulatedNode(node, network, wire, report, stop, rng, answer_delay)
             for node in spec["nodes"]]
    for node in nodes:
        for host, _port in node.listen:
            if not ipaddress.ip_address(host).is_loopback:
                report.emit("done", ok=False, error=f"refusing non-loopback address {host}")
                return False
    servers = []
    try:
        for node in nodes:
            servers.extend(await node.start())
    except (OSError, RuntimeError) as error:
        report.emit("done", ok=False, error=str(error))
        return False
    report.emit("listening", port=nodes[0].listen[0][1] if nodes else 0, nodes=len(nodes))
    await kp.run_until_stopped(stop, lifetime)
    stop.set()
    await asyncio.gather(*(stop_server(server) for server in servers))
    report.emit("done", ok=True, error=None)
    return True


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", required=True, help="the JSON network description")
    parser.add_argument("--lifetime-seconds", type=float, help="exit after this long")
    parser.add_argument("--seed", type=int, default=1, help="seed of the book sampling")
    parser.add_argument("--answer-delay-ms", type=float, default=0.0,
                        help="wait this long before every Addresses answer (a slow network)")
    args = parser.parse_args(argv)
    with open(args.spec, encoding="utf-8") as handle:
        spec = json.load(handle)
    return 0 if asyncio.run(run(spec, args.lifetime_seconds, args.seed,
                                args.answer_delay_ms / 1000)) else 1


if __name__ == "__main__":
    sys.exit(main())
