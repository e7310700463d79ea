"""Runs the Python examples as a user would."""

import json
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).parent


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(HERE / "decode_stream.py"), *args],
        capture_output=True, text=True, timeout=60,
    )


def test_decode_stream_example(tmp_path):
    capture = tmp_path / "c.bin"
    capture.write_bytes(b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
    out = run("redis", "request", str(capture))
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [m["metadata"]["command"] for m in lines] == ["ping", "get"]
    assert lines[1]["metadata"]["key"] == "k"


def test_decode_stream_example_reports_incomplete(tmp_path):
    capture = tmp_path / "c.bin"
    capture.write_bytes(b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGE")
    out = run("redis", "request", str(capture))
    assert out.returncode == 3
    assert "incomplete message at offset 14" in out.stderr
