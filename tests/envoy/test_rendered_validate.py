"""Everything `meshctl render` produces for examples/crds/*.yaml, and every EnvoyFilter in mesh-core's
insta snapshots, is accepted by real Envoys (1.40.0 and 1.36.2) once placed where Istio applies it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import efharness as h
from conftest import ROOT

EXAMPLES = sorted((ROOT / "examples" / "crds").glob("*.yaml"))
SNAPSHOTS = sorted(p for p in ROOT.glob("mesh-*/**/snapshots/*.snap") if "kind: EnvoyFilter" in p.read_text())


@pytest.fixture(scope="session")
def meshctl() -> str:
    path = os.environ.get("MESHCTL") or str(ROOT / "target" / "debug" / "meshctl")
    if not os.access(path, os.X_OK):
        pytest.fail(f"meshctl is not built at {path} (cargo build -p mesh-cli)")
    return path


def render(meshctl: str, path: Path) -> list[dict]:
    p = subprocess.run([meshctl, "render", str(path)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"meshctl render {path.name} failed ({p.returncode}):\n{p.stderr}"
    return h.load_docs(p.stdout)


def snapshot_docs(path: Path) -> list[dict]:
    """An insta .snap file: a `---`-delimited metadata header, then the snapshot text."""
    text = path.read_text()
    if text.startswith("---\n"):
        end = text.index("\n---\n", 4)
        text = text[end + 5:]
    return h.load_docs(text)


def check(envoy: str, docs: list[dict], what: str) -> None:
    cms = [d for d in docs if d.get("kind") == "ConfigMap"]
    for cm in cms:
        h.check_rls_configmap(cm)
    efs = h.envoy_filters(docs)
    assert efs, f"{what}: no EnvoyFilter"
    for ef in efs:
        try:
            _, boot = h.build(ef)
        except h.HarnessError as e:
            pytest.fail(f"{what}: {e}")
        v = h.envoy_validate(envoy, boot)
        assert v.ok, f"{what}: {h.ef_name(ef)} rejected by {envoy}:\n{v.output}"
        assert h.lint_local_descriptors(boot) == [], f"{what}: {h.ef_name(ef)}"
        assert h.lint_global_descriptors(boot, [h.rls_config(cm) for cm in cms]) == [], f"{what}: {h.ef_name(ef)}"


# (Parametrized only over what exists: pytest would turn an empty list into a skip.)
if EXAMPLES:
    @pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
    def test_rendered_example_accepted(envoy, meshctl, path):
        check(envoy, render(meshctl, path), f"meshctl render {path.relative_to(ROOT)}")

if SNAPSHOTS:
    @pytest.mark.parametrize("path", SNAPSHOTS, ids=lambda p: p.stem)
    def test_snapshot_accepted(envoy, path):
        check(envoy, snapshot_docs(path), str(path.relative_to(ROOT)))
