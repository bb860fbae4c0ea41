#!/usr/bin/env python3
"""Independent Kaspa P2P test peer built on Python grpcio (gRPC C-core).

The sensor's own client and server share one gRPC stack, so a bug common to both
halves could make them agree with each other while disagreeing with real nodes.
This peer uses a different implementation and mirrors what rusty-kaspa does on the
wire (see shared/kaspa-p2p-protocol.md), so Swift tests can run it as a subprocess
and read one JSON object per line from stdout.

Subcommands:
  client    dial a sensor like a rusty-kaspa node dials (gzip, headers first, ...)
  server    accept dials like a rusty-kaspa node (the sensor's reachability probe)
  node      both at once with one node id, like a real node process: a server that
            answers the sensor's dial-back and a client that dials the sensor
  tcp-sink  accept TCP connections and never speak ("port open, no Kaspa")

Exit status: 0 when the scenario's expectations held, 1 otherwise, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import importlib.metadata
import importlib.util
import ipaddress
import itertools
import json
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, Optional

import grpc
import grpc.aio
from google.protobuf.message import DecodeError
from google.protobuf.unknown_fields import UnknownFieldSet

PROTO_PATH = Path(__file__).resolve().parent.parent.parent / "Protos" / "kaspa_p2p.proto"
METHOD = "/protowire.P2P/MessageStream"
SERVICE = "protowire.P2P"

DEFAULT_PROTOCOL_VERSION = 10
DEFAULT_USER_AGENT = "/kaspa-test-peer:0.1/"
MAINNET = "kaspa-mainnet"
TESTNET_10 = "kaspa-testnet-10"
# The node truncates user agents to this many bytes; we do the same in our output so
# a multi-MiB user agent (oversized scenario) does not turn into a multi-MiB JSON line.
MAX_USER_AGENT_LEN = 256
# Field 63 is requestNextPruningPointSmtChunk in rusty-kaspa but is absent from the
# sensor's proto subset, so the sensor sees an envelope whose only field is unknown.
UNKNOWN_PAYLOAD = b"\xfa\x03\x02\x08\x01"  # key (63 << 3 | 2), len 2, {field 1 = 1}
GARBAGE_PAYLOAD = b"\xff\xff\xff\xff"  # a truncated varint key: never valid protobuf


# --------------------------------------------------------------------------- output


class Reporter:
    """Writes one JSON object per line to stdout, flushed at once.

    A test driving this script reads stdout line by line while we run, so nothing may
    sit in a buffer. The lock is there because the watchdog thread may report too.
    """

    def __init__(self, fields: Optional[dict] = None, start: Optional[float] = None,
                 lock: Optional[threading.Lock] = None):
        self._fields = dict(fields or {})
        self._start = time.monotonic() if start is None else start
        self._lock = lock or threading.Lock()

    def bind(self, **fields) -> "Reporter":
        """A reporter that adds `fields` to every event (e.g. the server's stream number)."""
        return Reporter({**self._fields, **fields}, self._start, self._lock)

    def emit(self, event: str, **fields) -> None:
        record = {"event": event, **self._fields, **fields,
                  "t_ms": round((time.monotonic() - self._start) * 1000, 1)}
        line = json.dumps(record, default=_json_default)
        with self._lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()


def _json_default(value):
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return str(value)


# --------------------------------------------------------------------------- proto


def load_protowire(proto_path: Path = PROTO_PATH):
    """Compile the sensor's .proto with grpc_tools.protoc and import the result.

    Generated code is tied to the proto text and the protobuf/grpcio-tools versions,
    so the cache directory is keyed on all three. The build happens in a private
    directory that is renamed into place, so concurrent test processes never import
    a half-written module.
    """
    from grpc_tools import protoc

    source = proto_path.read_bytes()
    versions = "|".join(importlib.metadata.version(p) for p in ("grpcio-tools", "protobuf"))
    key = hashlib.sha256(source + versions.encode()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / f"kaspa-peer-stubs-{key}"
    module_file = cache / (proto_path.stem + "_pb2.py")
    if not module_file.exists():
        build = Path(tempfile.mkdtemp(prefix=cache.name + ".", dir=cache.parent))
        rc = protoc.main(["protoc", f"-I{proto_path.parent}", f"--python_out={build}",
                          str(proto_path)])
        if rc != 0:
            shutil.rmtree(build, ignore_errors=True)
            raise RuntimeError(f"protoc failed ({rc}) on {proto_path}")
        try:
            os.rename(build, cache)
        except OSError:  # another process finished first; its copy is identical
            shutil.rmtree(build, ignore_errors=True)
    spec = importlib.util.spec_from_file_location(proto_path.stem + "_pb2", module_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- addresses


def split_host_port(text: str) -> tuple[str, int]:
    """'1.2.3.4:5', '[::1]:5' or 'localhost:5' -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def format_host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def non_loopback_reason(target: str) -> Optional[str]:
    """Why `target` must not be dialed, or None if it only resolves to loopback.

    These peers are meant for tests on this machine only; dialing anything else by
    mistake (a typo, a real node) must fail loudly rather than send traffic.
    """
    host, port = split_host_port(target)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:
        return f"cannot resolve {target}: {e}"
    for info in infos:
        if not ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback:
            return f"refusing non-loopback target {target} (use --allow-remote)"
    return None


# --------------------------------------------------------------------------- wire


@dataclass(frozen=True)
class LocalIdentity:
    """What we put in our own Version message."""

    network: str
    protocol_version: int
    user_agent: str
    peer_id: bytes
    advertise: Optional[tuple[str, int]] = None


class PeerTable:
    """A node's connected peers, both roles, for its duplicate check.

    rusty-kaspa keys peers by (peer id, remote IP) and refuses a second handshake with
    a key already in its hub: Reject DUPLICATE_CONNECTION, after its own Version. Peers
    enter the hub only once their handshake completed. Only `node` keeps a table (a
    dial-back that reuses the id of the connection the node holds is a duplicate).
    """

    def __init__(self):
        self._entries: list[tuple["Session", str]] = []

    def add(self, session: "Session", ip: str) -> None:
        self._entries.append((session, ip))

    def remove(self, session: "Session") -> None:
        self._entries = [(s, ip) for s, ip in self._entries if s is not session]

    def has(self, peer_id: bytes, ip: str) -> bool:
        return any(s.handshake_done and s.closed is None and s.peer_version is not None
                   and s.peer_version.id == peer_id and addr == ip
                   for s, addr in self._entries)


class Wire:
    """Builds and parses KaspadMessage envelopes with the generated classes."""

    def __init__(self, pb):
        self.pb = pb

    def net_address(self, ip: str, port: int):
        # 4 bytes for IPv4, 16 for IPv6, exactly as rusty-kaspa encodes NetAddress.ip.
        return self.pb.NetAddress(ip=ipaddress.ip_address(ip).packed, port=port)

    def version(self, me: LocalIdentity, user_agent: Optional[str] = None):
        msg = self.pb.VersionMessage(
            protocolVersion=me.protocol_version,
            timestamp=int(time.time() * 1000),  # milliseconds, like unix_now()
            id=me.peer_id,
            userAgent=user_agent if user_agent is not None else me.user_agent,
            network=me.network,
        )
        if me.advertise:  # leave the field absent otherwise: an empty one is an error
            msg.address.CopyFrom(self.net_address(*me.advertise))
        return self.pb.KaspadMessage(version=msg)

    def verack(self):
        return self.pb.KaspadMessage(verack=self.pb.VerackMessage())

    def ready(self):
        return self.pb.KaspadMessage(ready=self.pb.ReadyMessage())

    def ping(self, nonce: int):
        return self.pb.KaspadMessage(ping=self.pb.PingMessage(nonce=nonce))

    def pong(self, nonce: int):
        return self.pb.KaspadMessage(pong=self.pb.PongMessage(nonce=nonce))

    def request_addresses(self):
        return self.pb.KaspadMessage(requestAddresses=self.pb.RequestAddressesMessage())

    def addresses(self, entries: list[tuple[str, int]]):
        return self.pb.KaspadMessage(addresses=self.pb.AddressesMessage(
            addressList=[self.net_address(ip, port) for ip, port in entries]))

    def reject(self, reason: str):
        return self.pb.KaspadMessage(reject=self.pb.RejectMessage(reason=reason))

    def inv_relay_block(self, block_hash: bytes):
        return self.pb.KaspadMessage(invRelayBlock=self.pb.InvRelayBlockMessage(
            hash=self.pb.Hash(bytes=block_hash)))

    def decode(self, raw: bytes):
        """Parse an envelope; raises google.protobuf.message.DecodeError."""
        return self.pb.KaspadMessage.FromString(raw)


def is_gzip_frame(raw: bytes) -> bool:
    """Whether gRPC C-core sends `raw` as a compressed frame (flag 1) under gzip.

    C-core keeps its gzip output only if it is strictly shorter than the input
    (message_compress.cc, zlib_compress), so small messages such as Verack or a
    short Version go out with flag 0 even though the call says `grpc-encoding: gzip`.
    tonic compresses every message regardless. We cannot force flag 1 through the
    Python API, so we report the decision instead, recomputed with the same zlib
    parameters (default level, window 15 + gzip header, memLevel 8).
    """
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 31, 8,
                                  zlib.Z_DEFAULT_STRATEGY)
    return len(compressor.compress(raw)) + len(compressor.flush()) < len(raw)


def unknown_field_numbers(msg) -> list[int]:
    return sorted({f.field_number for f in UnknownFieldSet(msg)})


def describe_net_address(addr) -> Optional[str]:
    if len(addr.ip) not in (4, 16):
        return f"<invalid ip length {len(addr.ip)}>:{addr.port}"
    return format_host_port(ip_text(addr.ip), addr.port)


def ip_text(packed: bytes) -> str:
    """4 or 16 bytes as text; IPv4-mapped IPv6 always as ::ffff:a.b.c.d.

    Python 3.11 prints ::ffff:5.6.7.8 as ::ffff:506:708 (3.13 does not), so the
    mapped form is spelled out here to keep the output the same everywhere.
    """
    ip = ipaddress.ip_address(packed)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return f"::ffff:{ip.ipv4_mapped}"
    return str(ip)


def describe_version(v) -> dict:
    ua = v.userAgent.encode()
    return {
        "user_agent": ua[:MAX_USER_AGENT_LEN].decode(errors="replace"),
        "user_agent_len": len(ua),
        "protocol_version": v.protocolVersion,
        "network": v.network,
        "id": v.id.hex(),
        "address": describe_net_address(v.address) if v.HasField("address") else None,
        # The raw NetAddress: Python's text form of ::ffff:a.b.c.d differs between
        # versions (3.11: ::ffff:506:708, 3.13: ::ffff:5.6.7.8); the bytes do not.
        "address_ip_hex": v.address.ip.hex() if v.HasField("address") else None,
        "address_port": v.address.port if v.HasField("address") else None,
        "timestamp": v.timestamp,
        "services": v.services,
        "disable_relay_tx": v.disableRelayTx,
    }


# --------------------------------------------------------------------------- transport


class StreamClosed(Exception):
    """The RPC ended (EOF, status, cancellation); reported once as stream_closed."""

    def __init__(self, code: str, details: str):
        super().__init__(f"stream closed with status {code}" + (f": {details}" if details else ""))
        self.code = code
        self.details = details


class LocalClose(Exception):
    """We decided to end the stream (after sending a Reject or seeing a violation)."""


class ClientTransport:
    """Reads/writes raw message bytes on a grpc.aio client call."""

    # When a write races the server's end of stream, grpcio's aio client marks the
    # call INTERNAL with this text, overwriting the status the server really sent.
    GRPCIO_WRITE_RACE = "Internal error from Core"

    def __init__(self, call):
        self.call = call
        self.write_failed = False

    async def read(self) -> bytes:
        try:
            raw = await self.call.read()
        except grpc.aio.AioRpcError as e:
            raise self._closed(e.code(), e.details()) from None
        except asyncio.CancelledError:
            if self.call.cancelled():
                raise StreamClosed("CANCELLED", "cancelled locally") from None
            raise
        if raw is grpc.aio.EOF:
            raise self._closed(await self.call.code(), await self.call.details())
        return raw

    async def write(self, raw: bytes) -> None:
        try:
            await self.call.write(raw)
        except grpc.aio.AioRpcError as e:
            self.write_failed = True
            details = e.details() or ""
            if e.code() == grpc.StatusCode.INTERNAL and details == self.GRPCIO_WRITE_RACE:
                details += " (grpcio's local error for a write that raced the end of the stream)"
            raise StreamClosed(e.code().name, details) from None
        except asyncio.InvalidStateError:  # the RPC already finished; report how
            raise self._closed(await self.call.code(), await self.call.details()) from None

    def _closed(self, code: grpc.StatusCode, details: Optional[str]) -> StreamClosed:
        details = details or ""
        if self.write_failed and code == grpc.StatusCode.INTERNAL and details == self.GRPCIO_WRITE_RACE:
            details += (" (grpcio overwrote the peer's real status after our write "
                        "raced the end of the stream)")
        return StreamClosed(code.name, details)


class ServerTransport:
    """Reads/writes raw message bytes on a grpc.aio server context."""

    def __init__(self, context):
        self.context = context

    async def read(self) -> bytes:
        try:
            raw = await self.context.read()
        except Exception as e:  # grpcio documents no exception type for a failed read
            raise StreamClosed("CANCELLED", f"read failed: {e!r}") from None
        if raw is grpc.aio.EOF:
            # Also what the handler sees when C-core kills the call itself (e.g. a
            # message over --max-message-mb); grpcio gives no way to tell them apart.
            raise StreamClosed("OK", "request stream ended (EOF)")
        return raw

    async def write(self, raw: bytes) -> None:
        try:
            await self.context.write(raw)
        except Exception as e:
            raise StreamClosed("CANCELLED", f"write failed: {e!r}") from None


# --------------------------------------------------------------------------- session


class PeerRejected(Exception):
    def __init__(self, reason: str):
        super().__init__(f"peer rejected us: {reason}")
        self.reason = reason


class StepTimeout(Exception):
    pass


@dataclass
class SessionPolicy:
    """Role-specific choices the shared protocol logic calls out to."""

    # Called with the peer's Version after our Verack went out; returns a Reject reason
    # to refuse the peer, or None to accept.
    judge_version: Callable[[object], Optional[str]] = lambda version: None
    # Entries sent in reply to every RequestAddresses.
    addresses: list = field(default_factory=list)
    # A node drops a misbehaving peer; a test client rather records it and goes on so
    # the whole exchange shows up in the report.
    close_on_violation: bool = False


class Session:
    """One P2P peer on one MessageStream, in either role.

    The Kaspa protocol is symmetric after the RPC opens, so one class runs the
    handshake and answers Pings/RequestAddresses for both client and server. All
    writes happen on the task that calls pump_until(), so there is a single writer;
    a background task only moves received bytes into a queue, which lets waits time
    out without cancelling an in-flight gRPC read.
    """

    def __init__(self, wire: Wire, transport, me: LocalIdentity, reporter: Reporter,
                 policy: SessionPolicy, gzip: bool, report_closes: bool = True):
        self.wire = wire
        # False: the owner (the server's stream handler) reports stream_closed itself,
        # once it knows how the peer ended the stream.
        self.report_closes = report_closes
        self.gzip = gzip
        self.transport = transport
        self.me = me
        self.report = reporter
        self.policy = policy
        self._inbox: asyncio.Queue = asyncio.Queue()
        self.closed: Optional[StreamClosed] = None
        self.sent_version = False
        self.sent_ready = False
        self.peer_version = None
        self.got_verack = False
        self.got_ready = False
        self.rejected: Optional[str] = None
        self.reject_sent: Optional[str] = None
        self.addresses_requested = 0
        self.addresses_received = 0
        self.addresses_answered = 0
        self.pending_pings: set[int] = set()
        self.answered_pings: set[int] = set()
        self.violations: list[str] = []
        # False makes us a mute observer (silent/garbage scenarios): messages are
        # reported but never answered.
        self.answering = True
        self._write_error: Optional[StreamClosed] = None
        self._handlers = {
            "version": self._on_version, "verack": self._on_verack, "ready": self._on_ready,
            "ping": self._on_ping, "pong": self._on_pong, "reject": self._on_reject,
            "requestAddresses": self._on_request_addresses, "addresses": self._on_addresses,
        }

    # ---- lifecycle

    @contextlib.asynccontextmanager
    async def running(self):
        reader = asyncio.ensure_future(self._read_loop())
        try:
            yield self
        finally:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader

    async def _read_loop(self) -> None:
        while True:
            try:
                raw = await self.transport.read()
            except StreamClosed as closed:
                await self._inbox.put(closed)
                return
            await self._inbox.put(raw)

    def interrupt(self) -> None:
        """Wake a pending pump_until() so it re-checks its condition."""
        self._inbox.put_nowait(None)

    @property
    def handshake_done(self) -> bool:
        return self.sent_ready and self.got_ready

    def close_fields(self) -> dict:
        """What a stream_closed event says about the exchange before the end."""
        return {
            "handshake_completed": self.handshake_done,
            "peer_version_received": self.peer_version is not None,
            "peer_ready_received": self.got_ready,
            "addresses_answered": self.addresses_answered,
            "reject_received": self.rejected,
            "reject_sent": self.reject_sent,
        }

    def _report_closed(self, closed: "StreamClosed") -> None:
        if self.report_closes:
            self.report.emit("stream_closed", code=closed.code, details=closed.details,
                             **self.close_fields())

    @property
    def write_failed(self) -> bool:
        return self._write_error is not None

    @property
    def replying(self) -> bool:
        """Whether handlers may answer (not muted, and writing still works)."""
        return self.answering and self._write_error is None

    # ---- sending

    async def send(self, msg, event: str, **fields) -> None:
        await self.send_raw(msg.SerializeToString(), event, **fields)

    async def send_raw(self, raw: bytes, event: str, quiet: bool = False, **fields) -> None:
        """Write one message; `quiet` skips the event (floods report a summary instead)."""
        if self.closed:
            raise self.closed
        try:
            await self.transport.write(raw)
        except StreamClosed as failed:
            await self._write_failed(event, failed)
        if not quiet:
            self.report.emit(event, **fields, gzip_frame=self.gzip and is_gzip_frame(raw))

    async def _write_failed(self, event: str, failed: StreamClosed) -> None:
        """Find out how the stream really ended after a write was refused.

        grpcio's aio client turns a write on an RPC the server already finished into
        a local INTERNAL "Internal error from Core", hiding the real status and any
        Reject sent just before. So drain the read side briefly and report that.
        """
        self._write_error = failed
        self.report.emit("write_failed", message=event.removesuffix("_sent"),
                         code=failed.code, details=failed.details)
        if not await self.wait_closed(2.0):
            self.closed = failed
            self._report_closed(failed)
        if self.rejected is not None:
            raise PeerRejected(self.rejected)
        raise self.closed

    async def send_version(self, user_agent: Optional[str] = None) -> None:
        msg = self.wire.version(self.me, user_agent)
        self.sent_version = True
        address = msg.version.address if msg.version.HasField("address") else None
        await self.send(msg, "version_sent", network=self.me.network[:256],
                        network_bytes=len(self.me.network.encode()),
                        protocol_version=self.me.protocol_version, id=self.me.peer_id,
                        bytes=msg.ByteSize(),
                        address=describe_net_address(address) if address else None,
                        address_ip_hex=address.ip.hex() if address else None,
                        address_port=address.port if address else None)

    async def send_ping(self) -> int:
        nonce = random.getrandbits(64)
        self.pending_pings.add(nonce)
        await self.send(self.wire.ping(nonce), "ping_sent", nonce=nonce)
        return nonce

    async def request_addresses(self) -> None:
        self.addresses_requested += 1
        await self.send(self.wire.request_addresses(), "request_addresses_sent")

    async def reject_and_close(self, reason: str) -> None:
        self.reject_sent = reason
        await self.send(self.wire.reject(reason), "reject_sent", reason=reason)
        raise LocalClose(reason)

    # ---- receiving

    async def pump_until(self, done: Callable[[], bool], timeout: float,
                         stop_on_reject: bool = True) -> bool:
        """Handle incoming messages until done() holds (True) or `timeout` passes (False).

        Raises StreamClosed when the RPC ends and PeerRejected on a Reject (unless
        stop_on_reject is False).
        """
        deadline = time.monotonic() + timeout
        while not done():
            if self.closed:
                raise self.closed
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                item = await asyncio.wait_for(self._inbox.get(), remaining)
            except asyncio.TimeoutError:
                return False
            if item is None:  # interrupt(): just re-evaluate done()
                continue
            if isinstance(item, StreamClosed):
                self.closed = item
                self._report_closed(item)
                raise item
            await self._handle(item)
            if self.rejected is not None and stop_on_reject:
                raise PeerRejected(self.rejected)
        return True

    async def expect(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        if not await self.pump_until(done, timeout):
            raise StepTimeout(f"timed out after {timeout:g}s waiting for {what}")

    async def wait_closed(self, timeout: float) -> bool:
        """Keep handling messages until the peer ends the stream; False on timeout."""
        try:
            await self.pump_until(lambda: False, timeout, stop_on_reject=False)
        except StreamClosed:
            return True
        return False

    async def _handle(self, raw: bytes) -> None:
        try:
            msg = self.wire.decode(raw)
        except DecodeError as e:
            self.report.emit("decode_error", bytes=len(raw), error=str(e))
            await self._violation(f"undecodable message ({len(raw)} bytes)")
            return
        if msg.response_id or msg.request_id:
            await self._violation(f"non-zero ids response_id={msg.response_id} "
                                  f"request_id={msg.request_id}")
        kind = msg.WhichOneof("payload")
        if kind is None:
            self.report.emit("unknown_payload_received", fields=unknown_field_numbers(msg))
            await self._violation("envelope without a known payload")
            return
        if kind not in ("version", "verack", "ready", "reject") and not self.sent_ready:
            await self._violation(f"{kind} arrived before we sent Ready")
        handler = self._handlers.get(kind)
        if handler is None:
            self.report.emit("message_received", payload=kind)
        else:
            await handler(getattr(msg, kind))

    async def _violation(self, reason: str) -> None:
        self.violations.append(reason)
        self.report.emit("protocol_violation", reason=reason)
        if self.policy.close_on_violation:
            raise LocalClose(reason)

    # ---- handlers (one per payload type we act on)

    async def _on_version(self, version) -> None:
        self.report.emit("version_received", **describe_version(version))
        if self.peer_version is not None:
            await self._violation("second Version")
            return
        self.peer_version = version
        if not self.replying:
            return
        if not self.sent_version:  # a peer that waited for our Version first
            await self.send_version()
        # The node enqueues Verack before validating the Version; so do we.
        await self.send(self.wire.verack(), "verack_sent")
        reason = self.policy.judge_version(version)
        if reason is not None:
            await self.reject_and_close(reason)
        await self._maybe_send_ready()

    async def _on_verack(self, _msg) -> None:
        self.report.emit("verack_received")
        if not self.sent_version:
            await self._violation("Verack before we sent Version")
        if self.got_verack:
            await self._violation("second Verack")
        self.got_verack = True
        await self._maybe_send_ready()

    async def _on_ready(self, _msg) -> None:
        self.report.emit("ready_received")
        if not self.got_verack:
            await self._violation("Ready before the peer's Verack")
        if self.got_ready:
            await self._violation("second Ready")
        self.got_ready = True

    async def _maybe_send_ready(self) -> None:
        if not self.replying:
            return
        if self.peer_version is not None and self.got_verack and not self.sent_ready:
            self.sent_ready = True
            await self.send(self.wire.ready(), "ready_sent")

    async def _on_ping(self, ping) -> None:
        self.report.emit("ping_received", nonce=ping.nonce)
        if self.replying:
            await self.send(self.wire.pong(ping.nonce), "pong_sent", nonce=ping.nonce)

    async def _on_pong(self, pong) -> None:
        matches = pong.nonce in self.pending_pings
        self.report.emit("pong_received", nonce=pong.nonce, matches=matches)
        if matches:
            self.pending_pings.discard(pong.nonce)
            self.answered_pings.add(pong.nonce)
        else:
            await self._violation(f"Pong with unexpected nonce {pong.nonce}")

    async def _on_reject(self, reject) -> None:
        self.report.emit("reject_received", reason=reject.reason)
        self.rejected = reject.reason

    async def _on_request_addresses(self, _msg) -> None:
        self.report.emit("request_addresses_received")
        if self.replying:  # every one, like the node's SendAddressesFlow
            await self.answer_addresses(self.policy.addresses)

    async def answer_addresses(self, entries: list) -> None:
        """Send one Addresses reply (to one RequestAddresses) and count it."""
        await self.send(self.wire.addresses(entries), "addresses_sent", count=len(entries))
        self.addresses_answered += 1

    async def _on_addresses(self, msg) -> None:
        listed = [describe_net_address(a) for a in msg.addressList]
        self.report.emit("addresses_received", count=len(listed), addresses=listed)
        self.addresses_received += 1
        if self.addresses_received > self.addresses_requested:
            await self._violation("Addresses we did not ask for (a node would disconnect)")


# --------------------------------------------------------------------------- client


class ScenarioFailed(Exception):
    pass


def grpc_options(max_message_mb: int) -> list[tuple[str, int]]:
    """Channel/server args shared by both roles.

    grpcio defaults to a 4 MiB receive limit (like tonic); rusty-kaspa allows 1 GiB.
    The send limit is lifted so the oversized scenario can exceed the peer's limit.
    Proxy environment variables are ignored so traffic can only go where we dial.
    """
    return [
        ("grpc.max_send_message_length", -1),
        ("grpc.max_receive_message_length", max_message_mb * 1024 * 1024),
        ("grpc.enable_http_proxy", 0),
    ]


async def await_headers(call, session: Session, timeout: float) -> None:
    """Wait for the server's response headers before sending, as tonic does."""
    start = time.monotonic()
    # Not asyncio.wait_for: cancelling the initial_metadata() await only completes
    # once C-core gives up on the call (20 s against a mute TCP listener).
    waiter = asyncio.ensure_future(call.initial_metadata())
    finished, _ = await asyncio.wait({waiter}, timeout=timeout)
    if not finished:
        call.cancel()
        raise ScenarioFailed(f"no response headers within {timeout:g}s")
    metadata = waiter.result()
    if call.done() and (await call.code()) != grpc.StatusCode.OK:
        # A Trailers-Only error response also resolves initial_metadata(); report the
        # status rather than pretend headers arrived.
        await session.wait_closed(timeout)
        raise ScenarioFailed(f"call failed before response headers: {(await call.code()).name}")
    session.report.emit("headers_received",
                        elapsed_ms=round((time.monotonic() - start) * 1000, 1),
                        metadata={k: _metadata_value(v) for k, v in metadata or ()})


def _metadata_value(value) -> str:
    return value.hex() if isinstance(value, bytes) else value


async def handshake(session: Session, args) -> None:
    if not args.wait_for_version:
        await session.send_version()
    await session.expect(lambda: session.handshake_done, args.timeout,
                         "the handshake (Version/Verack/Ready)")


async def ping_and_expect_pong(session: Session, timeout: float) -> None:
    nonce = await session.send_ping()
    await session.expect(lambda: nonce in session.answered_pings, timeout,
                         f"Pong for nonce {nonce}")


async def hold(session: Session, seconds: float) -> None:
    if seconds > 0:
        await session.pump_until(lambda: False, seconds)


async def expect_peer_closes(session: Session, timeout: float) -> None:
    if not await session.wait_closed(timeout):
        raise ScenarioFailed(f"peer did not close the stream within {timeout:g}s")


async def scenario_node(session: Session, args) -> None:
    await handshake(session, args)
    rounds = args.address_requests
    for n in range(1, rounds + 1):  # one at a time: each must be answered by one Addresses
        await session.request_addresses()
        await session.expect(lambda: session.addresses_received >= n, args.timeout,
                             f"Addresses #{n}")
    await ping_and_expect_pong(session, args.timeout)
    await hold(session, args.hold_seconds)
    if session.addresses_received != rounds:
        raise ScenarioFailed(f"expected exactly {rounds} Addresses, got {session.addresses_received}")
    if session.peer_version.network != session.me.network:
        raise ScenarioFailed(f"peer network {session.peer_version.network!r} "
                             f"!= ours {session.me.network!r} but it did not reject us")


async def scenario_silent(session: Session, args) -> None:
    # A silent peer must eventually be dropped (a node rejects after 4 s).
    session.answering = False
    await expect_peer_closes(session, args.timeout)


async def scenario_garbage(session: Session, args) -> None:
    session.answering = False  # so the only thing the peer can react to is the garbage
    await session.send_raw(GARBAGE_PAYLOAD, "raw_sent", bytes=len(GARBAGE_PAYLOAD),
                           hex=GARBAGE_PAYLOAD.hex())
    await expect_peer_closes(session, args.timeout)


async def scenario_oversized(session: Session, args) -> None:
    # The big message is a valid Version (a node accepts any user-agent length and
    # truncates), so the only reason to refuse it is its size. Repeated text
    # compresses well, which also checks that limits apply to the decompressed size.
    size = args.size_mb * 1024 * 1024 + 1
    await session.send_version(user_agent="a" * size)
    if args.expect == "close":
        await expect_peer_closes(session, args.timeout)
        return
    await session.expect(lambda: session.handshake_done, args.timeout,
                         "the handshake after an oversized Version")
    await ping_and_expect_pong(session, args.timeout)


async def scenario_unknown_payload(session: Session, args) -> None:
    await handshake(session, args)
    await session.send_raw(UNKNOWN_PAYLOAD, "raw_sent", bytes=len(UNKNOWN_PAYLOAD),
                           hex=UNKNOWN_PAYLOAD.hex())
    await ping_and_expect_pong(session, args.timeout)
    await hold(session, args.hold_seconds)


async def scenario_flood_invs(session: Session, args) -> None:
    await handshake(session, args)
    start = time.monotonic()
    for _ in range(args.count):
        inv = session.wire.inv_relay_block(os.urandom(32))
        await session.send_raw(inv.SerializeToString(), "inv_relay_block_sent", quiet=True)
    session.report.emit("invs_sent", count=args.count,
                        elapsed_ms=round((time.monotonic() - start) * 1000, 1))
    await ping_and_expect_pong(session, args.timeout)
    await hold(session, args.hold_seconds)


async def scenario_unsolicited_addresses(session: Session, args) -> None:
    # Addresses nobody asked for (nodes disconnect for them); --count entries, then a Ping
    # that must still be answered.
    await handshake(session, args)
    # After our answer to the other side's request, so that nothing can take it for that answer.
    await session.expect(lambda: session.addresses_answered >= 1, args.timeout,
                         "a RequestAddresses to answer first")
    await session.send(session.wire.addresses(generated_addresses(args.count)),
                       "unsolicited_addresses_sent", count=args.count)
    await ping_and_expect_pong(session, args.timeout)
    await hold(session, args.hold_seconds)


async def scenario_invalid_utf8(session: Session, args) -> None:
    # A Version whose user agent is not UTF-8 (protobuf strings must be): patched into the
    # serialized bytes, since no protobuf library writes it. The stream must end, the
    # sensor must survive.
    session.answering = False
    marker = "/MARKER-UTF8/"
    raw = session.wire.version(session.me, marker).SerializeToString()
    raw = raw.replace(marker.encode(), b"/\xff\xfe\xc0\xaf-bad-utf8/")
    await session.send_raw(raw, "raw_sent", bytes=len(raw))
    await expect_peer_closes(session, args.timeout)


async def scenario_flood_pings(session: Session, args) -> None:
    # --count Pings without waiting for Pongs; every one must still be answered.
    await handshake(session, args)
    start = time.monotonic()
    nonces = []
    for _ in range(args.count):
        nonce = random.getrandbits(64)
        session.pending_pings.add(nonce)
        nonces.append(nonce)
        await session.send_raw(session.wire.ping(nonce).SerializeToString(), "ping_sent", quiet=True)
    session.report.emit("pings_sent", count=args.count,
                        elapsed_ms=round((time.monotonic() - start) * 1000, 1))
    await session.expect(lambda: all(n in session.answered_pings for n in nonces), args.timeout,
                         f"Pongs for all {args.count} Pings")
    session.report.emit("pongs_received", count=len(session.answered_pings))


SCENARIOS: dict[str, Callable[[Session, argparse.Namespace], Awaitable[None]]] = {
    "node": scenario_node,
    "wrong-network": scenario_node,
    "silent": scenario_silent,
    "garbage": scenario_garbage,
    "oversized": scenario_oversized,
    "unknown-payload": scenario_unknown_payload,
    "flood-invs": scenario_flood_invs,
    "unsolicited-addresses": scenario_unsolicited_addresses,
    "invalid-utf8": scenario_invalid_utf8,
    "flood-pings": scenario_flood_pings,
}


def expected_reject_terms(session: Session, args) -> Optional[list[str]]:
    """Substrings a Reject must contain for this run, or None if no Reject is expected."""
    if args.scenario == "wrong-network":
        terms = [session.me.network]
        if session.peer_version is not None:
            terms.append(session.peer_version.network)
        return terms
    return [args.expect_reject] if args.expect_reject is not None else None


async def run_scenario(session: Session, call, args) -> None:
    """Run the chosen scenario, turning a Reject into success only when expected."""
    await await_headers(call, session, args.headers_timeout)
    terms_before = expected_reject_terms(session, args)
    try:
        await SCENARIOS[args.scenario](session, args)
    except PeerRejected as rejected:
        terms = expected_reject_terms(session, args)
        if terms is None:
            raise ScenarioFailed(f"peer rejected us: {rejected.reason}") from None
        missing = [t for t in terms if t not in rejected.reason]
        if missing:
            raise ScenarioFailed(f"Reject reason {rejected.reason!r} lacks {missing}") from None
        await expect_peer_closes(session, args.timeout)
        return
    if terms_before is not None:
        raise ScenarioFailed("expected a Reject but the peer accepted us")


async def close_call(session: Session, call, args) -> None:
    """End our side like a node does: END_STREAM, then cancel if the peer lingers."""
    if session.closed:
        return
    if call.done():  # cancelled or failed locally: only collect the reader's report
        await session.wait_closed(1.0)
        return
    if args.close == "half-close":
        with contextlib.suppress(Exception):
            await call.done_writing()
            session.report.emit("half_closed")
        if await session.wait_closed(args.close_wait):
            return
    call.cancel()
    session.report.emit("stream_closed", code="CANCELLED", details="cancelled locally",
                        local=True, **session.close_fields())
    session.closed = StreamClosed("CANCELLED", "cancelled locally")


def identity_from_args(args, default_network: str) -> LocalIdentity:
    network = args.network or default_network
    if args.network_pad_bytes:
        # A hostile Version: the network name grows by a newline and N more bytes.
        network += "\n" + "x" * (args.network_pad_bytes - 1)
    return LocalIdentity(network=network,
                         protocol_version=args.protocol_version,
                         user_agent=args.user_agent,
                         peer_id=args.id_hex if args.id_hex is not None else uuid.uuid4().bytes,
                         advertise=args.advertise)


async def dial_and_run(args, wire: Wire, report: Reporter, target: str,
                       me: LocalIdentity, peers: Optional[PeerTable] = None) -> Optional[str]:
    """Dial `target`, run args.scenario, close; returns the failure or None."""
    compression = None if args.no_gzip else grpc.Compression.Gzip
    async with grpc.aio.insecure_channel(target, options=grpc_options(args.max_message_mb),
                                         compression=compression) as channel:
        # No (de)serializers: messages travel as raw bytes so the garbage and
        # unknown-payload scenarios can use the very same method as valid traffic.
        call = channel.stream_stream(METHOD)()
        session = Session(wire, ClientTransport(call), me, report,
                          SessionPolicy(addresses=address_entries(args)), gzip=not args.no_gzip)
        if peers is not None:
            peers.add(session, target_ip(target))
        error = None
        try:
            async with session.running():
                try:
                    await run_scenario(session, call, args)
                except (ScenarioFailed, StepTimeout, StreamClosed, PeerRejected) as e:
                    error = str(e)
                await close_call(session, call, args)
        finally:
            if peers is not None:
                peers.remove(session)
        if error is None and session.violations:
            error = "protocol violations: " + "; ".join(session.violations)
        return error


def target_ip(target: str) -> Optional[str]:
    """The IP a HOST:PORT dials (the first address it resolves to), IPv4-mapped as IPv4."""
    host, port = split_host_port(target)
    try:
        ip = ipaddress.ip_address(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4][0])
    except (OSError, ValueError, IndexError):
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


async def run_client(args, wire: Wire, report: Reporter) -> bool:
    refusal = None if args.allow_remote else non_loopback_reason(args.target)
    if refusal:
        report.emit("done", ok=False, error=refusal, scenario=args.scenario)
        return False
    me = identity_from_args(args, TESTNET_10 if args.scenario == "wrong-network" else MAINNET)
    error = await dial_and_run(args, wire, report, args.target, me)
    report.emit("done", ok=error is None, error=error, scenario=args.scenario)
    return error is None


# --------------------------------------------------------------------------- server


def judge_version(version, me: LocalIdentity, forced_reason: Optional[str],
                  duplicate: bool = False) -> Optional[str]:
    """Return the Reject reason a node would send for this Version, in the node's order."""
    if len(version.id) != 16:
        return f"invalid peer id length {len(version.id)}"
    if version.HasField("address") and len(version.address.ip) not in (4, 16):
        return f"IP has illegal length {len(version.address.ip)}"
    if version.HasField("subnetworkId") and len(version.subnetworkId.bytes) != 20:
        return f"invalid subnetwork id length {len(version.subnetworkId.bytes)}"
    if duplicate:
        return "DUPLICATE_CONNECTION"
    if forced_reason is not None:
        return forced_reason
    if version.id == me.peer_id:
        return "LOOPBACK_CONNECTION"
    if version.network != me.network:
        return f"Network mismatch - local: {me.network}, remote: {version.network}"
    if version.protocolVersion < me.protocol_version:
        return (f"P2P protocol version mismatch - local: {me.protocol_version}, "
                f"remote: {version.protocolVersion}")
    return None


class NodeServer:
    """gRPC servicer that treats every MessageStream like a rusty-kaspa node would."""

    # After the request stream hits EOF, how long to wait for grpcio to cancel the
    # handler. A client's RST_STREAM (or a dropped connection) also shows up as EOF on
    # context.read(); grpcio then cancels the handler task within a loop iteration or
    # two, while a clean END_STREAM leaves it alone (context.cancelled() is False in
    # both cases, so the cancellation is the only tell). See README "grpcio behaviour".
    CANCEL_GRACE = 0.25
    # After the peer's Reject: how long to keep reading to see how the peer ends its
    # side (a node closes at once; this only delays our trailers by at most that much).
    REJECT_GRACE = 0.5

    def __init__(self, args, wire: Wire, report: Reporter, stop: asyncio.Event,
                 me: Optional[LocalIdentity] = None, peers: Optional[PeerTable] = None):
        self.args = args
        self.wire = wire
        self.report = report
        self.stop = stop
        self.me = me or identity_from_args(args, MAINNET)
        self.peers = peers
        self._numbers = itertools.count(1)
        self._sessions: set[Session] = set()
        self.finished_streams = 0

    def handler(self) -> grpc.GenericRpcHandler:
        method = grpc.stream_stream_rpc_method_handler(self.message_stream)
        return grpc.method_handlers_generic_handler(SERVICE, {"MessageStream": method})

    async def message_stream(self, _requests, context) -> None:
        number = next(self._numbers)
        report = self.report.bind(stream=number)
        peer = urllib.parse.unquote(context.peer())  # "ipv6:%5B::1%5D:port" -> "ipv6:[::1]:port"
        if self.args.max_streams and number > self.args.max_streams:
            report.emit("stream_refused", peer=peer)
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "max streams reached")
        # Headers first: a dialing node sends nothing until it has them.
        await context.send_initial_metadata(())
        where = peer_ip_port(peer)
        report.emit("stream_opened", peer=peer, **where,
                    request_metadata={m.key: _metadata_value(m.value)
                                      for m in context.invocation_metadata() or ()})
        # grpcio hides grpc-accept-encoding, so gzip_frame assumes the peer accepts gzip.
        session = Session(self.wire, ServerTransport(context), self.me, report,
                          self._policy(report, peer, where["peer_ip"]), gzip=True,
                          report_closes=False)
        self._sessions.add(session)
        if self.peers is not None:
            self.peers.add(session, where["peer_ip"])
        eof_at: Optional[float] = None
        try:
            try:
                async with session.running():
                    try:
                        await self._serve(session)
                        closed = _Outcome("OK", "closed by us: server stopping", "server")
                    except PeerRejected:
                        closed = await self._after_peer_reject(session)
            except StreamClosed as ended:
                if session.write_failed or ended.code != "OK":
                    closed = _Outcome(ended.code, ended.details, "cancelled")
                else:  # EOF: END_STREAM, or an RST that grpcio reports as EOF first
                    eof_at = time.monotonic()
                    if not _cancel_requested():
                        await asyncio.sleep(self.CANCEL_GRACE)  # cancelled here after an RST
                    if _cancel_requested():
                        raise asyncio.CancelledError
                    closed = _Outcome("OK", ended.details, "end_stream")
            except LocalClose as closing:
                closed = _Outcome("OK", f"closed by us: {closing}", "server")
        except asyncio.CancelledError:
            extra = {}
            if eof_at is not None:
                extra["eof_to_cancel_ms"] = round((time.monotonic() - eof_at) * 1000, 1)
            report.emit("stream_closed", code="CANCELLED",
                        details="RPC cancelled (peer's RST_STREAM or lost connection)",
                        peer_ended="cancelled", **extra, **session.close_fields())
            raise
        else:
            local = {"local": True} if closed.peer_ended == "server" else {}
            report.emit("stream_closed", code=closed.code, details=closed.details,
                        peer_ended=closed.peer_ended, **local, **session.close_fields())
        finally:
            self._sessions.discard(session)
            if self.peers is not None:
                self.peers.remove(session)
            self._stream_finished()

    async def _after_peer_reject(self, session: Session) -> "_Outcome":
        """The peer sent Reject: see briefly whether it ends its side, then end ours."""
        # A StreamClosed from here is reported by message_stream (end_stream/cancelled).
        await session.pump_until(lambda: False, self.REJECT_GRACE, stop_on_reject=False)
        return _Outcome("OK", "closed by us after the peer's Reject", "server")

    def end_streams(self) -> None:
        """Make every open stream finish with OK trailers, as a node closing its peers."""
        for session in self._sessions:
            session.interrupt()

    def _policy(self, report: Reporter, peer: str, peer_ip: Optional[str]) -> SessionPolicy:
        def judge(version) -> Optional[str]:
            report.emit("probe_accepted", peer=peer, **describe_version(version))
            duplicate = self.peers is not None and self.peers.has(version.id, peer_ip)
            return judge_version(version, self.me, self.args.reject_after_version, duplicate)
        return SessionPolicy(judge_version=judge, addresses=address_entries(self.args),
                             close_on_violation=True)

    async def _serve(self, session: Session) -> None:
        """The node's side of one connection: handshake with deadlines, then flows."""
        args = self.args
        if args.version_delay > 0:
            # A busy node handshakes inbound peers one at a time: until it gets to this
            # one, nothing is sent and nothing read (bytes wait in the inbox), so our
            # Verack can only follow our late Version, and our timers start after it.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stop.wait(), args.version_delay)
            if self.stop.is_set():
                return
        await session.send_version()
        if not await session.pump_until(
                lambda: session.peer_version is not None and session.got_verack,
                args.version_timeout):
            await session.reject_and_close(f"timeout expired after {args.version_timeout:g}s")
        if not await session.pump_until(lambda: session.got_ready, args.ready_timeout):
            await session.reject_and_close(f"timeout expired after {args.ready_timeout:g}s")
        if args.request_addresses:
            await session.request_addresses()
        while not self.stop.is_set():  # until the peer closes or the server stops
            await session.pump_until(self.stop.is_set, args.ping_interval or 3600)
            if args.ping_interval and not self.stop.is_set():
                await session.send_ping()

    def _stream_finished(self) -> None:
        self.finished_streams += 1
        if self.args.max_streams and self.finished_streams >= self.args.max_streams:
            self.stop.set()


@dataclass(frozen=True)
class _Outcome:
    code: str
    details: str
    peer_ended: str  # "end_stream" | "cancelled" | "server"


def _cancel_requested() -> bool:
    """Whether someone (grpcio, after an RST) asked to cancel the current task.

    Checked besides catching CancelledError because the request can get lost: on
    Python < 3.12 asyncio.wait_for() returns the inner result and drops a cancellation
    that arrives as the inner future completes (here: the EOF reaching the inbox while
    grpcio cancels us), and cleanup awaits under suppress(BaseException) swallow it.
    Task.cancelling() still counts the request.
    """
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+
    return bool(cancelling and cancelling())


def peer_ip_port(peer: str) -> dict:
    """'ipv6:[::ffff:1.2.3.4]:5' -> {'peer_ip': '1.2.3.4', 'peer_port': 5} (mapped -> IPv4)."""
    _, _, address = peer.partition(":")
    try:
        host, port = split_host_port(address)
        ip = ipaddress.ip_address(host)
    except (argparse.ArgumentTypeError, ValueError):
        return {"peer_ip": None, "peer_port": None}
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return {"peer_ip": str(ip), "peer_port": port}


async def run_until_stopped(stop: asyncio.Event, lifetime: Optional[float]) -> None:
    install_stop_signals(stop)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), lifetime)


