"""Meshplane: Slime and Aeraki service-mesh logic as a Python module.

Plain dicts, bytes and str in and out; typed classes where state lives; every error a
subclass of ``MeshplaneError`` (bad arguments raise ``ValueError`` / ``TypeError``).

- ``render`` / ``render_yaml`` / ``validate`` / ``crds``: SmartLimiters to EnvoyFilters, as
  ``meshctl render`` does.
- ``meshplane.codec``: the Redis, Thrift and Dubbo codecs (``Decoder``, ``Message``);
  ``decode`` is the one-shot helper.
- ``meshplane.hessian2``: Hessian 2.0 ``loads`` / ``dumps``.
- ``meshplane.limiter``: Envoy's local rate limiter, the adaptive concurrency limiters and a
  ``ManualClock``; ``simulate`` runs the overload simulator (``meshctl simulate``).

>>> import meshplane
>>> [m["metadata"]["command"] for m in meshplane.decode("redis", "request", b"*1\\r\\n$4\\r\\nPING\\r\\n")]
['ping']
>>> from meshplane import codec
>>> dec = codec.Decoder("redis", "request")
>>> dec.feed(b"*2\\r\\n$3\\r\\nGET\\r\\n$1\\r")
[]
>>> (msg,) = dec.feed(b"\\nk\\r\\n")
>>> msg.metadata["command"], msg.metadata["key"], msg.raw
('get', 'k', b'*2\\r\\n$3\\r\\nGET\\r\\n$1\\r\\nk\\r\\n')
>>> dec.encode(msg, {"key_prefix": "t1:"})
b'*2\\r\\n$3\\r\\nGET\\r\\n$4\\r\\nt1:k\\r\\n'
>>> from meshplane import hessian2
>>> hessian2.dumps([1, "a", None]).hex()
'7b9101614e'
>>> hessian2.loads(bytes.fromhex("4310636f6d2e6578616d706c652e557365729104" "6e616d65" "60" "05616c696365"))
Object('com.example.User', {'name': 'alice'})
>>> from meshplane.limiter import LocalRateLimiter, ManualClock
>>> clock = ManualClock()
>>> rl = LocalRateLimiter.from_envoy_json(
...     {"statPrefix": "rl", "tokenBucket": {"maxTokens": 2, "tokensPerFill": 2, "fillInterval": "60s"}},
...     clock=clock)
>>> [rl.check().allowed for _ in range(3)]
[True, True, False]
>>> clock.advance(30)
>>> rl.check().allowed
True
>>> yaml = '''
... apiVersion: microservice.slime.io/v1alpha2
... kind: SmartLimiter
... metadata: {name: reviews, namespace: default}
... spec:
...   workloadSelector: {app: reviews}
...   sets:
...     _base:
...       descriptor:
...       - action: {quota: "5", fill_interval: {seconds: 60}, strategy: single}
...         condition: "true"
...         target: {port: 9080}
... '''
>>> [o["kind"] for o in meshplane.render(yaml)]
['EnvoyFilter']
>>> try:
...     meshplane.validate(yaml.replace('quota: "5"', 'quota: "0"'))
... except meshplane.ValidationError as e:
...     print(e.errors[0][0])
default/reviews: spec.sets._base.descriptor[0].action.quota
"""

from meshplane import codec, hessian2, limiter
from meshplane._meshplane import (
    DecodeError,
    EncodeError,
    IncompleteMessage,
    MeshplaneError,
    RenderWarning,
    ValidationError,
    __version__,
    crds,
    render,
    render_yaml,
    simulate,
    validate,
)
from meshplane.codec import PROTOCOLS, decode

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
