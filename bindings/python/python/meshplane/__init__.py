"""Meshplane: Slime and Aeraki service-mesh logic as a Python module.

Plain bytes and dicts in and out; errors are typed exceptions deriving from MeshplaneError.

>>> import meshplane
>>> [m["metadata"]["command"] for m in meshplane.decode("redis", "request", b"*1\\r\\n$4\\r\\nPING\\r\\n")]
['ping']
"""

from meshplane._meshplane import (
    PROTOCOLS,
    DecodeError,
    EncodeError,
    IncompleteMessage,
    MeshplaneError,
    StreamDecoder,
    __version__,
    decode,
)

__all__ = [
    "PROTOCOLS",
    "DecodeError",
    "EncodeError",
    "IncompleteMessage",
    "MeshplaneError",
    "StreamDecoder",
    "__version__",
    "decode",
]