def install_stop_signals(stop: asyncio.Event) -> None:
    # A parent may hand us SIGTERM/SIGINT blocked (a process started from a thread that blocks them, as
    # signalfd-based runtimes do): unblock them, or the handlers below would never run.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


def local_ipv4_addresses() -> list[str]:
    """Every IPv4 address of this host (of this network namespace), loopback first.

    Read from /proc/net/fib_trie (its "/32 host LOCAL" entries), which is per network
    namespace and lists secondary addresses too.
    """
    found: list[str] = []
    try:
        lines = Path("/proc/net/fib_trie").read_text().splitlines()
    except OSError:
        return ["127.0.0.1"]
    for previous, line in zip(lines, lines[1:]):
        if line.strip() == "/32 host LOCAL":
            ip = previous.strip().lstrip("|-+ ").strip()
            if ip not in found:
                found.append(ip)
    return sorted(found, key=lambda ip: not ipaddress.ip_address(ip).is_loopback) or ["127.0.0.1"]


def listen_sockets(listen: str) -> list[tuple[str, int]]:
    """What to bind for one --listen.

    gRPC C-core binds a wildcard 0.0.0.0 as a dual-stack [::] socket, so a peer would
    also answer over IPv6, unlike rusty-kaspa (tonic) whose default 0.0.0.0 listener
    is IPv4 only. So 0.0.0.0 becomes every local IPv4 address (as present at start).
    [::] stays one dual-stack socket, as with tonic on Linux.
    """
    host, port = split_host_port(listen)
    if host == "0.0.0.0":
        return [(ip, port) for ip in local_ipv4_addresses()]
    return [(host, port)]


