"""Helpers shared by the Redis interop tests and the fixture capture script: a real
redis-server on a free loopback port, a recording TCP relay, and the meta_proxy binary."""

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def need(tool):
    path = shutil.which(tool)
    if path is None:
        raise RuntimeError(f"required tool {tool!r} is missing (scripts/ci.d/20-redis.sh installs it)")
    return path


class RedisServer:
    """redis-server on a free port: no persistence, DEBUG allowed from loopback."""

    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [need("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--enable-debug-command", "local", "--daemonize", "no",
             "--loglevel", "warning"],
            stdout=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Relay:
    """Loopback TCP relay recording both directions of every connection."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []  # [request bytearray, response bytearray]
        self.threads = []
        self.lock = threading.Lock()
        self.closed = False
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.upstream))
            rec = [bytearray(), bytearray()]
            with self.lock:
                self.conns.append(rec)
            for src, dst, buf in ((c, u, rec[0]), (u, c, rec[1])):
                t = threading.Thread(target=self._pump, args=(src, dst, buf), daemon=True)
                t.start()
                self.threads.append(t)

    @staticmethod
    def _pump(src, dst, buf):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            buf.extend(data)
            try:
                dst.sendall(data)
            except OSError:
                return

    def close(self):
        self.sock.close()
        deadline = time.time() + 10
        for t in self.threads:
            t.join(max(0.1, deadline - time.time()))
        return [(bytes(a), bytes(b)) for a, b in self.conns]


def meta_proxy_bin():
    path = ROOT / "target" / "debug" / "meta_proxy"
    if not path.exists():
        raise RuntimeError(f"{path} is not built (cargo build -p meshplane-examples --bins)")
    return path


class MetaProxy:
    """examples' meta_proxy (redis codec, --check-roundtrip) in front of `upstream_port`."""

    def __init__(self, upstream_port, *extra):
        self.proc = subprocess.Popen(
            [str(meta_proxy_bin()), "--protocol", "redis", "--listen", "127.0.0.1:0",
             "--upstream", f"127.0.0.1:{upstream_port}", "--check-roundtrip", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"meta_proxy did not start: {line!r} {self.proc.stderr.read()}")
        self.port = int(line.strip().rsplit(":", 1)[1])

    def stop(self):
        """Stops the proxy and returns what it wrote on stderr (decode errors, mismatches)."""
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=10)
        return err


def raw_exchange(port, payload, settle=0.3, expect=None):
    """Sends raw bytes, returns everything the server sent back before going quiet."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(payload)
    s.settimeout(settle)
    out = bytearray()
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out.extend(d)
            if expect is not None and len(out) >= expect:
                break
    except socket.timeout:
        pass
    s.close()
    return bytes(out)
