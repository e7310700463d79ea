"""Hessian 2.0 serialization (the Dubbo body format)."""

from typing import Any, Optional, final

from meshplane import DecodeError as DecodeError

@final
class Object:
    """A typed Hessian object: its Java class name and its fields in definition order.
    Objects compare equal when class name and fields are equal."""

    def __new__(cls, class_name: str, fields: Optional[dict[str, Any]] = None) -> Object: ...
    @property
    def class_name(self) -> str:
        """The class name, e.g. `com.example.User`."""
    @property
    def fields(self) -> dict[str, Any]:
        """Field name → value, in the class definition's order (a mutable dict)."""

def loads(data: bytes) -> Any:
    """Decodes exactly one Hessian 2.0 value (trailing bytes are a `DecodeError`, as are
    malformed or truncated input, with the byte `offset`). Back references decode to the same
    Python object. Releases the GIL while it parses a large input."""

def dumps(obj: Any) -> bytes:
    """Encodes one value (None, bool, int, float, str, bytes, list, tuple, dict, datetime,
    `Object`, nested) in the reference implementation's compact forms. An object met twice is
    written as a reference; an unsupported type is a `TypeError`, an int beyond 64 bits or
    nesting deeper than 64 a `ValueError`."""

__all__ = ["DecodeError", "Object", "dumps", "loads"]