async def start_node_server(node: NodeServer, listens: list[str], max_message_mb: int):
    """A grpc.aio server for `node` on every address.

    Returns (server, ports, bound) or (None, failed address, None). A --listen that
    expands to several sockets (0.0.0.0) uses one port for all of them, also with port 0.
    """
    # Gzip is both accepted (C-core always decodes it) and used for responses to
    # peers that advertise it, matching the node's accept/send_compressed(Gzip).
    # No SO_REUSEPORT (C-core sets it by default): a second peer on a port already in
    # use must fail to listen, not silently share the connections like it would.
    server = grpc.aio.server(options=grpc_options(max_message_mb) + [("grpc.so_reuseport", 0)],
                             compression=grpc.Compression.Gzip)
    server.add_generic_rpc_handlers((node.handler(),))
    ports, bound = [], []
    for listen in listens:
        port = None
        for host, wanted in listen_sockets(listen):
            address = format_host_port(host, wanted if port is None else port)
            try:  # grpcio 1.85 raises RuntimeError; older versions returned 0
                got = server.add_insecure_port(address)
            except RuntimeError:
                got = 0
            if got == 0:
                return None, address, None
            port = got
            bound.append(format_host_port(host, got))
        ports.append(port)
    await server.start()
    return server, ports, bound


