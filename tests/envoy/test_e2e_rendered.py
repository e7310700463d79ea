"""End to end from a SmartLimiter: `meshctl render` → EnvoyFilter → real Envoy 1.40.0 on loopback → limits.

The inputs are in tests/envoy/smartlimiters/. Nothing in between is hand-written: the harness only places
the rendered patches where Istio would (the global test raises the RLS timeout: see rls.allow_slow_rls)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import efharness as h
from run_envoy import run_envoy, upstream
from test_rendered_validate import render

ROOT = Path(__file__).resolve().parents[2]

INPUTS = ROOT / "tests" / "envoy" / "smartlimiters"


def rendered(meshctl: str, name: str, slow_rls: bool = False) -> tuple[dict, list[dict]]:
    docs = render(meshctl, INPUTS / name)
    efs = h.envoy_filters(docs)
    assert len(efs) == 1, f"{name}: expected one EnvoyFilter, got {[h.ef_name(e) for e in efs]}"
    if slow_rls:
        from rls import allow_slow_rls

        allow_slow_rls(efs[0])
    topo = h.derive_topology(efs)
    h.apply_envoy_filter(topo, efs[0])
    return topo, docs


def inbound(env) -> str:
    return next(n for n in env.ports if n.startswith("virtualInbound_"))


def codes(env, n: int, headers: dict | None = None) -> list[int]:
    listener = inbound(env)
    return [env.get(listener, "/", headers)[0] for _ in range(n)]


def test_rendered_quota_5_per_60s_limits_a_burst_of_20(envoy_latest, meshctl):
    topo, _ = rendered(meshctl, "local-quota5.yaml")
    with upstream() as up, run_envoy(envoy_latest, topo, up.server_address[1]) as env:
        got = codes(env, 20)
        assert got == [200] * 5 + [429] * 15, got
        assert up.hits == 5


def test_rendered_header_descriptors_have_their_own_buckets(envoy_latest, meshctl):
    topo, _ = rendered(meshctl, "local-header-buckets.yaml")
    with upstream() as up, run_envoy(envoy_latest, topo, up.server_address[1]) as env:
        assert Counter(codes(env, 6, {"x-user": "alice"})) == Counter({200: 2, 429: 4})
        assert Counter(codes(env, 6, {"x-user": "bob"})) == Counter({200: 3, 429: 3})
        assert Counter(codes(env, 10)) == Counter({200: 10})
        assert codes(env, 1, {"x-user": "alice"}) == [429]


def test_rendered_global_limit_is_enforced_through_the_rls(envoy_latest, meshctl):
    from rls import serve

    topo, docs = rendered(meshctl, "global-quota.yaml", slow_rls=True)
    cms = [d for d in docs if d.get("kind") == "ConfigMap"]
    assert len(cms) == 1, "a global limit renders the RLS ConfigMap"
    h.check_rls_configmap(cms[0])
    with upstream() as up, serve(h.rls_config(cms[0])) as (rls, rls_port), \
            run_envoy(envoy_latest, topo, up.server_address[1], rls_port=rls_port) as env:
        assert codes(env, 3, {"x-user": "alice"}) == [200, 200, 429]
        assert codes(env, 3) == [200, 200, 429]
        assert up.hits == 4
        assert len(rls.seen) == 6, "every request was decided by the RLS"
        assert all(domain == "slime" for domain, _ in rls.seen)


def test_flagship_example_reviews_local_is_obeyed(envoy_latest, meshctl):
    """examples/crds/reviews-local.yaml: a shared bucket of G per minute, and requests with the header match
    also charged to their own bucket of T < G. Envoy checks the slower bucket first and stops at the first
    empty one, so after T+1 header requests the shared bucket has G-T tokens left. The numbers and the
    header are read from the rendered EnvoyFilter, so the test follows the example."""
    docs = render(meshctl, ROOT / "examples" / "crds" / "reviews-local.yaml")
    (ef,) = h.envoy_filters(docs)
    per_route = next(cp["patch"]["value"]["typed_per_filter_config"]["envoy.filters.http.local_ratelimit"]["value"]
                     for cp in ef["spec"]["configPatches"] if "typed_per_filter_config" in cp["patch"]["value"])
    actions = next(cp["patch"]["value"]["route"]["rate_limits"] for cp in ef["spec"]["configPatches"]
                   if "route" in cp["patch"]["value"])
    buckets = {d["entries"][0]["key"]: d["tokenBucket"]["maxTokens"] for d in per_route["descriptors"]}
    g, t = buckets["generic_key"], buckets["header_match"]
    assert 0 < t < g
    hdr = next(a["header_value_match"]["headers"][0] for rl in actions for a in rl["actions"] if "header_value_match" in a)
    headers = {hdr["name"]: hdr["exact_match"]}
    added = {x["header"]["key"]: x["header"]["value"] for x in per_route.get("responseHeadersToAdd", [])}
    topo = h.derive_topology([ef])
    h.apply_envoy_filter(topo, ef)
    with upstream() as up, run_envoy(envoy_latest, topo, up.server_address[1]) as env:
        listener = inbound(env)
        assert [env.get(listener, "/", headers)[0] for _ in range(t + 1)] == [200] * t + [429]
        got = [env.get(listener, "/")[0] for _ in range(g + 5)]
        assert got == [200] * (g - t) + [429] * (t + 5), got
        status, resp_headers = env.get(listener, "/")
        assert status == 429
        for k, v in added.items():
            assert resp_headers.get(k) == v
        assert up.hits == g
