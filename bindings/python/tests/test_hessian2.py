"""meshplane.hessian2 against the installed wheel: the Caucho and hessian.js vectors, references,
class definitions, dates, errors and round trips."""

import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import meshplane
from meshplane import hessian2
from meshplane.hessian2 import Object

UTC = dt.timezone.utc


def user(name="alice", age=30, id=1234567890123):
    return Object("com.example.User", {"name": name, "age": age, "id": id})


def expected_values():
    """The value each vector of caucho.tsv encodes (written from the generator's source)."""
    v = {"null": None, "true": True, "false": False}
    for n in [0, -16, 47, 48, -17, -2048, 2047, 2048, -262144, 262143, 262144, -(2**31), 2**31 - 1]:
        v[f"int_{n}"] = n
    for n in [0, -8, 15, 16, -2048, 2047, 2048, 262143, 262144, 2**31 - 1, 2**31, -(2**31), 2**63 - 1, -(2**63)]:
        v[f"long_{n}"] = n
    for x in ["0.0", "1.0", "127.0", "-128.0", "128.0", "32767.0", "32768.0", "12.25", "0.001", "3.14159", "-2.5", "1.0E300"]:
        v[f"double_{x}"] = float(x)
    v.update(
        string_empty="",
        string_a="a",
        string_31="x" * 31,
        string_32="x" * 32,
        string_1023="x" * 1023,
        string_1024="x" * 1024,
        string_utf8="héllo ✓",
        string_emoji="\U0001F600",
        string_32768="y" * 32768,
        string_70000="z" * 70000,
        string_40000_e="é" * 40000,
        binary_empty=b"",
        list_123=[1, 2, 3],
        list_empty=[],
        list_10=list(range(10)),
        list_mixed=[1, "a", None, True, 2],
        int_array=[1, 2, 3],
        long_array=[1, 2],
        map_a1={"a": 1},
        map_empty={},
        map_int_key={1: "one"},
        map_linked={"k": "v", "n": 2},
        object_user=user(),
        object_two_users=[user(), user("bob", 41, -1)],
        enum_blue=Object("com.example.Color", {"name": "BLUE"}),
        date_ms=dt.datetime(2020, 1, 1, 0, 0, 0, 123000, tzinfo=UTC),
        date_minute=dt.datetime(2020, 1, 1, tzinfo=UTC),
        binary_3=b"\x01\x02\x03",
        string_pair_at_chunk_edge="q" * 32767 + "\U0001F600tail",
    )
    for n in [15, 16, 1023, 1024, 70000]:
        v[f"binary_{n}"] = bytes((3 + 7 * i) & 0xFF for i in range(n))
    return v


def test_caucho_vectors_decode_to_their_values(caucho):
    want = expected_values()
    checked = 0
    for name, data in caucho.items():
        got = hessian2.loads(data)
        if name == "double_NaN":
            assert math.isnan(got)
        elif name in want:
            assert got == want[name], name
            assert type(got) is type(want[name]), name
            checked += 1
    assert checked == len(caucho) - 4  # NaN, and the three graphs checked below


def test_references_decode_to_the_same_object(caucho):
    same = hessian2.loads(caucho["object_same_twice"])
    assert same == [user(), user()] and same[0] is same[1]
    loop = hessian2.loads(caucho["list_self_ref"])
    assert loop[0] == "s" and loop[1] is loop
    nested = hessian2.loads(caucho["map_nested"])
    assert nested["bytes"] == b"\t\x08"
    assert nested["when"] == dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert nested["users"] == [user()]


def test_dates(caucho):
    minute = hessian2.loads(caucho["date_minute"])
    assert minute.tzinfo is UTC and minute.second == 0 and minute.microsecond == 0
    assert hessian2.dumps(minute) == caucho["date_minute"]
    assert hessian2.dumps(hessian2.loads(caucho["date_ms"])) == caucho["date_ms"]
    naive = hessian2.loads(caucho["date_ms"]).replace(tzinfo=None)
    assert hessian2.dumps(naive) == caucho["date_ms"]
    before_epoch = dt.datetime(1960, 5, 1, 1, 2, 3, 4000, tzinfo=UTC)
    assert hessian2.loads(hessian2.dumps(before_epoch)) == before_epoch


