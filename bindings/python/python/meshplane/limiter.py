"""Limiters with Envoy's and Netflix's semantics, driven by an injectable clock.

- ``LocalRateLimiter.from_envoy_json(config)``: Envoy's ``local_ratelimit`` token buckets and
  descriptors; ``check(descriptors)`` returns a ``Decision``.
- ``AdaptiveLimiter(algorithm, **options)``: adaptive concurrency (``gradient``, ``gradient2``,
  ``vegas``, ``aimd``, ``fixed``); ``acquire()`` returns a ``Permit`` or None, and
  ``permit.release(outcome, rtt_s)`` feeds the algorithm.
- ``ManualClock``: time that moves only when told to (tests never sleep).
"""

from meshplane._meshplane import limiter as _native

ALGORITHMS = _native.ALGORITHMS
AdaptiveLimiter = _native.AdaptiveLimiter
Decision = _native.Decision
LocalRateLimiter = _native.LocalRateLimiter
ManualClock = _native.ManualClock
Permit = _native.Permit

__all__ = ["ALGORITHMS", "AdaptiveLimiter", "Decision", "LocalRateLimiter", "ManualClock", "Permit"]
