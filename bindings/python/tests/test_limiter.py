"""meshplane.limiter and meshplane.simulate against the installed wheel (a ManualClock, no sleeps)."""

import json
import os
import subprocess
import threading

import pytest

import meshplane
from meshplane.limiter import ALGORITHMS, AdaptiveLimiter, Decision, LocalRateLimiter, ManualClock, Permit

# Slime's example: quota 10 per 60 s on one descriptor, a generous default bucket.
SLIME = {
    "statPrefix": "http_local_rate_limiter",
    "tokenBucket": {"maxTokens": 100000, "tokensPerFill": 100000, "fillInterval": "1s"},
    "enableXRatelimitHeaders": "DRAFT_VERSION_03",
    "descriptors": [
        {
            "entries": [{"key": "generic_key", "value": "Service[a.default]-Id[1]"}],
            "tokenBucket": {"maxTokens": 10, "tokensPerFill": 10, "fillInterval": "60s"},
        }
    ],
}
REQ = [{"generic_key": "Service[a.default]-Id[1]"}]


def meshctl():
    path = os.environ.get("MESHCTL")
    assert path and os.path.exists(path), "MESHCTL must point at the meshctl binary"
    return path


def test_manual_clock():
    c = ManualClock()
    assert c.now() == 0.0
    c.advance(1.5)
    c.advance(0)
    assert c.now() == 1.5
    with pytest.raises(ValueError):
        c.advance(-1)
    with pytest.raises(ValueError, match="overflow"):
        c.advance(1e12)
    assert "1.5" in repr(c)


def test_local_rate_limiter_slime_example():
    clock = ManualClock()
    rl = LocalRateLimiter.from_envoy_json(SLIME, clock=clock)
    decisions = [rl.check(REQ) for _ in range(11)]
    assert [d.allowed for d in decisions] == [True] * 10 + [False]
    denied = decisions[-1]
    assert isinstance(denied, Decision)
    assert (denied.limit, denied.remaining, denied.bucket, denied.descriptor_index) == (10, 0, "descriptor", 0)
    assert denied.reset_seconds is not None and 0 < denied.reset_seconds <= 60
    assert denied.headers
    assert decisions[0].remaining == 9
    clock.advance(6)  # continuous refill: one token every 6 s
    assert rl.check(REQ).allowed
    assert not rl.check(REQ).allowed
    assert "allowed=False" in repr(denied)
    assert denied == denied and decisions[0] != denied


def test_descriptor_forms_and_default_bucket():
    text = json.dumps(SLIME)
    rl = LocalRateLimiter.from_envoy_json(text, clock=ManualClock())
    assert rl.check([[("generic_key", "Service[a.default]-Id[1]")]]).bucket == "descriptor"
    d = rl.check()
    assert (d.allowed, d.bucket, d.limit, d.descriptor_index) == (True, "default", 100000, None)
    assert rl.check([{"other": "x"}]).bucket == "default"
    none = LocalRateLimiter.from_envoy_json({"statPrefix": "x"}, clock=ManualClock()).check()
    assert (none.allowed, none.bucket, none.limit, none.remaining, none.reset_seconds, none.headers) == (
        True, None, None, None, None, False)
    with pytest.raises(TypeError):
        rl.check(["generic_key"])  # type: ignore[list-item]


def test_system_clock_by_default():
    assert LocalRateLimiter.from_envoy_json(SLIME).check(REQ).allowed


def test_invalid_local_config():
    with pytest.raises(ValueError):
        LocalRateLimiter.from_envoy_json("{not json")
    with pytest.raises(ValueError):
        LocalRateLimiter.from_envoy_json({"statPrefix": "x", "tokenBucket": {"maxTokens": "many"}})
    with pytest.raises(TypeError):
        LocalRateLimiter.from_envoy_json({"statPrefix": object()})  # type: ignore[dict-item]


@pytest.mark.parametrize("algorithm", ["gradient", "gradient2", "vegas", "aimd"])
def test_adaptive_limiters_admit_and_release(algorithm):
    clock = ManualClock()
    lim = AdaptiveLimiter(algorithm, clock=clock)
    assert lim.algorithm == algorithm
    limit = lim.limit
    assert limit is not None and limit > 0
    permits = []
    while (p := lim.acquire()) is not None:
        permits.append(p)
        assert len(permits) <= 10_000
    assert len(permits) == limit == lim.in_flight
    assert permits[-1].in_flight == limit
    for p in permits:
        clock.advance(0.01)
        p.release("success", 0.01)
        assert p.released
    assert lim.in_flight == 0
    assert lim.acquire() is not None
    assert algorithm in repr(lim)


