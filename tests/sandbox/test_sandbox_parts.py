"""Unit tests of the sandbox's pieces that need no server: framing, layers, table rendering."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from medagentgym.sandbox.hardening import (
    DEFAULT_LAYERS,
    LAYER_TYPES,
    HardeningLayer,
    isolation_level,
    prepare_layers,
)
from medagentgym.sandbox.limits import SandboxLimits
from medagentgym.sandbox.protocol import (
    FrameTimeout,
    PeerClosed,
    ProtocolError,
    encode_frame,
    read_frame,
    write_frame,
)
from medagentgym.textfmt import format_table


@pytest.fixture()
def pair() -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_frame_round_trip_keeps_odd_strings(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    message = {"text": "naïve \udcff surrogate \x00 nul", "n": 3, "none": None}
    write_frame(a, message)
    assert read_frame(b, 1024) == message


def test_oversized_frame_is_refused_before_reading_it(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    a.sendall(struct.pack("!I", 10_000_000))
    with pytest.raises(ProtocolError, match="exceeds the limit"):
        read_frame(b, 1024, deadline=time.monotonic() + 5)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe"])
def test_malformed_frames_are_refused(pair: tuple[socket.socket, socket.socket], body: bytes) -> None:
    a, b = pair
    a.sendall(struct.pack("!I", len(body)) + body)
    with pytest.raises(ProtocolError):
        read_frame(b, 1024, deadline=time.monotonic() + 5)


def test_incomplete_frame_times_out(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    a.sendall(encode_frame({"x": 1})[:-2])
    with pytest.raises(FrameTimeout):
        read_frame(b, 1024, deadline=time.monotonic() + 0.05)


def test_closed_peer_is_reported(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    a.close()
    with pytest.raises(PeerClosed):
        read_frame(b, 1024, deadline=time.monotonic() + 5)


def test_default_layers_are_known_and_ordered() -> None:
    assert DEFAULT_LAYERS[-1] == "seccomp"  # loaded last: nothing may run after it but agent code
    assert DEFAULT_LAYERS.index("no_new_privs") < DEFAULT_LAYERS.index("landlock")
    assert DEFAULT_LAYERS.index("rlimits") < DEFAULT_LAYERS.index("caps")
    assert set(DEFAULT_LAYERS) <= set(LAYER_TYPES)
    prepared = prepare_layers()
    assert all(isinstance(layer, HardeningLayer) for layer in prepared.layers)
    assert set(prepared.names) | set(prepared.skipped) == set(DEFAULT_LAYERS)
    assert prepared.names == tuple(name for name in DEFAULT_LAYERS if name not in prepared.skipped)
    assert prepared.level == isolation_level(prepared.names)


def test_unknown_layer_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown hardening layers"):
        prepare_layers(["rlimits", "no_such_layer"])


@pytest.mark.parametrize(
    ("names", "level"),
    [
        ((), "none"),
        (("close_fds",), "none"),
        (("rlimits",), "rlimits"),
        (("rlimits", "seccomp"), "rlimits+seccomp"),
        (("seccomp", "bwrap"), "seccomp+bwrap"),
        (("rlimits", "landlock", "seccomp"), "landlock+seccomp"),
    ],
)
def test_isolation_level(names: tuple[str, ...], level: str) -> None:
    assert isolation_level(names) == level


def test_limits_validate() -> None:
    with pytest.raises(ValueError):
        SandboxLimits(timeout_s=0)
    assert SandboxLimits().memory_bytes == 4 * 1024**3


def test_format_table() -> None:
    text = format_table(["id", "note"], [(1, None), (22, "two\nlines")], total=5)
    lines = text.splitlines()
    assert lines[0] == "id | note"
    assert lines[1] == "---+-----------"
    assert lines[2] == "1  | NULL"
    assert lines[3] == "22 | two\\nlines"
    assert lines[4] == "(showing first 2 of 5 rows)"
    assert format_table(["n"], [(1,)], total=1).splitlines()[-1] == "(1 row)"
