from typing import Any, Literal, Optional, Sequence, final

from typing_extensions import TypeAlias

__version__: str
PROTOCOLS: list[str]

_Direction: TypeAlias = Literal["request", "response"]
_LocalErrorKind: TypeAlias = Literal[
    "route_not_found",
    "cluster_not_found",
    "no_healthy_upstream",
    "over_limit",
    "bad_response",
    "timeout",
    "unspecified",
]

class MeshplaneError(Exception): ...

class DecodeError(MeshplaneError):
    offset: int
    reason: str

class IncompleteMessage(MeshplaneError):
    offset: int

class EncodeError(MeshplaneError): ...

def decode(
    protocol: str, direction: _Direction, data: bytes, *, max_frame_size: int = ...
) -> list[dict[str, Any]]: ...

@final
class StreamDecoder:
    def __new__(
        cls, protocol: str, direction: _Direction, *, max_frame_size: int = ...
    ) -> "StreamDecoder": ...
    def feed(self, chunk: bytes) -> list[tuple[dict[str, Any], bytes]]: ...
    @property
    def buffered(self) -> int: ...
    def encode(self, raw: bytes, mutation: Optional[Sequence[tuple[str, str]]] = None) -> bytes: ...
    def local_reply(
        self, raw_request: bytes, kind: _LocalErrorKind = "route_not_found", message: str = ""
    ) -> bytes: ...
