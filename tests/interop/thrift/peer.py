"""Apache Thrift (PyPI `thrift`) peers for the codec interop tests: a server and a client for
every protocol x transport dialect, and the call sequence both the tests and the capture use.

Generated code (`thrift --gen py interop.thrift`) must be on sys.path (package `meshinterop`).
"""

import logging
import socket
import threading
import time

from thrift.protocol import TBinaryProtocol, TCompactProtocol, THeaderProtocol
from thrift.protocol.TMultiplexedProtocol import TMultiplexedProtocol
from thrift.server import TServer
from thrift.Thrift import TApplicationException, TMessageType
from thrift.TMultiplexedProcessor import TMultiplexedProcessor
from thrift.transport import TSocket, TTransport
from thrift.transport.THeaderTransport import THeaderClientType, THeaderSubprotocolID, THeaderTransformID

from meshinterop import Calc
from meshinterop.ttypes import AllTypes, Color, Inner, MyError

# name -> (protocol, transport, options)
# The server logs a traceback for the handler that raises on purpose.
logging.getLogger("thrift").setLevel(logging.CRITICAL)
logging.getLogger().setLevel(logging.CRITICAL)

DIALECTS = {
    "binary_unframed": ("binary", "unframed", {}),
    "binary_framed": ("binary", "framed", {}),
    "compact_unframed": ("compact", "unframed", {}),
    "compact_framed": ("compact", "framed", {}),
    "binary_nonstrict_unframed": ("binary", "unframed", {"nonstrict": True}),
    "binary_nonstrict_framed": ("binary", "framed", {"nonstrict": True}),
    "header_binary": ("binary", "header", {}),
    "header_compact": ("compact", "header", {}),
    "header_binary_infoheaders": ("binary", "header", {"info": True}),
    "header_compact_zlib": ("compact", "header", {"zlib": True, "info": True}),
    "binary_framed_multiplexed": ("binary", "framed", {"mux": True}),
    "compact_framed_multiplexed": ("compact", "framed", {"mux": True}),
    "header_compact_multiplexed": ("compact", "header", {"mux": True}),
    "header_binary_multiplexed": ("binary", "header", {"mux": True, "info": True}),
    "header_binary_zlib": ("binary", "header", {"zlib": True}),
    "binary_unframed_multiplexed": ("binary", "unframed", {"mux": True}),
    "compact_unframed_multiplexed": ("compact", "unframed", {"mux": True}),
}

INFO_HEADERS = {b"trace-id": b"abc123", b"caller": b"py"}


class Handler:
    def ping(self):
        pass

    def add(self, a, b):
        return a + b

    def echo(self, s):
        return s

    def roundtrip(self, v):
        return v

    def divide(self, a, b):
        if b == 0:
            raise MyError(code=42, message="divide by zero")
        return a // b

    def fail(self, why):
        raise RuntimeError(why)  # the server answers TApplicationException INTERNAL_ERROR

    def fire(self, msg):
        FIRED.append(msg)


FIRED = []
# THeader info headers the server read, one dict per call (header dialects).
SEEN_HEADERS = []


class HeaderRecorder:
    """Wraps a processor and records the THeader info headers of each request it reads."""

    def __init__(self, inner):
        self.inner = inner

    def process(self, iprot, oprot):
        result = self.inner.process(iprot, oprot)
        if hasattr(iprot, "get_headers"):
            SEEN_HEADERS.append(dict(iprot.get_headers()))
        return result


def sample_alltypes():
    return AllTypes(
        flag=True,
        tiny=-7,
        small=-300,
        medium=123456,
        big=-(2**40),
        ratio=2.5,
        text="héllo wörld ✓",
        blob=bytes(range(0, 256, 7)),
        ints=[1, -2, 3, 2**31 - 1],
        tags={"a", "bb", "ccc"},
        counts={"x": 1, "y": -(2**33)},
        inner=Inner(id=7, label="seven"),
        color=Color.BLUE,
        inners=[Inner(id=i, label=str(i)) for i in range(3)],
        matrix=[[1, 2], [], [3]],
        by_id={1: Inner(id=1, label="one"), 2: Inner(id=2, label="two")},
        bools=[True, False, True],
        doubles={0.5, -1.25},
        far=20,
        farther="field 300",
    )


def _binary_factory(opts):
    if opts.get("nonstrict"):
        return TBinaryProtocol.TBinaryProtocolFactory(strictRead=False, strictWrite=False)
    return TBinaryProtocol.TBinaryProtocolFactory()


def server_factories(dialect):
    proto, transport, opts = DIALECTS[dialect]
    if transport == "header":
        pf = THeaderProtocol.THeaderProtocolFactory(
            allowed_client_types=[THeaderClientType.HEADERS],
            default_protocol=(
                THeaderSubprotocolID.COMPACT if proto == "compact" else THeaderSubprotocolID.BINARY
            ),
        )
        return TTransport.TTransportFactoryBase(), pf
    tf = TTransport.TFramedTransportFactory() if transport == "framed" else TTransport.TBufferedTransportFactory()
    pf = TCompactProtocol.TCompactProtocolFactory() if proto == "compact" else _binary_factory(opts)
    return tf, pf


