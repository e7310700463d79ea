"""The harness places patches the way Istio does, and refuses patches that would match nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import efharness as h

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def ef(*patches: dict) -> dict:
    return {"apiVersion": "networking.istio.io/v1alpha3", "kind": "EnvoyFilter",
            "metadata": {"name": "t", "namespace": "default"}, "spec": {"configPatches": list(patches)}}


def route_patch(context: str, vhost: str | None = None, route: str | None = "default", rc: str | None = None,
                value: dict | None = None, apply_to: str = "HTTP_ROUTE") -> dict:
    vh: dict = {}
    if vhost:
        vh["name"] = vhost
    if route:
        vh["route"] = {"name": route}
    rcm: dict = {"vhost": vh}
    if rc:
        rcm["name"] = rc
    return {"applyTo": apply_to, "match": {"context": context, "routeConfiguration": rcm},
            "patch": {"operation": "MERGE", "value": value or {"route": {"rate_limits": [{"actions": [
                {"generic_key": {"descriptor_value": "v"}}]}]}}}}


FILTER = {"name": "envoy.filters.http.local_ratelimit", "typed_config": {
    "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
    "type_url": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
    "value": {"statPrefix": "p"}}}


def filter_patch(context: str, sub: str = "envoy.filters.http.router", port: int | None = None) -> dict:
    listener: dict = {"filterChain": {"filter": {"name": "envoy.filters.network.http_connection_manager",
                                                 "subFilter": {"name": sub}}}}
    if port:
        listener["portNumber"] = port
    return {"applyTo": "HTTP_FILTER", "match": {"context": context, "listener": listener},
            "patch": {"operation": "INSERT_BEFORE", "value": FILTER}}


def listener_of(boot: dict, name: str) -> dict:
    return next(l for l in boot["static_resources"]["listeners"] if l["name"] == name)


def hcm(boot: dict, name: str) -> dict:
    return listener_of(boot, name)["filter_chains"][0]["filters"][-1]["typed_config"]


def test_http_filter_goes_right_before_the_router_in_its_context_only():
    _, boot = h.build(ef(filter_patch("SIDECAR_INBOUND")))
    assert [f["name"] for f in hcm(boot, "virtualInbound_9080")["http_filters"]] == [
        "envoy.filters.http.local_ratelimit", "envoy.filters.http.router"]
    assert [f["name"] for f in hcm(boot, "0.0.0.0_9080")["http_filters"]] == ["envoy.filters.http.router"]
    assert [f["name"] for f in hcm(boot, "0.0.0.0_8080")["http_filters"]] == ["envoy.filters.http.router"]


def test_any_context_reaches_every_listener():
    _, boot = h.build(ef(filter_patch("ANY")))
    for l in boot["static_resources"]["listeners"]:
        assert l["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"][0]["name"] == FILTER["name"]


def test_route_merge_appends_lists_and_keeps_the_route_action():
    _, boot = h.build(ef(route_patch("SIDECAR_INBOUND"), route_patch("SIDECAR_INBOUND")))
    route = hcm(boot, "virtualInbound_9080")["route_config"]["virtual_hosts"][0]["routes"][0]
    assert route["route"]["cluster"] == "inbound|9080||"
    assert len(route["route"]["rate_limits"]) == 2, "repeated fields append, as proto merge does"


def test_snake_and_camel_spellings_are_one_field():
    camel = route_patch("SIDECAR_INBOUND", value={"route": {"rateLimits": [{"actions": [{"generic_key": {"descriptor_value": "w"}}]}]}})
    _, boot = h.build(ef(route_patch("SIDECAR_INBOUND"), camel))
    action = hcm(boot, "virtualInbound_9080")["route_config"]["virtual_hosts"][0]["routes"][0]["route"]
    assert len(action["rate_limits"]) == 2 and "rateLimits" not in action


def test_any_values_are_replaced_not_merged():
    a = {"typed_per_filter_config": {"f": {"@type": "t/A", "x": 1}}}
    b = {"typed_per_filter_config": {"f": {"@type": "t/B", "y": 2}}}
    dst: dict = {}
    h.proto_merge(dst, a)
    h.proto_merge(dst, b)
    assert dst == b


def test_vhost_and_route_names_create_istio_shaped_targets():
    topo, boot = h.build(ef(route_patch("SIDECAR_OUTBOUND", vhost="reviews.default.svc.cluster.local:9080")))
    rc = hcm(boot, "0.0.0.0_9080")["route_config"]
    assert rc["name"] == "9080"
    vh = next(v for v in rc["virtual_hosts"] if v["name"] == "reviews.default.svc.cluster.local:9080")
    assert vh["routes"][0]["route"]["rate_limits"]
    assert vh["routes"][0]["route"]["cluster"] == "outbound|9080||reviews.default.svc.cluster.local"


def test_vhost_only_route_match_hits_every_vhost_with_that_route():
    topo, boot = h.build(ef(route_patch("GATEWAY", route="foo")))
    routes = hcm(boot, "0.0.0.0_8080")["route_config"]["virtual_hosts"][0]["routes"]
    assert [r["name"] for r in routes] == ["foo", "default"]
    assert "rate_limits" in routes[0]["route"] and "rate_limits" not in routes[1]["route"]


@pytest.mark.parametrize("patch, needle", [
    (route_patch("SIDECAR_INBOUND", route="foo"), "inbound HTTP route is named 'default'"),
    (route_patch("SIDECAR_INBOUND", vhost="inbound|9080"), "inbound|http|PORT"),
    (route_patch("SIDECAR_OUTBOUND", vhost="reviews.default.svc.cluster.local"), "host:PORT"),
    (route_patch("GATEWAY", rc="8080"), "http.PORT"),
    (route_patch("SIDECAR_INBOUND", vhost="inbound|http|9080", rc="inbound|9090||"), "never inside"),
    (filter_patch("SIDECAR_INBOUND", sub="envoy.filters.http.cors"), "matches nothing"),
    ({"applyTo": "HTTP_FILTER", "match": {"context": "SIDECAR_INBOUND", "listener": {"filterChain": {"filter": {
        "name": "envoy.filters.network.tcp_proxy"}}}}, "patch": {"operation": "INSERT_FIRST", "value": FILTER}},
     "matches nothing"),
    (route_patch("SIDECAR_INBOUND", route=None, apply_to="VIRTUAL_HOST", rc="inbound|9080||",
                 value={"rate_limits": []}) | {"match": {"context": "SIDECAR_INBOUND", "routeConfiguration": {
                     "name": "inbound|9080||", "vhost": {"name": "inbound|http|9090"}}}}, "never inside"),
    ({"applyTo": "EXTENSION_CONFIG", "patch": {"operation": "ADD", "value": {"name": "x"}}}, "not supported"),
    ({"applyTo": "HTTP_FILTER", "match": {"context": "SIDECAR_INBOUND"}, "patch": {"operation": "INSERT_BEFORE",
                                                                                 "value": FILTER}}, "subFilter"),
    (route_patch("SIDECAR_SOMETHING"), "PatchContext"),
])
def test_patches_that_would_match_nothing_are_errors(patch, needle):
    with pytest.raises(h.HarnessError, match=None) as e:
        h.build(ef(patch))
    assert needle in str(e.value)


def test_explicit_topology_reports_a_missing_vhost():
    topo = h.derive_topology([])
    bad = ef(route_patch("SIDECAR_OUTBOUND", vhost="ratings.default.svc.cluster.local:9080"))
    with pytest.raises(h.HarnessError, match="matches nothing"):
        h.build(bad, topology=topo)


def test_configmap_is_checked():
    docs = h.load_docs((FIXTURES / "global-header.yaml").read_text())
    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    values = h.check_rls_configmap(cm)
    assert "Service[productpage.default]-Id[2970232041]" in values
    cm["data"]["config.yaml"] = cm["data"]["config.yaml"].replace("unit: MINUTE", "unit: FORTNIGHT")
    with pytest.raises(h.HarnessError, match="FORTNIGHT"):
        h.check_rls_configmap(cm)
    cm["data"] = {"config.yaml": "domain: slime\ndescriptors:\n- key: generic_key\n  value: v\n"}
    with pytest.raises(h.HarnessError, match="leaf without rate_limit"):
        h.check_rls_configmap(cm)


def test_cli_validates_a_stream(envoy_latest, capsys):
    assert h.main(["--envoy", envoy_latest, str(FIXTURES / "local-by-method.yaml")]) == 0
    assert capsys.readouterr().out.startswith("ok ")


def test_network_filter_cluster_and_route_configuration_patches_are_placed(envoy):
    net = {"applyTo": "NETWORK_FILTER", "match": {"context": "SIDECAR_INBOUND", "listener": {"filterChain": {
        "filter": {"name": "envoy.filters.network.http_connection_manager"}}}},
        "patch": {"operation": "INSERT_BEFORE", "value": {"name": "envoy.filters.network.local_ratelimit", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit",
            "stat_prefix": "conn", "token_bucket": {"max_tokens": 10, "fill_interval": "1s"}}}}}
    cluster = {"applyTo": "CLUSTER", "patch": {"operation": "ADD", "value": {
        "name": "extra", "type": "STATIC", "connect_timeout": "1s", "load_assignment": {"cluster_name": "extra"}}}}
    rc = {"applyTo": "ROUTE_CONFIGURATION", "match": {"context": "SIDECAR_OUTBOUND", "routeConfiguration": {"name": "9080"}},
          "patch": {"operation": "MERGE", "value": {"validate_clusters": False, "request_headers_to_add": [
              {"header": {"key": "x-mesh", "value": "1"}}]}}}
    _, boot = h.build(ef(net, cluster, rc))
    chain = listener_of(boot, "virtualInbound_9080")["filter_chains"][0]["filters"]
    assert [f["name"] for f in chain] == ["envoy.filters.network.local_ratelimit", "envoy.filters.network.http_connection_manager"]
    assert any(c["name"] == "extra" for c in boot["static_resources"]["clusters"])
    assert hcm(boot, "0.0.0.0_9080")["route_config"]["validate_clusters"] is False
    v = h.envoy_validate(envoy, boot)
    assert v.ok, v.output


def test_yaml11_boolean_lookalikes_are_found():
    text = "a:\n  prefix_match: yes\n  b: 'yes'\n  c: true\n  list:\n  - off\n  - offset\n  d: \"no\"\n  e: yes please\n"
    assert h.yaml11_ambiguities(text) == ["line 2: 'prefix_match: yes'", "line 6: '- off'"]
