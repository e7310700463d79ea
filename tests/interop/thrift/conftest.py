"""Fixtures for the Thrift interop tests: generated code on sys.path and the meta_proxy binary."""

import os
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

GEN = os.environ.get("THRIFT_GEN_DIR")
if not GEN or not os.path.isdir(os.path.join(GEN, "meshinterop")):
    raise RuntimeError(
        "THRIFT_GEN_DIR must point at `thrift --gen py -out DIR interop.thrift` output "
        "(scripts/ci.d/30-thrift.sh sets it)"
    )
sys.path.insert(0, GEN)
sys.path.insert(0, HERE)

PROXY = os.environ.get("META_PROXY", os.path.join(ROOT, "target", "debug", "meta_proxy"))


class Proxy:
    def __init__(self, upstream_port, *extra):
        if not os.access(PROXY, os.X_OK):
            raise RuntimeError(f"meta_proxy binary missing at {PROXY} (cargo build -p meshplane-examples)")
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [PROXY, "--protocol", "thrift", "--listen", "127.0.0.1:0",
             "--upstream", f"127.0.0.1:{upstream_port}", *extra],
            stdout=subprocess.PIPE,
            stderr=self.err,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"meta_proxy did not start: {line!r} {self.stderr()}")
        self.port = int(line.strip().rsplit(":", 1)[1])

    def stderr(self):
        self.err.seek(0)
        return self.err.read().decode(errors="replace")

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def proxy_factory():
    made = []

    def make(upstream_port, *extra):
        p = Proxy(upstream_port, *extra)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()
