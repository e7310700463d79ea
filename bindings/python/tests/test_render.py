"""meshplane.render / render_yaml / validate / crds against the installed wheel, checked against
`meshctl render` on the repo's examples."""

import json
import os
import pathlib
import subprocess
import warnings

import pytest

import meshplane
from meshplane.limiter import LocalRateLimiter, ManualClock

ROOT = pathlib.Path(__file__).resolve().parents[3]
CRDS = ROOT / "examples" / "crds"
METRICS = CRDS / "metrics" / "reviews-adaptive.yaml"

SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "reviews", "namespace": "default"},
           "spec": {"selector": {"app": "reviews"}}}
LIMITER = {
    "apiVersion": "microservice.slime.io/v1alpha2",
    "kind": "SmartLimiter",
    "metadata": {"name": "reviews", "namespace": "default"},
    "spec": {"sets": {"_base": {"descriptor": [
        {"action": {"quota": "5", "fill_interval": {"seconds": 60}, "strategy": "single"},
         "condition": "true", "target": {"port": 9080}}]}}},
}


def meshctl(*args):
    path = os.environ.get("MESHCTL")
    assert path and os.path.exists(path), "MESHCTL must point at the meshctl binary"
    return subprocess.run([path, *args], capture_output=True, text=True, timeout=120)


def as_text(docs):
    return "---\n".join(json.dumps(d) + "\n" for d in docs)


def test_render_yaml_matches_meshctl_on_every_example():
    examples = sorted(CRDS.glob("*.yaml"))
    assert len(examples) >= 6
    for path in examples:
        text = path.read_text()
        flags, kwargs = [], {}
        if path.name == "reviews-adaptive.yaml":
            flags, kwargs = ["--metrics", str(METRICS)], {"metrics": METRICS.read_text()}
        cli = meshctl("render", *flags, str(path))
        assert cli.returncode == 0, cli.stderr
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            assert meshplane.render_yaml(text, **kwargs) == cli.stdout, path.name
        cli = meshctl("render", "--status", *flags, str(path))
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            assert meshplane.render_yaml(text, status=True, **kwargs) == cli.stdout, path.name


def test_meshctl_flags_as_keywords():
    text = (CRDS / "productpage-global.yaml").read_text()
    flags = ["--domain", "d1", "--rls-service", "rls.x.svc", "--rls-port", "9999",
             "--disable-insert-local-rate-limit", "--disable-insert-global-rate-limit"]
    cli = meshctl("render", *flags, str(CRDS / "productpage-global.yaml"))
    assert cli.returncode == 0, cli.stderr
    ours = meshplane.render_yaml(text, domain="d1", rls_service="rls.x.svc", rls_port=9999,
                                 disable_insert_local_rate_limit=True, disable_insert_global_rate_limit=True)
    assert ours == cli.stdout and "d1" in ours


def test_render_dicts_and_text_agree():
    docs = [LIMITER, SERVICE]
    objs = meshplane.render(docs)
    assert objs == meshplane.render(as_text(docs))
    assert meshplane.render_yaml(docs) == meshplane.render_yaml(as_text(docs))
    (ef,) = objs
    assert ef["kind"] == "EnvoyFilter" and ef["metadata"]["name"] == "reviews.default.ratelimit"
    assert ef["spec"]["workloadSelector"] == {"labels": {"app": "reviews"}}
    assert meshplane.validate(docs) == []
    assert meshplane.render(tuple(docs)) == objs


def test_rendered_local_rate_limit_drives_the_limiter():
    (ef,) = meshplane.render([LIMITER, SERVICE])
    per_route = [p["patch"]["value"]["typed_per_filter_config"] for p in ef["spec"]["configPatches"]
                 if "typed_per_filter_config" in p["patch"]["value"]]
    config = per_route[0]["envoy.filters.http.local_ratelimit"]["value"]
    entry = config["descriptors"][0]["entries"][0]
    rl = LocalRateLimiter.from_envoy_json(config, clock=ManualClock())
    req = [{entry["key"]: entry["value"]}]
    assert [rl.check(req).allowed for _ in range(6)] == [True] * 5 + [False]


def test_status_and_metrics():
    text = (CRDS / "reviews-adaptive.yaml").read_text()
    metrics = {k: v for k, v in [("_base.pod", 3)]}
    with pytest.raises(meshplane.ValidationError):
        meshplane.render(text, metrics)  # v1's metric is missing
    out = meshplane.render(text, METRICS.read_text(), status=True)
    status = out[-1]["status"]
    assert status["ratelimitStatus"]["_base"]["descriptor"][0]["action"]["quota"] == "34"
    assert status["metricStatus"]["v1.cpu.sum"] == "185.76"
    with pytest.raises(meshplane.ValidationError) as e:
        meshplane.render(text, {"a": [1]})
    assert e.value.errors and all(p.startswith("metrics") for p, _ in e.value.errors)


def test_validation_error_lists_every_problem_with_its_path():
    bad = json.loads(json.dumps(LIMITER))
    d = bad["spec"]["sets"]["_base"]["descriptor"][0]
    d["action"]["quota"] = "0"
    d["conditon"] = "true"
    with pytest.raises(meshplane.ValidationError) as e:
        meshplane.validate([bad, SERVICE])
    errors = e.value.errors
    assert len(errors) >= 2
    assert all(isinstance(p, str) and isinstance(m, str) for p, m in errors)
    paths = [p for p, _ in errors]
    assert "default/reviews: spec.sets._base.descriptor[0].action.quota" in paths
    assert any("conditon" in p for p in paths)
    assert str(e.value).splitlines() == [f"{p}: {m}" for p, m in errors]
    # the same lines as meshctl validate prints
    cli = subprocess.run([os.environ["MESHCTL"], "validate", "-"], input=as_text([bad, SERVICE]),
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 1 and cli.stderr.splitlines() == str(e.value).splitlines()
    d["action"]["quota"] = "5"
    assert meshplane.validate([bad, SERVICE], allow_unknown_fields=True) == []


def test_warnings():
    text = as_text([LIMITER, SERVICE, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}])
    assert any("Pod ignored" in w for w in meshplane.validate(text))
    with pytest.warns(meshplane.RenderWarning, match="Pod ignored"):
        meshplane.render(text)
    with pytest.warns(meshplane.RenderWarning):
        meshplane.render_yaml(text)


def test_input_errors():
    with pytest.raises(meshplane.ValidationError) as e:
        meshplane.render("a: [unclosed")
    assert e.value.errors[0][0] == ""
    with pytest.raises(meshplane.ValidationError, match="kind"):
        meshplane.render([{"apiVersion": "v1"}])
    with pytest.raises(TypeError, match="documents\\[0\\]"):
        meshplane.render([{"x": object()}])
    with pytest.raises(TypeError, match="dict keys must be str"):
        meshplane.render([{1: "x"}])  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="cycle"):
        loop: dict = {}
        loop["x"] = loop
        meshplane.render([loop])
    with pytest.raises(TypeError):
        meshplane.render(42)  # type: ignore[arg-type]


def test_crds():
    crds = meshplane.crds()
    assert [c["kind"] for c in crds] == ["CustomResourceDefinition"]
    assert crds[0]["spec"]["names"]["kind"] == "SmartLimiter"
    cli = meshctl("crds")
    assert cli.returncode == 0
    assert crds[0]["metadata"]["name"] in cli.stdout
