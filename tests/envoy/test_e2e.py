"""A real Envoy 1.40.0, configured only by the patches of an EnvoyFilter, really limits.

The EnvoyFilter is placed into a static bootstrap by the harness (as Istio would apply it), Envoy runs on
loopback in front of a Python upstream, and requests go through it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import efharness as h
from run_envoy import run_envoy, upstream

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _ef(name: str) -> dict:
    return h.envoy_filters(h.load_docs((FIXTURES / name).read_text()))[0]


def _inbound(env) -> str:
    return next(n for n in env.ports if n.startswith("virtualInbound_"))


def burst(env, listener: str, n: int, headers: dict | None = None) -> Counter:
    return Counter(env.get(listener, "/", headers)[0] for _ in range(n))


def run_ef(envoy_latest, ef):
    topo = h.derive_topology([ef])
    h.apply_envoy_filter(topo, ef)
    return topo


def test_quota_5_per_60s_gives_exactly_5_ok_then_429(envoy_latest):
    topo = run_ef(envoy_latest, _ef("local-generic-inbound.yaml"))
    with upstream() as up, run_envoy(envoy_latest, topo, up.server_address[1]) as env:
        listener = _inbound(env)
        codes = [env.get(listener, "/reviews/1")[0] for _ in range(20)]
        assert codes == [200] * 5 + [429] * 15, codes
        assert up.hits == 5, "limited requests must not reach the upstream"
        status, headers = env.get(listener, "/")
        assert status == 429
        assert headers.get("x-meshplane-limited") == "true", "responseHeadersToAdd is sent on limited responses"
        stats = env.stats()
        assert stats["http_local_rate_limiter.http_local_rate_limit.rate_limited"] == 16
        assert stats["http_local_rate_limiter.http_local_rate_limit.ok"] == 5


def test_header_match_charges_its_own_bucket_only(envoy_latest):
    topo = run_ef(envoy_latest, _ef("local-header-buckets.yaml"))
    with upstream() as up, run_envoy(envoy_latest, topo, up.server_address[1]) as env:
        listener = _inbound(env)
        assert burst(env, listener, 6, {"x-user": "alice"}) == Counter({200: 2, 429: 4})
        # bob's bucket (3) is untouched by alice's 6 requests
        assert burst(env, listener, 6, {"x-user": "bob"}) == Counter({200: 3, 429: 3})
        # requests matching no descriptor only use the default bucket (100000)
        assert burst(env, listener, 10, {"x-user": "carol"}) == Counter({200: 10})
        assert burst(env, listener, 10) == Counter({200: 10})
        # and alice is still limited
        assert env.get(listener, "/", {"x-user": "alice"})[0] == 429
        assert up.hits == 2 + 3 + 10 + 10


def test_outbound_limit_applies_to_its_vhost(envoy_latest):
    ef = _ef("outbound-route.yaml")
    value = ef["spec"]["configPatches"][2]["patch"]["value"]["typed_per_filter_config"][
        "envoy.filters.http.local_ratelimit"]["value"]
    value["descriptors"][0]["tokenBucket"].update(maxTokens=3, tokensPerFill=3)
    topo = run_ef(envoy_latest, ef)
    with upstream() as up, run_envoy(envoy_latest, topo, up.server_address[1]) as env:
        out = next(n for n in env.ports if n == "0.0.0.0_9080")
        host = {"host": "reviews.default.svc.cluster.local:9080"}
        assert burst(env, out, 8, host) == Counter({200: 3, 429: 5})
        # the inbound listener carries no limit at all
        assert burst(env, _inbound(env), 8) == Counter({200: 8})


def test_gateway_vhost_limit_uses_the_vhost_rate_limits(envoy_latest):
    """VIRTUAL_HOST patches: the vhost's rate_limits (a :path regex) feed the vhost's LocalRateLimit."""
    ef = _ef("gateway-route-and-vhost.yaml")
    value = ef["spec"]["configPatches"][4]["patch"]["value"]["typed_per_filter_config"][
        "envoy.filters.http.local_ratelimit"]["value"]
    value["descriptors"][0]["tokenBucket"] = {"fillInterval": "60s", "maxTokens": 4, "tokensPerFill": 4}
    topo = run_ef(envoy_latest, ef)
    with upstream() as up, run_envoy(envoy_latest, topo, up.server_address[1]) as env:
        host = {"host": "bookinfo.example.com"}
        assert burst_path(env, "0.0.0.0_80", "/api/v1/books", 10, host) == Counter({200: 4, 429: 6})
        status, headers = env.get("0.0.0.0_80", "/api/v1/books", host)
        assert status == 429 and headers.get("x-limited-by") == "meshplane"
        assert burst_path(env, "0.0.0.0_80", "/static/logo.png", 10, host) == Counter({200: 10})


def burst_path(env, listener: str, path: str, n: int, headers: dict) -> Counter:
    return Counter(env.get(listener, path, headers)[0] for _ in range(n))


def test_global_limit_descriptors_reach_the_rls_and_its_verdict_is_obeyed(envoy_latest):
    """strategy: global. Envoy's ratelimit filter (configured through the TypedStruct of the EnvoyFilter)
    sends the descriptors the route actions build to the RLS cluster the filter names; their keys and values
    are exactly those of the ConfigMap, and OVER_LIMIT becomes HTTP 429. The RLS is scripts/envoy/rls.py
    (the real envoyproxy/ratelimit is not installable here), driven by the ConfigMap's config.yaml."""
    from rls import allow_slow_rls, serve

    docs = h.load_docs((FIXTURES / "global-header.yaml").read_text())
    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    h.check_rls_configmap(cm)
    config = h.rls_config(cm)
    for d in config["descriptors"]:  # hour windows: a burst never straddles a window edge
        if "rate_limit" in d:
            d["rate_limit"]["unit"] = "HOUR"
    generic = next(d for d in config["descriptors"] if d["value"].endswith("Id[2970232041]"))
    generic["rate_limit"]["requests_per_unit"] = 5
    header = next(d for d in config["descriptors"] if d["key"] == "header_match")
    header["rate_limit"]["requests_per_unit"] = 2
    ef = h.envoy_filters(docs)[0]
    allow_slow_rls(ef)
    topo = run_ef(envoy_latest, ef)
    with upstream() as up, serve(config) as (rls, rls_port), \
            run_envoy(envoy_latest, topo, up.server_address[1], rls_port=rls_port) as env:
        listener = _inbound(env)
        alice = {"x-user": "alice"}
        assert [env.get(listener, "/", alice)[0] for _ in range(3)] == [200, 200, 429]  # header bucket: 2
        assert [env.get(listener, "/")[0] for _ in range(3)] == [200, 200, 429]  # generic: 3 + 2 = 5
        assert up.hits == 4
        assert len(rls.seen) == 6, "every request was decided by the RLS"
        domain, sent = rls.seen[0]
        assert domain == "slime"
        assert sent == [
            [("generic_key", "Service[productpage.default]-Id[2970232041]")],
            [("header_match", "Service[productpage.default]-Id[3]")],
            [("generic_key", "Service[productpage.default]-Id[4]"), ("remote_address", "127.0.0.1")],
        ]
        assert rls.seen[-1][1][1][0][0] != "header_match", "no header, no header descriptor"
