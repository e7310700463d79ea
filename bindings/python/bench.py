"""Speed of the Python package against the peers' Python libraries, on the same bytes, in one run.

The Redis comparison gives both sides the same job: a stream of pipelined commands fed in chunks,
every message of a chunk returned in one list (hiredis.Reader's replies are lists of bytes; a
meshplane Message also carries the command, the key, the request id and the raw bytes).

    python bindings/python/bench.py

Prints one line per comparison with both timings and the ratio. Goals (issue #16): the Redis
codec within 1.5x of hiredis.Reader on a pipelined stream; hessian2.loads at least 20x faster
than python-hessian on the reference vectors. This is a report, not a test: it always exits 0
unless something fails to run.
"""

import io
import pathlib
import sys
import timeit

import hiredis
from pyhessian import parser as pyhessian_parser

from meshplane import codec, hessian2

ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTORS = ROOT / "mesh-codec" / "tests" / "fixtures" / "hessian2" / "caucho.tsv"
# python-hessian 1.2.0 fails on these two (multi-chunk strings); both sides skip them.
PYHESSIAN_FAILS = {"string_70000", "string_pair_at_chunk_edge"}


def best(fn, number, repeat=7):
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def redis_stream(n=10_000):
    cmds = []
    for i in range(n):
        cmds.append(("SET", f"key:{i % 1000}", "v" * 16) if i % 2 else ("GET", f"key:{i % 1000}"))
    return b"".join(hiredis.pack_command(c) for c in cmds), n


def bench_redis(chunk):
    data, n = redis_stream()
    chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]

    def ours():
        dec = codec.Decoder("redis", "request")
        got = 0
        for c in chunks:
            got += len(dec.feed(c))
        assert got == n

    def theirs():
        # the same shape as Decoder.feed: every reply of a chunk in one list
        r = hiredis.Reader()
        got = 0
        for c in chunks:
            r.feed(c)
            replies = []
            while (v := r.gets()) is not False:
                replies.append(v)
            got += len(replies)
        assert got == n

    t_ours, t_theirs = best(ours, 5), best(theirs, 5)
    print(
        f"redis pipelined {n} commands, {len(data)} B in {chunk} B chunks: "
        f"meshplane.codec {t_ours * 1e9 / n:.0f} ns/msg, hiredis.Reader {t_theirs * 1e9 / n:.0f} ns/msg, "
        f"ratio {t_ours / t_theirs:.2f}x (goal <= 1.5x)"
    )
    return t_ours / t_theirs


def pyhessian_loads(data):
    p = pyhessian_parser.Parser()
    p._stream = io.BytesIO(data)
    p.version = 2
    return p.read_object()


def bench_hessian():
    vectors = []
    for line in VECTORS.read_text().splitlines():
        if line:
            name, hexdata = line.split("\t")
            if name not in PYHESSIAN_FAILS:
                vectors.append(bytes.fromhex(hexdata))
    total = sum(len(v) for v in vectors)

    def ours():
        for v in vectors:
            hessian2.loads(v)

    def theirs():
        for v in vectors:
            pyhessian_loads(v)

    t_ours, t_theirs = best(ours, 3), best(theirs, 1, repeat=3)
    print(
        f"hessian2 {len(vectors)} reference vectors ({total} B): meshplane.hessian2.loads {t_ours * 1e3:.2f} ms, "
        f"python-hessian {t_theirs * 1e3:.2f} ms, speedup {t_theirs / t_ours:.1f}x (goal >= 20x)"
    )
    small = [v for v in vectors if len(v) < 200]
    t_ours = best(lambda: [hessian2.loads(v) for v in small], 200)
    t_theirs = best(lambda: [pyhessian_loads(v) for v in small], 20)
    print(
        f"hessian2 {len(small)} small vectors (< 200 B): meshplane {t_ours / len(small) * 1e9:.0f} ns/value, "
        f"python-hessian {t_theirs / len(small) * 1e9:.0f} ns/value, speedup {t_theirs / t_ours:.1f}x"
    )
    return t_theirs / t_ours


def main():
    print(f"python {sys.version.split()[0]}, hiredis {hiredis.__version__}")
    bench_redis(len(redis_stream()[0]))
    bench_redis(16 * 1024)
    bench_redis(1500)
    bench_hessian()
    return 0


if __name__ == "__main__":
    sys.exit(main())
