"""meshplane.codec against the installed wheel: Decoder, Message, encode, local replies."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import meshplane
from meshplane import codec

PING = b"*1\r\n$4\r\nPING\r\n"
SET = b"*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$3\r\nbar\r\n"
# apache-dubbo-js heartbeat request and the reply Dubbo gives it
DUBBO_HEARTBEAT = bytes.fromhex("dabbe2000000000000000000000000014e")


def test_version_and_protocols():
    assert meshplane.__version__.count(".") == 2
    assert set(meshplane.PROTOCOLS) == {"redis", "thrift", "dubbo"} == set(codec.PROTOCOLS)
    assert codec.DecodeError is meshplane.DecodeError


def test_one_shot_decode():
    msgs = meshplane.decode("redis", "request", PING + SET)
    assert [m["request_id"] for m in msgs] == [0, 1]
    assert msgs[1] == {
        "message_type": "request",
        "request_id": 1,
        "size": len(SET),
        "status": None,
        "metadata": {"command": "set", "key": "foo"},
    }


def test_one_shot_errors():
    with pytest.raises(meshplane.IncompleteMessage) as e:
        meshplane.decode("redis", "request", PING + SET[:7])
    assert e.value.offset == len(PING)
    with pytest.raises(meshplane.DecodeError) as e:
        meshplane.decode("redis", "request", PING + b"*x\r\n")
    assert e.value.offset >= len(PING)
    assert isinstance(e.value, meshplane.MeshplaneError)
    assert str(e.value).startswith(f"offset {e.value.offset}: ")
    with pytest.raises(meshplane.DecodeError, match="exceeds the limit"):
        meshplane.decode("redis", "request", b"$100\r\n" + b"x" * 100 + b"\r\n", max_frame_size=64)


def test_unknown_protocol_and_direction():
    with pytest.raises(ValueError, match="unknown protocol"):
        codec.Decoder("smtp", "request")
    with pytest.raises(ValueError, match="direction"):
        codec.Decoder("redis", "sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown protocol"):
        meshplane.decode("smtp", "request", b"")


def test_feed_byte_by_byte_gives_the_same_messages():
    whole = codec.Decoder("redis", "request").feed(PING + SET)
    dec = codec.Decoder("redis", "request")
    got = []
    for b in PING + SET:
        got.extend(dec.feed(bytes([b])))
        assert dec.buffered + sum(m.size for m in got) <= len(PING + SET)
    assert got == whole
    assert [m.raw for m in got] == [PING, SET]
    assert dec.buffered == 0
    assert [m.to_dict() for m in got] == meshplane.decode("redis", "request", PING + SET)


def test_message_fields_and_repr():
    (m,) = codec.Decoder("redis", "request").feed(SET)
    assert (m.message_type, m.request_id, m.size, m.status) == ("request", 0, len(SET), None)
    assert m.metadata == {"command": "set", "key": "foo"}
    assert "Message(message_type='request'" in repr(m)
    with pytest.raises(AttributeError):
        m.size = 3  # type: ignore[misc]
    (r,) = codec.Decoder("redis", "response").feed(b"-ERR boom\r\n")
    assert (r.message_type, r.status) == ("response", "error")
    assert r != m


def test_partial_input_waits_and_decoder_properties():
    dec = codec.Decoder("redis", "request")
    assert dec.feed(SET[:10]) == []
    assert dec.buffered == 10
    assert (dec.protocol, dec.direction) == ("redis", "request")
    assert "buffered=10" in repr(dec)
    assert len(dec.feed(SET[10:])) == 1


def test_feed_error_carries_stream_offset_and_earlier_messages():
    dec = codec.Decoder("redis", "request")
    dec.feed(PING)
    with pytest.raises(meshplane.DecodeError) as e:
        dec.feed(SET + b"*x\r\n")
    assert len(PING) + len(SET) <= e.value.offset < len(PING) + len(SET) + 4
    assert [m.raw for m in e.value.messages] == [SET]
    assert e.value.reason


def test_limits_are_enforced():
    with pytest.raises(meshplane.DecodeError, match="exceeds the limit"):
        codec.Decoder("redis", "request", max_frame_size=16).feed(SET + b"x" * 4)
    deep = b"*1\r\n" * 10 + b":1\r\n"
    with pytest.raises(meshplane.DecodeError, match="depth"):
        codec.Decoder("redis", "response", max_depth=4).feed(deep)
    assert len(codec.Decoder("redis", "response", max_depth=64).feed(deep)) == 1
    with pytest.raises(meshplane.DecodeError, match="elements"):
        codec.Decoder("redis", "response", max_elements=2).feed(b"*3\r\n:1\r\n:2\r\n:3\r\n")


def test_encode_unchanged_and_mutated():
    dec = codec.Decoder("redis", "request")
    (m,) = dec.feed(SET)
    assert dec.encode(m) == SET
    assert dec.encode(m, {}) == SET
    out = dec.encode(m, {"key_prefix": "t1:"})
    assert out == b"*3\r\n$3\r\nSET\r\n$6\r\nt1:foo\r\n$3\r\nbar\r\n"
    assert dec.encode(m, [("key_prefix", "t1:")]) == out
    (again,) = codec.Decoder("redis", "request").feed(out)
    assert again.metadata["key"] == "t1:foo"


def test_encode_refused_mutation_is_an_encode_error(fixtures):
    data = (fixtures / "thrift" / "binary_framed.request.bin").read_bytes()
    dec = codec.Decoder("thrift", "request")
    msgs = dec.feed(data)
    assert msgs and msgs[0].metadata["method"]
    assert dec.encode(msgs[0]) == msgs[0].raw
    with pytest.raises(meshplane.EncodeError):
        dec.encode(msgs[0], {"no-such": "x"})
    # a message of another protocol is not one this decoder can write
    (ping,) = codec.Decoder("redis", "request").feed(PING)
    with pytest.raises(meshplane.MeshplaneError):
        dec.encode(ping)


def test_error_reply_per_protocol(fixtures):
    dec = codec.Decoder("redis", "request")
    (m,) = dec.feed(SET)
    reply = dec.error_reply(m, "route_not_found", "no route")
    assert reply.startswith(b"-") and reply.endswith(b"\r\n") and b"no route" in reply
    assert meshplane.decode("redis", "response", reply)[0]["status"] == "error"
    with pytest.raises(ValueError, match="kind"):
        dec.error_reply(m, "no_such_kind")  # type: ignore[arg-type]
    dubbo = codec.Decoder("dubbo", "request")
    req = dubbo.feed((fixtures / "dubbo" / "dubbo_js_sayhello.request.bin").read_bytes())[0]
    assert req.metadata["method"] == "sayHello"
    resp = dubbo.error_reply(req, "over_limit", "slow down")
    (r,) = codec.Decoder("dubbo", "response").feed(resp)
    assert r.request_id == req.request_id and r.status == "error"


def test_heartbeat_reply():
    dec = codec.Decoder("dubbo", "request")
    (hb,) = dec.feed(DUBBO_HEARTBEAT)
    assert hb.message_type == "heartbeat"
    reply = dec.heartbeat_reply(hb)
    assert reply is not None
    (r,) = codec.Decoder("dubbo", "response").feed(reply)
    assert r.message_type == "heartbeat" and r.request_id == hb.request_id
    redis = codec.Decoder("redis", "request")
    assert redis.heartbeat_reply(redis.feed(PING)[0]) is None


def test_every_fixture_stream_decodes_whole(fixtures):
    n = 0
    for path in sorted(fixtures.glob("*/*.bin")):
        proto = path.parent.name
        if proto == "hessian2":
            continue
        direction = "request" if ".request." in path.name else "response"
        data = path.read_bytes()
        dec = codec.Decoder(proto, direction)
        msgs = dec.feed(data)
        assert sum(m.size for m in msgs) == len(data), path.name
        assert b"".join(m.raw for m in msgs) == data
        assert [dec.encode(m) for m in msgs] == [m.raw for m in msgs]
        n += 1
    assert n > 50


commands = st.lists(
    st.lists(st.binary(max_size=40), min_size=1, max_size=6), min_size=1, max_size=8
)


def resp(args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


@settings(max_examples=200, deadline=None)
@given(commands, st.integers(min_value=1, max_value=17))
def test_encode_decode_round_trip_any_split(cmds, step):
    wire = b"".join(resp(c) for c in cmds)
    dec = codec.Decoder("redis", "request")
    got = []
    for i in range(0, len(wire), step):
        got.extend(dec.feed(wire[i : i + step]))
    assert [m.raw for m in got] == [resp(c) for c in cmds]
    assert b"".join(dec.encode(m) for m in got) == wire
    for m, c in zip(got, cmds):
        assert m.metadata["command"] == c[0].lower().decode("utf-8", "replace")


def test_panic_becomes_meshplane_error():
    from meshplane import _meshplane

    with pytest.raises(meshplane.MeshplaneError, match="internal error: boom"):
        _meshplane._panic_for_tests("boom")
