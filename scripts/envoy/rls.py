"""A small in-process Envoy rate-limit service (envoy.service.ratelimit.v3) for the global e2e test.

The real envoyproxy/ratelimit (Go, with Redis) is in none of the registries this project may use, so this
implements the part of its behaviour the test relies on, from the same ConfigMap `config.yaml`:
descriptor trees matched entry by entry (a node with `value` matches that value, a node without one matches
any value), fixed windows aligned to the unit (SECOND..DAY), every matched descriptor counted on every
request, OVER_LIMIT when any descriptor is over. It also records what Envoy sent, so the test can check
the exact descriptors."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from concurrent import futures
from contextlib import contextmanager
from typing import Iterator

import grpc
from envoy.service.ratelimit.v3 import rls_pb2, rls_pb2_grpc

UNIT_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}


class RateLimitService(rls_pb2_grpc.RateLimitServiceServicer):
    def __init__(self, config: dict):
        self.domain = config["domain"]
        self.tree = config.get("descriptors") or []
        self.counts: dict[tuple, int] = defaultdict(int)
        self.seen: list[tuple[str, list[list[tuple[str, str]]]]] = []
        self.lock = threading.Lock()

    def _limit(self, entries: list[tuple[str, str]]) -> dict | None:
        nodes, found = self.tree, None
        for i, (k, v) in enumerate(entries):
            node = next((n for n in nodes if n.get("key") == k and str(n.get("value")) == v), None) \
                or next((n for n in nodes if n.get("key") == k and "value" not in n), None)
            if node is None:
                return None
            if i == len(entries) - 1:
                found = node.get("rate_limit")
            nodes = node.get("descriptors") or []
        return found

    def ShouldRateLimit(self, request, context):  # noqa: N802 (gRPC method name)
        descs = [[(e.key, e.value) for e in d.entries] for d in request.descriptors]
        now = time.time()
        statuses, over = [], False
        with self.lock:
            self.seen.append((request.domain, descs))
            for entries in descs:
                rl = self._limit(entries) if request.domain == self.domain else None
                if rl is None or rl.get("unlimited"):
                    statuses.append(rls_pb2.RateLimitResponse.DescriptorStatus(code=rls_pb2.RateLimitResponse.OK))
                    continue
                window = int(now // UNIT_SECONDS[rl["unit"]])
                key = (request.domain, tuple(entries), window)
                self.counts[key] += request.hits_addend or 1
                code = rls_pb2.RateLimitResponse.OK
                if self.counts[key] > rl["requests_per_unit"]:
                    code, over = rls_pb2.RateLimitResponse.OVER_LIMIT, True
                statuses.append(rls_pb2.RateLimitResponse.DescriptorStatus(code=code))
        overall = rls_pb2.RateLimitResponse.OVER_LIMIT if over else rls_pb2.RateLimitResponse.OK
        return rls_pb2.RateLimitResponse(overall_code=overall, statuses=statuses)


def allow_slow_rls(ef: dict, timeout: str = "5s") -> None:
    """Sets `timeout` on the EnvoyFilter's ratelimit HTTP filter. Envoy's default RLS timeout is 20 ms, and
    on timeout the request is allowed (failure_mode_deny: false): a Python RLS on a busy 2-core machine can
    miss that, which would make a limit test pass requests for the wrong reason. Test-only adjustment."""
    hits = 0
    for cp in ef["spec"]["configPatches"]:
        value = (cp.get("patch") or {}).get("value") or {}
        if cp.get("applyTo") == "HTTP_FILTER" and value.get("name") == "envoy.filters.http.ratelimit":
            tc = value.get("typed_config", value.get("typedConfig"))
            inner = tc.get("value", tc) if tc.get("@type", "").endswith("TypedStruct") else tc
            inner["timeout"] = timeout
            hits += 1
    assert hits, "no envoy.filters.http.ratelimit HTTP filter in the EnvoyFilter"


@contextmanager
def serve(config: dict) -> Iterator[tuple[RateLimitService, int]]:
    """The service on 127.0.0.1 (a free port); stopped on exit."""
    svc = RateLimitService(config)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    rls_pb2_grpc.add_RateLimitServiceServicer_to_server(svc, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield svc, port
    finally:
        server.stop(grace=None).wait(timeout=5)
