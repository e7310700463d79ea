"""Everything `meshctl render` produces for examples/crds/*.yaml, and every EnvoyFilter in mesh-core's
insta snapshots, is accepted by real Envoys (1.40.0 and 1.36.2) once placed where Istio applies it."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

import efharness as h

ROOT = Path(__file__).resolve().parents[2]

EXAMPLES = sorted(p for p in (ROOT / "examples" / "crds").glob("*.yaml") if "kind: SmartLimiter" in p.read_text())
_SNAPS = sorted(p for p in ROOT.glob("mesh-*/**/snapshots/*.snap") if "kind: EnvoyFilter" in p.read_text())
# Output for the NetEase Envoy fork (JsonBodyMatch: body_value_match), which upstream Envoy must reject.
FORK_SNAPSHOTS = [p for p in _SNAPS if "body_value_match" in p.read_text()]
SNAPSHOTS = [p for p in _SNAPS if p not in FORK_SNAPSHOTS]


def render_args(path: Path) -> list[str]:
    """The arguments of the example's own `# Render: ... meshctl ... render ARGS` line (paths made
    absolute), else just the file."""
    for line in path.read_text().splitlines():
        if line.startswith("# Render:") and " render " in line:
            args = shlex.split(line.split(" render ", 1)[1])
            return [str(ROOT / a) if (ROOT / a).exists() else a for a in args]
    return [str(path)]


def render(meshctl: str, path: Path) -> list[dict]:
    args = render_args(path)
    p = subprocess.run([meshctl, "render", *args], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"meshctl render {' '.join(args)} failed ({p.returncode}):\n{p.stderr}"
    ambiguous = h.yaml11_ambiguities(p.stdout)
    assert not ambiguous, (f"meshctl render {' '.join(args)}: unquoted yes/no/on/off strings, which kubectl and "
                           f"Envoy read as booleans: {ambiguous}")
    return h.load_docs(p.stdout)


def test_examples_are_checked():
    """The examples exist and each is rendered here (a vanished example would silently shrink the proof)."""
    assert any(p.name == "reviews-local.yaml" for p in EXAMPLES), EXAMPLES


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

if FORK_SNAPSHOTS:
    @pytest.mark.parametrize("path", FORK_SNAPSHOTS, ids=lambda p: p.stem)
    def test_fork_only_snapshot_rejected_by_upstream(envoy, path):
        """meshctl emits body_value_match only with the NetEase-fork option; upstream Envoy does not know it."""
        outputs = []
        for ef in h.envoy_filters(snapshot_docs(path)):
            _, boot = h.build(ef)
            outputs.append(h.envoy_validate(envoy, boot))
        assert any(not v.ok and "body_value_match" in v.output for v in outputs), [v.output for v in outputs]
