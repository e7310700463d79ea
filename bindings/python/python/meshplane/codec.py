"""The MetaProtocol codecs (Redis, Thrift, Dubbo): decode byte streams into ``Message``
objects, write them back (optionally mutated), answer locally.

``Decoder(protocol, direction)`` holds the state of one direction of one connection: ``feed``
it chunks as they arrive; partial input waits for more, malformed input raises
``DecodeError`` (``offset`` in the stream). ``decode`` is the one-shot helper for a whole
captured stream.
"""

from meshplane._meshplane import DecodeError, EncodeError, IncompleteMessage
from meshplane._meshplane import codec as _native

PROTOCOLS = _native.PROTOCOLS
Decoder = _native.Decoder
Message = _native.Message
decode = _native.decode

__all__ = ["PROTOCOLS", "DecodeError", "Decoder", "EncodeError", "IncompleteMessage", "Message", "decode"]
