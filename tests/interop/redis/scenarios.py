"""Client workloads run against a Redis port (direct, through a relay or through meta_proxy).
Each returns what the client observed, so direct and proxied runs can be compared."""

import os
import socket
import subprocess
import time

import redis

from redisutil import need, raw_exchange

CLI_COMMANDS = """\
FLUSHALL
SET k v
GET k
GET missing
SET k2 v2
MGET k missing k2
RPUSH l a b c
LRANGE l 0 -1
LRANGE nolist 0 -1
BLPOP nolist 0.1
NOSUCHCMD x
GET
LPUSH k x
INCR cnt
HSET h f1 v1 f2 v2
HGETALL h
SADD s m1 m2
SMEMBERS s
EVAL "return {1,'two',{3},redis.status_reply('OK'),redis.error_reply('MYERR boom')}" 0
SET empty ""
GET empty
"""

RESP3_EXTRA = """\
DEBUG PROTOCOL string
DEBUG PROTOCOL integer
DEBUG PROTOCOL double
DEBUG PROTOCOL bignum
DEBUG PROTOCOL null
DEBUG PROTOCOL array
DEBUG PROTOCOL set
DEBUG PROTOCOL map
DEBUG PROTOCOL attrib
DEBUG PROTOCOL push
DEBUG PROTOCOL verbatim
DEBUG PROTOCOL true
DEBUG PROTOCOL false
EVAL "redis.setresp(3); return {true,false,3.14,{double=3.14},{map={a=1}},{set={b=true}}}" 0
EVAL "redis.setresp(3); return redis.call('DEBUG','PROTOCOL','bignum')" 0
"""