async def run_server(args, wire: Wire, report: Reporter) -> bool:
    stop = asyncio.Event()
    node = NodeServer(args, wire, report, stop)
    server, ports, bound = await start_node_server(node, args.listen, args.max_message_mb)
    if server is None:
        report.emit("done", ok=False, error=f"cannot listen on {ports}")
        return False
    report.emit("listening", port=ports[0], ports=ports, bound=bound, network=node.me.network,
                id=node.me.peer_id)
    await run_until_stopped(stop, args.lifetime_seconds)
    stop.set()  # also when the lifetime ran out, so handlers see it
    node.end_streams()
    await server.stop(grace=3)
    report.emit("done", ok=True, error=None, streams=node.finished_streams)
    return True


# --------------------------------------------------------------------------- node


async def run_node(args, wire: Wire, report: Reporter) -> bool:
    """One node process: one id, a server (if --listen) and a client (if --dial).

    The server starts first, so the sensor's dial-back finds it. The process keeps
    serving after the client finished until SIGTERM/SIGINT or --lifetime-seconds; a
    node that does not listen exits when its client is done.
    """
    me = identity_from_args(args, MAINNET)
    server_report, client_report = report.bind(role="server"), report.bind(role="client")
    if args.dial and not args.allow_remote:
        refusal = non_loopback_reason(args.dial)
        if refusal:
            report.emit("done", ok=False, error=refusal, id=me.peer_id, streams=0)
            return False
    stop = asyncio.Event()
    install_stop_signals(stop)
    peers = PeerTable()  # both roles: the duplicate (id, IP) check
    node = NodeServer(args, wire, server_report, stop, me, peers)
    server, ports, bound = None, [], []
    if args.listen:
        server, ports, bound = await start_node_server(node, args.listen, args.max_message_mb)
        if server is None:
            report.emit("done", ok=False, error=f"cannot listen on {ports}", id=me.peer_id,
                        streams=0)
            return False
    server_report.emit("listening", port=ports[0] if ports else None, ports=ports, bound=bound,
                       network=me.network, id=me.peer_id)

    client_task = None
    if args.dial:
        client_task = asyncio.ensure_future(node_client(args, wire, client_report, me, peers))
    stop_task = asyncio.ensure_future(stop.wait())
    waits = {stop_task}
    if client_task is not None and server is None:
        waits.add(client_task)  # nothing to serve: done when the client is
    await asyncio.wait(waits, timeout=args.lifetime_seconds,
                       return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    stop_task.cancel()
    error = None
    if client_task is not None:
        if not client_task.done():
            client_task.cancel()
        error = await client_task
    node.end_streams()
    if server is not None:
        await server.stop(grace=3)
    report.emit("done", ok=error is None, error=error, id=me.peer_id,
                streams=node.finished_streams)
    return error is None


async def node_client(args, wire: Wire, report: Reporter, me: LocalIdentity,
                      peers: PeerTable) -> Optional[str]:
    """The node's outgoing connection: the `node` scenario; reports client_done."""
    timer = start_watchdog(client_max_runtime(args), report)
    stopped = False
    try:
        error = await dial_and_run(args, wire, report, args.dial, me, peers)
    except asyncio.CancelledError:
        error, stopped = "stopped before the client scenario finished", True
    finally:
        timer.cancel()
    report.emit("client_done", ok=error is None, error=error, scenario=args.scenario,
                target=args.dial, stopped=stopped)
    return error


# --------------------------------------------------------------------------- tcp sink


async def run_tcp_sink(args, report: Reporter) -> bool:
    """Accept TCP and read everything, never writing a byte."""
    numbers = itertools.count(1)

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        number = next(numbers)
        peer = format_host_port(*writer.get_extra_info("peername")[:2])
        report.emit("connection_accepted", connection=number, peer=peer)
        received = 0
        try:
            while chunk := await reader.read(65536):
                received += len(chunk)
        except ConnectionError:
            pass
        finally:
            report.emit("connection_closed", connection=number, peer=peer,
                        bytes_received=received)
            writer.close()

    host, port = split_host_port(args.listen)
    server = await asyncio.start_server(on_connect, host, port)
    report.emit("listening", port=server.sockets[0].getsockname()[1])
    stop = asyncio.Event()
    await run_until_stopped(stop, args.lifetime_seconds)
    server.close()
    report.emit("done", ok=True, error=None)
    return True


# --------------------------------------------------------------------------- h2-hold


def _h2_frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def _hpack_literal(name: str, value: str) -> bytes:
    """A literal header field without indexing, new name, no Huffman (RFC 7541 6.2.2): needs no HPACK state."""
    out = b"\x00"
    for text in (name.encode(), value.encode()):
        assert len(text) < 127
        out += bytes([len(text)]) + text
    return out


async def run_h2_hold(args, report: Reporter) -> bool:
    """A hostile HTTP/2 peer written from RFC 9113 alone (no gRPC library): opens one MessageStream and then
    keeps the TCP connection open whatever the server does. It ignores GOAWAY, never answers PING and, in `open`
    mode, never ends its side of the stream; in `ended` mode it ends its side at once (END_STREAM, no message),
    so the connection stays open after the stream is over; in `none` mode it opens no stream at all. It exits
    when the server closes the connection."""
    host, port = split_host_port(args.target)
    reason = non_loopback_reason(args.target)
    if reason:
        report.emit("done", ok=False, error=reason)
        return False
    reader, writer = await asyncio.open_connection(host, port)
    headers = b"".join(_hpack_literal(n, v) for n, v in [
        (":method", "POST"), (":scheme", "http"), (":path", "/protowire.P2P/MessageStream"),
        (":authority", args.target), ("content-type", "application/grpc"), ("te", "trailers")])
    frames = _h2_frame(4, 0, 0)
    if args.mode != "none":
        frames += _h2_frame(1, 0x4, 1, headers)
    if args.mode == "ended":
        frames += _h2_frame(0, 0x1, 1)  # an empty DATA frame with END_STREAM: our side is over, no message
    writer.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frames)
    await writer.drain()
    report.emit("stream_requested", mode=args.mode)
    buffer = b""
    names = {0: "DATA", 1: "HEADERS", 3: "RST_STREAM", 4: "SETTINGS", 6: "PING", 7: "GOAWAY", 8: "WINDOW_UPDATE"}
    try:
        while chunk := await reader.read(65536):
            buffer += chunk
            while len(buffer) >= 9:
                length = int.from_bytes(buffer[:3], "big")
                if len(buffer) < 9 + length:
                    break
                kind, flags, stream = buffer[3], buffer[4], int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
                buffer = buffer[9 + length:]
                name = names.get(kind, str(kind))
                if kind == 4 and not flags & 0x1 and args.mode == "none":
                    report.emit("settings")
                if kind == 4 and not flags & 0x1:
                    writer.write(_h2_frame(4, 0x1, 0))  # SETTINGS ACK: the one courtesy, so the server talks
                    await writer.drain()
                if kind == 1 and stream == 1:
                    report.emit("stream_open" if not flags & 0x1 else "stream_ended_by_server")
                elif kind in (3, 7) or flags & 0x1:
                    report.emit("frame", type=name, stream=stream, flags=flags)
    except ConnectionError:
        pass
    report.emit("closed")
    return True


