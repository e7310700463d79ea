from meshplane._meshplane import (
    PROTOCOLS as PROTOCOLS,
    DecodeError as DecodeError,
    EncodeError as EncodeError,
    IncompleteMessage as IncompleteMessage,
    MeshplaneError as MeshplaneError,
    StreamDecoder as StreamDecoder,
    __version__ as __version__,
    decode as decode,
)
