"""The MetaProtocol codecs (Redis, Thrift, Dubbo): decode byte streams into `Message`
objects, write them back (optionally mutated), answer locally."""

from typing import Any, Literal, Mapping, Optional, Sequence, Union, final

from meshplane import DecodeError as DecodeError
from meshplane import EncodeError as EncodeError
from meshplane import IncompleteMessage as IncompleteMessage

PROTOCOLS: list[str]
"""The protocol names `Decoder` and `decode` accept: `redis`, `thrift`, `dubbo`."""

_Direction = Literal["request", "response"]
_ErrorKind = Literal[
    "route_not_found",
    "cluster_not_found",
    "no_healthy_upstream",
    "over_limit",
    "bad_response",
    "timeout",
    "unspecified",
]
_Mutation = Union[Mapping[str, str], Sequence[tuple[str, str]], None]

def decode(
    protocol: str, direction: _Direction, data: bytes, *, max_frame_size: int = ...
) -> list[dict[str, Any]]:
    """Decodes a whole byte stream (one direction of a connection) into a list of message
    dicts (`message_type`, `request_id`, `size`, `status`, `metadata`), the shape of one line
    of `meshctl decode`. Raises `IncompleteMessage` when the stream ends inside a message and
    `DecodeError` on malformed bytes; an unknown protocol or direction is a `ValueError`."""

@final
class Message:
    """One decoded message (immutable)."""

    @property
    def message_type(self) -> str:
        """`request`, `response`, `oneway`, `heartbeat`, `error`, …"""
    @property
    def request_id(self) -> Optional[int]:
        """The protocol's request id (Dubbo id, Thrift seqid, Redis position), if any."""
    @property
    def size(self) -> int:
        """Length of the message in bytes."""
    @property
    def status(self) -> Optional[str]:
        """`ok` or `error` for responses, else None."""
    @property
    def metadata(self) -> dict[str, Any]:
        """Routable headers (str) and typed values (str, int, bool): command, key, service,
        method, …"""
    @property
    def raw(self) -> bytes:
        """The message's bytes as received."""
    def to_dict(self) -> dict[str, Any]:
        """The message as the dict `decode` returns."""

@final
class Decoder:
    """A codec for one direction of one connection, fed with chunks as they arrive.

    `protocol` is one of `PROTOCOLS`; `direction` `request` (client bytes) or `response`.
    The limits bound memory: a larger frame, deeper nesting or a longer collection is a
    `DecodeError`.
    """

    def __new__(
        cls,
        protocol: str,
        direction: _Direction,
        *,
        max_frame_size: int = ...,
        max_depth: int = ...,
        max_elements: int = ...,
    ) -> Decoder: ...
    def feed(self, data: bytes) -> list[Message]:
        """Appends a chunk and returns the whole messages it completed (partial input waits
        for more). Malformed input raises `DecodeError` with the stream `offset`; its
        `messages` holds the messages of the same chunk decoded before the problem. Releases
        the GIL while it decodes a large chunk."""
    @property
    def buffered(self) -> int:
        """Bytes received and not yet part of a whole message."""
    @property
    def protocol(self) -> str:
        """The protocol name."""
    @property
    def direction(self) -> str:
        """`request` or `response`."""
    def encode(self, message: Message, mutation: _Mutation = None) -> bytes:
        """Writes `message` again with `mutation` applied (keys such as `key_prefix` for
        Redis, header names for Dubbo/Thrift); no mutation gives its bytes back. A mutation
        the protocol cannot carry raises `EncodeError`."""
    def error_reply(self, message: Message, kind: _ErrorKind = "route_not_found", text: str = "") -> bytes:
        """The protocol's local reply to the request `message`, for the error `kind` with the
        human-readable `text`."""
    def heartbeat_reply(self, message: Message) -> Optional[bytes]:
        """The reply to a heartbeat request, or None when `message` is not one (or the protocol
        has no heartbeat)."""

__all__ = ["PROTOCOLS", "DecodeError", "Decoder", "EncodeError", "IncompleteMessage", "Message", "decode"]
