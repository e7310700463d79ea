"""Hessian 2.0 serialization (the Dubbo body format).

``loads`` decodes one value, ``dumps`` encodes one, in the reference implementation's compact
forms. Mapping: null ↔ None, boolean ↔ bool, int/long ↔ int (``dumps`` writes an int when it
fits 32 bits, else a long), double ↔ float, string ↔ str, binary ↔ bytes, list ↔ list (a
tuple is written as a list), map ↔ dict, date ↔ timezone-aware UTC ``datetime`` (a naive one
is taken as UTC; precision is milliseconds), typed object ↔ ``Object``. Typed lists and
maps decode to plain lists and dicts. References are kept: a value referenced twice decodes
to the same Python object, and ``dumps`` writes an object it meets again as a reference.
"""

from meshplane._meshplane import DecodeError
from meshplane._meshplane import hessian2 as _native

Object = _native.Object
loads = _native.loads
dumps = _native.dumps

__all__ = ["DecodeError", "Object", "dumps", "loads"]
