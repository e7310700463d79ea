"""The Python module against the installed wheel: codecs through plain bytes and dicts."""

import pytest

import meshplane

PING = b"*1\r\n$4\r\nPING\r\n"
SET = b"*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$3\r\nbar\r\n"


def test_version_and_protocols():
    assert meshplane.__version__.count(".") == 2
    assert set(meshplane.PROTOCOLS) == {"redis", "thrift", "dubbo"}


def test_decode_stream_of_requests():
    msgs = meshplane.decode("redis", "request", PING + SET)
    assert [m["request_id"] for m in msgs] == [0, 1]
    assert msgs[1] == {
        "message_type": "request",
        "request_id": 1,
        "size": len(SET),
        "status": None,
        "metadata": {"command": "set", "key": "foo"},
    }


def test_incomplete_and_malformed_are_typed_errors():
    with pytest.raises(meshplane.IncompleteMessage) as e:
        meshplane.decode("redis", "request", PING + SET[:7])
    assert e.value.offset == len(PING)
    with pytest.raises(meshplane.DecodeError) as e:
        meshplane.decode("redis", "request", PING + b"*x\r\n")
    assert e.value.offset >= len(PING)
    assert isinstance(e.value, meshplane.MeshplaneError)


def test_unknown_protocol_and_direction():
    with pytest.raises(ValueError, match="unknown protocol"):
        meshplane.decode("smtp", "request", b"")
    with pytest.raises(ValueError, match="direction"):
        meshplane.StreamDecoder("redis", "sideways")


def test_stream_decoder_byte_by_byte_matches_whole():
    whole = meshplane.decode("redis", "request", PING + SET)
    dec = meshplane.StreamDecoder("redis", "request")
    got = []
    for b in PING + SET:
        got.extend(dec.feed(bytes([b])))
    assert [m for m, _ in got] == whole
    assert [raw for _, raw in got] == [PING, SET]
    assert dec.buffered == 0


def test_encode_unchanged_and_local_reply():
    dec = meshplane.StreamDecoder("redis", "request")
    ((_, raw),) = dec.feed(SET)
    assert dec.encode(raw) == SET
    reply = dec.local_reply(raw, "route_not_found", "no route")
    assert reply.startswith(b"-ERR") and reply.endswith(b"\r\n")
    resp = meshplane.decode("redis", "response", reply)
    assert resp[0]["status"] == "error"
    with pytest.raises(ValueError):
        dec.local_reply(raw, "no_such_kind")  # type: ignore[arg-type]
