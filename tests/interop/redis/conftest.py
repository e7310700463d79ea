import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from redisutil import MetaProxy, RedisServer  # noqa: E402


@pytest.fixture(scope="session")
def server_port():
    """The redis-server of record: MESH_REDIS_PORT (started by scripts/ci.d/20-redis.sh),
    else one started here."""
    port = os.environ.get("MESH_REDIS_PORT")
    if port:
        yield int(port)
        return
    server = RedisServer()
    yield server.port
    server.stop()


def _checked(proxy):
    err = proxy.stop()
    bad = [l for l in err.splitlines() if "MISMATCH" in l or "error" in l.lower()]
    assert not bad, f"meta_proxy reported: {bad}"


@pytest.fixture(scope="session")
def proxy_port(server_port):
    """meta_proxy (redis codec, --check-roundtrip) in front of the server; fails the run if
    it ever reported a decode error or a re-encode that changed a byte."""
    proxy = MetaProxy(server_port)
    yield proxy.port
    _checked(proxy)


@pytest.fixture
def make_proxy(server_port):
    started = []

    def make(*extra):
        p = MetaProxy(server_port, *extra)
        started.append(p)
        return p.port

    yield make
    for p in started:
        _checked(p)