def redis_cli(port, *args, stdin=None):
    cmd = [need("redis-cli"), "-h", "127.0.0.1", "-p", str(port), *args]
    r = subprocess.run(cmd, input=stdin, capture_output=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def cli_resp2(port):
    return redis_cli(port, stdin=CLI_COMMANDS.encode())


def cli_resp3(port):
    return redis_cli(port, "-3", stdin=CLI_COMMANDS.encode())


def debug_types(port, protocol):
    """Every RESP type the server can emit (DEBUG PROTOCOL, Lua conversions), pipelined raw."""
    lines = ["HELLO %d" % protocol] + RESP3_EXTRA.splitlines() + ["PING"]
    return raw_exchange(port, ("\r\n".join(lines) + "\r\n").encode(), settle=1.0)


def cli_big(port):
    big = os.urandom(70000).hex().encode()  # 140000 bytes
    a = redis_cli(port, "-x", "SET", "big", stdin=big)
    b = redis_cli(port, "--no-raw", "STRLEN", "big")
    c = redis_cli(port, "GET", "big")
    assert c[1].rstrip(b"\n") == big
    return a, b, len(c[1])


def benchmark(port, *extra, n=2000, clients=2):
    rc, out, err = redis_cli(port, "PING")
    assert out.strip() == b"PONG", (out, err)
    cmd = [need("redis-benchmark"), "-h", "127.0.0.1", "-p", str(port), "-n", str(n), "-c", str(clients),
           "-P", "16", "-t", "ping,set,get,incr,lpush,lrange_100,mset", "-q", "--csv", *extra]
    r = subprocess.run(cmd, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    # Throughput differs run to run; the list of tests that completed does not.
    lines = [l.split(",")[0] for l in r.stdout.decode().splitlines()[1:]]
    assert b"error" not in r.stderr.lower() and b"error" not in r.stdout.lower(), (r.stdout, r.stderr)
    return lines


def py_workload(port, protocol):
    r = redis.Redis(host="127.0.0.1", port=port, protocol=protocol)
    seen = [r.ping(), r.flushall(), r.set("a", "1"), r.get("a"), r.get("nope"), r.incr("n"), r.incrbyfloat("f", 1.5)]
    p = r.pipeline(transaction=False)
    for i in range(20):
        p.set(f"k{i}", i)
        p.get(f"k{i}")
    p.hset("h", mapping={"x": "1", "y": "2"})
    p.hgetall("h")
    p.sadd("s", "a", "b")
    p.smembers("s")
    p.zadd("z", {"m1": 1.5, "m2": 2})
    p.zrange("z", 0, -1, withscores=True)
    p.lpush("k0", "x")  # WRONGTYPE inside a pipeline
    seen.append(p.execute(raise_on_error=False))
    t = r.pipeline(transaction=True)
    t.incr("tx")
    t.incr("tx")
    t.get("tx")
    seen.append(t.execute())
    seen.append(r.eval("return {1,'two',{3},redis.status_reply('OK')}", 0))
    try:
        r.execute_command("NOSUCHCMD", "x")
    except redis.ResponseError as e:
        seen.append(str(e))
    hello = r.execute_command("HELLO", protocol)
    if isinstance(hello, list):
        hello = dict(zip(hello[::2], hello[1::2]))
    seen.append({k: v for k, v in hello.items() if k not in (b"id", "id")})
    r.close()
    return [repr(x) if isinstance(x, Exception) else x for x in _plain(seen)]


def _plain(v):
    if isinstance(v, dict):
        return sorted((_plain(k), _plain(x)) for k, x in v.items())
    if isinstance(v, (set, frozenset)):
        return sorted(_plain(x) for x in v)
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return v
    if isinstance(v, (int, float, bytes, str, bool)) or v is None:
        return v
    return repr(v)


def py_pubsub(port, protocol):
    sub = redis.Redis(host="127.0.0.1", port=port, protocol=protocol)
    pub = redis.Redis(host="127.0.0.1", port=port, protocol=protocol)
    ps = sub.pubsub()
    ps.subscribe("ch1", "ch2")
    ps.psubscribe("p*")
    got = []
    deadline = time.time() + 5
    while len(got) < 3 and time.time() < deadline:
        m = ps.get_message(timeout=0.2)
        if m:
            got.append((m["type"], m["channel"], m["data"]))
    counts = [pub.publish("ch1", "hello"), pub.publish("ch2", "world"), pub.publish("px", "pat")]
    while len(got) < 7 and time.time() < deadline:
        m = ps.get_message(timeout=0.2)
        if m:
            got.append((m["type"], m["channel"], m.get("pattern"), m["data"]))
    ps.ping()
    ps.unsubscribe("ch1", "ch2")
    ps.punsubscribe()
    while len(got) < 11 and time.time() < deadline:
        m = ps.get_message(timeout=0.2)
        if m:
            got.append((m["type"], m["channel"], m["data"]))
    ps.close()
    after = sub.set("after", "pubsub")
    sub.close()
    pub.close()
    return sorted(map(repr, got)), counts, after


def tracking_resp3(port):
    """CLIENT TRACKING with RESP3: invalidation pushes interleaved with replies (raw bytes,
    so the exact interleaving is the server's)."""
    s = socket.create_connection(("127.0.0.1", port))
    o = socket.create_connection(("127.0.0.1", port))

    def rt(sock, payload, n_min):
        sock.sendall(payload)
        buf = b""
        sock.settimeout(2)
        while len(buf) < n_min:
            buf += sock.recv(65536)
        return buf

    rt(o, b"SET k2 2\r\n", 5)
    out = [rt(s, b"HELLO 3\r\n", 50)]
    out.append(rt(s, b"*3\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$2\r\non\r\n", 5))
    out.append(rt(s, b"*2\r\n$3\r\nGET\r\n$2\r\nk2\r\n", 3))
    out.append(rt(o, b"SET k2 changed\r\n", 5))
    time.sleep(0.1)
    out.append(rt(s, b"PING\r\n", 7))
    s.close()
    o.close()
    return out


def raw_edge(port):
    """Inline commands, quotes, bare LF, `*-1`/`*0` requests the server skips."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b'PING\r\nSET k "hello world"\r\nECHO \'it\\\'s\'\r\nGET k\n*-1\r\n$3\r\nfoo\r\n*0\r\n\r\n'
              b'*2\r\n$4\r\nECHO\r\n$3\r\nx\r\n\r\n*1\r\n$4\r\nPI')
    time.sleep(0.1)
    s.sendall(b"NG\r\n")
    s.settimeout(1)
    buf = b""
    try:
        while buf.count(b"\r\n") < 8:
            buf += s.recv(65536)
    except socket.timeout:
        pass
    s.close()
    return buf
