"""Real peers (redis-server 7.0, redis-cli, redis-benchmark, redis-py with RESP2 and RESP3)
through examples' meta_proxy built on the Meshplane redis codec: every message in both
directions is decoded and re-encoded (--check-roundtrip: no byte may change), and the
clients see exactly what they see talking to the server directly."""

import re

import pytest
import redis

import scenarios

HELLO_ID = re.compile(rb"\$2\r\nid\r\n:\d+\r\n")


def both(server_port, proxy_port, fn, *args):
    direct = fn(server_port, *args)
    proxied = fn(proxy_port, *args)
    return direct, proxied


@pytest.mark.parametrize("fn", [scenarios.cli_resp2, scenarios.cli_resp3, scenarios.cli_big])
def test_redis_cli_same_through_proxy(server_port, proxy_port, fn):
    direct, proxied = both(server_port, proxy_port, fn)
    assert proxied == direct
    assert b"Error" not in repr(direct).encode() or fn is not scenarios.cli_big


@pytest.mark.parametrize("extra", [(), ("-3",)], ids=["resp2", "resp3"])
def test_redis_benchmark_pipelined_through_proxy(server_port, proxy_port, extra):
    direct, proxied = both(server_port, proxy_port, scenarios.benchmark, *extra)
    assert proxied == direct
    assert len(direct) >= 8, direct


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_same_through_proxy(server_port, proxy_port, protocol):
    direct, proxied = both(server_port, proxy_port, scenarios.py_workload, protocol)
    assert proxied == direct


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_pubsub_through_proxy(server_port, proxy_port, protocol):
    direct, proxied = both(server_port, proxy_port, scenarios.py_pubsub, protocol)
    assert proxied == direct
    assert direct[1] == [1, 1, 1]


@pytest.mark.parametrize("protocol", [2, 3])
def test_every_resp_type_byte_identical(server_port, proxy_port, protocol):
    direct, proxied = both(server_port, proxy_port, scenarios.debug_types, protocol)
    assert HELLO_ID.sub(b"", proxied) == HELLO_ID.sub(b"", direct)
    if protocol == 3:
        for marker in (b"%", b"~", b"|1\r\n", b">2\r\n", b"=29\r\n", b"#t\r\n", b",3.141\r\n", b"(1234"):
            assert marker in direct


def test_tracking_pushes_through_proxy(server_port, proxy_port):
    direct, proxied = both(server_port, proxy_port, scenarios.tracking_resp3)
    assert [HELLO_ID.sub(b"", x) for x in proxied] == [HELLO_ID.sub(b"", x) for x in direct]
    assert b">2\r\n$10\r\ninvalidate\r\n" in direct[-1]


def test_inline_and_skipped_multibulks_through_proxy(server_port, proxy_port):
    direct, proxied = both(server_port, proxy_port, scenarios.raw_edge)
    assert proxied == direct
    assert direct.startswith(b"+PONG\r\n+OK\r\n$4\r\nit's\r\n$11\r\nhello world\r\n")


def test_key_prefix_mutation_reaches_the_server(server_port, make_proxy):
    port = make_proxy("--mutate", "key_prefix=tenant1:")
    via = redis.Redis(host="127.0.0.1", port=port, protocol=3)
    direct = redis.Redis(host="127.0.0.1", port=server_port)
    direct.delete("tenant1:foo", "tenant1:a", "tenant1:b", "foo")
    assert via.set("foo", "bar")
    assert via.mset({"a": "1", "b": "2"})
    assert via.get("foo") == b"bar"
    assert direct.get("tenant1:foo") == b"bar"
    assert direct.get("foo") is None
    assert direct.mget("tenant1:a", "tenant1:b") == [b"1", b"2"]
    assert via.eval("return redis.call('GET', KEYS[1])", 1, "foo") == b"bar"
    via.close()
    direct.close()


def test_rejected_command_gets_a_redis_error_in_order(server_port, make_proxy):
    port = make_proxy("--reject", "command=flushall")
    r = redis.Redis(host="127.0.0.1", port=port)
    with pytest.raises(redis.ResponseError, match="no route for command=flushall"):
        r.flushall()
    assert r.ping()
    r.close()
