"""Hand-written EnvoyFilters in Slime's exact output shape (slime.md §2.3-2.5), validated by real Envoys.

They are the regression set that does not depend on meshctl: if Envoy changes what it accepts, these fail."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

import efharness as h

FIXTURES = Path(__file__).resolve().parent / "fixtures"

FIXTURE_FILES = sorted(FIXTURES.glob("*.yaml"))


def test_fixture_set_is_complete():
    names = {p.stem for p in FIXTURE_FILES}
    assert {"local-by-method", "local-generic-inbound", "local-header-buckets", "local-query-sourceip",
            "outbound-route", "gateway-route-and-vhost", "global-header"} <= names


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_fixture_accepted(envoy, path):
    docs = h.load_docs(path.read_text())
    cms = [d for d in docs if d.get("kind") == "ConfigMap"]
    for cm in cms:
        h.check_rls_configmap(cm)
    efs = h.envoy_filters(docs)
    assert efs, f"{path.name} has no EnvoyFilter"
    for ef in efs:
        _, boot = h.build(ef)
        v = h.envoy_validate(envoy, boot)
        assert v.ok, f"{path.name} {h.ef_name(ef)} rejected by {envoy}:\n{v.output}"
        assert h.lint_local_descriptors(boot) == []
        assert h.lint_global_descriptors(boot, [h.rls_config(cm) for cm in cms]) == []


def _local_ef() -> dict:
    return h.envoy_filters(h.load_docs((FIXTURES / "local-generic-inbound.yaml").read_text()))[0]


def _per_route_value(ef: dict) -> dict:
    return ef["spec"]["configPatches"][2]["patch"]["value"]["typed_per_filter_config"][
        "envoy.filters.http.local_ratelimit"]["value"]


def _reject(envoy: str, ef: dict, needle: str) -> None:
    _, boot = h.build(ef)
    v = h.envoy_validate(envoy, boot)
    assert not v.ok, f"Envoy {envoy} accepted a broken EnvoyFilter"
    assert needle in v.output, f"expected {needle!r} in Envoy's message:\n{v.output}"


# The check can fail: each of these is a one-field corruption of an accepted fixture.

def test_rejects_fill_interval_below_50ms(envoy):
    ef = _local_ef()
    _per_route_value(ef)["descriptors"][0]["tokenBucket"]["fillInterval"] = "0.01s"
    _reject(envoy, ef, "fill timer must be >= 50ms")


def test_rejects_zero_fill_interval(envoy):
    ef = _local_ef()
    _per_route_value(ef)["tokenBucket"]["fillInterval"] = "0s"
    _reject(envoy, ef, "FillInterval")


def test_rejects_bad_type_url(envoy):
    ef = _local_ef()
    ef["spec"]["configPatches"][1]["patch"]["value"]["typed_config"]["type_url"] += "X"
    _reject(envoy, ef, "Didn't find a registered implementation")


def test_rejects_bad_any_type(envoy):
    ef = _local_ef()
    ef["spec"]["configPatches"][2]["patch"]["value"]["typed_per_filter_config"][
        "envoy.filters.http.local_ratelimit"]["@type"] = "type.googleapis.com/udpa.type.v1.NoSuchType"
    _reject(envoy, ef, "NoSuchType")


def test_rejects_unknown_field_inside_typed_struct(envoy):
    ef = _local_ef()
    _per_route_value(ef)["descriptors"][0]["entries"][0]["valu"] = "x"
    _reject(envoy, ef, "valu")


def test_rejects_unknown_field_in_route_action(envoy):
    ef = _local_ef()
    ef["spec"]["configPatches"][0]["patch"]["value"]["route"]["rate_limits"][0]["actions"][0] = {
        "generic_key": {"descriptor_valu": "x"}}
    _reject(envoy, ef, "descriptor_valu")


def test_rejects_empty_stat_prefix(envoy):
    ef = _local_ef()
    _per_route_value(ef)["statPrefix"] = ""
    _reject(envoy, ef, "StatPrefix")


def test_rejects_wrong_json_type(envoy):
    ef = _local_ef()
    _per_route_value(ef)["descriptors"][0]["tokenBucket"]["maxTokens"] = "five"
    _reject(envoy, ef, "maxTokens")


def test_rejects_slime_placeholder_with_value_in_empty(envoy):
    """Upstream Slime's enableRatelimitPlaceholderInRoute writes `config: {@type: Empty, value: {}}`;
    google.protobuf.Empty has no field `value`, so a real Envoy rejects it. meshctl must not copy that."""
    ef = h.envoy_filters(h.load_docs((FIXTURES / "global-header.yaml").read_text()))[0]
    cfg = ef["spec"]["configPatches"][2]["patch"]["value"]["typed_per_filter_config"]["envoy.filters.http.ratelimit"]
    cfg["config"]["value"] = {}
    _reject(envoy, ef, "value")


def test_zero_max_tokens_is_version_dependent(envoy_latest, envoy_oldest):
    """Quota 0 gives max_tokens 0: Envoy 1.40 accepts it, 1.36 (max_tokens > 0) rejects it, which is why
    both versions are checked."""
    ef = _local_ef()
    _per_route_value(ef)["descriptors"][0]["tokenBucket"]["maxTokens"] = 0
    _, boot = h.build(ef)
    assert h.envoy_validate(envoy_latest, boot).ok
    old = h.envoy_validate(envoy_oldest, copy.deepcopy(boot))
    assert not old.ok and "MaxTokens: value must be greater than 0" in old.output


def test_legacy_filter_names_are_placed(envoy):
    """ENVOY_FILTER_NAME_LEGACY: envoy.http_connection_manager / envoy.router match the canonical filters."""
    ef = _local_ef()
    fm = ef["spec"]["configPatches"][1]["match"]["listener"]["filterChain"]["filter"]
    fm["name"], fm["subFilter"]["name"] = "envoy.http_connection_manager", "envoy.router"
    _, boot = h.build(ef)
    assert h.envoy_validate(envoy, boot).ok
    assert "local_ratelimit" in yaml.safe_dump(boot)


def test_lint_finds_a_local_descriptor_no_action_produces():
    """Envoy accepts a descriptor whose value no route action produces; it just never limits. We catch it."""
    ef = _local_ef()
    _per_route_value(ef)["descriptors"][0]["entries"][0]["value"] = "Service[reviews.default]-Id[1]"
    _, boot = h.build(ef)
    problems = h.lint_local_descriptors(boot)
    assert len(problems) == 1 and "produced by no rate_limits action" in problems[0]


def test_lint_finds_a_global_descriptor_missing_from_the_configmap():
    docs = h.load_docs((FIXTURES / "global-header.yaml").read_text())
    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    tree = h.rls_config(cm)
    tree["descriptors"] = [d for d in tree["descriptors"] if d["key"] != "header_match"]
    _, boot = h.build(h.envoy_filters(docs)[0])
    problems = h.lint_global_descriptors(boot, [tree])
    assert len(problems) == 1 and "Id[3]" in problems[0]


def test_lint_leaves_custom_key_descriptors_alone():
    """custom_key/custom_value descriptors get their route action from an EnvoyPlugin, not this EnvoyFilter."""
    ef = _local_ef()
    _per_route_value(ef)["descriptors"].append({"entries": [{"key": "plugin-key", "value": "v"}],
                                                "tokenBucket": {"fillInterval": "60s", "maxTokens": 1}})
    _, boot = h.build(ef)
    assert h.lint_local_descriptors(boot) == []
