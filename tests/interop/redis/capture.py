"""Regenerates mesh-codec/tests/fixtures/redis/*.bin: runs the scenarios against a real
redis-server through a recording relay and writes every connection's two byte streams as
<name>.request.bin / <name>.response.bin. Usage: .venv/bin/python tests/interop/redis/capture.py"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import scenarios  # noqa: E402
from redisutil import ROOT, Relay, RedisServer  # noqa: E402

OUT = ROOT / "mesh-codec" / "tests" / "fixtures" / "redis"

CASES = {
    "cli_resp2": scenarios.cli_resp2,
    "cli_resp3": scenarios.cli_resp3,
    "cli_big": scenarios.cli_big,
    "debug_types_resp2": lambda p: scenarios.debug_types(p, 2),
    "debug_types_resp3": lambda p: scenarios.debug_types(p, 3),
    "benchmark_p16": lambda p: scenarios.benchmark(p, n=48, clients=1),
    "benchmark_p16_resp3": lambda p: scenarios.benchmark(p, "-3", n=48, clients=1),
    "py_resp2": lambda p: scenarios.py_workload(p, 2),
    "py_resp3": lambda p: scenarios.py_workload(p, 3),
    "py_pubsub_resp2": lambda p: scenarios.py_pubsub(p, 2),
    "py_pubsub_resp3": lambda p: scenarios.py_pubsub(p, 3),
    "tracking_resp3": scenarios.tracking_resp3,
    "raw_edge": scenarios.raw_edge,
}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    server = RedisServer()
    try:
        for name, fn in CASES.items():
            relay = Relay(server.port)
            fn(relay.port)
            conns = [c for c in relay.close() if c[0] or c[1]]
            for i, (req, resp) in enumerate(conns):
                stem = name if len(conns) == 1 else f"{name}.c{i}"
                (OUT / f"{stem}.request.bin").write_bytes(req)
                (OUT / f"{stem}.response.bin").write_bytes(resp)
                print(f"{stem}: {len(req)} / {len(resp)} bytes")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
