"""Meshplane: Slime and Aeraki service-mesh logic as a Python module."""

from typing import Any, Iterable, Literal, Mapping, Optional, Union

from meshplane import codec as codec
from meshplane import hessian2 as hessian2
from meshplane import limiter as limiter
from meshplane.codec import PROTOCOLS as PROTOCOLS
from meshplane.codec import decode as decode

__version__: str
"""The package version (the Cargo workspace version)."""

class MeshplaneError(Exception):
    """Base class of every Meshplane error (also raised for an internal failure)."""

class DecodeError(MeshplaneError):
    """Malformed input: `offset` is the byte offset of the problem, `reason` the cause."""

    offset: int
    """Byte offset of the problem (from the start of the stream or value)."""
    reason: str
    """The cause, without the offset."""
    messages: list[Any]
    """`Decoder.feed`: the whole messages of the same chunk decoded before the problem."""

class IncompleteMessage(MeshplaneError):
    """Input ends inside a message: `offset` is where that message starts."""

    offset: int
    """Stream offset where the incomplete message starts."""

class EncodeError(MeshplaneError):
    """A message could not be written (e.g. a mutation the protocol cannot carry)."""

class ValidationError(MeshplaneError):
    """Invalid documents: `errors` lists every problem as `(path, message)`."""

    errors: list[tuple[str, str]]
    """Every problem: `("namespace/name: field.path", message)`; the path is empty for a
    problem of the input as a whole."""

class RenderWarning(UserWarning):
    """A non-fatal note from rendering (a Slime quirk that changes a result, an ignored input)."""

_Documents = Union[str, Iterable[Mapping[str, Any]]]
_Metrics = Union[str, Mapping[str, Any], None]

def render(
    documents: _Documents,
    metrics: _Metrics = None,
    *,
    status: bool = False,
    allow_unknown_fields: bool = False,
    domain: Optional[str] = None,
    rls_service: Optional[str] = None,
    rls_port: Optional[int] = None,
    disable_insert_local_rate_limit: bool = False,
    disable_insert_global_rate_limit: bool = False,
) -> list[dict[str, Any]]:
    """Renders SmartLimiters (with the Services, DestinationRules, ServiceEntries and RLS
    ConfigMap they refer to) into EnvoyFilters and the RLS ConfigMap, as `meshctl render` does.

    `documents`: multi-document YAML/JSON text, or parsed objects. `metrics`: the metric
    material (`{"_base.pod": 3, "v1.cpu.sum": 185.7}`, or its YAML/JSON text). `status`: also
    return each SmartLimiter with the status Slime would write. The other options are
    `meshctl render`'s flags. Warnings are issued as `RenderWarning`; invalid input raises
    `ValidationError` with every problem.
    """

def render_yaml(
    documents: _Documents,
    metrics: _Metrics = None,
    *,
    status: bool = False,
    allow_unknown_fields: bool = False,
    domain: Optional[str] = None,
    rls_service: Optional[str] = None,
    rls_port: Optional[int] = None,
    disable_insert_local_rate_limit: bool = False,
    disable_insert_global_rate_limit: bool = False,
) -> str:
    """`render` as the multi-document YAML text `meshctl render` prints."""

def validate(
    documents: _Documents,
    metrics: _Metrics = None,
    *,
    status: bool = False,
    allow_unknown_fields: bool = False,
    domain: Optional[str] = None,
    rls_service: Optional[str] = None,
    rls_port: Optional[int] = None,
    disable_insert_local_rate_limit: bool = False,
    disable_insert_global_rate_limit: bool = False,
) -> list[str]:
    """Runs every check of `render` without producing output: returns the warnings, raises
    `ValidationError` with every problem."""

def crds() -> list[dict[str, Any]]:
    """The CustomResourceDefinitions of every kind `render` accepts, as dicts."""

def simulate(
    limiter: str = "gradient",
    load: float = 3.0,
    seed: int = 1,
    *,
    duration: float = 30.0,
    halve_at: Optional[float] = None,
    no_halving: bool = False,
    slots: int = 20,
    service_ms: float = 10.0,
    slo_ms: Optional[float] = None,
    static_limit: Optional[int] = None,
) -> dict[str, Any]:
    """Runs the deterministic overload simulator through one limiter (`none`, `static`,
    `token-bucket`, `gradient`, `gradient2`, `gradient2-windowed`, `vegas`, `vegas-windowed`,
    `aimd`, `bbr`) and returns the figures `meshctl simulate --json` prints (`goodput_ratio`,
    `admitted_p99_ms`, `reject_ratio`, `reconverge_s`, …). Same seed, same figures. The
    keyword options are `meshctl simulate`'s flags (`halve_at`: seconds, default half the run).
    Releases the GIL while it runs."""

__all__ = [
    "PROTOCOLS",
    "DecodeError",
    "EncodeError",
    "IncompleteMessage",
    "MeshplaneError",
    "RenderWarning",
    "ValidationError",
    "__version__",
    "codec",
    "crds",
    "decode",
    "hessian2",
    "limiter",
    "render",
    "render_yaml",
    "simulate",
    "validate",
]
