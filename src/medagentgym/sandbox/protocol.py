"""Wire format between the client, the fork-server and session processes.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON (ASCII-escaped,
so lone surrogates in agent output survive). Every reader states the largest frame it accepts:
the session process runs untrusted code, so a reply is untrusted input and must not be able to
make the client allocate without bound or wait forever.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from typing import Any

_HEADER = struct.Struct("!I")


class ProtocolError(Exception):
    """The peer sent something that is not a well-formed frame (or one that is too large)."""


class PeerClosed(ProtocolError):
    """The connection ended (the peer process exited or closed its end)."""


class FrameTimeout(ProtocolError):
    """No complete frame arrived before the deadline."""


def encode_frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return _HEADER.pack(len(body)) + body


def write_frame(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(encode_frame(message))


def _recv_exact(sock: socket.socket, size: int, deadline: float | None) -> bytes:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FrameTimeout("no reply before the deadline")
            sock.settimeout(remaining)
        try:
            n = sock.recv_into(view[got:], size - got)
        except TimeoutError as exc:
            raise FrameTimeout("no reply before the deadline") from exc
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise PeerClosed(str(exc)) from exc
        if n == 0:
            raise PeerClosed("connection closed by peer")
        got += n
    return bytes(buffer)


def read_frame(sock: socket.socket, max_bytes: int, deadline: float | None = None) -> dict[str, Any]:
    """Read one frame; refuse frames over ``max_bytes`` before reading their body."""
    header = _recv_exact(sock, _HEADER.size, deadline)
    (length,) = _HEADER.unpack(header)
    if length > max_bytes:
        raise ProtocolError(f"frame of {length} bytes exceeds the limit of {max_bytes}")
    body = _recv_exact(sock, length, deadline)
    try:
        message = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"frame is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # a frame nested deeper than the parser's stack
        raise ProtocolError("frame is nested too deeply") from exc
    if not isinstance(message, dict):
        raise ProtocolError("frame is not a JSON object")
    return message