# --------------------------------------------------------------------------- CLI


def host_port_arg(text: str) -> tuple[str, int]:
    host, port = split_host_port(text)
    ipaddress.ip_address(host)  # NetAddress carries an IP, never a name
    return host, port


def peer_id_arg(text: str) -> bytes:
    """Hex bytes of any length: a wrong length is how to test the peer's validation."""
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not hex: {text!r}") from None


def address_list_arg(text: str) -> list[tuple[str, int]]:
    """'1.2.3.4:16111,[2001:db8::1]:16111' -> [(ip, port), ...]."""
    return [host_port_arg(item) for item in text.split(",") if item.strip()]


def generated_addresses(count: int) -> list[tuple[str, int]]:
    """`count` distinct documentation-prefix addresses (never routable, never dialed)."""
    prefixes = ("198.51.100", "203.0.113")
    return [(f"{prefixes[(n // 254) % 2]}.{n % 254 + 1}", 1024 + n // 508) for n in range(count)]


def address_entries(args) -> list[tuple[str, int]]:
    """What we answer every RequestAddresses with."""
    return generated_addresses(args.address_count) if args.address_count else args.addresses


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    # Options both gRPC roles share: what we say in our Version, our address book, and
    # transport limits. In `node` they hold for both roles (one node, one identity).
    version = argparse.ArgumentParser(add_help=False)
    v = version.add_argument_group("our Version message")
    v.add_argument("--network", help="Version.network (default kaspa-mainnet; "
                   "kaspa-testnet-10 for the wrong-network scenario)")
    v.add_argument("--protocol-version", type=int, default=DEFAULT_PROTOCOL_VERSION)
    v.add_argument("--user-agent", default=DEFAULT_USER_AGENT)
    v.add_argument("--id-hex", type=peer_id_arg,
                   help="peer id in hex, normally 16 bytes (default: random UUIDv4)")
    v.add_argument("--advertise", type=host_port_arg, metavar="IP:PORT",
                   help="set Version.address (omitted by default); 4 bytes for IPv4, 16 for "
                   "IPv6 incl. [::ffff:a.b.c.d]; the no-address forms 0.0.0.0:0, [::]:0 and "
                   "[::ffff:0.0.0.0]:0 are sent as given")
    v.add_argument("--network-pad-bytes", type=int, default=0, metavar="N",
                   help="append a newline and N-1 more bytes to Version.network (hostile-peer tests)")
    v.add_argument("--address-count", type=int, default=0, metavar="N",
                   help="answer every RequestAddresses with N generated entries (198.51.100.0/24 and "
                   "203.0.113.0/24, ports 1024 upwards) instead of --addresses")
    v.add_argument("--addresses", type=address_list_arg, default=[], metavar="IP:PORT,...",
                   help="entries of our Addresses replies to every RequestAddresses (sent as "
                   "given: '[::ffff:1.2.3.4]:16111' goes out as 16 bytes, port 0 as 0)")
    t = version.add_argument_group("transport")
    t.add_argument("--max-message-mb", type=int, default=1024,
                   help="largest message we accept (node: 1024; grpcio default: 4)")

    # The dialing role (client, node's client).
    dialer = argparse.ArgumentParser(add_help=False)
    d = dialer.add_argument_group("dialing role")
    d.add_argument("--wait-for-version", action="store_true",
                   help="send our Version only after the peer's Version arrived")
    d.add_argument("--no-gzip", action="store_true", help="send uncompressed messages")
    d.add_argument("--address-requests", type=int, default=1, metavar="N",
                   help="node scenario: send N RequestAddresses one after another, expecting "
                   "exactly one Addresses for each (default 1)")
    d.add_argument("--timeout", type=float, default=10.0, help="seconds per wait")
    d.add_argument("--headers-timeout", type=float, default=10.0,
                   help="seconds to wait for response headers (tonic: 10)")
    d.add_argument("--hold-seconds", type=float, default=0.0,
                   help="stay connected this long after the scenario, answering pings")
    d.add_argument("--close", choices=("half-close", "cancel"), default="half-close")
    d.add_argument("--close-wait", type=float, default=3.0,
                   help="seconds to wait for the peer to end after our half-close")
    d.add_argument("--max-runtime", type=float,
                   help="hard limit for the dialing part (default derived from timeouts)")
    d.add_argument("--allow-remote", action="store_true",
                   help="permit a non-loopback target")

    # The accepting role (server, node's server): per-stream behaviour.
    acceptor = argparse.ArgumentParser(add_help=False)
    a = acceptor.add_argument_group("accepting role (per stream)")
    a.add_argument("--reject-after-version", metavar="REASON",
                   help="Reject every peer with REASON after its Version")
    a.add_argument("--version-delay", type=float, default=0.0, metavar="SECONDS",
                   help="send our Version (and read anything) only this long after the stream "
                   "opened, like a busy node handshaking inbound peers one at a time")
    a.add_argument("--max-streams", type=int, default=0,
                   help="exit after this many streams ended; refuse more (0: no limit)")
    a.add_argument("--lifetime-seconds", type=float, help="exit after this long")
    a.add_argument("--version-timeout", type=float, default=4.0,
                   help="Reject if the peer's Version+Verack take longer (node: 4)")
    a.add_argument("--ready-timeout", type=float, default=8.0,
                   help="Reject if the peer's Ready takes longer (node: 8)")
    a.add_argument("--no-request-addresses", dest="request_addresses",
                   action="store_false", help="do not send RequestAddresses after Ready")
    a.add_argument("--ping-interval", type=float, default=0.0,
                   help="ping the peer this often after the handshake (node: 120; 0: never)")

    client = sub.add_parser("client", parents=[version, dialer], help="dial a sensor like a node")
    client.add_argument("--target", required=True, metavar="HOST:PORT")
    client.add_argument("--scenario", choices=sorted(SCENARIOS), default="node")
    client.add_argument("--expect-reject", metavar="SUBSTRING",
                        help="succeed only if a Reject containing SUBSTRING arrives, then EOF")
    client.add_argument("--size-mb", type=int, default=5, help="oversized: message size")
    client.add_argument("--expect", choices=("close", "accept"), default="close",
                        help="oversized: whether the peer should drop or accept the message")
    client.add_argument("--count", type=int, default=1000, help="flood-invs: number of invs; flood-pings: Pings; unsolicited-addresses: entries")

    server = sub.add_parser("server", parents=[version, acceptor], help="accept dials like a node")
    server.add_argument("--listen", required=True, action="append", metavar="HOST:PORT",
                        help="address to listen on (repeatable; [::]:P is dual stack, "
                        "0.0.0.0:P IPv4 only)")
    server.add_argument("--allow-remote", action="store_true",
                        help="accepted for symmetry with node; listening never sends traffic, "
                        "so any listen address is allowed")

    node = sub.add_parser("node", parents=[version, dialer, acceptor],
                          help="one node process: server and client with one id")
    node.add_argument("--listen", action="append", default=[], metavar="HOST:PORT",
                      help="serve here (repeatable; none: the node does not listen)")
    node.add_argument("--dial", metavar="HOST:PORT",
                      help="dial the sensor here and run the node scenario")
    node.set_defaults(scenario="node", expect_reject=None)

    hold = sub.add_parser("h2-hold", help="open one stream, then keep the connection open, ignoring GOAWAY")
    hold.add_argument("--target", required=True, metavar="HOST:PORT")
    hold.add_argument("--mode", choices=["open", "ended", "none"], default="open",
                      help="open: never end our side; ended: END_STREAM at once; none: open no stream at all")

    sink = sub.add_parser("tcp-sink", help="accept TCP, never speak")
    sink.add_argument("--listen", required=True, metavar="HOST:PORT")
    sink.add_argument("--lifetime-seconds", type=float, help="exit after this long")
    return parser


def client_max_runtime(args) -> float:
    if args.max_runtime:
        return args.max_runtime
    return args.headers_timeout + 4 * args.timeout + args.hold_seconds + args.close_wait + 30


def start_watchdog(seconds: float, report: Reporter) -> threading.Timer:
    """Last line of defence against a hang inside C-core: report and exit hard."""
    def expire():
        report.emit("done", ok=False, error=f"max runtime of {seconds:g}s exceeded")
        os._exit(1)
    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    return timer


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    report = Reporter()
    if args.command == "tcp-sink":
        return 0 if asyncio.run(run_tcp_sink(args, report)) else 1
    if args.command == "h2-hold":
        return 0 if asyncio.run(run_h2_hold(args, report.bind(role="h2-hold"))) else 1
    wire = Wire(load_protowire())
    if args.command == "client":
        start_watchdog(client_max_runtime(args), report.bind(role="client"))
        return 0 if asyncio.run(run_client(args, wire, report.bind(role="client"))) else 1
    if args.command == "node":
        if not args.listen and not args.dial:
            build_parser().error("node: give --listen, --dial or both")
        return 0 if asyncio.run(run_node(args, wire, report)) else 1
    return 0 if asyncio.run(run_server(args, wire, report.bind(role="server"))) else 1


if __name__ == "__main__":
    sys.exit(main())
