#!/usr/bin/env python3
"""Writes the hostile inputs that tests/hostile/manifest.txt runs through meshctl.

    generate.py --small DIR   # the small inputs (committed under tests/hostile/inputs/)
    generate.py --large DIR   # the large ones (written at test time, never committed)

Python 3 standard library only; the output is deterministic (fixed seeds), so the committed
small inputs can be checked against a fresh run. Add a case: a function below that returns
bytes, registered in SMALL or LARGE, plus a line in manifest.txt.
"""
import argparse
import pathlib
import random
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def example(name="reviews-local.yaml"):
    return (ROOT / "examples" / "crds" / name).read_bytes()


def limiter(i=0, extra=b""):
    """A valid SmartLimiter with its Service."""
    return (
        b"---\napiVersion: microservice.slime.io/v1alpha2\nkind: SmartLimiter\n"
        b"metadata: {name: svc%d, namespace: default}\nspec:\n  sets:\n    _base:\n"
        b"      descriptor:\n      - action: {quota: \"5\", fill_interval: {seconds: 60}, "
        b"strategy: single}\n        condition: \"true\"\n        target: {port: 9080}\n"
        b"%s---\napiVersion: v1\nkind: Service\nmetadata: {name: svc%d, namespace: default}\n"
        b"spec: {selector: {app: svc%d}}\n" % (i, extra, i, i)
    )


def garbage(seed, n):
    rnd = random.Random(seed)
    return bytes(rnd.randrange(256) for _ in range(n))


# ---- YAML / render -------------------------------------------------------------------------

def flow_nesting(open_, n):
    return lambda: open_.encode() * n


def alias_fan_out(keys, items):
    def make():
        out = [b"l: &l [" + b", ".join([b"x"] * items) + b"]\n"]
        out += [b"k%d: *l\n" % i for i in range(keys)]
        return b"".join(out)
    return make


def billion_laughs():
    out = [b"a0: &a0 [" + b", ".join([b"lol"] * 10) + b"]\n"]
    for i in range(1, 12):
        out.append(b"a%d: &a%d [%s]\n" % (i, i, b", ".join([b"*a%d" % (i - 1)] * 10)))
    return b"".join(out)


def duplicate_base():
    text = limiter()
    return text.replace(
        b"    _base:\n",
        b"    _base:\n      descriptor: []\n    _base:\n", 1)


def duplicate_name():
    return limiter().replace(b"metadata: {name: svc0,", b"metadata: {name: svc0, name: other,", 1)


def block_nesting_inline(n):
    return lambda: b"- " * n + b"x\n"


def block_nesting_indented(n):
    return lambda: b"".join(b" " * i + b"a:\n" for i in range(n))


def huge_scalar(n):
    return lambda: b"apiVersion: v1\nkind: ConfigMap\ndata: {x: \"" + b"a" * n + b"\"}\n"


def huge_key(n):
    return lambda: b"k" * n + b": 1\n"


def many_empty_documents(n):
    return lambda: b"---\n" * n


def many_ignored_objects(n):
    return lambda: b"".join(
        b"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\n" % i for i in range(n))


def many_limiters(n):
    return lambda: b"".join(limiter(i) for i in range(n))


# ---- render: output Envoy or the API server would reject, and many problems (issue 12 items
# 4, 12, 13, 14) --------------------------------------------------------------------------

def descriptors(n, action=b'{quota: "0", fill_interval: {seconds: 60}}', extra=b""):
    """One SmartLimiter with n descriptors (quota 0 by default: n same-kind errors)."""
    d = (b"      - action: " + action + b"\n        condition: \"true\"\n"
         b"        target: {port: 9080}\n" + extra)
    return lambda: limiter().replace(
        b"      descriptor:\n", b"      descriptor:\n" + d * n, 1).replace(
        b"      - action: {quota: \"5\", fill_interval: {seconds: 60}, strategy: single}\n"
        b"        condition: \"true\"\n        target: {port: 9080}\n", b"", 1)


def sets_without_rule(n):
    sets = b"".join(b"    s%05d:\n      descriptor:\n      - action: {quota: \"1\", fill_interval: "
                    b"{seconds: 60}}\n        condition: \"true\"\n        target: {port: 9080}\n" % i
                    for i in range(n))
    return lambda: limiter().replace(b"  sets:\n", b"  sets:\n" + sets, 1)


def header_value(value):
    return lambda: limiter().replace(
        b"strategy: single}", b"strategy: single, headers_to_add: [{key: x-limited, value: " + value + b"}]}", 1)