def test_aimd_backs_off_on_drops_and_options_apply():
    clock = ManualClock()
    lim = AdaptiveLimiter("aimd", clock=clock, initial_limit=10, min_limit=1, backoff_ratio=0.5)
    assert lim.limit == 10
    lim.acquire().release("dropped", 0.01)  # type: ignore[union-attr]
    assert lim.limit == 5
    lim.acquire().release("ignored", 0.0)  # type: ignore[union-attr]
    assert lim.limit == 5
    fixed = AdaptiveLimiter("fixed", limit=2)
    a, b = fixed.acquire(), fixed.acquire()
    assert a is not None and b is not None and fixed.acquire() is None
    g = AdaptiveLimiter("gradient", clock=clock, fixed_min_rtt="0.05s", concurrency_update_interval="0.1s")
    assert g.limit is not None
    assert sorted(ALGORITHMS) == ["aimd", "fixed", "gradient", "gradient2", "vegas"]


def test_permit_errors():
    lim = AdaptiveLimiter("aimd")
    p = lim.acquire()
    assert isinstance(p, Permit)
    with pytest.raises(ValueError, match="outcome"):
        p.release("maybe", 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        p.release("success", -1.0)
    assert not p.released
    p.release()
    with pytest.raises(meshplane.MeshplaneError, match="already released"):
        p.release("success", 0.1)


def test_adaptive_config_errors_list_every_field():
    with pytest.raises(ValueError) as e:
        AdaptiveLimiter("aimd", initial_limit=-1, backof_ratio=0.5)
    assert "initial_limit" in str(e.value) and "backof_ratio: unknown field" in str(e.value)
    with pytest.raises(ValueError, match="unknown algorithm"):
        AdaptiveLimiter("nope")
    with pytest.raises(ValueError, match="limit: required"):
        AdaptiveLimiter("fixed")
    with pytest.raises(ValueError, match="duration"):
        AdaptiveLimiter("gradient", min_rtt_interval=5)


def test_limiter_is_shared_between_threads():
    lim = AdaptiveLimiter("fixed", limit=1000)
    got = []

    def work():
        for _ in range(200):
            p = lim.acquire()
            assert p is not None
            got.append(p)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert lim.in_flight == 800 == len(got)


def test_simulate_matches_meshctl_json():
    for limiter, kwargs, flags in [
        ("gradient", {}, []),
        ("aimd", {"duration": 6.0, "seed": 7}, ["--duration", "6", "--seed", "7"]),
        ("static", {"duration": 4.0, "static_limit": 20, "no_halving": True}, ["--duration", "4", "--static-limit", "20", "--no-halving"]),
        ("vegas", {"duration": 5.0, "load": 2.0, "halve_at": 3.0, "slots": 10, "service_ms": 5.0, "slo_ms": 40.0},
         ["--duration", "5", "--load", "2", "--halve-at", "3", "--slots", "10", "--service-ms", "5", "--slo-ms", "40"]),
    ]:
        ours = meshplane.simulate(limiter, **kwargs)
        cli = subprocess.run([meshctl(), "simulate", "--json", "--limiter", limiter, *flags],
                             capture_output=True, text=True, check=True, timeout=300)
        assert ours == json.loads(cli.stdout), limiter
    assert ours["limiter"] == "vegas" and ours["halve_at_s"] == 3.0


def test_simulate_defaults_and_errors():
    r = meshplane.simulate(duration=4.0)
    assert r["limiter"] == "gradient" and r["load"] == 3.0 and r["seed"] == 1
    assert 0 < r["goodput_ratio"] <= 1.05
    assert meshplane.simulate(duration=4.0) == r  # deterministic
    with pytest.raises(ValueError, match="unknown limiter"):
        meshplane.simulate("nope")
    with pytest.raises(ValueError, match="load"):
        meshplane.simulate(load=0.0)
    with pytest.raises(ValueError, match="not a valid duration"):
        meshplane.simulate(duration=-1.0)


def test_simulate_releases_the_gil():
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(1)
            stop.wait(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        meshplane.simulate("gradient", duration=20.0)
    finally:
        stop.set()
        t.join()
    assert len(ticks) > 10
