"""Apache Thrift Python client and server talk through meta_proxy (built on the Meshplane
Thrift codec) in every dialect; results must be identical to talking directly."""

import time

import pytest
from thrift.Thrift import TApplicationException
from thrift.transport.TTransport import TTransportException

import peer

ALL = list(peer.DIALECTS)
HEADER = [d for d in ALL if peer.DIALECTS[d][1] == "header"]


def run_sequence(dialect, port):
    c = peer.Client(dialect, port)
    try:
        return peer.call_sequence(c)
    finally:
        c.close()


def wait_fired(n, timeout=5.0):
    deadline = time.time() + timeout
    while len(peer.FIRED) < n and time.time() < deadline:
        time.sleep(0.02)
    return len(peer.FIRED)


@pytest.mark.parametrize("dialect", ALL)
def test_proxy_results_identical_to_direct(dialect, proxy_factory):
    server = peer.Server(dialect)
    try:
        peer.FIRED.clear()
        direct = run_sequence(dialect, server.port)
        assert wait_fired(1) == 1
        proxy = proxy_factory(server.port, "--check-roundtrip")
        via = run_sequence(dialect, proxy.port)
        assert via == direct
        assert wait_fired(2) == 2, "oneway call did not reach the server through the proxy"
        assert peer.FIRED == ["fire-and-forget"] * 2
        # sanity: the sequence really exercised replies, declared and application exceptions
        kinds = [r[1][0] for r in direct]
        assert "MyError" in kinds and "TApplicationException" in kinds
        assert "ROUNDTRIP MISMATCH" not in proxy.stderr()
        assert "error" not in proxy.stderr(), proxy.stderr()
    finally:
        server.close()


@pytest.mark.parametrize("dialect", ALL)
def test_on_error_reply_is_raised_by_real_client(dialect, proxy_factory):
    server = peer.Server(dialect)
    try:
        proxy = proxy_factory(server.port, "--reject", "method=echo")
        c = peer.Client(dialect, proxy.port)
        try:
            c.before_call()
            with pytest.raises(TApplicationException) as exc:
                c.client.echo("hello")
            assert exc.value.type == TApplicationException.UNKNOWN_METHOD
            assert exc.value.message == "no route for method=echo"
            # the connection is still in sync: the next call goes through
            c.before_call()
            assert c.client.add(20, 22) == 42
        finally:
            c.close()
    finally:
        server.close()


@pytest.mark.parametrize("dialect", HEADER)
def test_theader_mutation_reaches_server(dialect, proxy_factory):
    server = peer.Server(dialect)
    try:
        peer.SEEN_HEADERS.clear()
        proxy = proxy_factory(server.port, "--mutate", "x-mesh-route=blue", "--mutate", "caller=proxy")
        c = peer.Client(dialect, proxy.port)
        try:
            c.before_call()
            assert c.client.add(1, 2) == 3
            c.before_call()
            assert c.client.echo("ok") == "ok"
        finally:
            c.close()
        deadline = time.time() + 5
        while len(peer.SEEN_HEADERS) < 2 and time.time() < deadline:
            time.sleep(0.02)  # the server records after it has written the reply
        assert len(peer.SEEN_HEADERS) == 2
        for h in peer.SEEN_HEADERS:
            assert h[b"x-mesh-route"] == b"blue"
            assert h[b"caller"] == b"proxy"
            if peer.DIALECTS[dialect][2].get("info"):
                assert h[b"trace-id"] == b"abc123"
    finally:
        server.close()


@pytest.mark.parametrize("dialect", ["binary_framed", "compact_unframed"])
def test_mutation_refused_without_theader(dialect, proxy_factory):
    server = peer.Server(dialect)
    try:
        proxy = proxy_factory(server.port, "--mutate", "x-mesh-route=blue")
        c = peer.Client(dialect, proxy.port, timeout_ms=3000)
        try:
            with pytest.raises((TTransportException, EOFError, OSError)):
                c.client.add(1, 2)
        finally:
            c.close()
        deadline = time.time() + 5
        while "mutation refused" not in proxy.stderr() and time.time() < deadline:
            time.sleep(0.02)
        assert "mutation refused" in proxy.stderr()
    finally:
        server.close()