class Server:
    """A threaded Apache Thrift server for one dialect on a free loopback port."""

    def __init__(self, dialect):
        self.dialect = dialect
        _, _, opts = DIALECTS[dialect]
        processor = Calc.Processor(Handler())
        if opts.get("mux"):
            mux = TMultiplexedProcessor()
            mux.registerProcessor("Calc", processor)
            processor = mux
        if DIALECTS[dialect][1] == "header":
            processor = HeaderRecorder(processor)
        self.sock = TSocket.TServerSocket(host="127.0.0.1", port=0)
        tf, pf = server_factories(dialect)
        self.server = TServer.TThreadedServer(processor, self.sock, tf, pf, daemon=True)
        self.sock.listen()
        self.port = self.sock.handle.getsockname()[1]
        # TServerSocket.listen() was called: TThreadedServer.serve() calls it again, which
        # would rebind; serve on the already listening socket instead.
        self.sock.listen = lambda: None
        self.thread = threading.Thread(target=self.server.serve, daemon=True)
        self.thread.start()

    def close(self):
        try:
            self.sock.close()
        except Exception:
            pass


class Client:
    """A connected generated client for one dialect."""

    def __init__(self, dialect, port, timeout_ms=5000):
        proto, transport, opts = DIALECTS[dialect]
        self.sock = TSocket.TSocket("127.0.0.1", port)
        self.sock.setTimeout(timeout_ms)
        if transport == "header":
            self.trans = self.sock
            p = THeaderProtocol.THeaderProtocol(
                self.sock,
                allowed_client_types=[THeaderClientType.HEADERS],
                default_protocol=(
                    THeaderSubprotocolID.COMPACT if proto == "compact" else THeaderSubprotocolID.BINARY
                ),
            )
            self.header = p
            if opts.get("zlib"):
                p.add_transform(THeaderTransformID.ZLIB)
        else:
            self.header = None
            self.trans = (
                TTransport.TFramedTransport(self.sock)
                if transport == "framed"
                else TTransport.TBufferedTransport(self.sock)
            )
            if proto == "compact":
                p = TCompactProtocol.TCompactProtocol(self.trans)
            elif opts.get("nonstrict"):
                p = TBinaryProtocol.TBinaryProtocol(self.trans, strictRead=False, strictWrite=False)
            else:
                p = TBinaryProtocol.TBinaryProtocol(self.trans)
        self.opts = opts
        self.proto = p
        if opts.get("mux"):
            p = TMultiplexedProtocol(p, "Calc")
        self.client = Calc.Client(p)
        self.trans.open()

    def before_call(self):
        if self.header is not None and self.opts.get("info"):
            for k, v in INFO_HEADERS.items():
                self.header.set_header(k, v)

    def raw_call(self, name, seqid=7):
        """Sends a CALL for a method the IDL does not have; returns the exception read back."""
        self.before_call()
        p = self.proto
        p.writeMessageBegin(name, TMessageType.CALL, seqid)
        p.writeStructBegin("args")
        p.writeFieldStop()
        p.writeStructEnd()
        p.writeMessageEnd()
        p.trans.flush()
        fname, mtype, rseqid = p.readMessageBegin()
        exc = TApplicationException()
        exc.read(p)
        p.readMessageEnd()
        return fname, mtype, rseqid, exc

    def close(self):
        self.trans.close()


def outcome(fn):
    """The result of a call, or a comparable description of what it raised."""
    try:
        return ("ok", fn())
    except MyError as e:
        return ("MyError", e.code, e.message)
    except TApplicationException as e:
        return ("TApplicationException", e.type, e.message)


def call_sequence(c):
    """Every call of the IDL, in a fixed order; returns comparable outcomes."""
    cl = c.client
    results = []
    steps = [
        ("ping", lambda: cl.ping()),
        ("add", lambda: cl.add(1, 2)),
        ("echo_utf8", lambda: cl.echo("grüße ✓")),
        ("roundtrip_alltypes", lambda: cl.roundtrip(sample_alltypes())),
        ("divide_declared_exception", lambda: cl.divide(1, 0)),
        ("divide_ok", lambda: cl.divide(9, 3)),
        ("fail_internal_error", lambda: cl.fail("boom")),
        ("oneway_fire", lambda: cl.fire("fire-and-forget")),
        ("add_after_oneway", lambda: cl.add(40, 2)),
    ]
    for name, fn in steps:
        c.before_call()
        results.append((name, outcome(fn)))
    if not c.opts.get("mux"):
        c.before_call()
        fname, mtype, rseqid, exc = c.raw_call("nosuch")
        results.append(("unknown_method", (fname, mtype, rseqid, exc.type, exc.message)))
    return results


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")
