"""Limiters with Envoy's and Netflix's semantics, driven by an injectable clock."""

from typing import Any, Literal, Mapping, Optional, Sequence, Union, final

ALGORITHMS: list[str]
"""The algorithm names `AdaptiveLimiter` accepts."""

_Descriptor = Union[Mapping[str, str], Sequence[tuple[str, str]]]

@final
class ManualClock:
    """A clock that moves only when told to. Limiters built with it share its time."""

    def __new__(cls) -> ManualClock: ...
    def advance(self, seconds: float) -> None:
        """Moves time forward by `seconds` (≥ 0; a negative value is a `ValueError`)."""
    def now(self) -> float:
        """Seconds since the clock was created."""

@final
class Decision:
    """What Envoy decided for one request."""

    @property
    def allowed(self) -> bool:
        """Whether the request may pass (False: Envoy answers 429)."""
    @property
    def limit(self) -> Optional[int]:
        """`x-ratelimit-limit` of the reported bucket (None when no bucket applied)."""
    @property
    def remaining(self) -> Optional[int]:
        """`x-ratelimit-remaining` (None when no bucket applied)."""
    @property
    def reset_seconds(self) -> Optional[int]:
        """`x-ratelimit-reset`, seconds (None when no bucket applied)."""
    @property
    def bucket(self) -> Optional[str]:
        """The bucket reported: `default`, `descriptor`, or None. On deny the bucket that
        denied; on allow the strictest matched descriptor bucket, else the default bucket."""
    @property
    def descriptor_index(self) -> Optional[int]:
        """Index into the config's `descriptors` when `bucket` is `descriptor`."""
    @property
    def headers(self) -> bool:
        """Whether Envoy would send the `x-ratelimit-*` headers (config
        `enableXRatelimitHeaders: DRAFT_VERSION_03` and a bucket reported)."""

@final
class LocalRateLimiter:
    """The Envoy local rate limiter (`envoy.filters.http.local_ratelimit`): token buckets
    with continuous refill, descriptors matched in order. Thread-safe."""

    @staticmethod
    def from_envoy_json(
        json: Union[str, Mapping[str, Any]], *, clock: Optional[ManualClock] = None
    ) -> LocalRateLimiter:
        """Builds the limiter from Envoy `LocalRateLimit` JSON (text, or a dict as `render`
        puts it into EnvoyFilters; lowerCamel or snake_case names). `clock`: a `ManualClock`,
        or None for the monotonic system clock. An invalid config is a `ValueError`."""
    def check(self, descriptors: Optional[Sequence[_Descriptor]] = None) -> Decision:
        """Decides one request from its descriptors (each a dict or `(key, value)` pairs, as
        Envoy's rate limit actions produce them) and consumes a token from each matching
        bucket."""

@final
class Permit:
    """A granted concurrency slot; give it back once with `release`."""

    def release(self, outcome: Literal["success", "dropped", "ignored"] = "success", rtt_s: float = 0.0) -> None:
        """Gives the slot back: `success` (`rtt_s` is a latency sample), `dropped` (overload:
        timeout, 503) or `ignored` (no sample). Releasing twice is a `MeshplaneError`; an
        unknown outcome or a negative RTT a `ValueError`."""
    @property
    def released(self) -> bool:
        """Whether the permit was released."""
    @property
    def in_flight(self) -> int:
        """Requests in flight right after this one was admitted (itself included)."""

@final
class AdaptiveLimiter:
    """An adaptive concurrency limiter. Thread-safe.

    `algorithm`: `gradient` (Envoy's adaptive_concurrency gradient controller), `gradient2`,
    `vegas`, `aimd` (Netflix concurrency-limits) or `fixed` (needs `limit=N`). `options`: the
    algorithm's settings with snake_case names (`initial_limit=10`,
    `concurrency_update_interval="0.1s"`, …); an unknown name or field is a `ValueError`
    listing every problem. `clock`: a `ManualClock`, or None for the system clock.
    """

    def __new__(cls, algorithm: str, *, clock: Optional[ManualClock] = None, **options: Any) -> AdaptiveLimiter: ...
    def acquire(self) -> Optional[Permit]:
        """Asks for a slot: a `Permit` to forward the request, or None to reject it now."""
    @property
    def limit(self) -> Optional[int]:
        """The current admission limit (None when not limiting)."""
    @property
    def in_flight(self) -> int:
        """Requests currently holding a permit."""
    @property
    def algorithm(self) -> str:
        """The algorithm's name."""

__all__ = ["ALGORITHMS", "AdaptiveLimiter", "Decision", "LocalRateLimiter", "ManualClock", "Permit"]