# Vectors whose Java type Python does not carry: typed lists/maps, and longs small enough that
# Python's int is written as a Hessian int.
UNTYPED_IN_PYTHON = {"int_array", "long_array", "map_linked", "list_mixed", "object_two_users"} | {
    f"long_{n}" for n in [0, -8, 15, 16, -2048, 2047, 2048, 262143, 262144, 2**31 - 1, -(2**31)]
}


def test_dumps_is_byte_exact_on_the_reference_vectors(caucho):
    exact = 0
    for name, data in caucho.items():
        value = hessian2.loads(data)
        out = hessian2.dumps(value)
        if name in UNTYPED_IN_PYTHON:
            assert hessian2.loads(out) == value, name
        else:
            assert out == data, name
            exact += 1
    assert exact == len(caucho) - len(UNTYPED_IN_PYTHON)


def test_hessian_js_vectors_decode_like_caucho(caucho, hessianjs):
    assert len(hessianjs) >= 70
    for name, data in hessianjs.items():
        got, ref = hessian2.loads(data), hessian2.loads(caucho[name])
        if name == "double_NaN":
            assert math.isnan(got)
        elif name == "list_self_ref":
            assert got[1] is got and ref[1] is ref
        else:
            assert got == ref, name


def test_dumps_writes_shared_objects_as_references_and_reuses_class_definitions(caucho):
    u = user()
    assert hessian2.dumps([u, u]) == caucho["object_same_twice"]
    # the reference writes the second user's id as a long (-1: 0xdf), Python's int as an int
    two = hessian2.dumps([user(), user("bob", 41, -1)])
    assert two == caucho["object_two_users"][:-1] + b"\x8f"
    assert two.count(b"com.example.User") == 1 and hessian2.loads(two) == hessian2.loads(caucho["object_two_users"])
    loop = ["s"]
    loop.append(loop)
    assert hessian2.dumps(loop) == caucho["list_self_ref"]
    d = {"a": 1}
    assert hessian2.dumps(d) == caucho["map_a1"]
    shared = hessian2.loads(hessian2.dumps({"x": d, "y": d}))
    assert shared["x"] is shared["y"]
    assert hessian2.dumps((1, 2, 3)) == caucho["list_123"]
    assert hessian2.dumps(bytearray(b"\x01\x02\x03")) == hessian2.dumps(b"\x01\x02\x03")


def test_object_class():
    o = Object("a.B")
    assert o.class_name == "a.B" and o.fields == {}
    o.fields["x"] = 1
    assert o == Object("a.B", {"x": 1}) != Object("a.C", {"x": 1})
    assert o != {"x": 1}
    assert repr(o) == "Object('a.B', {'x': 1})"


def test_decode_errors_carry_offsets():
    with pytest.raises(meshplane.DecodeError) as e:
        hessian2.loads(b"\x05abc")  # string of 5 chars, 3 present
    assert e.value.offset >= 1 and "end of input" in e.value.reason
    with pytest.raises(meshplane.DecodeError) as e:
        hessian2.loads(b"\x91\x92")
    assert e.value.offset == 1
    with pytest.raises(meshplane.DecodeError, match="reference"):
        hessian2.loads(b"\x51\x95")
    with pytest.raises(meshplane.DecodeError, match="depth"):
        hessian2.loads(b"\x79" * 100 + b"\x4e")
    with pytest.raises(meshplane.DecodeError):
        hessian2.loads(b"")


def test_encode_errors():
    with pytest.raises(TypeError, match="cannot encode set"):
        hessian2.dumps({1, 2})
    with pytest.raises(ValueError, match="64-bit"):
        hessian2.dumps(2**64)
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(ValueError, match="nested deeper"):
        hessian2.dumps(deep)
    with pytest.raises(TypeError, match="field names must be str"):
        hessian2.dumps(Object("a.B", {1: 2}))  # type: ignore[dict-item]


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=200)
    | st.binary(max_size=200)
    | st.datetimes(
        min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31), timezones=st.just(UTC)
    ).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
)
keys = st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.text(max_size=20)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=8)
    | st.dictionaries(keys, inner, max_size=8)
    | st.builds(Object, st.text(min_size=1, max_size=30), st.dictionaries(st.text(max_size=10), inner, max_size=5)),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_loads_dumps_round_trip(value):
    data = hessian2.dumps(value)
    back = hessian2.loads(data)
    assert back == value
    assert hessian2.dumps(back) == data
