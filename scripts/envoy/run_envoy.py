"""Run a real Envoy on loopback in front of a small Python upstream, for end-to-end tests.

Everything is bounded: start-up waits time out, every request has a timeout, and the Envoy process
(started in its own session) is always killed and reaped."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import random
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from typing import Iterator

import yaml

import efharness as h


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        body = json.dumps({"path": self.path, "x-user": self.headers.get("x-user")}).encode()
        self.server.hits += 1  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def upstream() -> Iterator[http.server.ThreadingHTTPServer]:
    """An HTTP/1.1 server on 127.0.0.1 that answers 200 with a JSON echo and counts hits."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.hits = 0  # type: ignore[attr-defined]
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(timeout=5)


class RunningEnvoy:
    def __init__(self, proc: subprocess.Popen, admin: str, ports: dict[str, int], log_path: str):
        self.proc, self.admin, self.ports, self.log_path = proc, admin, ports, log_path

    def get(self, listener: str, path: str = "/", headers: dict | None = None, timeout: float = 5) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.ports[listener], timeout=timeout)
        try:
            conn.request("GET", path, headers=headers or {})
            r = conn.getresponse()
            r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}
        finally:
            conn.close()

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(f"http://{self.admin}/stats?format=json", timeout=5) as r:
            data = json.load(r)
        return {s["name"]: s["value"] for s in data.get("stats", []) if "value" in s}

    def log(self) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()


@contextmanager
def run_envoy(envoy: str, topo: h.Topology, upstream_port: int, rls_port: int = 2, start_timeout: float = 30) -> Iterator[RunningEnvoy]:
    """Starts `envoy` with the bootstrap of `topo`; yields once all listeners accept connections."""
    ports: dict[str, int] = {}

    def bind(l: h.Listener) -> int:
        ports[l.name] = free_port()
        return ports[l.name]

    boot = h.bootstrap(topo, bind_ports=bind, upstream_port=upstream_port, rls_port=rls_port, access_log=True)
    with tempfile.TemporaryDirectory() as d:
        cfg, admin_file, log_path = (os.path.join(d, n) for n in ("bootstrap.yaml", "admin.txt", "envoy.log"))
        with open(cfg, "w") as f:
            yaml.safe_dump(boot, f, sort_keys=False)
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [envoy, "-c", cfg, "--base-id", str(random.randint(10_000, 2_000_000_000)), "--concurrency", "1",
                 "--admin-address-path", admin_file, "-l", "warning", "--disable-hot-restart"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            admin = _wait_ready(proc, admin_file, ports, start_timeout, log_path)
            yield RunningEnvoy(proc, admin, ports, log_path)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)


def _wait_ready(proc: subprocess.Popen, admin_file: str, ports: dict[str, int], timeout: float, log_path: str) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(log_path, errors="replace") as f:
                raise RuntimeError(f"envoy exited with {proc.returncode}:\n{f.read()}")
        try:
            with open(admin_file) as f:
                admin = f.read().strip()
            if admin:
                with urllib.request.urlopen(f"http://{admin}/ready", timeout=2) as r:
                    if r.status == 200 and all(_accepts(p) for p in ports.values()):
                        return admin
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    with open(log_path, errors="replace") as f:
        raise TimeoutError(f"envoy not ready after {timeout}s:\n{f.read()}")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