def match_name(name):
    return lambda: limiter().replace(
        b"        target: {port: 9080}\n", b"        match: [{name: " + name + b", exact_match: a}]\n"
        b"        target: {port: 9080}\n", 1)


def source_ips(ips, headers):
    ip_list = b",".join(b"10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255) for i in range(ips))
    hs = b"".join(b", {name: x-h%d, exact_match: a}" % i for i in range(headers))
    return lambda: limiter().replace(
        b"        target: {port: 9080}\n", b"        match: [{matchSource: SourceIpMatch, exact_match: \""
        + ip_list + b"\"}" + hs + b"]\n        target: {port: 9080}\n", 1)


def unknown_key(n):
    # An explicit key (`? `): implicit keys are limited to 1 024 characters by YAML itself.
    return lambda: limiter().replace(b"  sets:\n", b"  ? " + b"k" * n + b"\n  : 1\n  sets:\n", 1)


SMALL = {
    # YAML items of issue 12 (3, 5, 10, 11) and their neighbours
    "yaml-bom.yaml": lambda: b"\xef\xbb\xbf" + example(),
    "yaml-bom-every-document.yaml": lambda: b"\xef\xbb\xbf" + limiter().replace(b"---\napiVersion: v1", b"...\n\xef\xbb\xbf---\napiVersion: v1"),
    "yaml-duplicate-base.yaml": duplicate_base,
    "yaml-port-inf.yaml": lambda: limiter().replace(b"port: 9080", b"port: .inf"),
    "yaml-quota-nan.yaml": lambda: limiter().replace(b"seconds: 60", b"seconds: .nan"),
    "yaml-duplicate-name.yaml": duplicate_name,
    "yaml-billion-laughs.yaml": billion_laughs,
    "yaml-flow-seq-4k.yaml": flow_nesting("[", 4096),
    "yaml-flow-map-4k.yaml": flow_nesting("{a: ", 4096),
    "yaml-unknown-anchor.yaml": lambda: b"a: *nowhere\n",
    "yaml-local-tag.yaml": lambda: b"!evil {a: 1}\n",
    "yaml-complex-key.yaml": lambda: b"? [a, b]\n: 1\n",
    "yaml-truncated.yaml": lambda: example()[: len(example()) // 2] + b"\"unterminated",
    "yaml-nul.yaml": lambda: example().replace(b"reviews", b"rev\x00iews", 1),
    "yaml-non-utf8.yaml": lambda: example().replace(b"reviews", b"rev\xff\xfeiews", 1),
    "yaml-garbage.bin": lambda: garbage(1, 4096),
    "yaml-tabs.yaml": lambda: b"a:\n\t- b\n",
    "yaml-only-comments.yaml": lambda: b"# nothing\n---\n# still nothing\n",
    "empty.bin": lambda: b"",
    # render: output Envoy or the API server would reject (issue 12 items 12, 13, 14)
    "render-header-value-crlf.yaml": header_value(b'"a\\r\\nInjected: 1"'),
    "render-header-value-16385.yaml": header_value(b"v" * 16385),
    "render-header-value-percent.yaml": header_value(b'"100%"'),
    "render-match-name-nul.yaml": match_name(b'"x\\0user"'),
    "render-name-10000.yaml": lambda: limiter().replace(b"name: svc0,", b"name: " + b"r" * 10000 + b",", 1),
    "render-name-invalid.yaml": lambda: limiter().replace(b"name: svc0,", b"name: Reviews_Service!,", 1),
    "render-source-ip-expansion.yaml": source_ips(1000, 200),
    "metrics-nan.yaml": lambda: b"_base:\n  pod: .nan\n  cpu: {sum: -.inf}\n",
    # decode: every protocol, both directions
    "redis-truncated.bin": lambda: b"*3\r\n$3\r\nSET\r\n$1\r\nk",
    "redis-huge-bulk.bin": lambda: b"*2\r\n$3\r\nGET\r\n$99999999999\r\nabc",
    "redis-huge-count.bin": lambda: b"*2147483647\r\n$3\r\nGET\r\n",
    "redis-negative-length.bin": lambda: b"*1\r\n$-7\r\n",
    "redis-overflow-length.bin": lambda: b"*1\r\n$99999999999999999999999\r\nx\r\n",
    "redis-deep.bin": lambda: b"*1\r\n" * 20000 + b":1\r\n",
    "redis-deep-map.bin": lambda: b"%1\r\n+k\r\n" * 5000 + b"_\r\n",
    "redis-garbage.bin": lambda: garbage(2, 4096),
    "thrift-truncated.bin": lambda: struct.pack(">I", 40) + b"\x80\x01\x00\x01\x00\x00\x00\x03get",
    "thrift-huge-frame.bin": lambda: struct.pack(">I", 0x7FFFFFF0) + b"\x80\x01\x00\x01",
    "thrift-huge-name.bin": lambda: b"\x80\x01\x00\x01" + struct.pack(">I", 0x7FFFFFF0) + b"get",
    "thrift-huge-list.bin": lambda: b"\x80\x01\x00\x01\x00\x00\x00\x03get\x00\x00\x00\x01"
    + b"\x0f\x00\x01\x08" + struct.pack(">I", 0x7FFFFFF0) + b"\x00\x00\x00\x01",
    "thrift-deep.bin": lambda: b"\x80\x01\x00\x01\x00\x00\x00\x03get\x00\x00\x00\x01"
    + b"\x0c\x00\x01" * 20000 + b"\x00" * 20001,
    "thrift-compact-deep.bin": lambda: b"\x82\x21\x01\x03get" + b"\x1c" * 20000 + b"\x00" * 20001,
    "thrift-theader-huge.bin": lambda: struct.pack(">I", 64) + b"\x0f\xff\x00\x00"
    + struct.pack(">I", 1) + b"\xff\xff" + b"\x00" * 54,
    "thrift-garbage.bin": lambda: garbage(3, 4096),
    "dubbo-truncated.bin": lambda: b"\xda\xbb\xc2\x00" + b"\x00" * 8 + struct.pack(">I", 100) + b"\x052.0.2",
    "dubbo-huge-body.bin": lambda: b"\xda\xbb\xc2\x00" + b"\x00" * 8 + b"\xff\xff\xff\xff" + b"\x052.0.2",
    "dubbo-bad-magic.bin": lambda: b"\xda\xbc\xc2\x00" + b"\x00" * 8 + struct.pack(">I", 0),
    "dubbo-deep.bin": lambda: dubbo_request(b"\x052.0.2\x03svc\x050.0.0\x03foo\x12Ljava/lang/Object;"
                                            + b"\x57" * 20000 + b"\x5a" * 20000 + b"\x48\x5a"),
    "dubbo-huge-string.bin": lambda: dubbo_request(b"\x052.0.2\x53\xff\xff" + b"a" * 16),
    "dubbo-response-garbage-body.bin": lambda: b"\xda\xbb\x02\x14" + b"\x00" * 8 + struct.pack(">I", 64) + garbage(4, 64),
    "dubbo-garbage.bin": lambda: garbage(5, 4096),
}


# --- codec probes (issue 12 items 1, 2, 7 and their siblings) ------------------------------
def hessian_str(v):
    b = v.encode()
    n = len(v)
    if n < 32:
        return bytes([n]) + b
    if n < 1024:
        return bytes([0x30 + (n >> 8), n & 0xFF]) + b
    assert n < 0x10000
    return b"S" + struct.pack(">H", n) + b


def dubbo_frame(flags, status, body):
    return b"\xda\xbb" + bytes([flags, status]) + struct.pack(">QI", 7, len(body)) + body


def dubbo_head(desc="Ljava/lang/Object;"):
    return b"".join(hessian_str(v) for v in ("2.0.2", "com.example.Svc", "1.0", "m", desc))


def dubbo_attachments(n):
    return b"H" + b"".join(hessian_str(f"attachment-{i}") + hessian_str(str(i)) for i in range(n)) + b"Z"


def dubbo_many_attachments(response):
    def make():
        if response:
            return dubbo_frame(0x02, 20, b"\x94N" + dubbo_attachments(50_000))
        return dubbo_frame(0xC2, 0, dubbo_head("") + dubbo_attachments(50_000))
    return make


def dubbo_fill(size, prefix, unit, suffix=b""):
    """A request whose one Object argument fills a frame of `size` bytes with `unit`."""
    def make():
        head = dubbo_head() + prefix
        room = size - 16 - len(head) - len(suffix)
        return dubbo_frame(0xC2, 0, head + unit * (room // len(unit)) + suffix)
    return make


def theader_keys(n):
    """A THeader frame (binary add call) with n distinct three-byte info keys, empty values."""
    def make():
        abc = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        a = len(abc)
        count = b""
        v = n
        while v >= 0x80:
            count += bytes([v & 0x7F | 0x80])
            v >>= 7
        count += bytes([v])
        hdr = b"\x00\x00\x01" + count + b"".join(
            b"\x03" + bytes([abc[i // (a * a)], abc[i // a % a], abc[i % a]]) + b"\x00" for i in range(n))
        hdr += b"\x00" * (-len(hdr) % 4)
        payload = b"\x80\x01\x00\x01\x00\x00\x00\x03add\x00\x00\x00\x00\x00"
        return (struct.pack(">I", 10 + len(hdr) + len(payload)) + b"\x0f\xff" + b"\x00" * 6
                + struct.pack(">H", len(hdr) // 4) + hdr + payload)
    return make


FIELD_NAME_CLASS = b"C\x00I\x00\x10\x00\x00" + b"\x00" * (1 << 20)  # 1 Mi empty field names
TYPED_LISTS = b"W" + b"\x70\x00" * (1 << 19) + b"Z"  # 512 Ki typed lists, each a new type
LONG_CLASS = b"C" + hessian_str("c" * 60_000) + b"\x90W"  # a class with a long name, no fields


def dubbo_request(body):
    return b"\xda\xbb\xc2\x00" + b"\x00" * 7 + b"\x01" + struct.pack(">I", len(body)) + body


LARGE = {
    "yaml-flow-seq-1e5.yaml": flow_nesting("[", 100_000),
    "yaml-flow-map-1e5.yaml": flow_nesting("{a: ", 100_000),
    "yaml-flow-mixed-1e6.yaml": flow_nesting("{a: [", 1_000_000),
    "yaml-alias-fan-out.yaml": alias_fan_out(100_000, 100),
    "yaml-block-nesting-inline-1e5.yaml": block_nesting_inline(100_000),
    "yaml-block-nesting-indented-3k.yaml": block_nesting_indented(3000),
    "yaml-huge-scalar-4m.yaml": huge_scalar(4 << 20),
    "yaml-huge-key-2m.yaml": huge_key(2 << 20),
    "yaml-empty-documents-2e5.yaml": many_empty_documents(200_000),
    "yaml-ignored-objects-2e4.yaml": many_ignored_objects(20_000),
    "yaml-limiters-2000.yaml": many_limiters(2000),
    "redis-deep-1e6.bin": lambda: b"*1\r\n" * 1_000_000 + b":1\r\n",
    "redis-many-commands.bin": lambda: b"*1\r\n$4\r\nPING\r\n" * 50_000,
    "thrift-deep-1e6.bin": lambda: b"\x80\x01\x00\x01\x00\x00\x00\x03get\x00\x00\x00\x01"
    + b"\x0c\x00\x01" * 1_000_000,
    "dubbo-deep-1e6.bin": lambda: dubbo_request(b"\x052.0.2\x03svc\x050.0.0\x03foo\x12Ljava/lang/Object;"
                                                + b"\x57" * 1_000_000),
    "garbage-8m.bin": lambda: garbage(6, 1 << 16) * 128,
    "dubbo-attachments-5e4.bin": dubbo_many_attachments(False),
    "dubbo-response-attachments-5e4.bin": dubbo_many_attachments(True),
    "thrift-theader-keys-52000.bin": theader_keys(52_000),
    "dubbo-class-definition-bomb-64m.bin": dubbo_fill(64 << 20, b"", b"C\x00\x90"),
    "dubbo-field-name-bomb-8m.bin": dubbo_fill(8 << 20, b"", FIELD_NAME_CLASS),
    "dubbo-type-definition-bomb-16m.bin": dubbo_fill(16 << 20, b"W", TYPED_LISTS, b"Z"),
    "dubbo-long-class-objects.bin": dubbo_fill(1 << 20, LONG_CLASS, b"\x60", b"Z"),
    "dubbo-heartbeat-16m.bin": lambda: dubbo_frame(0xE2, 0, b"W" * (16 << 20)),
    "render-same-errors-1e4.yaml": descriptors(10_000),
    "render-sets-without-rule-1e4.yaml": sets_without_rule(10_000),
    "render-unknown-key-1m.yaml": unknown_key(1 << 20),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=pathlib.Path)
    ap.add_argument("--large", type=pathlib.Path)
    args = ap.parse_args()
    if not args.small and not args.large:
        ap.error("give --small DIR and/or --large DIR")
    for target, cases in ((args.small, SMALL), (args.large, LARGE)):
        if target is None:
            continue
        target.mkdir(parents=True, exist_ok=True)
        for name, make in sorted(cases.items()):
            data = make()
            if cases is SMALL and len(data) > 128 * 1024:
                sys.exit(f"{name}: {len(data)} bytes is not small; move it to LARGE")
            (target / name).write_bytes(data)


if __name__ == "__main__":
    main()
